// The yarn 2+ ("berry") runner, measured with yarn 4.18.1.
//
// - install: `yarn install --immutable --mode=skip-build` with YARN_ENABLE_SCRIPTS=false. enableScripts=false alone
//   is not enough: berry builds workspaces whatever it says (Project.linkEverything gives every workspace with a
//   preinstall/install/postinstall a build directive, without the enableScripts test extractBuildRequest applies
//   to dependencies), so the project's own postinstall would run; skip-build returns before the build step.
// - scan: the copies come from yarn's own records, never from a tarball's claims. PnP: the project's .pnp.cjs
//   (getAllLocators/getPackageInformation; its fs layer reads inside the cache zips), in a child node process so
//   this one's fs is never patched. node-modules: node_modules/.yarn-state.yml (locator -> folders). The pnpm
//   linker is refused.
// - run: yarn builds them itself: a second `yarn install --immutable`, still with enableScripts=false, with a
//   plugin (loaded through YARN_PLUGINS from a temporary folder, nothing of the user's is written) that answers
//   `built: true` from Project.getDependencyMeta for exactly the allowed locators and `built: false` for every
//   other. That is yarn's own switch (dependenciesMeta built), so yarn unplugs what builds (PnpLinker
//   shouldBeUnplugged), orders the builds (dependencies first, independent ones in parallel), and runs
//   preinstall, install, postinstall and the implicit `node-gyp rebuild` with its own shell and environment
//   (scriptUtils.executePackageScript). The project's own lifecycle is yarn's too: berry builds every workspace,
//   the root included, like a package (preinstall, install, postinstall, in the same dependency order), so the
//   plugin rebuilds them as `yarn rebuild` would, or hides their scripts while linking when the policy turns the
//   project's scripts off. It rebuilds the allowed packages the same way and reports what yarn built.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseSyml } from '@yarnpkg/parsers';
import { GuardError } from '../errors.js';
import type { LockedPackage, LockedTree } from '../lockfile/types.js';
import { INSTALL_EVENTS, type InstalledScripts } from './lifecycle.js';
import type { InstallRunner } from './types.js';
import { readProjectFolder, readWorkspaces, type ProjectFolder, type ProjectScriptsRun } from './project-scripts.js';
import { GUARD_ENV, withHookPass } from './hook-pass.js';
import { runPm } from './spawn.js';
import { BERRY_WORKSPACE_EVENTS, missing, runYarn, yarnScriptsOnDisk } from './yarn-shared.js';

type Linker = 'pnp' | 'node-modules';

/** The nodeLinker yarn itself resolves for the project (rc files, environment). */
async function nodeLinker(dir: string): Promise<Linker> {
  const { code, output } = await runPm('yarn', ['config', 'get', 'nodeLinker', '--json'], { cwd: dir, stdio: 'pipe' });
  let value: unknown;
  try {
    value = JSON.parse(output.trim().split('\n').pop() ?? '');
  } catch {
    value = undefined;
  }
  if (code !== 0 || typeof value !== 'string') {
    throw new GuardError('install-failed', `yarn config get nodeLinker failed (exit ${code}): ${output.trim().slice(0, 300)}`, {
      remedy: 'run `yarn config get nodeLinker` to see why; nothing was installed',
    });
  }
  if (value === 'pnp' || value === 'node-modules') return value;
  throw new GuardError('bad-usage', `safe-install cannot install a yarn project with nodeLinker: ${value}: it cannot find and build the installed packages there`, {
    remedy: 'use nodeLinker pnp or node-modules, or run `safe-install check` as a gate before `yarn install --immutable`; nothing was installed',
  });
}

/** A lockfile package's locator as yarn writes it (`name@npm:1.0.0`, `name@patch:...`, `name@<git url>`). */
export function locatorOf(pkg: LockedPackage): string {
  if (pkg.resolved?.startsWith(`${pkg.name}@`)) return pkg.resolved; // patch: the reader keeps the whole locator
  if (pkg.source === 'registry') return `${pkg.name}@npm:${pkg.version}`;
  return `${pkg.name}@${pkg.resolved ?? pkg.version}`;
}

