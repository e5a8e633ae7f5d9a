// The pnpm runner: `pnpm install --frozen-lockfile --ignore-scripts`, then the allowed dependencies' install
// scripts run here, one exact installed copy at a time, in the order pnpm's own build step uses.
//
// Why not `pnpm rebuild <pkg>`: it selects by name or name@range (pnpm 9) or by package id across every peer
// variant (pnpm 10); pnpm 10 then filters by its own allowlist (onlyBuiltDependencies, empty by default), pnpm
// 9 by name only; and it decides "needs a build" from package.json alone, so a package whose only build is the
// implicit `node-gyp rebuild` of its binding.gyp is skipped (pnpm 10.34 `_rebuild`: `pkgRequiresBuild(manifest,
// {})`), while `pnpm install` builds it. Running the scripts here keeps the choice per copy and the same in 9 and 10.
//
// What is matched from pnpm (pnpm 10.34.9 / 9.15.9 dist, pnpm/pnpm pnpm11/ sources):
// - order: building/during-install/src/buildSequence.ts: the packages that need a build and every package above
//   one (walked from the importers' direct dependencies), chunked by deps/graph-sequencer (dependencies first,
//   cycles as one chunk); chunks run one after another, a chunk's packages concurrently (run-groups). Here a
//   chunk runs one package at a time, in pnpm's start order: a valid serialization of pnpm's run.
// - per package: exec/lifecycle/src/index.ts runPostinstallHooks: preinstall, install (or `node-gyp rebuild` when
//   there is a binding.gyp and neither install nor preinstall, without npm's `gypfile: false` opt-out:
//   runLifecycleHook.ts checkBindingGyp), postinstall, with package.json read once before them.
// - environment: @pnpm/npm-lifecycle makeEnv: the caller's environment without npm_*, npm_config_* from pnpm's
//   config, npm_package_{name,version,config,engines,bin}, npm_lifecycle_*, npm_execpath, npm_node_execpath,
//   npm_config_node_gyp (pnpm's bundled node-gyp), INIT_CWD (the lockfile folder), PNPM_SCRIPT_SRC_DIR, and
//   TMPDIR when pnpm runs as root without unsafe-perm.
// - an optional dependency whose build fails is skipped with a warning, as pnpm does (buildDependency).
import { loadRunScript } from './node-gyp.js';
import { createHash } from 'node:crypto';
import { access, mkdir, readFile } from 'node:fs/promises';
import { dirname, join, posix, relative, resolve, sep } from 'node:path';
import { depPathToFilename, parse as parseDepPath, refToRelative, removeSuffix } from '@pnpm/dependency-path';
// js-yaml: what pnpm writes these files with (its fork @zkochan/js-yaml), and much faster than `yaml` here.
import jsYaml from 'js-yaml';
import { GuardError } from '../errors.js';
import type { LockedPackage, LockedTree } from '../lockfile/types.js';
import { INSTALL_EVENTS, scriptsOnDisk, type InstalledScripts } from './lifecycle.js';
import { GUARD_ENV, inherited, resolvePmScript, runPm } from './spawn.js';
import type { InstallRunner } from './types.js';
import { mergeRuns, readProjectFolder, readWorkspaces, runProjectEvents, type ProjectFolder } from './project-scripts.js';
import semver from 'semver';
import { displayText } from '../util/safe-text.js';
import { isObject } from '../util/is-object.js';

/** pnpm's default `virtual-store-dir-max-length` (pnpm 9+), with which the lockfile reader names store folders. */
const DEFAULT_MAX_LENGTH = 120;

/**
 * The project's own events pnpm runs on install: `pnpm:devPreinstall` of the root before it installs anything
 * (installing/deps-installer install/index.ts), then, after the dependencies' builds, these for every project,
 * root and workspaces, dependencies first (runLifecycleHooksConcurrently over sortProjects' chunks).
 */
export const PNPM_PROJECT_EVENTS = ['preinstall', 'install', 'postinstall', 'preprepare', 'prepare', 'postprepare'] as const;

