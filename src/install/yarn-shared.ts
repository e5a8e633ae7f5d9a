// What the yarn runners share: how yarn decides a package's install scripts, running yarn, and failing closed on
// a locked package that is not on disk.
import { GuardError } from '../errors.js';
import type { LockedPackage } from '../lockfile/types.js';
import { scriptsOnDisk } from './lifecycle.js';
import { runPm } from './spawn.js';

/**
 * The project's own events yarn 1 runs around an install (src/cli/commands/install.js wrapLifecycle):
 * preinstall, install, postinstall, then, unless --production, prepublish and prepare.
 */
export const CLASSIC_ROOT_EVENTS = ['preinstall', 'install', 'postinstall', 'prepublish', 'prepare'] as const;
/** Berry builds each workspace like a package: preinstall, install, postinstall (Project.linkEverything); no prepare. */
export const BERRY_WORKSPACE_EVENTS = ['preinstall', 'install', 'postinstall'] as const;

/** The install scripts yarn would run for the package at `abs` (yarn's implicit `node-gyp rebuild` rule), or undefined when nothing is there. */
export const yarnScriptsOnDisk = (abs: string, source: LockedPackage['source']) => scriptsOnDisk(abs, source, 'yarn');

/** Run yarn; a failure is a GuardError that says no install script has run (when that is true). */
export async function runYarn(args: string[], cwd: string, env: Record<string, string>, failure: string, remedy: string): Promise<void> {
  const { code } = await runPm('yarn', args, { cwd, env });
  if (code !== 0) throw new GuardError('install-failed', `${failure} (yarn exit ${code}); yarn's output is above`, { remedy });
}

/** A locked package that is not on disk: fine when it may legitimately be absent (optional, or dev under --production). */
export function missing(pkg: LockedPackage, production: boolean, where: string): void {
  if (pkg.optional || (production && pkg.dev)) return;
  throw new GuardError('install-failed', `${pkg.name}@${pkg.version} is in the lockfile but yarn did not install it (${where}); its install scripts cannot be checked`, {
    remedy: 'the installed tree differs from the lockfile: run the install again, and report it if it persists; no install script has run',
    pkg: pkg.id,
  });
}