/** `virtual:<hash>#npm:1.0.0` -> `npm:1.0.0`: a virtual instance (peer dependencies) is the same package. */
const devirtualize = (reference: string) => (reference.startsWith('virtual:') ? reference.slice(reference.indexOf('#') + 1) : reference);
const isLinkReference = (reference: string) => /^(?:workspace|link|portal):/.test(reference);

function lockedByLocator(tree: LockedTree): Map<string, LockedPackage> {
  const out = new Map<string, LockedPackage>();
  for (const p of tree.packages) if (p.source !== 'link' && p.source !== 'bundled') out.set(locatorOf(p), p);
  return out;
}

function unknownLocator(locator: string, where: string): never {
  throw new GuardError('install-failed', `yarn installed ${locator} (${where}), which has install scripts but is not in the checked lockfile`, {
    remedy: 'the installed tree differs from the lockfile; no install script has run',
  });
}

// ---------------------------------------------------------------------------------------------
// PnP

interface PnpPackage {
  name: string;
  reference: string;
  location: string;
  linkType: string;
  scripts: Record<string, unknown> | null;
  error: string | null;
  bindingGyp: boolean;
}

// Runs under `node -r .pnp.cjs`: the PnP fs layer reads the package.json files inside the cache zips.
const PNP_LIST = `
const api = require('pnpapi'); const fs = require('fs'); const path = require('path');
const out = [];
for (const l of api.getAllLocators()) {
  if (l.name === null) continue;
  const info = api.getPackageInformation(l);
  if (!info || !info.packageLocation) continue;
  let loc = info.packageLocation;
  if (api.resolveVirtual) loc = api.resolveVirtual(loc) || loc;
  let scripts = null, error = null, bindingGyp = false;
  try { const m = JSON.parse(fs.readFileSync(path.join(loc, 'package.json'), 'utf8')); scripts = m && typeof m.scripts === 'object' && m.scripts ? m.scripts : {}; }
  catch (e) { error = e.code || String(e.message); }
  try { bindingGyp = fs.existsSync(path.join(loc, 'binding.gyp')); } catch {}
  out.push({ name: l.name, reference: l.reference, location: loc, linkType: info.linkType, scripts, error, bindingGyp });
}
process.stdout.write(JSON.stringify(out));
`;

function listPnp(dir: string): Promise<PnpPackage[]> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, NODE_OPTIONS: '' };
    execFile(process.execPath, ['-r', join(dir, '.pnp.cjs'), '-e', PNP_LIST], { cwd: dir, env, maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        reject(
          new GuardError(
            'install-failed',
            `cannot read the installed packages through ${join(dir, '.pnp.cjs')}: ${String(stderr || err.message)
              .trim()
              .slice(0, 500)}`,
            { remedy: 'no install script has run; run the install again' },
          ),
        );
        return;
      }
      try {
        resolve(JSON.parse(stdout) as PnpPackage[]);
      } catch (e) {
        reject(new GuardError('install-failed', `unreadable package list from .pnp.cjs: ${(e as Error).message}`));
      }
    });
  });
}

/** Install scripts as yarn decides them (extractBuildRequest), from a manifest read inside a zip. */
function scriptsOf(p: PnpPackage, source: LockedPackage['source']): Record<string, string> {
  if (p.error) return { install: `(unreadable package.json: ${p.error})` };
  const raw = p.scripts ?? {};
  const scripts: Record<string, string> = {};
  const events: readonly string[] = source === 'git' ? [...INSTALL_EVENTS, 'prepare'] : INSTALL_EVENTS;
  for (const e of events) if (typeof raw[e] === 'string' && raw[e]) scripts[e] = raw[e] as string;
  if (!scripts.install && p.bindingGyp) scripts.install = 'node-gyp rebuild';
  return scripts;
}

