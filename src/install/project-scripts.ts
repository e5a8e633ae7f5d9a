// The project's own lifecycle: the root's and every workspace's scripts. They are the project's code, not a
// dependency's, so they run when the policy says (scripts.rootScripts), each package manager deciding the order
// (its runner's runAllowed). Measured with npm 11.19, pnpm 10.34.9/9.15.9, yarn 1.22.22 and 4.18.1: every one
// of them runs the workspaces' install scripts on a plain install, so leaving them out breaks monorepos.
import { loadRunScript } from './node-gyp.js';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GuardError } from '../errors.js';
import type { LockedTree } from '../lockfile/types.js';
import { withHookPass, withoutMarker } from './hook-pass.js';
import { inherited } from './spawn.js';
import { isObject } from '../util/is-object.js';

/** One folder of the project: the root (`folder: ''`) or a workspace. */
export interface ProjectFolder {
  /** Relative to the project root, `/`-separated; `''` is the root. */
  folder: string;
  name?: string;
  version?: string;
  scripts: Record<string, string>;
  /** What it depends on, every dependency field: name -> spec. */
  deps: Record<string, string>;
  /** The whole package.json (what a package manager flattens into npm_package_* for the scripts). */
  manifest: Record<string, unknown>;
}

/** What the project's lifecycle ran in one folder, in order. */
export interface ProjectScriptsRun {
  folder: string;
  events: string[];
}

/** The root events init writes the project hook into (npm and yarn 1: preinstall; pnpm: pnpm:devPreinstall). */
const HOOK_EVENTS = ['preinstall', 'pnpm:devPreinstall'];
const DEP_FIELDS = ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies'] as const;

/** The folder's package.json; a workspace the lockfile names must be there (the install just used it). */
export async function readProjectFolder(root: string, folder: string): Promise<ProjectFolder> {
  const file = join(root, folder, 'package.json');
  let doc: unknown;
  try {
    doc = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new GuardError('install-failed', `cannot read ${file} (${(err as Error).message}); the project's own scripts did not run`, {
      remedy: 'fix the workspace package.json; the dependencies are installed',
    });
  }
  const m = isObject(doc) ? doc : {};
  const strings = (v: unknown) => Object.fromEntries(Object.entries(isObject(v) ? v : {}).filter((e): e is [string, string] => typeof e[1] === 'string' && e[1] !== ''));
  const deps: Record<string, string> = {};
  for (const f of DEP_FIELDS) Object.assign(deps, strings(m[f]));
  return {
    folder,
    ...(typeof m.name === 'string' && { name: m.name }),
    ...(typeof m.version === 'string' && { version: m.version }),
    scripts: strings(m.scripts),
    deps,
    manifest: m,
  };
}

/** The workspaces, in the lockfile's order. */
export function readWorkspaces(tree: LockedTree): Promise<ProjectFolder[]> {
  return Promise.all(tree.workspaces.map((w) => readProjectFolder(tree.root.dir, w)));
}

/**
 * The events of `events` the folder has, run one after another in the folder through npm's run-script, with
 * `env` on top of this process's environment: the package manager's own script environment where the runner
 * has it (pnpm's, yarn 1's: a `preinstall` of `npx only-allow pnpm` reads its user agent), else as npm runs a
 * project's scripts.
 */
export async function runProjectEvents(root: string, p: ProjectFolder, events: readonly string[], env: Record<string, string | undefined> = {}): Promise<ProjectScriptsRun | undefined> {
  const runScript = await loadRunScript();
  const ran: string[] = [];
  const path = join(root, p.folder);
  for (const event of events) {
    if (!p.scripts[event]) continue;
    try {
      const script = p.scripts[event];
      const run = (extra: Record<string, string | undefined>) => runScript({ path, args: [], stdio: inherited(), event, env: { ...env, ...extra } });
      // The hook's pass only for the root event init puts the hook in, when it names safe-install; every other
      // script runs without the marker, so an install it starts in another project (or this one) is checked.
      if (p.folder === '' && HOOK_EVENTS.includes(event) && /\bsafe-install\b/.test(script)) await withHookPass(root, run);
      else await run(withoutMarker({}));
    } catch (err) {
      const where = p.folder === '' ? "the project's" : `workspace ${p.folder}'s`;
      throw new GuardError('install-failed', `${where} ${event} script failed: ${(err as Error).message}`, {
        remedy: `fix the "${event}" script in ${join(p.folder, 'package.json')}; the dependencies are installed`,
      });
    }
    ran.push(event);
  }
  return ran.length ? { folder: p.folder, events: ran } : undefined;
}

/** One entry per folder, in the order each first ran (a root whose events ran in two parts is one line). */
export function mergeRuns(runs: (ProjectScriptsRun | undefined)[]): ProjectScriptsRun[] {
  const out: ProjectScriptsRun[] = [];
  for (const r of runs) {
    if (!r) continue;
    const same = out.find((o) => o.folder === r.folder);
    if (same) same.events.push(...r.events);
    else out.push({ folder: r.folder, events: [...r.events] });
  }
  return out;
}

/** One report line per folder, in the order they ran: "packages/a: preinstall, postinstall", "(root): prepare". */
export function describeProjectRuns(runs: ProjectScriptsRun[]): string[] {
  return runs.map((r) => `${r.folder || '(root)'}: ${r.events.join(', ')}`);
}
