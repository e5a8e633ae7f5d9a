// The guard never removes itself (issue 19). A project's node_modules can lose the guard: `npm ci` deletes
// node_modules before it installs, and when it then fails before extraction (npm's own min-release-age gate, a
// script refused by strict-allow-scripts) nothing is put back, so `safe-install approve ...`, the command that
// would let the install through, could not run. So the commands that set up or guard the project (init and the
// hook) keep a copy of the running guard in the project, .safe-install/guard/: the one-file build
// with the data it reads beside it (policies/, trust/, lib/node-gyp-bin, a package.json naming its version),
// a few MB, ignored by git through its own .gitignore. It is written only when the copy differs from the running
// guard, byte for byte (another version or build, or a file someone changed: an install script that swapped the
// bundle must not have the guard vouch for its code), into a fresh folder renamed into place, so a half-written
// copy is never used.
// `node .safe-install/guard/dist/safe-install.mjs <command>` then runs the same guard with no node_modules.
// Only the one-file build copies itself (a checkout's multi-file dist/ is not a thing to copy), and only init and
// the hook do (the commands a project set up with init runs from node_modules/.bin); `safe-install` itself
// leaves nothing but the ledger (test/integration/read-only.test.ts).
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { cp, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, join, posix, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { toolDir } from './tool-dir.js';

export const GUARD_COPY_DIR = join('.safe-install', 'guard');
const BUNDLE = join('dist', 'safe-install.mjs');
const SHIPPED = ['policies', 'trust', join('lib', 'node-gyp-bin')];

/** The command that runs the project's copy, from the project root. */
export const GUARD_COPY_COMMAND = `node ${posix.join('.safe-install', 'guard', 'dist', 'safe-install.mjs')}`;

/** The running guard's folder and version; undefined unless it runs from the one-file build. */
function runningBuild(): { dir: string; version: string } | undefined {
  // This module is inside the bundle only when the guard runs from it (dist/safe-install.mjs).
  const self = fileURLToPath(import.meta.url);
  if (basename(self) !== basename(BUNDLE)) return undefined;
  const dir = toolDir();
  const file = join(dir, BUNDLE);
  if (!existsSync(file) || realpathSync(file) !== realpathSync(self)) return undefined;
  const version = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version?: string }).version ?? '0.0.0';
  return { dir, version };
}

/** The package.json and .gitignore the copy gets. */
function copyManifest(version: string): string {
  const description = 'A copy of the guard kept by safe-install (init, the hook, the install): run it as node .safe-install/guard/dist/safe-install.mjs when node_modules is gone';
  return JSON.stringify({ name: 'safe-install', version, private: true, description }, null, 2) + '\n';
}
const COPY_GITIGNORE = '# a copy of the guard, rewritten by safe-install: never committed\n*\n';

/** Every regular file under `dir` (relative paths), or undefined when it holds anything else (a link, a fifo). */
function filesUnder(dir: string, out = new Map<string, string>(), top = dir): Map<string, string> | undefined {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const abs = join(dir, e.name);
    if (e.isDirectory()) {
      if (!filesUnder(abs, out, top)) return undefined;
    } else if (e.isFile()) out.set(relative(top, abs), abs);
    else return undefined;
  }
  return out;
}

/** Whether `dest` holds exactly the copy of the running guard `build` makes: the same files, byte for byte. */
function isCopyOf(build: { dir: string; version: string }, dest: string): boolean {
  try {
    const have = filesUnder(dest);
    if (!have) return false;
    const want = new Map<string, Buffer>([
      ['package.json', Buffer.from(copyManifest(build.version))],
      ['.gitignore', Buffer.from(COPY_GITIGNORE)],
    ]);
    for (const f of [BUNDLE, join('dist', 'release.json')]) if (existsSync(join(build.dir, f))) want.set(f, readFileSync(join(build.dir, f)));
    for (const d of SHIPPED) {
      if (!existsSync(join(build.dir, d))) continue;
      for (const [rel, abs] of filesUnder(join(build.dir, d)) ?? []) want.set(join(d, rel), readFileSync(abs));
    }
    if (have.size !== want.size) return false;
    for (const [rel, bytes] of want) {
      const abs = have.get(rel);
      if (!abs || !readFileSync(abs).equals(bytes)) return false;
    }
    return true;
  } catch {
    return false;
  }
}

/**
 * Make .safe-install/guard/ in `projectDir` a copy of the running guard; the copy's folder, or undefined when
 * there is none to make (running from a checkout's src/) or it could not be written. Never throws: the copy is
 * a convenience for the next step, never a reason to fail the command that keeps it.
 */
export async function keepGuardCopy(projectDir: string): Promise<string | undefined> {
  try {
    const build = runningBuild();
    if (!build) return undefined;
    const root = resolve(projectDir);
    const dest = join(root, GUARD_COPY_DIR);
    // Running from the copy itself: nothing to do.
    if (existsSync(dest) && realpathSync(dest) === realpathSync(build.dir)) return dest;
    // A .safe-install that is a link or a file (a repository can ship one) is never written through.
    const top = join(root, '.safe-install');
    const st = lstatSync(top, { throwIfNoEntry: false });
    if (st && !st.isDirectory()) return undefined;
    const old = lstatSync(dest, { throwIfNoEntry: false });
    if (old && !old.isDirectory()) return undefined;
    if (old && isCopyOf(build, dest)) return dest;
    await mkdir(top, { recursive: true });
    const fresh = join(top, `guard.new-${randomBytes(6).toString('hex')}`);
    try {
      await mkdir(join(fresh, 'dist'), { recursive: true });
      await cp(join(build.dir, BUNDLE), join(fresh, BUNDLE));
      for (const d of SHIPPED) if (existsSync(join(build.dir, d))) await cp(join(build.dir, d), join(fresh, d), { recursive: true });
      // The release data too (init --ci github from the copy pins the same action).
      if (existsSync(join(build.dir, 'dist', 'release.json'))) await cp(join(build.dir, 'dist', 'release.json'), join(fresh, 'dist', 'release.json'));
      await writeFile(join(fresh, 'package.json'), copyManifest(build.version));
      await writeFile(join(fresh, '.gitignore'), COPY_GITIGNORE);
      await rm(dest, { recursive: true, force: true });
      await rename(fresh, dest);
    } finally {
      await rm(fresh, { recursive: true, force: true });
    }
    return dest;
  } catch {
    return undefined;
  }
}

/**
 * True when `path` (an install folder) holds the running guard: the hook never removes it, whatever the check
 * says of it, since the commands that resolve what is held (approve, check, fix) run from it.
 */
export function holdsGuard(path: string): boolean {
  try {
    const own = realpathSync(toolDir());
    const p = realpathSync(path);
    return own === p || own.startsWith(p + sep);
  } catch {
    return false;
  }
}

/** How to run the commands above when node_modules is gone (the project's copy of the guard, util/guard-copy.ts). */
export function withoutNodeModules(style: { dim: (s: string) => string }): string {
  return (
    style.dim(
      `If node_modules/.bin/safe-install is gone (npm ci removes node_modules, and puts nothing back when it fails before extracting), run these commands as \`${GUARD_COPY_COMMAND} <command>\` from the project folder: a copy of this guard kept there.`,
    ) + '\n'
  );
}
