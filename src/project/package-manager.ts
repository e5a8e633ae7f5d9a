// Which package manager the project uses and which of its versions can install the lockfile (what it guards
// itself on a frozen install is install/own-guards.ts).
import semver from 'semver';
import { GuardError } from '../errors.js';
import type { LockfileFormat, PackageManager } from '../types.js';

export const PACKAGE_MANAGERS: readonly PackageManager[] = ['npm', 'pnpm', 'yarn'];

export interface PackageManagerInfo {
  pm: PackageManager;
  /**
   * The version that runs: what `<pm> --version` answered when the install asked (see `runs`), else the one
   * package.json `packageManager` declares ("pnpm@10.34.9+sha512..." gives 10.34.9) when it names this one.
   */
  version?: string;
  /** The version package.json `packageManager` declares for this package manager, if any. */
  declared?: string;
  /** How it was chosen: "--pm", "lockfile pnpm-lock.yaml", "--lockfile ...". */
  source: string;
  /** The lockfile and its format as a person says it: "yarn.lock v1", "pnpm-lock.yaml v9". */
  lockfile: string;
  /** The versions that can install this lockfile frozen (a semver range) and how to say it ("yarn 1"). */
  needs: { range: string; label: string };
  /** Set once the install asked the package manager itself: which program answered, and through what. */
  runs?: { path: string; via: 'PATH' | 'npm_execpath' | 'corepack' };
}

/**
 * The package-manager versions that install a lockfile format frozen, as measured: pnpm 10 refuses a v6
 * lockfile and pnpm 9 a 5.x one (ERR_PNPM_LOCKFILE_BREAKING_CHANGE); yarn 1 cannot read a berry lockfile and
 * yarn 2+ rewrites a v1 one (refused under --immutable); npm 6 cannot read lockfileVersion 3.
 */
export function lockfileNeeds(format: LockfileFormat): { range: string; label: string } {
  switch (format) {
    case 'yarn-v1':
      return { range: '1.x', label: 'yarn 1' };
    case 'yarn-berry':
      return { range: '>=2.0.0', label: 'yarn 2 or later' };
    case 'pnpm-v9':
      return { range: '>=9.0.0', label: 'pnpm 9 or later' };
    case 'pnpm-v6':
      return { range: '>=7.24.0 <10.0.0', label: 'pnpm 8 or 9' };
    case 'pnpm-v5':
      return { range: '<9.0.0', label: 'pnpm 8 or earlier' };
    case 'npm-v3':
      return { range: '>=7.0.0', label: 'npm 7 or later' };
    default:
      return { range: '>=5.0.0', label: 'npm' };
  }
}

/** "yarn.lock v1", "pnpm-lock.yaml v9", "package-lock.json v3", "yarn.lock (berry)". */
export function describeLockfile(format: LockfileFormat, lockfileName: string): string {
  if (format === 'yarn-berry') return `${lockfileName} (berry)`;
  const v = /-v(\d+)$/.exec(format);
  return v ? `${lockfileName} v${v[1]}` : lockfileName;
}

export function pmOfFormat(format: LockfileFormat): PackageManager {
  if (format.startsWith('pnpm')) return 'pnpm';
  if (format.startsWith('yarn')) return 'yarn';
  return 'npm';
}

export function parsePmFlag(value: string | undefined): PackageManager | undefined {
  if (value === undefined) return undefined;
  if ((PACKAGE_MANAGERS as string[]).includes(value)) return value as PackageManager;
  throw new GuardError('bad-usage', `--pm must be npm, pnpm or yarn, not "${value}"`);
}

/** package.json `packageManager` (corepack's "name@version[+hash]"); undefined when absent or not one we know. */
export function parsePackageManagerField(field: unknown): { pm: PackageManager; version?: string } | undefined {
  if (typeof field !== 'string') return undefined;
  const m = /^(npm|pnpm|yarn)@([^+\s]+)/.exec(field.trim());
  if (!m) return undefined;
  return { pm: m[1] as PackageManager, version: semver.valid(m[2]) ?? undefined };
}

/**
 * The package manager for a tree: the lockfile decides (it is what gets installed). A `packageManager` field
 * naming another one is an error unless --pm or --lockfile made the choice explicit: installing a stale
 * package-lock.json with npm in a pnpm project would install something nobody reviewed.
 */
export function choosePackageManager(format: LockfileFormat, lockfileName: string, field: unknown, explicit: { pm?: PackageManager; lockfile?: boolean }): PackageManagerInfo {
  const pm = pmOfFormat(format);
  if (explicit.pm && explicit.pm !== pm) {
    throw new GuardError('bad-usage', `--pm ${explicit.pm} cannot install ${lockfileName}: it is ${pm}'s lockfile`, {
      remedy: `pass --pm ${pm}, or the lockfile ${explicit.pm} uses`,
    });
  }
  const declared = parsePackageManagerField(field);
  if (declared && declared.pm !== pm && !explicit.pm && !explicit.lockfile) {
    throw new GuardError('bad-usage', `package.json "packageManager" says ${declared.pm}, but the lockfile is ${lockfileName} (${pm})`, {
      remedy: `create the ${declared.pm} lockfile, or pass --pm ${pm} to use ${lockfileName} anyway`,
    });
  }
  const source = explicit.pm ? '--pm' : explicit.lockfile ? `--lockfile ${lockfileName}` : `lockfile ${lockfileName}`;
  const version = declared?.pm === pm ? declared.version : undefined;
  return { pm, ...(version && { version, declared: version }), source, lockfile: describeLockfile(format, lockfileName), needs: lockfileNeeds(format) };
}
