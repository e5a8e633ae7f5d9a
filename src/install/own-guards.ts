// What the package manager itself guards on a frozen install, so the report can say where safe-install adds a
// check and where it repeats one.
import semver from 'semver';
import type { LockedTree } from '../lockfile/types.js';
import type { Policy } from '../policy/load.js';
import type { PackageManagerInfo } from '../project/package-manager.js';

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