async function scanPnp(tree: LockedTree): Promise<InstalledScripts[]> {
  const dir = tree.root.dir;
  const locked = lockedByLocator(tree);
  const found = new Set<LockedPackage>();
  const out = new Map<LockedPackage, InstalledScripts>();
  for (const p of await listPnp(dir)) {
    const reference = devirtualize(p.reference);
    if (isLinkReference(reference) || p.linkType === 'SOFT') continue; // workspaces and links: never built by yarn
    const locator = `${p.name}@${reference}`;
    const pkg = locked.get(locator);
    const path = relative(dir, p.location).replace(/\/+$/, '');
    // A package yarn lists but cannot read (a platform-incompatible optional one has no files) is not installed.
    if (p.error === 'ENOENT') continue;
    const scripts = scriptsOf(p, pkg?.source ?? 'registry');
    if (!pkg) {
      if (Object.keys(scripts).length) unknownLocator(locator, path);
      continue;
    }
    found.add(pkg);
    if (Object.keys(scripts).length && !out.has(pkg)) out.set(pkg, { pkg, path, scripts });
  }
  for (const pkg of locked.values()) if (!found.has(pkg)) missing(pkg, false, `not in ${join(dir, '.pnp.cjs')}`);
  return [...out.values()].sort((a, b) => a.path.localeCompare(b.path));
}

// ---------------------------------------------------------------------------------------------
// node-modules