export async function pnpmInstallWithoutScripts(dir: string, passthrough: string[]): Promise<void> {
  contextOnce(dir);
  // --ignore-scripts turns off the dependencies' scripts and the project's own (pnpm:devPreinstall included).
  const { code } = await runPm('pnpm', ['install', '--frozen-lockfile', '--ignore-scripts', ...passthrough], { cwd: dir });
  if (code !== 0) {
    throw new GuardError('install-failed', `pnpm install --frozen-lockfile --ignore-scripts failed (exit ${code}); pnpm's output is above`, {
      remedy: 'fix what pnpm reported (a lockfile out of date with package.json needs `pnpm install --lockfile-only` and a new check); no install script has run',
    });
  }
}

// ---------------------------------------------------------------------------------------------
// What pnpm installed: node_modules/.modules.yaml and the current lockfile (node_modules/.pnpm/lock.yaml)

interface Snapshot {
  key: string;
  name: string;
  /** Absolute install folder. */
  dir: string;
  /** The same folder as the lockfile reader names it (default layout), to find the checked package. */
  treePath: string;
  children: string[];
  optional: boolean;
}

interface Installed {
  root: string;
  /** The virtual store folder (node_modules/.pnpm unless configured). */
  store: string;
  snapshots: Map<string, Snapshot>;
  /** The importers' direct dependencies, in lockfile order: where pnpm's build walk starts. */
  roots: string[];
  /** Snapshots pnpm skipped (optional dependencies for another platform). */
  skipped: Set<string>;
}

const cannotMap = (what: string) =>
  new GuardError('install-failed', `cannot map what pnpm installed: ${what}`, {
    remedy: "the packages are installed without any install script run; use pnpm's default layout (node-linker=isolated), or report this layout",
  });

/** RFC 4648 base32, lower case, unpadded (rfc4648's `base32.stringify(...).replace(/=+$/, '').toLowerCase()`). */
function base32(buf: Buffer): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of buf) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out;
}

/**
 * pnpm 9's store folder name (its bundled @pnpm/dependency-path): like pnpm 10's, but `#` stays and an over-long
 * or upper-case name is cut at max-27 and ends in a base32 md5, where pnpm 10 cuts at max-33 and uses 32 hex of
 * a sha256. Same folder for every plain lower-case name under the limit.
 */
