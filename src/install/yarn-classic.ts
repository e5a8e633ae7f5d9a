// The yarn 1 ("classic") runner. yarn 1 has no per-package script switch and no `rebuild`, so:
// - install: `yarn install --frozen-lockfile --ignore-scripts` (also keeps the project's own scripts off);
// - scan: yarn.lock's `paths` are descriptors, not folders, so the copies are found the way Node (and yarn's
//   hoisting) places them: from the project and each workspace, every locked dependency is resolved through
//   the node_modules folders on the way up. The folder's identity comes from the lockfile edge that leads to
//   it, never from the tarball's own package.json (whose version must agree, else the install is refused);
// - run: the allowed copies' scripts, run the way yarn 1 runs them (src/package-install-scripts.js): packages in
//   yarn's topological order (PackageResolver.getTopologicalManifests: dependencies first), each package's
//   preinstall, install, postinstall in turn, each stage in all its folders at once; with yarn's environment
//   (util/execute-lifecycle-script.js makeEnv), through @npmcli/run-script.
import { loadRunScript } from './node-gyp.js';
import { createRequire } from 'node:module';
import { readFile, realpath, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { GuardError } from '../errors.js';
import type { LockedPackage, LockedTree } from '../lockfile/types.js';
import { INSTALL_EVENTS, type InstalledScripts } from './lifecycle.js';
import type { InstallRunner } from './types.js';
import { mergeRuns, readProjectFolder, readWorkspaces, runProjectEvents, type ProjectFolder, type ProjectScriptsRun } from './project-scripts.js';
import { GUARD_ENV, inherited, pmCommand, resolvePmScript, runPm } from './spawn.js';
import { CLASSIC_ROOT_EVENTS, missing, runYarn, yarnScriptsOnDisk } from './yarn-shared.js';
import { displayText } from '../util/safe-text.js';
import { isObject, type Json } from '../util/is-object.js';

const require = createRequire(import.meta.url);
// Same reason as the lockfile reader: the bundle's `parse` is only on module.exports.
const yarnLockfile = require('@yarnpkg/lockfile') as typeof import('@yarnpkg/lockfile');

/** yarn 1's production mode (src/config.js): --production/--prod, or NODE_ENV=production unless turned off. */
export function classicProduction(passthrough: string[], env: NodeJS.ProcessEnv = process.env): boolean {
  for (const a of passthrough) {
    const m = /^--(?:production|prod)(?:=(.*))?$/.exec(a);
    if (m) return m[1] === undefined || !['false', '0', ''].includes(m[1]);
  }
  return env.NODE_ENV === 'production' && env.NPM_CONFIG_PRODUCTION !== 'false' && env.YARN_PRODUCTION !== 'false';
}

/** A dependency edge out of a package (or the project), as yarn.lock and package.json write it. */
interface Edge {
  descriptor: string;
  name: string;
  optional: boolean;
}

interface ClassicGraph {
  byDescriptor: Map<string, LockedPackage>;
  edges: Map<LockedPackage, Edge[]>;
  /** Where resolution starts: the project and each workspace folder, with the edges its package.json declares. */
  starts: { dir: string; edges: Edge[] }[];
}

function manifestEdges(m: Json, production: boolean): Edge[] {
  const out: Edge[] = [];
  // yarn 1 install.js fetchRequestFromCwd: dependencies, devDependencies (not in production), optionalDependencies.
  for (const [field, optional] of [
    ['dependencies', false],
    ['devDependencies', false],
    ['optionalDependencies', true],
  ] as const) {
    if (field === 'devDependencies' && production) continue;
    const deps = m[field];
    if (!isObject(deps)) continue;
    for (const [name, range] of Object.entries(deps)) if (typeof range === 'string') out.push({ descriptor: `${name}@${range}`, name, optional });
  }
  return out;
}

async function readJson(path: string): Promise<Json | undefined> {
  try {
    const doc = JSON.parse(await readFile(path, 'utf8'));
    return isObject(doc) ? doc : undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new GuardError('install-failed', `cannot read ${path}: ${(err as Error).message}`, { remedy: 'check the installed tree; no install script has run' });
  }
}

async function classicGraph(tree: LockedTree, production: boolean): Promise<ClassicGraph> {
  const text = await readFile(tree.lockfilePath, 'utf8');
  const parsed = yarnLockfile.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  if (parsed.type !== 'success' || !isObject(parsed.object)) throw new GuardError('bad-lockfile', `${tree.lockfilePath} changed or cannot be read again`);
  const byDescriptor = new Map<string, LockedPackage>();
  for (const p of tree.packages) if (p.source !== 'link') for (const d of p.paths) byDescriptor.set(d, p);
  const edges = new Map<LockedPackage, Edge[]>();
  for (const [descriptor, raw] of Object.entries(parsed.object as Json)) {
    const pkg = byDescriptor.get(descriptor);
    if (!pkg || edges.has(pkg) || !isObject(raw)) continue;
    // ref.dependencies: dependencies, then optionalDependencies, in the lockfile's order.
    edges.set(pkg, [
      ...Object.entries(isObject(raw.dependencies) ? raw.dependencies : {}).map(([name, range]) => ({ descriptor: `${name}@${range}`, name, optional: false })),
      ...Object.entries(isObject(raw.optionalDependencies) ? raw.optionalDependencies : {}).map(([name, range]) => ({ descriptor: `${name}@${range}`, name, optional: true })),
    ]);
  }
  const root = tree.root.dir;
  const starts: ClassicGraph['starts'] = [];
  const rootManifest = await readJson(join(root, 'package.json'));
  if (rootManifest) starts.push({ dir: root, edges: manifestEdges(rootManifest, production) });
  for (const ws of tree.packages.filter((p) => p.source === 'link' && p.resolved && !p.resolved.startsWith('link:'))) {
    const dir = resolve(root, ws.resolved!);
    const m = await readJson(join(dir, 'package.json'));
    if (m) starts.push({ dir, edges: manifestEdges(m, production) });
  }
  return { byDescriptor, edges, starts };
}

async function isDir(p: string): Promise<boolean> {
  return stat(p).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

/** Node's lookup: `<dir>/node_modules/<name>` from `from` up to the project root, skipping node_modules folders. */
async function resolveFolder(root: string, from: string, name: string): Promise<string | undefined> {
  let dir = from;
  for (;;) {
    if (basename(dir) !== 'node_modules') {
      const candidate = join(dir, 'node_modules', name);
      if (await isDir(candidate)) return candidate;
    }
    if (dir === root || !dir.startsWith(root + sep)) return undefined;
    dir = dirname(dir);
  }
}

/** Every installed copy of every locked package: package -> folders relative to the project. */
async function locateCopies(tree: LockedTree, graph: ClassicGraph, production: boolean): Promise<Map<LockedPackage, string[]>> {
  const root = tree.root.dir;
  const copies = new Map<LockedPackage, string[]>();
  const seen = new Set<string>();
  const queue: { from: string; edges: Edge[]; fromLabel: string }[] = graph.starts.map((s) => ({ from: s.dir, edges: s.edges, fromLabel: relative(root, s.dir) || 'the project' }));
  while (queue.length) {
    const { from, edges, fromLabel } = queue.shift()!;
    for (const edge of edges) {
      const pkg = graph.byDescriptor.get(edge.descriptor);
      // Not a lockfile entry: a workspace (walked from its own folder) or a link; nothing is fetched for it.
      if (!pkg) continue;
      const folder = await resolveFolder(root, from, edge.name);
      if (!folder) {
        // yarn leaves out an optional dependency it cannot install here (platform, --ignore-optional).
        if (!edge.optional) missing(pkg, production, `${edge.descriptor} from ${fromLabel} resolves to no node_modules folder`);
        continue;
      }
      const real = await realpath(folder);
      if (seen.has(real)) continue;
      seen.add(real);
      const rel = relative(root, folder);
      const onDisk = await readJson(join(folder, 'package.json'));
      if (!onDisk) {
        if (!edge.optional) missing(pkg, production, `${rel} has no package.json`);
        continue;
      }
      // The folder Node would load for this edge must hold the locked version; anything else is not what was checked.
      if (onDisk.version !== pkg.version) {
        throw new GuardError(
          'install-failed',
          `${rel} holds ${String(onDisk.name)}@${String(onDisk.version)}, but the lockfile resolves ${edge.descriptor} (from ${fromLabel}) to ${pkg.name}@${pkg.version}`,
          {
            remedy: 'the installed tree is not the locked one (or a tarball misstates its version); no install script has run',
            pkg: pkg.id,
          },
        );
      }
      copies.set(pkg, [...(copies.get(pkg) ?? []), rel]);
      queue.push({ from: folder, edges: graph.edges.get(pkg) ?? [], fromLabel: rel });
    }
  }
  return copies;
}

type Step = { pkg: LockedPackage } | { workspace: ProjectFolder };

/**
 * PackageResolver.getTopologicalManifests: depth first from the top-level patterns, each package after its
 * dependencies. Workspaces are packages there too (yarn 1 builds them like dependencies, with theirs first):
 * given `workspaces`, an edge to a workspace's name visits it, and every workspace is a top-level pattern.
 */
function topological(graph: ClassicGraph, root: string, workspaces: ProjectFolder[] = []): Step[] {
  const order: Step[] = [];
  const skip = new Set<LockedPackage | ProjectFolder>();
  const byName = new Map(workspaces.filter((w) => w.name).map((w) => [w.name!, w]));
  const edgesAt = new Map(graph.starts.map((s) => [s.dir, s.edges]));
  const visit = (w: ProjectFolder) => {
    if (skip.has(w)) return;
    skip.add(w);
    add(edgesAt.get(resolve(root, w.folder)) ?? []);
    order.push({ workspace: w });
  };
  const add = (edges: Edge[]) => {
    for (const e of edges) {
      const pkg = graph.byDescriptor.get(e.descriptor);
      if (!pkg) {
        const w = byName.get(e.name);
        if (w) visit(w);
        continue;
      }
      if (skip.has(pkg)) continue;
      skip.add(pkg);
      add(graph.edges.get(pkg) ?? []);
      order.push({ pkg });
    }
  };
  const atDir = new Map(workspaces.map((w) => [resolve(root, w.folder), w]));
  for (const s of graph.starts) {
    const w = atDir.get(s.dir);
    if (w) visit(w);
    else add(s.edges);
  }
  for (const w of workspaces) visit(w);
  return order;
}

interface YarnConfig {
  /** `yarn config list`: yarn's own settings (with its defaults) and npm's, as yarn read them. */
  yarn: Json;
  npm: Json;
}

/** yarn's settings as yarn itself resolves them (`yarn config list --json`); nothing in the project runs. */
async function yarnConfig(dir: string): Promise<YarnConfig> {
  const { code, output } = await runPm('yarn', ['config', 'list', '--json', '--silent'], { cwd: dir, stdio: 'pipe' });
  const inspect = output
    .split('\n')
    .map((l) => {
      try {
        return JSON.parse(l) as { type?: string; data?: unknown };
      } catch {
        return undefined;
      }
    })
    .filter((l) => l?.type === 'inspect' && isObject(l.data))
    .map((l) => l!.data as Json);
  const [yarn, npm] = inspect;
  if (code !== 0 || inspect.length !== 2 || !yarn || !npm) {
    throw new GuardError('install-failed', `yarn config list failed (exit ${code}); the allowed install scripts did not run`, { remedy: 'run `yarn config list` to see why' });
  }
  return { yarn, npm };
}

/**
 * What yarn 1 sets as npm_execpath (its own script, `process.mainModule.filename`), unless the environment
 * already names a yarn: the yarn that started us, else the `yarn` on PATH with its links resolved.
 */
async function yarnExecPath(): Promise<string> {
  return (await resolvePmScript('yarn')) ?? pmCommand('yarn').cmd;
}

const INVALID = /\W/g;
const IGNORE_MANIFEST_KEYS = new Set(['readme', 'notice', 'licenseText', 'activationEvents', 'contributes']);

/**
 * The environment yarn 1 gives a lifecycle script (makeEnv), less what @npmcli/run-script sets itself
 * (npm_lifecycle_event, npm_lifecycle_script, PATH with the node_modules/.bin folders and node-gyp).
 */
export function classicEnv(opts: { dir: string; manifest: Json; config: YarnConfig; production: boolean; argv: string[]; execPath: string }): Record<string, string> {
  const env: Record<string, string> = {};
  const node = process.env.NODE ?? process.execPath;
  env.NODE = node;
  env.INIT_CWD = process.env.INIT_CWD ?? opts.dir;
  env.npm_node_execpath = node;
  env.npm_execpath = opts.execPath;
  if (opts.production) env.NODE_ENV = 'production';
  env.npm_config_argv = JSON.stringify({ remain: [], cooked: ['install'], original: opts.argv });
  // npm_package_*: the whole manifest, flattened with `_` (keys starting with `_` and long texts left out).
  const queue: [string, unknown][] = [['', opts.manifest]];
  while (queue.length) {
    const [key, val] = queue.pop()!;
    if (typeof val === 'object' && val !== null) {
      for (const sub of Object.keys(val)) {
        const full = [key, sub].filter(Boolean).join('_');
        if (full && full[0] !== '_' && !IGNORE_MANIFEST_KEYS.has(full)) queue.push([full, (val as Json)[sub]]);
      }
    } else {
      let clean = String(val);
      if (clean.includes('\n')) clean = JSON.stringify(clean);
      env[`npm_package_${key.replace(INVALID, '_')}`] = clean;
    }
  }
  // npm_config_*: every yarn and npm setting, as yarn's getOption resolves it (yarn's first), credentials left out.
  const keys = new Set([...Object.keys(opts.config.yarn), ...Object.keys(opts.config.npm)]);
  const name = typeof opts.manifest.name === 'string' ? opts.manifest.name : undefined;
  for (const key of keys) {
    if (/:_/.test(key) || key === 'lastUpdateCheck') continue;
    let val = key in opts.config.yarn ? opts.config.yarn[key] : opts.config.npm[key];
    let s = !val ? '' : typeof val === 'number' ? String(val) : typeof val === 'string' ? val : JSON.stringify(val);
    if (s.includes('\n')) s = JSON.stringify(s);
    val = s;
    env[`npm_config_${key.replace(/^_+/, '')}`.replace(INVALID, '_')] = s;
    if (name && key.startsWith(`${name}:`)) env[`npm_package_config_${key.replace(/^_+/, '').replace(`${name}:`, '')}`.replace(INVALID, '_')] = s;
  }
  // Scripts run without the hook's marker, an inherited one included (project-scripts gives the hook its pass).
  (env as Record<string, string | undefined>)[GUARD_ENV] = undefined;
  return env;
}

export function classicRunner(): InstallRunner {
  let production = classicProduction([]);
  let argv = ['install', '--frozen-lockfile'];
  // `yarn config list` (~0.3 s) only reads settings: it starts alongside the install and is awaited when allowed
  // scripts run (a failure surfaces there). The lockfile graph is read once for the scan and the run.
  let config: Promise<YarnConfig> | undefined;
  let graphOf: { tree: LockedTree; graph: Promise<ClassicGraph> } | undefined;
  const graphFor = (tree: LockedTree) => {
    if (graphOf?.tree !== tree) graphOf = { tree, graph: classicGraph(tree, production) };
    return graphOf.graph;
  };
  return {
    pm: 'yarn',
    describe: (passthrough) => ['yarn install --frozen-lockfile --ignore-scripts', ...passthrough].join(' '),
    async installWithoutScripts(dir, passthrough) {
      production = classicProduction(passthrough);
      argv = ['install', '--frozen-lockfile', ...passthrough];
      config = yarnConfig(dir);
      config.catch(() => {});
      // --ignore-scripts turns off the dependencies' scripts and the project's own (Config.executeLifecycleScript).
      await runYarn(
        ['install', '--frozen-lockfile', '--ignore-scripts', '--non-interactive', ...passthrough],
        dir,
        {},
        'yarn install --frozen-lockfile --ignore-scripts failed',
        'fix what yarn reported; no install script has run',
      );
    },
    async scan(tree) {
      const graph = await graphFor(tree);
      const copies = await locateCopies(tree, graph, production);
      const out: InstalledScripts[] = [];
      for (const [pkg, paths] of copies) {
        for (const path of paths) {
          const scripts = await yarnScriptsOnDisk(join(tree.root.dir, path), pkg.source);
          if (scripts && Object.keys(scripts).length) out.push({ pkg, path, scripts });
        }
      }
      return out.sort((a, b) => a.path.localeCompare(b.path));
    },
    async runAllowed(dir, items, tree, { projectScripts }) {
      const rootProject = projectScripts ? await readProjectFolder(dir, '') : undefined;
      const workspaces = projectScripts ? await readWorkspaces(tree) : [];
      const runs: (ProjectScriptsRun | undefined)[] = [];
      const settings = items.length || projectScripts ? await (config ?? yarnConfig(dir)) : undefined;
      const execPath = await yarnExecPath();
      // yarn 1's script environment for the project's own scripts too (user agent, npm_config_*, npm_package_*).
      const runProject = (p: ProjectFolder, events: readonly string[]) => runProjectEvents(dir, p, events, classicEnv({ dir, manifest: p.manifest, config: settings!, production, argv, execPath }));
      // yarn 1 runs the project's preinstall before it fetches (install.js wrapLifecycle); here, first of the scripts.
      if (rootProject) runs.push(await runProject(rootProject, ['preinstall']));
      const graph = await graphFor(tree);
      const byPkg = new Map<LockedPackage, InstalledScripts[]>();
      for (const i of items) byPkg.set(i.pkg, [...(byPkg.get(i.pkg) ?? []), i]);
      const steps = topological(graph, dir, workspaces).filter((s) => ('pkg' in s ? byPkg.has(s.pkg) : true));
      // Anything allowed that the walk from the project does not reach still runs, after the rest.
      for (const p of byPkg.keys()) if (!steps.some((s) => 'pkg' in s && s.pkg === p)) steps.push({ pkg: p });
      const runScript = await loadRunScript();
      for (const step of steps) {
        if ('workspace' in step) {
          // package-install-scripts builds a workspace like a dependency: preinstall, install, postinstall.
          runs.push(await runProject(step.workspace, INSTALL_EVENTS));
          continue;
        }
        const pkg = step.pkg;
        const copies = byPkg.get(pkg)!;
        try {
          for (const event of INSTALL_EVENTS) {
            await Promise.all(
              copies
                .filter((c) => c.scripts[event])
                .map(async (c) => {
                  const abs = join(dir, c.path);
                  const manifest = (await readJson(join(abs, 'package.json'))) ?? {};
                  await runScript({
                    event,
                    path: abs,
                    pkg: manifest,
                    cmd: c.scripts[event],
                    args: [],
                    stdio: inherited(),
                    env: classicEnv({ dir, manifest, config: settings!, production, argv, execPath }),
                  });
                }),
            );
          }
        } catch (err) {
          const where = copies.map((c) => c.path).join(', ');
          // yarn 1: an optional dependency whose script fails is removed with a warning; anything else fails the install.
          if (pkg.optional) {
            process.stderr.write(`warning ${displayText(where)}: ${displayText((err as Error).message)}\ninfo This module is OPTIONAL, you can safely ignore this error\n`);
            await Promise.all(copies.map((c) => rm(join(dir, c.path), { recursive: true, force: true })));
            continue;
          }
          throw new GuardError('install-failed', `an allowed install script failed in ${where}: ${(err as Error).message}`, {
            remedy: 'fix the failing script or deny it; the packages are installed but not built',
            pkg: pkg.id,
          });
        }
      }
      if (rootProject) {
        const events = CLASSIC_ROOT_EVENTS.filter((e) => e !== 'preinstall' && !(production && (e === 'prepublish' || e === 'prepare')));
        runs.push(await runProject(rootProject, events));
      }
      // The root listed last, after the workspaces its install waited for.
      return mergeRuns(runs).sort((a, b) => (a.folder === '' ? 1 : 0) - (b.folder === '' ? 1 : 0));
    },
  };
}
