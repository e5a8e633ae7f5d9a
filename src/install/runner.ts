// One install runner per package manager, behind one interface: install the checked lockfile exactly with
// every script off, then run only the install scripts the plan allowed, in that package manager's own order.
import type { LockfileFormat, PackageManager } from '../types.js';
import type { InstallRunner } from './types.js';

/** The runner for a package manager, loaded only when an install happens. */
export async function runnerFor(pm: PackageManager, format: LockfileFormat): Promise<InstallRunner> {
  if (pm === 'pnpm') return (await import('./pnpm.js')).pnpmRunner;
  if (pm === 'yarn') return (await import('./yarn.js')).yarnRunner(format);
  return (await import('./npm.js')).npmRunner;
}