async function scanNodeModules(tree: LockedTree): Promise<InstalledScripts[]> {
  const dir = tree.root.dir;
  const statePath = join(dir, 'node_modules', '.yarn-state.yml');
  let state: Record<string, unknown>;
  try {
    state = parseSyml(await readFile(statePath, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new GuardError('install-failed', `cannot read ${statePath}, where yarn records which package is in which folder: ${(err as Error).message}`, {
      remedy: 'no install script has run; run the install again',
    });
  }
  const locked = lockedByLocator(tree);
  const found = new Set<LockedPackage>();
  const out: InstalledScripts[] = [];
  for (const [key, entry] of Object.entries(state)) {
    if (key === '__metadata') continue;
    const at = key.indexOf('@', 1);
    const locator = `${key.slice(0, at)}@${devirtualize(key.slice(at + 1))}`;
    if (isLinkReference(locator.slice(at + 1))) continue;
    const locations = (entry as { locations?: unknown })?.locations;
    if (!Array.isArray(locations)) throw new GuardError('install-failed', `${statePath}: ${key} has no locations`);
    const pkg = locked.get(locator);
    for (const location of locations) {
      if (typeof location !== 'string' || location === '') continue;
      const scripts = await yarnScriptsOnDisk(join(dir, location), pkg?.source ?? 'registry');
      if (!scripts) continue;
      if (!pkg) {
        if (Object.keys(scripts).length) unknownLocator(locator, location);
        continue;
      }
      found.add(pkg);
      if (Object.keys(scripts).length) out.push({ pkg, path: location, scripts });
    }
  }
  for (const pkg of locked.values()) if (!found.has(pkg)) missing(pkg, false, `not in ${statePath}`);
  return out.sort((a, b) => a.path.localeCompare(b.path));
}

// ---------------------------------------------------------------------------------------------
// Building the allowed packages

/**
 * The yarn plugin (CommonJS, as yarn loads plugins; what it needs is written into its source, since yarn may
 * load a plugin more than once). `validateProject` runs first in every install; from there it replaces two
 * methods on this one Project object, in memory: nothing is persisted (the manifests are written before
 * linking starts, and a method is not data).
 */
export function buildPlugin(opts: { allowed: string[]; projectScripts: boolean; restore: Record<string, string | null>; report: string }): string {
  return `
const ALLOWED = new Set(${JSON.stringify(opts.allowed)});
const PROJECT_SCRIPTS = ${JSON.stringify(opts.projectScripts)};
const RESTORE = ${JSON.stringify(opts.restore)};
const REPORT = ${JSON.stringify(opts.report)};
const EVENTS = ['preinstall', 'install', 'postinstall'];
const ident = (l) => (l.scope ? '@' + l.scope + '/' : '') + l.name;
const devirtualize = (r) => (r.startsWith('virtual:') ? r.slice(r.indexOf('#') + 1) : r);
const allowed = (l) => typeof l.reference === 'string' && ALLOWED.has(ident(l) + '@' + devirtualize(l.reference));
module.exports = {
  name: 'safe-install-allowed-builds',
  factory: () => ({
    hooks: {
      validateProject(project) {
        const meta = project.getDependencyMeta.bind(project);
        // Called with the (devirtualized) locator being linked: built only when safe-install allowed exactly it.
        project.getDependencyMeta = (locator, version) => {
          const m = meta(locator, version);
          return { ...m, built: allowed(locator) && m.built !== false };
        };
        const link = project.linkEverything.bind(project);
        project.linkEverything = async (opts) => {
          // As \`yarn rebuild <allowed>\`: built now even if an earlier install built them.
          for (const pkg of project.storedPackages.values()) {
            if (allowed(pkg)) {
              project.storedBuildState.delete(pkg.locatorHash);
              if (project.skippedBuilds) project.skippedBuilds.delete(pkg.locatorHash);
            }
          }
          // Workspaces are built without the enableScripts test: always again when the project's scripts are on
          // (as npm and pnpm run them on every install), never when they are off.
          const saved = project.workspaces.map((w) => [w, w.manifest.scripts]);
          for (const [w, scripts] of saved) {
            if (PROJECT_SCRIPTS) project.storedBuildState.delete(w.anchoredLocator.locatorHash);
            else w.manifest.scripts = new Map([...scripts].filter(([k]) => !EVENTS.includes(k)));
          }
          try {
            return await link(opts);
          } finally {
            for (const [w, scripts] of saved) w.manifest.scripts = scripts;
          }
        };
      },
      // Scripts (and any yarn they start) see the user's own settings, not the ones this install ran with.
      async setupScriptEnvironment(project, env) {
        for (const [k, v] of Object.entries(RESTORE)) {
          if (v === null) delete env[k];
          else env[k] = v;
        }
      },
      // Which allowed packages yarn built successfully in this install (yarn records a build only when it passed).
      async afterAllInstalled(project) {
        const built = [];
        for (const pkg of project.storedPackages.values()) {
          if (allowed(pkg) && project.storedBuildState.has(pkg.locatorHash)) built.push(ident(pkg) + '@' + devirtualize(pkg.reference));
        }
        const workspaces = project.workspaces.filter((w) => project.storedBuildState.has(w.anchoredLocator.locatorHash)).map((w) => w.relativeCwd);
        require('fs').writeFileSync(REPORT, JSON.stringify({ built: [...new Set(built)], workspaces }));
      },
    },
  }),
};
`;
}

/** The project's folders whose install scripts berry runs (preinstall, install, postinstall), root first. */
async function buildableProject(tree: LockedTree): Promise<ProjectFolder[]> {
  const folders = [await readProjectFolder(tree.root.dir, ''), ...(await readWorkspaces(tree))];
  return folders.filter((f) => BERRY_WORKSPACE_EVENTS.some((e) => f.scripts[e]));
}

async function buildAllowed(dir: string, items: InstalledScripts[], passthrough: string[], project: ProjectFolder[] | undefined): Promise<ProjectScriptsRun[]> {
  const allowed = [...new Set(items.map((i) => locatorOf(i.pkg)))];
  const tmp = await mkdtemp(join(tmpdir(), 'safe-install-yarn-'));
  try {
    const plugin = join(tmp, 'safe-install-allowed-builds.cjs');
    const report = join(tmp, 'built.json');
    // The scripts yarn builds also lose the hook's marker: an install one of them starts is checked.
    const restore = { YARN_ENABLE_SCRIPTS: process.env.YARN_ENABLE_SCRIPTS ?? null, YARN_PLUGINS: process.env.YARN_PLUGINS ?? null, [GUARD_ENV]: null };
    await writeFile(plugin, buildPlugin({ allowed, projectScripts: project !== undefined, restore, report }));
    // A pass for the project's own plugin (validateProject): the check already ran.
    await withHookPass(dir, (pass) =>
      runYarn(
        ['install', '--immutable', ...passthrough],
        dir,
        { ...pass, YARN_ENABLE_SCRIPTS: 'false', YARN_PLUGINS: [process.env.YARN_PLUGINS, plugin].filter(Boolean).join(';') },
        'an allowed install script failed, or yarn could not build the allowed packages',
        'fix the failing script or deny it; the packages are installed but not built',
      ),
    );
    // Never say "ran" for a package yarn did not build (a build it skipped, a plugin that did not load).
    let built: string[] = [];
    let workspaces: string[] = [];
    try {
      const r = JSON.parse(await readFile(report, 'utf8')) as { built?: unknown; workspaces?: unknown };
      if (Array.isArray(r.built)) built = r.built.map(String);
      if (Array.isArray(r.workspaces)) workspaces = r.workspaces.map((w) => (String(w) === '.' ? '' : String(w)));
    } catch {
      // no report: nothing is taken as built
    }
    const notBuilt = [...allowed.filter((l) => !built.includes(l)), ...(project ?? []).filter((p) => !workspaces.includes(p.folder)).map((p) => `the project's ${p.folder || 'root'} workspace`)];
    if (notBuilt.length) {
      throw new GuardError('install-failed', `yarn did not build ${notBuilt.join(', ')}, which the policy allows; its output is above`, {
        remedy: 'a package.json dependenciesMeta "built: false", or an architecture yarn cannot build for, stops it; the packages are installed but not built',
      });
    }
    // For the report: the workspaces as the lockfile lists them, then the root.
    const order = (p: ProjectFolder) => (p.folder === '' ? 1 : 0);
    return [...(project ?? [])].sort((a, b) => order(a) - order(b)).map((p) => ({ folder: p.folder, events: BERRY_WORKSPACE_EVENTS.filter((e) => p.scripts[e]) }));
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

export function berryRunner(): InstallRunner {
  let linker: Linker | undefined;
  let args: string[] = [];
  return {
    pm: 'yarn',
    describe: (passthrough) => ['YARN_ENABLE_SCRIPTS=false yarn install --immutable --mode=skip-build', ...passthrough].join(' '),
    async installWithoutScripts(dir, passthrough) {
      if (passthrough.some((a) => /^--mode(?:=|$)/.test(a))) {
        throw new GuardError('bad-usage', 'safe-install sets yarn install --mode itself (skip-build); do not pass --mode', { remedy: 'drop --mode; nothing was installed' });
      }
      args = passthrough;
      linker = await nodeLinker(dir);
      await withHookPass(dir, (pass) =>
        runYarn(
          ['install', '--immutable', '--mode=skip-build', ...passthrough],
          dir,
          { ...pass, YARN_ENABLE_SCRIPTS: 'false' },
          'yarn install --immutable --mode=skip-build failed',
          'fix what yarn reported; no install script has run',
        ),
      );
    },
    async scan(tree) {
      linker ??= await nodeLinker(tree.root.dir);
      return linker === 'pnp' ? scanPnp(tree) : scanNodeModules(tree);
    },
    async runAllowed(dir, items, tree, { projectScripts }) {
      const project = projectScripts ? await buildableProject(tree) : undefined;
      if (!items.length && !project?.length) return [];
      return buildAllowed(dir, items, args, project);
    },
  };
}