export function depPathToFilenamePnpm9(depPath: string, maxLength: number): string {
  let unescaped = depPath;
  if (!unescaped.startsWith('file:')) {
    if (unescaped[0] === '/') unescaped = unescaped.slice(1);
    const at = unescaped.indexOf('@', 1);
    if (at !== -1) unescaped = `${unescaped.slice(0, at)}@${unescaped.slice(at + 1)}`;
  } else {
    unescaped = unescaped.replace(':', '+');
  }
  let filename = unescaped.replace(/[\\/:*?"<>|]/g, '+');
  if (filename.includes('(')) filename = filename.replace(/\)$/, '').replace(/(\)\()|\(|\)/g, '_');
  if (filename.length > maxLength || (filename !== filename.toLowerCase() && !filename.startsWith('file+'))) {
    return `${filename.substring(0, maxLength - 27)}_${base32(createHash('md5').update(filename).digest())}`;
  }
  return filename;
}

async function readInstalled(root: string): Promise<Installed> {
  const modulesDir = join(root, 'node_modules');
  let modules: unknown;
  try {
    // pnpm 10 writes it as JSON, pnpm 9 as YAML; YAML reads both.
    modules = jsYaml.load(await readFile(join(modulesDir, '.modules.yaml'), 'utf8'));
  } catch (err) {
    throw cannotMap(`node_modules/.modules.yaml is missing or unreadable (${(err as Error).message})`);
  }
  if (!isObject(modules)) throw cannotMap('node_modules/.modules.yaml is not a mapping');
  const linker = modules.nodeLinker ?? 'isolated';
  if (linker !== 'isolated') {
    // hoisted copies are built once and hard-linked to the other locations, pnp has no folders: not mapped here.
    throw cannotMap(`node-linker=${String(linker)} (safe-install maps only pnpm's isolated layout)`);
  }
  // virtualStoreDir is written relative to node_modules (`.pnpm`, `../.vstore`) or absolute.
  const store = resolve(modulesDir, typeof modules.virtualStoreDir === 'string' ? modules.virtualStoreDir : '.pnpm');
  const maxLength = typeof modules.virtualStoreDirMaxLength === 'number' ? modules.virtualStoreDirMaxLength : DEFAULT_MAX_LENGTH;
  const skipped = new Set(Array.isArray(modules.skipped) ? modules.skipped.map(String) : []);

  // The current lockfile (what pnpm installed): pnpm 10 keeps it in node_modules/.pnpm whatever virtualStoreDir
  // is (deps-restorer currentLockfileDir), pnpm 9 in the virtual store folder.
  // Which pnpm wrote it decides two things below; an unknown writer is taken as pnpm 10 (a wrong guess only
  // makes a folder not found, which fails closed).
  const pmMajor = Number(/^pnpm@(\d+)/.exec(String(modules.packageManager ?? ''))?.[1] ?? 10);
  const lockPath = join(pmMajor >= 10 ? join(modulesDir, '.pnpm') : store, 'lock.yaml');
  const lockName = relative(root, lockPath);
  let lock: unknown;
  try {
    lock = jsYaml.load(await readFile(lockPath, 'utf8'), { schema: jsYaml.FAILSAFE_SCHEMA });
  } catch (err) {
    throw cannotMap(`${lockName} is missing or unreadable (${(err as Error).message})`);
  }
  if (!isObject(lock) || !/^9\./.test(String(lock.lockfileVersion))) throw cannotMap(`${lockName} is not a lockfileVersion 9 file`);
  const packages = isObject(lock.packages) ? lock.packages : {};
  const entries = isObject(lock.snapshots) ? lock.snapshots : {};

  const snapshots = new Map<string, Snapshot>();
  const ref = (alias: string, r: unknown): string | undefined => {
    if (typeof r !== 'string' || r.startsWith('link:')) return undefined; // workspace folders are no store copies
    const key = refToRelative(r, alias);
    return key !== null && key in entries ? key : undefined;
  };
  for (const [key, raw] of Object.entries(entries)) {
    const snap = isObject(raw) ? raw : {};
    const info = packages[removeSuffix(key)];
    const name = (isObject(info) && typeof info.name === 'string' ? info.name : undefined) ?? parseDepPath(key).name;
    if (!name) throw cannotMap(`cannot tell the package name of ${key}`);
    const children: string[] = [];
    for (const field of ['dependencies', 'optionalDependencies']) {
      const deps = snap[field];
      if (!isObject(deps)) continue;
      for (const [alias, r] of Object.entries(deps)) {
        const k = ref(alias, r);
        if (k) children.push(k);
      }
    }
    snapshots.set(key, {
      key,
      name,
      dir: join(store, (pmMajor >= 10 ? depPathToFilename : depPathToFilenamePnpm9)(key, maxLength), 'node_modules', ...name.split('/')),
      treePath: `node_modules/.pnpm/${depPathToFilename(key, DEFAULT_MAX_LENGTH)}/node_modules/${name}`,
      children,
      optional: snap.optional === 'true',
    });
  }
  const roots: string[] = [];
  for (const importer of Object.values(isObject(lock.importers) ? lock.importers : {})) {
    if (!isObject(importer)) continue;
    for (const field of ['dependencies', 'devDependencies', 'optionalDependencies']) {
      const deps = importer[field];
      if (!isObject(deps)) continue;
      for (const [alias, v] of Object.entries(deps)) {
        const k = ref(alias, isObject(v) ? v.version : v);
        if (k && !roots.includes(k)) roots.push(k);
      }
    }
  }
  return { root, store, snapshots, roots, skipped };
}

/** The scripts pnpm would run for the package at `abs` (pnpm adds `node-gyp rebuild` even with `gypfile: false`). */
interface Copy {
  snap: Snapshot;
  item?: InstalledScripts;
}

/** Every installed store copy, matched to its checked package; fails closed on anything it cannot place. */
async function scanCopies(tree: LockedTree): Promise<{ installed: Installed; copies: Map<string, Copy> }> {
  const installed = await readInstalled(tree.root.dir);
  const byPath = new Map<string, LockedPackage>();
  for (const pkg of tree.packages) if (pkg.source !== 'link') for (const p of pkg.paths) byPath.set(p, pkg);
  const copies = new Map<string, Copy>();
  await Promise.all(
    [...installed.snapshots.values()].map(async (snap) => {
      if (installed.skipped.has(snap.key)) return;
      const pkg = byPath.get(snap.treePath);
      if (!pkg) throw cannotMap(`pnpm installed ${snap.key}, which is not in the checked lockfile`);
      const scripts = await scriptsOnDisk(snap.dir, pkg.source, 'pnpm');
      // A copy pnpm did not skip must be on disk where the layout says: otherwise the mapping is wrong and a
      // package with scripts could go unseen.
      if (scripts === undefined) throw cannotMap(`${snap.key} is not at ${relative(tree.root.dir, snap.dir)}`);
      const copy: Copy = { snap };
      if (Object.keys(scripts).length) copy.item = { pkg, path: relative(tree.root.dir, snap.dir).split(sep).join('/'), scripts };
      copies.set(snap.key, copy);
    }),
  );
  return { installed, copies };
}

/** One scan per tree: the plan and the run read the same copies (nothing runs in between), not the disk twice. */
const scans = new WeakMap<LockedTree, ReturnType<typeof scanCopies>>();
function scanOnce(tree: LockedTree): ReturnType<typeof scanCopies> {
  let scan = scans.get(tree);
  if (!scan) scans.set(tree, (scan = scanCopies(tree)));
  return scan;
}

export async function pnpmScan(tree: LockedTree): Promise<InstalledScripts[]> {
  const { copies } = await scanOnce(tree);
  return [...copies.values()].flatMap((c) => (c.item ? [c.item] : [])).sort((a, b) => a.path.localeCompare(b.path));
}

// ---------------------------------------------------------------------------------------------
// Order: pnpm's buildSequence and graphSequencer

/** deps/graph-sequencer: chunks of nodes whose dependencies are all in earlier chunks; a cycle is one chunk. */
export function graphSequencer(graph: Map<string, string[]>, included: string[] = [...graph.keys()]): string[][] {
  const reverse = new Map<string, string[]>([...graph.keys()].map((k) => [k, []]));
  const nodes = new Set(included);
  const visited = new Set<string>();
  const outDegree = new Map<string, number>();
  for (const [from, edges] of graph) {
    outDegree.set(from, 0);
    for (const to of edges) {
      if (nodes.has(from) && nodes.has(to)) {
        outDegree.set(from, outDegree.get(from)! + 1);
        reverse.get(to)!.push(from);
      }
    }
    if (!nodes.has(from)) visited.add(from);
  }
  const remove = (node: string) => {
    for (const from of reverse.get(node) ?? []) outDegree.set(from, (outDegree.get(from) ?? 0) - 1);
    visited.add(node);
    nodes.delete(node);
  };
  const findCycle = (start: string): string[] => {
    const queue: [string, string[]][] = [[start, [start]]];
    const seen = new Set<string>();
    const found: string[][] = [];
    while (queue.length) {
      const [id, cycle] = queue.shift()!;
      for (const to of graph.get(id) ?? []) {
        if (to === start) {
          seen.add(to);
          found.push([...cycle]);
          continue;
        }
        if (visited.has(to) || seen.has(to)) continue;
        seen.add(to);
        queue.push([to, [...cycle, to]]);
      }
    }
    return found.sort((a, b) => b.length - a.length)[0] ?? [];
  };
  const chunks: string[][] = [];
  while (nodes.size) {
    const chunk = [...nodes].filter((n) => outDegree.get(n) === 0);
    if (chunk.length) {
      chunk.forEach(remove);
      chunks.push(chunk);
      continue;
    }
    const cycleNodes: string[] = [];
    for (const node of [...nodes]) {
      if (!nodes.has(node)) continue;
      const cycle = findCycle(node);
      cycle.forEach(remove);
      cycleNodes.push(...cycle);
    }
    if (!cycleNodes.length) throw new Error('graphSequencer: no progress'); // cannot happen: a node with out-degree > 0 lies on or before a cycle
    chunks.push(cycleNodes);
  }
  return chunks;
}

/** building/during-install buildSequence: what needs a build and everything above it, in build chunks. */
export function buildSequence(children: Map<string, string[]>, roots: string[], requiresBuild: (key: string) => boolean): string[][] {
  const toBuild = new Set<string>();
  const walked = new Set<string>();
  const walk = (entries: string[]): boolean => {
    let any = false;
    for (const key of entries) {
      if (!children.has(key) || walked.has(key)) continue;
      walked.add(key);
      // The children first (post-order), as pnpm adds them: that is its start order inside a chunk.
      if (walk(children.get(key)!) || requiresBuild(key)) {
        toBuild.add(key);
        any = true;
      }
    }
    return any;
  };
  walk(roots);
  const nodes = [...toBuild];
  const graph = new Map(nodes.map((k) => [k, children.get(k)!.filter((c) => toBuild.has(c))]));
  return graphSequencer(graph, nodes);
}

// ---------------------------------------------------------------------------------------------
// Environment: what @pnpm/npm-lifecycle gives a dependency's script

interface PnpmContext {
  config: Record<string, string | undefined>;
  major: number;
  execPath?: string;
  nodeGyp?: string;
  nodeGypBin?: string;
  unsafePerm: boolean;
}

/** `npm_config_*` as @pnpm/npm-lifecycle's makeEnv writes pnpm's config (falsy -> '', objects as JSON, no `_` keys). */
export function configEnv(config: Record<string, unknown>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, raw] of Object.entries(config)) {
    if (k.startsWith('_') || /:_/.test(k) || Array.isArray(raw)) continue; // credentials and lists stay out, as in pnpm
    let v = !raw ? '' : typeof raw === 'number' ? String(raw) : typeof raw === 'string' ? raw : JSON.stringify(raw);
    if (v.includes('\n')) v = JSON.stringify(v);
    env[`npm_config_${k.replace(/^_+/, '')}`.replace(/[^a-zA-Z0-9_]/g, '_')] = v;
  }
  return env;
}

