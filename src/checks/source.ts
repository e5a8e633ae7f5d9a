// source: where a package does not come from the registry (git, a remote tarball, a local path), none of the
// registry's guarantees hold. Allowed for direct dependencies by default, blocked for transitive ones (a
// dependency that pulls code from an arbitrary URL is how exotic-source attacks work; pnpm's blockExoticSubdeps).
import type { Finding, FindingCode, LockedPackage } from '../types.js';
import type { Check } from './types.js';
import { finding } from './finding.js';

const EXOTIC: Partial<Record<LockedPackage['source'], { code: FindingCode; what: string }>> = {
  git: { code: 'git-source', what: 'a git repository' },
  tarball: { code: 'tarball-source', what: 'a remote tarball' },
  file: { code: 'local-source', what: 'a local path' },
};

export const source: Check = {
  id: 'source',
  run(pkg, _input, { policy }): Finding[] {
    if (pkg.source === 'link') {
      return [finding(policy, 'source', 'workspace-link', 'allow', `local link to ${pkg.resolved ?? pkg.paths[0] ?? 'a workspace'} (part of this project)`)];
    }
    if (pkg.source === 'bundled') {
      return [finding(policy, 'source', 'bundled', 'allow', `bundled inside ${pkg.bundledIn ?? 'its parent'}'s tarball; covered by that tarball's checks`)];
    }
    const exotic = EXOTIC[pkg.source];
    if (!exotic) return [];
    const action = pkg.direct ? policy.sources.direct : policy.sources.transitive;
    const from = pkg.resolved ? ` (${pkg.resolved})` : '';
    return [
      finding(policy, 'source', exotic.code, action, `${pkg.direct ? 'direct' : 'transitive'} dependency from ${exotic.what}${from}: no registry age, integrity or signature applies`, {
        remedy: pkg.direct
          ? 'pin it to a commit or move it to the registry'
          : `a dependency pulls it in from ${exotic.what}; ask its maintainers to publish it, or allow it with an exception (check "source")`,
      }),
    ];
  },
};
