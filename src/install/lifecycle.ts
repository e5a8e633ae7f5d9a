// Which installed packages have install scripts, read from what is on disk after extraction: a tarball's
// package.json can differ from its registry manifest ("manifest confusion"), and only the disk is what would run.
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LockedPackage, LockedTree } from '../lockfile/types.js';

/** The lifecycle events npm runs for a dependency at install time, in npm's order. */
export const INSTALL_EVENTS = ['preinstall', 'install', 'postinstall'] as const;

/** The options of @npmcli/run-script that the runners pass (it ships no types). */
export interface RunScriptOptions {
  event: string;
  path: string;
  args?: string[];
  cmd?: string;
  pkg?: unknown;
  env?: Record<string, string | undefined>;
  binPaths?: string[];
  stdio?: unknown;
  scriptShell?: string;
}

export interface InstalledScripts {
  pkg: LockedPackage;
  /** Install location relative to the project root (`node_modules/a/node_modules/b`). */
  path: string;
  /** Event -> command, as npm would run it (with the implicit `node-gyp rebuild`, and `prepare` for git deps). */
  scripts: Record<string, string>;
}

async function exists(p: string): Promise<boolean> {
  return access(p).then(
    () => true,
    () => false,
  );
}

/**
 * When a binding.gyp means an implicit `node-gyp rebuild`, as each package manager decides it: npm (arborist)
 * when there is no install or preinstall script and no `gypfile: false`; pnpm (checkBindingGyp) the same without
 * the `gypfile` opt-out; yarn 1 and berry whenever there is no install script.
 */
export type ImplicitGyp = 'npm' | 'pnpm' | 'yarn';

/** The scripts the package manager would run for the package at `abs`, or undefined when nothing is installed there. */
export async function scriptsOnDisk(abs: string, source: LockedPackage['source'], gyp: ImplicitGyp = 'npm'): Promise<Record<string, string> | undefined> {
  let manifest: { scripts?: unknown; gypfile?: unknown };
  try {
    manifest = JSON.parse(await readFile(join(abs, 'package.json'), 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined; // not installed (omitted, other platform)
    // An unreadable manifest cannot be trusted to have no scripts; npm would fail on it too.
    return { install: '(unreadable package.json)' };
  }
  return installScriptsOf(abs, manifest, source, gyp);
}

/** The install scripts of the package at `abs` whose package.json is `manifest` (already read), with the implicit `node-gyp rebuild`. */
export async function installScriptsOf(abs: string, manifest: { scripts?: unknown; gypfile?: unknown }, source: LockedPackage['source'], gyp: ImplicitGyp): Promise<Record<string, string>> {
  const raw = (typeof manifest.scripts === 'object' && manifest.scripts ? manifest.scripts : {}) as Record<string, unknown>;
  const scripts: Record<string, string> = {};
  const events: readonly string[] = source === 'git' ? [...INSTALL_EVENTS, 'prepare'] : INSTALL_EVENTS;
  for (const e of events) if (typeof raw[e] === 'string' && raw[e]) scripts[e] = raw[e] as string;
  const implicit = gyp === 'yarn' ? !scripts.install : !scripts.install && !scripts.preinstall && (gyp === 'pnpm' || manifest.gypfile !== false);
  if (implicit && (await exists(join(abs, 'binding.gyp')))) {
    scripts.install = 'node-gyp rebuild';
  }
  return scripts;
}

/** Every installed copy of every locked package that has install scripts on disk. */
export async function scanInstallScripts(tree: LockedTree): Promise<InstalledScripts[]> {
  const out: InstalledScripts[] = [];
  await Promise.all(
    tree.packages
      .filter((p) => p.source !== 'link')
      .flatMap((pkg) =>
        pkg.paths.map(async (path) => {
          const scripts = await scriptsOnDisk(join(tree.root.dir, path), pkg.source);
          if (scripts && Object.keys(scripts).length) out.push({ pkg, path, scripts });
        }),
      ),
  );
  return out.sort((a, b) => a.path.localeCompare(b.path));
}
