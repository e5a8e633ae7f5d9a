// The npm runner: `npm ci --ignore-scripts`, then only the allowed packages' install scripts through
// `npm rebuild <their folders>` (npm's own code: same order, environment, node-gyp handling and error
// output as a normal install), the workspaces' in the same rebuild (npm builds them as links, after the
// dependencies), then the root project's lifecycle as `npm ci` runs it.
import { loadRunScript } from './node-gyp.js';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { GuardError } from '../errors.js';
import { GUARD_ENV, inherited, resolvePmScript, runPm, type RunOptions } from './spawn.js';
import type { InstallRunner } from './types.js';
import { INSTALL_EVENTS, installScriptsOf, scanInstallScripts, type InstalledScripts } from './lifecycle.js';
import { readProjectFolder, readWorkspaces, runProjectEvents, type ProjectScriptsRun } from './project-scripts.js';
import type { LockedTree } from '../lockfile/types.js';

export function runNpm(args: string[], opts: RunOptions): Promise<{ code: number; output: string }> {
  return runPm('npm', args, opts);
}

let npmMajorCache: number | undefined;
/**
 * The major version of the npm that runs: read from its package.json (found through npm_execpath or PATH, as
 * pmCommand starts it), which saves spawning `npm --version` (~0.13 s per install); spawned only as a fallback.
 */
export async function npmMajor(cwd: string): Promise<number> {
  if (npmMajorCache === undefined) {
    const script = await resolvePmScript('npm');
    const version = script
      ? await readFile(join(dirname(script), '..', 'package.json'), 'utf8').then(
          (t) => JSON.parse(t) as { name?: string; version?: string },
          () => undefined,
        )
      : undefined;
    if (version?.name === 'npm' && version.version) npmMajorCache = Number.parseInt(version.version, 10) || 0;
    else {
      const { output } = await runNpm(['--version'], { cwd, stdio: 'pipe' });
      npmMajorCache = Number.parseInt(output.trim(), 10) || 0;
    }
  }
  return npmMajorCache;
}

/** `npm ci` with every lifecycle script off (the dependencies' and the project's). */
export async function npmCiWithoutScripts(cwd: string, passthrough: string[]): Promise<void> {
  const { code } = await runNpm(['ci', '--ignore-scripts', ...passthrough], { cwd });
  if (code !== 0) {
    throw new GuardError('install-failed', `npm ci --ignore-scripts failed (exit ${code}); npm's output is above`, {
      remedy: 'fix what npm reported; no install script has run',
    });
  }
}

/**
 * Run the install scripts of exactly these install locations (relative to `cwd`). npm selects a folder
 * argument by path, so a tarball that claims another name or version cannot get itself selected.
 */
export async function npmRebuild(cwd: string, paths: string[]): Promise<void> {
  if (!paths.length) return;
  // loglevel=error: npm 11's advisory about its own allowScripts list is noise here; failures still print.
  // --no-rebuild-bundle: npm's rebuild of a folder also builds every package bundled in it (arborist rebuild.js,
  // `rebuildBundle`, default true), which would run a bundled package's scripts the policy did not allow;
  // the allowed bundled ones run through runBundled.
  const args = ['rebuild', '--ignore-scripts=false', '--no-rebuild-bundle', '--loglevel=error'];
  // npm 11 has its own allowlist gate; the choice here is ours (made from the same lists and more), so
  // its strict pre-flight must not refuse what the policy allowed.
  if ((await npmMajor(cwd)) >= 11) args.push('--strict-allow-scripts=false');
  const { code } = await runNpm([...args, ...paths.map((p) => join(cwd, p))], { cwd });
  if (code !== 0) {
    throw new GuardError('install-failed', `an allowed install script failed (npm rebuild exit ${code}); its output is above`, {
      remedy: 'fix the failing script or deny it; the packages are installed but not built',
    });
  }
}

