import { closeSync, existsSync, lstatSync, openSync, readFileSync, readSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import type * as JsYaml from 'js-yaml';
import { createRequire } from 'node:module';
import { lazy } from '../util/lazy.js';
import { isObject } from '../util/is-object.js';

// A plain require (not a computed name), so the bundler (scripts/bundle.mjs) sees and includes each library.
const require = createRequire(import.meta.url);
import { minimatch } from 'minimatch';
import type { PackageManager } from '../types.js';
import type { LockedTree } from './types.js';
import { projectAsksByFolder } from '../project/package-json.js';
import { LockfileError } from './errors.js';
import { describeFsFailure } from '../errors.js';
import { readNpmLockfile } from './npm.js';
import { readPnpmLockfile } from './pnpm.js';
import { readYarnLockfile } from './yarn.js';
import { group } from '../util/at.js';

/** Which package manager's lockfile a file is. */
type Kind = PackageManager;

// npm prefers npm-shrinkwrap.json over package-lock.json when both exist; so do we.
const LOCKFILES: { name: string; kind: Kind }[] = [
  { name: 'npm-shrinkwrap.json', kind: 'npm' },
  { name: 'package-lock.json', kind: 'npm' },
  { name: 'pnpm-lock.yaml', kind: 'pnpm' },
  { name: 'yarn.lock', kind: 'yarn' },
];
// Read only when a workspace folder's root is looked for.
const jsYaml = lazy<typeof JsYaml>(() => require('js-yaml'));

const OTHER_LOCKFILES = ['bun.lock', 'bun.lockb'];

/**
 * Find and read the project's lockfile: package-lock.json / npm-shrinkwrap.json, pnpm-lock.yaml or yarn.lock.
 * More than one of them (other than npm's two) is an error unless `explicitPath` (relative to `projectDir`)
 * says which; its kind is then told by its file name (`*pnpm-lock.yaml` or `*.yaml`, `*yarn.lock`, else npm).
 * Throws LockfileError: `no-lockfile`, `unreadable`, `malformed` (also for more than one lockfile),
 * `unsupported-version`.
 */
export function readLockfile(projectDir: string, explicitPath?: string, pm?: Kind): LockedTree {
  return withRequested(readTree(projectDir, explicitPath, pm));
}

const EXOTIC_SOURCES = new Set(['git', 'tarball', 'file']);

/**
 * Each direct dependency from git, a tarball or a path gets the specs the project's own package.json files ask
 * for it with (`requested`): the lockfile alone cannot make a registry range a URL. Each folder's (the root's, a
 * workspace's) spec counts for the copy that folder gets: npm's by Node's lookup from the folder, yarn's by the
 * descriptor (`name@spec`) the entry is locked for; pnpm's lockfile does not say which importer gets which copy
 * here, so every folder's spec for the name counts. Overrides count for every copy.
 */
function withRequested(tree: LockedTree): LockedTree {
  const direct = tree.packages.filter((p) => p.direct && EXOTIC_SOURCES.has(p.source));
  if (!direct.length) return tree;
  let pnpmOverrides: unknown;
  let catalogs: { catalog?: unknown; catalogs?: unknown } = {};
  if (tree.format.startsWith('pnpm')) {
    try {
      const doc = jsYaml().load(readFileSync(join(tree.root.dir, 'pnpm-workspace.yaml'), 'utf8')) as { overrides?: unknown; catalog?: unknown; catalogs?: unknown } | undefined;
      pnpmOverrides = doc?.overrides;
      catalogs = { catalog: doc?.catalog, catalogs: doc?.catalogs };
    } catch {
      pnpmOverrides = undefined; // none, or unreadable: its overrides ask for nothing
    }
  }
  /**
   * pnpm's `catalog:` / `catalog:<name>` is the spec pnpm-workspace.yaml's catalog gives the name: that spec, not the
   * protocol, says which source the project chose (one it cannot find stays `catalog:`, which chooses none).
   */
  const fromCatalog = (name: string, spec: string): string => {
    const m = /^catalog:(.*)$/.exec(spec);
    if (!m) return spec;
    const which = group(m, 1).trim() || 'default';
    const get = (map: unknown, key: string): unknown => (isObject(map) && Object.hasOwn(map, key) ? map[key] : undefined);
    const value = which === 'default' ? (get(catalogs.catalog, name) ?? get(get(catalogs.catalogs, 'default'), name)) : get(get(catalogs.catalogs, which), name);
    return typeof value === 'string' ? value : spec;
  };
  const asks = projectAsksByFolder(tree.root.dir, tree.workspaces, pnpmOverrides);
  const npmPaths = new Set(tree.format.startsWith('npm') ? tree.packages.flatMap((p) => p.paths) : []);
  /** npm: the install path Node finds `name` at from `folder` (its own node_modules, then each parent's). */
  const npmLookup = (folder: string, name: string): string | undefined => {
    const parts = folder === '' ? [] : folder.split('/');
    for (let i = parts.length; i >= 0; i--) {
      const at = [...parts.slice(0, i), 'node_modules', name].join('/');
      if (npmPaths.has(at)) return at;
    }
    return undefined;
  };
  for (const p of direct) {
    const names = [p.name, ...p.aliases];
    const requested = new Set<string>();
    for (const { folder, deps } of asks.folders) {
      for (const name of names) {
        for (const spec of deps.get(name) ?? []) {
          let gets: boolean | undefined;
          if (tree.format.startsWith('npm')) {
            const at = npmLookup(folder, name);
            gets = at === undefined ? undefined : p.paths.includes(at);
          } else if (tree.format.startsWith('yarn')) {
            gets = p.paths.includes(`${name}@${spec}`) || p.paths.includes(`${name}@npm:${spec}`) ? true : undefined;
          }
          // Undecided (pnpm; a yarn descriptor written in another form; nothing at the lookup path): the spec counts.
          if (gets !== false && (gets === true || !decidedElsewhere(tree, p, name, spec))) requested.add(fromCatalog(name, spec));
        }
      }
    }
    for (const name of names) for (const spec of asks.overrides.get(name) ?? []) requested.add(fromCatalog(name, spec));
    p.requested = [...requested];
  }
  return tree;
}

/** yarn: another locked entry is for exactly this descriptor, so the spec is not this package's. */
function decidedElsewhere(tree: LockedTree, p: LockedTree['packages'][number], name: string, spec: string): boolean {
  if (!tree.format.startsWith('yarn')) return false;
  return tree.packages.some((o) => o !== p && (o.paths.includes(`${name}@${spec}`) || o.paths.includes(`${name}@npm:${spec}`)));
}

function readTree(projectDir: string, explicitPath?: string, pm?: Kind): LockedTree {
  const dir = resolve(projectDir);
  const root = explicitPath === undefined ? projectRoot(dir) : dir;
  const { path, kind } = explicitPath !== undefined ? { path: resolve(dir, explicitPath), kind: kindOf(explicitPath) } : findLockfile(root, pm);
  const text = readText(path, explicitPath !== undefined);
  const rootManifest = readManifest(join(dirname(path), 'package.json'));
  if (kind === 'npm') {
    // Only v1 lockfiles need package.json (they do not record the root's dependency ranges).
    return readNpmLockfile(path, text, { rootManifest });
  }
  if (text.trim() === '') {
    // An empty pnpm-lock.yaml or yarn.lock locks nothing (yarn even documents an empty yarn.lock as the
    // marker of a separate project): the package manager would resolve everything afresh, unchecked.
    throw new LockfileError('no-lockfile', path, `${basename(path)} is empty: nothing is locked yet (run the install once to create it)`);
  }
  if (kind === 'pnpm') return readPnpmLockfile(path, text);
  // yarn.lock does not say which entries the root and the workspaces ask for, or which are devDependencies.
  return readYarnLockfile(path, text, { rootManifest, workspaces: findWorkspaces(dirname(path), rootManifest) });
}

function kindOf(file: string): Kind {
  const name = basename(file).toLowerCase();
  if (name.endsWith('pnpm-lock.yaml') || name.endsWith('.yaml') || name.endsWith('.yml')) return 'pnpm';
  if (name.endsWith('yarn.lock')) return 'yarn';
  return 'npm';
}

/** The project's lockfile; with `pm` (--pm), only that package manager's lockfiles count. */
function findLockfile(dir: string, pm?: Kind): { path: string; kind: Kind } {
  // A dangling symbolic link counts as present: it is the lockfile, unreadable (not "no lockfile").
  const all = LOCKFILES.map((l) => ({ ...l, path: join(dir, l.name) })).filter((l) => existsSync(l.path) || isSymlink(l.path));
  const present = pm ? all.filter((l) => l.kind === pm) : all;
  if (pm && !present.length) {
    const names = LOCKFILES.filter((l) => l.kind === pm)
      .map((l) => l.name)
      .join(' or ');
    throw new LockfileError('no-lockfile', dir, `--pm ${pm}: no ${names} found${all.length ? ` (found ${all.map((l) => l.name).join(', ')})` : ''}`);
  }
  // An empty yarn.lock or pnpm-lock.yaml locks nothing; it neither counts as the lockfile nor makes one ambiguous.
  const usable = present.filter((l) => l.kind === 'npm' || !isEmptyFile(l.path));
  const kinds = [...new Set(usable.map((l) => l.kind))];
  if (kinds.length > 1) {
    const names = usable.filter((l, i) => l.kind !== 'npm' || usable.findIndex((u) => u.kind === 'npm') === i).map((l) => l.name);
    throw new LockfileError(
      'malformed',
      dir,
      `more than one lockfile: ${names.join(', ')}; pass --pm npm|pnpm|yarn or --lockfile <file> to say which one your package manager uses (and delete the others)`,
    );
  }
  const [only] = usable; // more than one was refused above
  if (only) return { path: only.path, kind: only.kind };
  const others = [...present.map((l) => `${l.name} (empty)`), ...OTHER_LOCKFILES.filter((n) => existsSync(join(dir, n)))];
  throw new LockfileError(
    'no-lockfile',
    dir,
    'no npm-shrinkwrap.json or package-lock.json found, nor pnpm-lock.yaml or yarn.lock' + (others.length ? ` (found ${others.join(', ')}; bun lockfiles are not supported)` : ''),
  );
}

/**
 * The folder the project's commands work in: `dir`, or, in a workspace folder without a lockfile of its own, the
 * workspace root (npm, pnpm and yarn all work on the whole project from there, finding it upwards).
 */
export function projectRoot(dir: string): string {
  const abs = resolve(dir);
  return LOCKFILES.some((l) => existsSync(join(abs, l.name))) ? abs : (workspaceRoot(abs) ?? abs);
}

/**
 * The nearest folder above `dir` that has a lockfile and declares `dir` one of its workspaces (package.json
 * `workspaces`, or pnpm-workspace.yaml `packages`); undefined when the nearest folder with a lockfile does not.
 */
function workspaceRoot(dir: string): string | undefined {
  for (let parent = dirname(dir), child = dir; parent !== child; child = parent, parent = dirname(parent)) {
    if (!LOCKFILES.some((l) => existsSync(join(parent, l.name)))) continue;
    let pnpm: unknown;
    try {
      pnpm = (jsYaml().load(readFileSync(join(parent, 'pnpm-workspace.yaml'), 'utf8')) as { packages?: unknown } | undefined)?.packages;
    } catch {
      pnpm = undefined; // none, or unreadable: the check of the root reads it again and says so
    }
    const globs = workspaceGlobs(readManifest(join(parent, 'package.json')), pnpm);
    return inWorkspaces(relative(parent, dir).split(sep).join('/'), globs) ? parent : undefined;
  }
  return undefined;
}

function isEmptyFile(path: string): boolean {
  try {
    const st = statSync(path);
    return st.isFile() && (st.size === 0 || (st.size < 4096 && readFileSync(path, 'utf8').trim() === ''));
  } catch {
    return false; // unreadable: let the read report it
  }
}

/**
 * The largest lockfile read. The largest real ones (big monorepos) are tens of MB; past this the text is not
 * read further (a lockfile that is not a regular file, such as a FIFO, is bounded the same way).
 */
export const MAX_LOCKFILE_BYTES = 128 << 20;

function readText(path: string, explicit: boolean): string {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const chunks: Buffer[] = [];
    let size = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(Math.min(1 << 20, MAX_LOCKFILE_BYTES + 1 - size));
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      chunks.push(n === buf.length ? buf : buf.subarray(0, n));
      size += n;
      if (size > MAX_LOCKFILE_BYTES) {
        throw new LockfileError('malformed', path, `the lockfile is larger than ${MAX_LOCKFILE_BYTES >> 20} MiB; not read further`);
      }
    }
    return Buffer.concat(chunks, size).toString('utf8');
  } catch (err) {
    if (err instanceof LockfileError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (explicit && code === 'ENOENT') throw new LockfileError('no-lockfile', path, 'lockfile not found', { cause: err });
    const known = describeFsFailure(err, { path });
    throw new LockfileError('unreadable', path, `cannot read the lockfile: ${known ? known.what : (code ?? (err as Error).message)}`, { cause: err });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function isSymlink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/** package.json, parsed; undefined when absent or unparsable (it only refines root ranges and dev flags). */
function readManifest(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * The workspace patterns of a root package.json (`workspaces: [globs]` or `{packages: [globs]}`) and of pnpm's
 * `packages` list, when given; `!` excludes.
 */
function workspaceGlobs(manifest: unknown, pnpmPackages?: unknown): { include: string[]; exclude: string[] } {
  const field = isObject(manifest) ? manifest.workspaces : undefined;
  const patterns = [isObject(field) ? field.packages : field, pnpmPackages].flatMap((l) => (Array.isArray(l) ? l.filter((p): p is string => typeof p === 'string') : []));
  const norm = (p: string) => p.replace(/^\.\//, '').replace(/\/+$/, '');
  return {
    include: patterns.filter((p) => !p.startsWith('!')).map(norm),
    exclude: patterns.filter((p) => p.startsWith('!')).map((p) => norm(p.slice(1))),
  };
}

const inWorkspaces = (rel: string, globs: { include: string[]; exclude: string[] }) => globs.include.some((p) => minimatch(rel, p)) && !globs.exclude.some((p) => minimatch(rel, p));

/**
 * The workspaces a root package.json declares (`workspaces: [globs]` or `{packages: [globs]}`, `!` to
 * exclude), as folders relative to `root` with their package.json. Symlinks, node_modules and dot folders
 * are not searched.
 */
function findWorkspaces(root: string, manifest: unknown): { dir: string; manifest: unknown }[] {
  const globs = workspaceGlobs(manifest);
  const found = new Map<string, unknown>();
  const consider = (rel: string) => {
    if (found.has(rel) || !inWorkspaces(rel, globs)) return;
    const m = readManifest(join(root, rel, 'package.json'));
    if (m !== undefined) found.set(rel, m);
  };
  for (const pattern of globs.include) {
    const segments = pattern.split('/');
    const fixed: string[] = [];
    for (const s of segments) {
      if (/[*?[\]{}()!+@]/.test(s)) break;
      fixed.push(s);
    }
    if (fixed.some((s) => s === '..')) continue; // workspaces live inside the project
    const depth = segments.includes('**') ? 8 : segments.length - fixed.length;
    const walk = (rel: string, left: number) => {
      consider(rel);
      if (left === 0) return;
      let children: string[];
      try {
        children = readdirSync(join(root, rel), { withFileTypes: true })
          .filter((d) => d.isDirectory() && d.name !== 'node_modules' && !d.name.startsWith('.'))
          .map((d) => d.name);
      } catch {
        return;
      }
      for (const c of children.sort()) walk(rel === '' ? c : `${rel}/${c}`, left - 1);
    };
    walk(fixed.join('/'), depth);
  }
  return [...found].map(([dir, m]) => ({ dir, manifest: m }));
}
