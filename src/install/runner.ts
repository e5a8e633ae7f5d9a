// One install runner per package manager, behind one interface: install the checked lockfile exactly with
// every script off, then run only the install scripts the plan allowed, in that package manager's own order.
import type { LockedTree, LockfileFormat, PackageManager } from '../types.js';
import type { InstalledScripts } from './lifecycle.js';
import type { ProjectScriptsRun } from './project-scripts.js';

export interface InstallRunner {
  pm: PackageManager;
  /** The frozen, scripts-off command as the user would type it (shown before it runs). */
  describe(passthrough: string[]): string;
  /** Install exactly the locked tree, no lifecycle script at all (dependencies' or the project's). */
  installWithoutScripts(dir: string, passthrough: string[]): Promise<void>;
  /** Every installed copy of a locked package that has install scripts, read from disk after the install. */
  scan(tree: LockedTree): Promise<InstalledScripts[]>;
  /**
   * Run the install scripts of exactly these copies (and no other) and, with `projectScripts`, the project's own
   * lifecycle (the root's and the workspaces'), in the package manager's own order. Returns what the project's
   * lifecycle ran.
   */
  runAllowed(dir: string, items: InstalledScripts[], tree: LockedTree, opts: { projectScripts: boolean }): Promise<ProjectScriptsRun[]>;
}

/** The runner for a package manager, loaded only when an install happens. */
export async function runnerFor(pm: PackageManager, format: LockfileFormat): Promise<InstallRunner> {
  if (pm === 'pnpm') return (await import('./pnpm.js')).pnpmRunner;
  if (pm === 'yarn') return (await import('./yarn.js')).yarnRunner(format);
  return (await import('./npm.js')).npmRunner;
}
