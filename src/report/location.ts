// Where and under what name a reporter places a finding (SARIF results, GitHub annotations): the repository root
// paths are reported against, the lockfile's path relative to it, a package's label, and which findings are shown.
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, parse, relative, resolve, sep } from 'node:path';
import type { Action, Finding } from '../types.js';
import type { LockedPackage } from '../lockfile/types.js';

/** The actions a report shows: allowed findings are omitted. */
export function reported(f: Finding): f is Finding & { action: Exclude<Action, 'allow'> } {
  return f.action !== 'allow';
}

/** `name@version`, with the install names of an alias. */
export function packageLabel(pkg: LockedPackage): string {
  const base = pkg.source === 'registry' || pkg.source === 'bundled' ? `${pkg.name}@${pkg.version}` : pkg.id;
  return pkg.aliases.length ? `${base} (as ${pkg.aliases.join(', ')})` : base;
}

/**
 * The repository root paths are reported against: the nearest folder at or above the lockfile's folder that holds
 * `.git` (the git top level), else the current folder.
 */
export function repositoryRoot(lockfilePath: string): string {
  let dir = dirname(resolve(lockfilePath));
  const top = parse(dir).root;
  for (;;) {
    if (existsSync(join(dir, '.git'))) return dir;
    if (dir === top) return process.cwd();
    dir = dirname(dir);
  }
}

/** The lockfile's path relative to `root` with `/` separators, or undefined when it lies outside `root`. */
export function relativeToRoot(lockfilePath: string, root: string): string | undefined {
  const rel = relative(root, resolve(lockfilePath));
  if (rel === '' || rel === '..' || rel.startsWith('..' + sep) || isAbsolute(rel)) return undefined;
  return rel.split(sep).join('/');
}
