// Which package manager the project uses, and what that package manager itself guards on a frozen install,
// so the report can say where safe-install adds a check and where it repeats one.
import semver from 'semver';
import { GuardError } from '../errors.js';
import type { LockedTree, LockfileFormat, PackageManager } from '../types.js';
import type { Policy } from '../policy/load.js';

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
export function choosePackageManager(
  format: LockfileFormat,
  lockfileName: string,
  field: unknown,
  explicit: { pm?: PackageManager; lockfile?: boolean },
): PackageManagerInfo {
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

/**
 * What the package manager itself checks when it installs this lockfile frozen, next to what safe-install
 * checked. Facts from each tool's changelog and source (see docs/security.md "What each package manager guards itself").
 */
export function ownGuards(info: PackageManagerInfo, policy: Policy, tree: LockedTree): string[] {
  const ageFrom = (prefix: string) => policy.ageRules.filter((r) => r.source.startsWith(prefix)).map((r) => r.source);
  const v = info.version;
  switch (info.pm) {
    case 'npm': {
      const age = ageFrom('npm config');
      // Measured with npm 11.19 (test/integration/pm-own-guards.test.ts): npm ci looks a version up, and so
      // applies min-release-age, only for lockfile entries without a `resolved` URL.
      const registryPkgs = tree.packages.filter((p) => p.source === 'registry');
      const withResolved = registryPkgs.filter((p) => p.resolved).length;
      const recheck =
        withResolved === registryPkgs.length
          ? "`npm ci` re-checks no locked version's age (this lockfile records `resolved` URLs)"
          : withResolved === 0
            ? '`npm ci` re-checks ages only because this lockfile records no `resolved` URLs, and stops at the first young version'
            : `\`npm ci\` re-checks the age of only the ${registryPkgs.length - withResolved} entries without a \`resolved\` URL`;
      return [
        age.length ? `min-release-age (${age.join(', ')}) applies when npm resolves a version; ${recheck}` : 'no min-release-age set',
        "`npm ci` checks each tarball against the lockfile's integrity, not the registry's; registry signatures only with `npm audit signatures`",
      ];
    }
    case 'pnpm': {
      const age = ageFrom('pnpm-workspace.yaml').concat(ageFrom('.npmrc minimum'));
      // pnpm re-checks locked versions' age and trust on a frozen install only from 11.1.3 (trustLockfile turns it off).
      const rechecks = v ? semver.gte(v, '11.1.3') : undefined;
      return [
        `${age.length ? `minimumReleaseAge (${age.join(', ')})` : 'no minimumReleaseAge set; the age gate'} ` +
          (rechecks === true
            ? `re-checks locked versions on install (pnpm ${v}, unless trustLockfile is set)`
            : rechecks === false
              ? `applies at resolution only: pnpm ${v} does not re-check a locked version's age or trust (from 11.1.3 it does)`
              : 'applies at resolution only before pnpm 11.1.3 (no packageManager version to tell which pnpm this is)'),
        policy.trust.source.startsWith('pnpm') || policy.trust.source.startsWith('.npmrc')
          ? `trustPolicy (${policy.trust.source}) is enforced by safe-install on every locked version`
          : 'no trustPolicy set; pnpm verifies no registry signatures',
      ];
    }
    case 'yarn': {
      const age = ageFrom('.yarnrc.yml').concat(ageFrom('~/.yarnrc.yml'), ageFrom('YARN_'));
      if (tree.format === 'yarn-v1') return ['yarn 1 has no age gate, and no install-script list (only --ignore-scripts for all)', 'verifies no registry signatures or provenance'];
      const gate = age.length ? `npmMinimalAgeGate (${age.join(', ')})` : `npmMinimalAgeGate (yarn's default: 1d since 4.15)`;
      return [`${gate} applies at resolution only: \`yarn install --immutable\` does not re-gate locked versions`, 'verifies no registry signatures or provenance'];
    }
  }
}