async function isFile(p: string): Promise<boolean> {
  return access(p).then(
    () => true,
    () => false,
  );
}

/** pnpm's own script (npm_execpath) and its bundled node-gyp, when pnpm is a JavaScript file we can find. */
async function findPnpm(): Promise<{ execPath?: string; nodeGyp?: string; nodeGypBin?: string }> {
  const execPath = await resolvePmScript('pnpm');
  if (!execPath) return {};
  // bin/pnpm.cjs -> dist/; dist/pnpm.cjs itself
  for (const dist of [join(dirname(execPath), '..', 'dist'), dirname(execPath)]) {
    const nodeGyp = join(dist, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
    if (await isFile(nodeGyp)) return { execPath, nodeGyp, nodeGypBin: join(dist, 'node-gyp-bin') };
  }
  return { execPath };
}

/**
 * `pnpm config list` costs ~0.4 s (bench/RESULTS.md): it starts alongside the install (it only reads
 * configuration) and is awaited when allowed scripts run. A failure surfaces there, not as an unhandled rejection.
 */
const contexts = new Map<string, Promise<PnpmContext>>();
function contextOnce(dir: string): Promise<PnpmContext> {
  let ctx = contexts.get(dir);
  if (!ctx) {
    contexts.set(dir, (ctx = pnpmContext(dir)));
    ctx.catch(() => {});
  }
  return ctx;
}

async function pnpmContext(dir: string): Promise<PnpmContext> {
  // pnpm's merged config (.npmrc files, pnpm-workspace.yaml settings, environment): what its scripts see.
  const { code, output } = await runPm('pnpm', ['config', 'list', '--json'], { cwd: dir, stdio: 'pipe' });
  let config: Record<string, unknown>;
  try {
    if (code !== 0) throw new Error(`exit ${code}`);
    config = JSON.parse(output.slice(output.indexOf('{')));
  } catch (err) {
    throw new GuardError('install-failed', `pnpm config list --json failed (${(err as Error).message}): ${output.trim().slice(0, 500)}`, {
      remedy: "fix pnpm's configuration; the packages are installed but no install script has run",
    });
  }
  delete config.json; // our own --json flag, not a setting
  const major = Number(/^pnpm\/(\d+)/.exec(String(config['user-agent'] ?? ''))?.[1] ?? 0);
  // install runs scripts with frozen-lockfile false (runLifecycleHook).
  const env = { ...configEnv({ ...config, 'frozen-lockfile': false }) };
  const found = await findPnpm();
  // pnpm's default unsafe-perm is true unless it runs as root.
  const unsafePerm = config['unsafe-perm'] === true || config['unsafe-perm'] === 'true' || process.getuid?.() !== 0;
  return { config: env, major, ...found, unsafePerm };
}

async function scriptEnv(ctx: PnpmContext, root: string, pkgRoot: string): Promise<Record<string, string | undefined>> {
  const env: Record<string, string | undefined> = {};
  // makeEnv starts from the caller's environment without its npm_* variables (undefined: left out by spawn).
  for (const k of Object.keys(process.env)) if (/^npm_/i.test(k)) env[k] = undefined;
  Object.assign(env, ctx.config, {
    npm_command: 'install',
    npm_node_execpath: process.execPath,
    NODE: process.execPath,
    INIT_CWD: root,
    PNPM_SCRIPT_SRC_DIR: pkgRoot,
    [GUARD_ENV]: undefined, // the scripts run without the hook's marker (project-scripts gives the hook its pass)
  });
  if (ctx.execPath) env.npm_execpath = ctx.execPath;
  if (ctx.nodeGyp) env.npm_config_node_gyp = ctx.nodeGyp;
  if (ctx.major >= 10) {
    // pnpm 10 tells a nested `pnpm run` not to re-verify the install it is part of.
    env.npm_config_verify_deps_before_run = 'false';
    env.pnpm_config_verify_deps_before_run = 'false';
  }
  if (!ctx.unsafePerm) {
    // As root without unsafe-perm pnpm points TMPDIR into the package (pnpm 10: its node_modules/.tmp).
    env.TMPDIR = ctx.major >= 10 ? join(pkgRoot, 'node_modules', '.tmp') : pkgRoot;
    if (ctx.major >= 10) await mkdir(env.TMPDIR, { recursive: true });
  }
  return env;
}

// ---------------------------------------------------------------------------------------------
// Running the allowed copies

export async function pnpmRunAllowed(dir: string, items: InstalledScripts[], tree: LockedTree): Promise<void> {
  if (!items.length) return;
  const { installed, copies } = await scanOnce(tree);
  const wanted = new Map(items.map((i) => [i.path, i]));
  const selected = new Map<string, InstalledScripts>();
  for (const c of copies.values()) {
    const item = c.item && wanted.get(c.item.path);
    if (item) selected.set(c.snap.key, item);
  }
  const unknown = items.filter((i) => ![...selected.values()].includes(i));
  if (unknown.length) throw cannotMap(`no installed copy at ${unknown.map((i) => i.path).join(', ')}`);

  const children = new Map([...installed.snapshots.values()].map((s) => [s.key, s.children]));
  // Every copy that needs a build shapes the chunks (pnpm's graph has them all; it skips the disallowed ones
  // when their turn comes), and so do patched packages, which pnpm's build step patches.
  const chunks = buildSequence(children, installed.roots, (k) => Boolean(copies.get(k)?.item) || k.includes('(patch_hash='));
  const runScript = await loadRunScript();
  const ctx = await contextOnce(dir);
  const say = (line: string) => (inherited() === 'inherit' ? process.stdout : process.stderr).write(line);
  for (const chunk of chunks) {
    for (const key of chunk) {
      const item = selected.get(key);
      if (!item) continue;
      const snap = installed.snapshots.get(key)!;
      const pkgRoot = snap.dir;
      // <store>/<entry>/node_modules/<name>: up past the name's parts and node_modules.
      const storeEntry = resolve(pkgRoot, ...snap.name.split('/').map(() => '..'), '..');
      const env = await scriptEnv(ctx, dir, pkgRoot);
      // pnpm's PATH: the package's own .bin, its store entry's, the project's, node-gyp, the hoisted .bin.
      const binPaths = [
        join(pkgRoot, 'node_modules', '.bin'),
        join(storeEntry, 'node_modules', '.bin'),
        join(dir, 'node_modules', '.bin'),
        ...(ctx.nodeGypBin ? [ctx.nodeGypBin] : []),
        join(installed.store, 'node_modules', '.bin'),
      ];
      // The manifest as scanned: only its env fields matter, the commands are the ones decided on.
      let manifest: Record<string, unknown>;
      try {
        manifest = JSON.parse(await readFile(join(pkgRoot, 'package.json'), 'utf8'));
      } catch (err) {
        // pnpm fails on an unreadable manifest too; never run the scan's placeholder as a command.
        throw new GuardError('install-failed', `cannot read ${item.path}/package.json (${(err as Error).message}); its install scripts were not run`, {
          remedy: 'deny the package or fix its tarball',
          pkg: `${item.pkg.name}@${item.pkg.version}`,
        });
      }
      const pkg = { name: manifest.name, version: manifest.version, config: manifest.config, engines: manifest.engines, bin: manifest.bin };
      try {
        for (const event of INSTALL_EVENTS) {
          const cmd = item.scripts[event];
          if (!cmd) continue;
          say(`${displayText(`${item.pkg.name}@${item.pkg.version} ${event}$ ${cmd}`)}\n`);
          await runScript({
            event,
            cmd,
            path: pkgRoot,
            pkg,
            env,
            binPaths,
            stdio: inherited(),
            scriptShell: typeof ctx.config.npm_config_script_shell === 'string' && ctx.config.npm_config_script_shell ? ctx.config.npm_config_script_shell : undefined,
          });
        }
      } catch (err) {
        const what = `${item.pkg.name}@${item.pkg.version} (${item.path}): ${(err as Error).message.split('\n')[0]}`;
        if (snap.optional) {
          // pnpm skips an optional dependency whose build fails.
          say(`warning: the install script of optional dependency ${displayText(what)} failed; skipped, as pnpm does\n`);
          continue;
        }
        throw new GuardError('install-failed', `an allowed install script failed: ${what}; its output is above`, {
          remedy: 'fix the failing script or deny it; the packages are installed but not all are built',
          pkg: `${item.pkg.name}@${item.pkg.version}`,
        });
      }
    }
  }
}

/**
 * The projects in pnpm's order (sortProjects: graph-sequencer chunks, dependencies first): a project depends on
 * another when it asks for its name with `workspace:`, a `link:`/`file:` path to its folder, or a range its
 * version satisfies. Within a chunk (pnpm runs those concurrently), the lockfile's order.
 */
export function projectOrder(projects: ProjectFolder[]): ProjectFolder[] {
  const byName = new Map(projects.filter((p) => p.name).map((p) => [p.name!, p]));
  const graph = new Map<string, string[]>();
  for (const p of projects) {
    const edges: string[] = [];
    for (const [name, spec] of Object.entries(p.deps)) {
      const target = byName.get(name);
      if (!target || target === p) continue;
      const path = /^(?:link|file):(.*)$/.exec(spec)?.[1];
      const linked = path !== undefined && posix.normalize(posix.join(p.folder || '.', path)) === (target.folder || '.');
      const inRange = target.version !== undefined && semver.validRange(spec) !== null && semver.satisfies(target.version, spec);
      if (spec.startsWith('workspace:') || linked || inRange) edges.push(target.folder);
    }
    graph.set(p.folder, edges);
  }
  const index = new Map(projects.map((p, n) => [p.folder, n]));
  const byFolder = new Map(projects.map((p) => [p.folder, p]));
  return graphSequencer(graph).flatMap((chunk) => chunk.sort((a, b) => index.get(a)! - index.get(b)!).map((f) => byFolder.get(f)!));
}

export const pnpmRunner: InstallRunner = {
  pm: 'pnpm',
  describe: (passthrough) => ['pnpm install --frozen-lockfile --ignore-scripts', ...passthrough].join(' '),
  installWithoutScripts: pnpmInstallWithoutScripts,
  scan: pnpmScan,
  async runAllowed(dir, items, tree, { projectScripts }) {
    if (!projectScripts) {
      await pnpmRunAllowed(dir, items, tree);
      return [];
    }
    const root = await readProjectFolder(dir, '');
    const ctx = await contextOnce(dir);
    // pnpm's script environment for the project's own scripts too (user agent, npm_config_*, INIT_CWD).
    const run = async (p: ProjectFolder, events: readonly string[]) => runProjectEvents(dir, p, events, await scriptEnv(ctx, dir, join(dir, p.folder)));
    // The guard installs first, so pnpm:devPreinstall runs first of the scripts, after extraction.
    const runs = [await run(root, ['pnpm:devPreinstall'])];
    await pnpmRunAllowed(dir, items, tree);
    for (const p of projectOrder([root, ...(await readWorkspaces(tree))])) runs.push(await run(p, PNPM_PROJECT_EVENTS));
    return mergeRuns(runs);
  },
};
