// The interface every package manager's install runner implements (runner.ts picks one, npm.ts, pnpm.ts and yarn.ts
// implement it): install the checked lockfile exactly with every script off, then run only the allowed install scripts.
import type { PackageManager } from '../types.js';
import type { LockedTree } from '../lockfile/types.js';
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
