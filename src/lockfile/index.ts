import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { LockedTree } from '../types.js';
import { LockfileError } from './errors.js';
import { readNpmLockfile } from './npm.js';

// npm prefers npm-shrinkwrap.json over package-lock.json when both exist; so do we.
const NPM_LOCKFILES = ['npm-shrinkwrap.json', 'package-lock.json'];
const OTHER_LOCKFILES = ['yarn.lock', 'pnpm-lock.yaml', 'bun.lock', 'bun.lockb'];

/**
 * Find and read the project's npm lockfile. `explicitPath` (relative to `projectDir`) skips the
 * search. Throws LockfileError: `no-lockfile`, `unreadable`, `malformed`, `unsupported-version`.
 */
export function readLockfile(projectDir: string, explicitPath?: string): LockedTree {
  const path = explicitPath !== undefined ? resolve(projectDir, explicitPath) : findLockfile(resolve(projectDir));
  const text = readText(path, explicitPath !== undefined);
  // Only v1 lockfiles need package.json (they do not record the root's dependency ranges).
  return readNpmLockfile(path, text, { rootManifest: readManifest(join(dirname(path), 'package.json')) });
}

function findLockfile(dir: string): string {
  for (const name of NPM_LOCKFILES) {
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  const others = OTHER_LOCKFILES.filter((n) => existsSync(join(dir, n)));
  throw new LockfileError(
    'no-lockfile',
    dir,
    `no ${NPM_LOCKFILES.join(' or ')} found` +
      (others.length ? ` (found ${others.join(', ')}; only npm lockfiles are supported)` : ''),
  );
}

function readText(path: string, explicit: boolean): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (explicit && code === 'ENOENT') throw new LockfileError('no-lockfile', path, 'lockfile not found', { cause: err });
    throw new LockfileError('unreadable', path, `cannot read the lockfile (${code ?? (err as Error).message})`, { cause: err });
  }
}

/** package.json, parsed; undefined when absent or unparsable (it only refines v1 root ranges). */
function readManifest(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}