/**
 * Run the install scripts of these bundled packages (each allowed by the policy on its own), as npm's rebuild
 * queues them: every preinstall, then install, then postinstall, shallowest first. `npm rebuild` cannot do it:
 * npm 11 never selects a bundled folder by name or path (commands/rebuild.js `isNode`), it only builds one with
 * its whole parent (rebuild-bundle), which would run the parent's and every sibling's scripts too.
 */
export async function runBundled(cwd: string, items: InstalledScripts[]): Promise<void> {
  const runScript = await loadRunScript();
  const depth = (p: string) => p.split('/node_modules/').length;
  const ordered = [...items].sort((a, b) => depth(a.path) - depth(b.path) || a.path.localeCompare(b.path));
  for (const event of INSTALL_EVENTS) {
    for (const item of ordered) {
      if (!item.scripts[event]) continue;
      const path = join(cwd, item.path);
      try {
        await runScript({ path, args: [], stdio: inherited(), event, env: { npm_package_json: join(path, 'package.json'), [GUARD_ENV]: '1' } });
      } catch (err) {
        throw new GuardError('install-failed', `an allowed install script failed: ${item.pkg.name}@${item.pkg.version} (${item.path}, bundled) ${event}: ${(err as Error).message}`, {
          remedy: 'fix the failing script or deny it; the packages are installed but not built',
        });
      }
    }
  }
}

/** The root project's own install lifecycle, the events and order `npm ci` uses (after everything else). */
export const ROOT_EVENTS = ['preinstall', 'install', 'postinstall', 'prepublish', 'preprepare', 'prepare', 'postprepare'] as const;
/** What npm runs for a workspace (arborist rebuild, links): every preinstall, then prepare, then install, then postinstall. */
export const WORKSPACE_EVENTS = ['preinstall', 'prepare', 'install', 'postinstall'] as const;

/**
 * The workspaces npm builds, with the events it runs for each: the link folder (`node_modules/<name>`) goes into
 * the same `npm rebuild` as the allowed dependencies, so npm orders and runs them itself.
 */
async function workspaceBuilds(tree: LockedTree): Promise<{ link: string; run: ProjectScriptsRun }[]> {
  const out: { link: string; run: ProjectScriptsRun }[] = [];
  for (const ws of await readWorkspaces(tree)) {
    const link = tree.packages.find((p) => p.source === 'link' && p.paths.includes(ws.folder))?.paths.find((x) => /(?:^|\/)node_modules\//.test(x));
    if (!link) continue; // npm links every named workspace; one it did not link, it does not build
    // The implicit `node-gyp rebuild` of a binding.gyp counts, as npm decides it.
    const scripts = { ...ws.scripts, ...(await installScriptsOf(join(tree.root.dir, ws.folder), ws.manifest, 'link', 'npm')) };
    const events = WORKSPACE_EVENTS.filter((e) => scripts[e]);
    if (events.length) out.push({ link, run: { folder: ws.folder, events } });
  }
  return out;
}

export const npmRunner: InstallRunner = {
  pm: 'npm',
  describe: (passthrough) => ['npm ci --ignore-scripts', ...passthrough].join(' '),
  installWithoutScripts: npmCiWithoutScripts,
  scan: scanInstallScripts,
  async runAllowed(dir, items, tree, { projectScripts }) {
    const workspaces = projectScripts ? await workspaceBuilds(tree) : [];
    const bundled = items.filter((i) => i.pkg.source === 'bundled');
    await npmRebuild(dir, [...items.filter((i) => i.pkg.source !== 'bundled').map((i) => i.path), ...workspaces.map((w) => w.link)]);
    await runBundled(dir, bundled);
    if (!projectScripts) return [];
    const root = await runProjectEvents(dir, await readProjectFolder(dir, ''), ROOT_EVENTS);
    return [...workspaces.map((w) => w.run), ...(root ? [root] : [])];
  },
};
