// trust-downgrade: a version published with weaker trust evidence than an earlier version of the same package
// is the mark of a stolen-token publish. Earlier versions are every version published before it (by time,
// all majors; prereleases skipped for a stable version), as pnpm's `trustPolicy: no-downgrade`. Unlike pnpm,
// the locked version's provenance counts only when its attestation verified: a forged field cannot pass.
import semver from 'semver';
import type { Finding, PackageFacts, VersionFacts } from '../types.js';
import { matchesAny } from '../policy/pattern.js';
import type { Check } from './types.js';
import { finding } from './finding.js';

/** none < provenance < trusted publisher (with provenance) < staged publish approved by a maintainer. */
export const EVIDENCE = ['no trust evidence', 'provenance attestation', 'trusted publisher', 'approved staged publish'] as const;

export function evidenceOf(v: VersionFacts, provenanceVerified?: boolean): number {
  const provenance = provenanceVerified ?? Boolean(v.provenancePredicate);
  if (v.approved && provenance) return 3;
  if (v.trustedPublisher && provenance) return 2;
  return provenance ? 1 : 0;
}

function strongestBefore(facts: PackageFacts, before: number, stableOnly: boolean): { rank: number; version?: string } {
  let best: { rank: number; version?: string } = { rank: 0 };
  for (const [version, v] of Object.entries(facts.versions)) {
    if (stableOnly && semver.prerelease(version) !== null) continue;
    const t = Date.parse(v.publishedAt ?? '');
    if (!Number.isFinite(t) || t >= before) continue;
    const rank = evidenceOf(v);
    if (rank > best.rank) best = { rank, version };
  }
  return best;
}

export const trustDowngrade: Check = {
  id: 'trust-downgrade',
  run(pkg, { facts, provenance }, { policy, now }): Finding[] {
    if (pkg.source !== 'registry' || !facts || facts === 'missing' || policy.trust.mode === 'off') return [];
    const v = facts.versions[pkg.version];
    if (!v) return [];
    const excluded = matchesAny(policy.trust.exclude, pkg.name, pkg.version);
    if (excluded) return [];
    const published = Date.parse(v.publishedAt ?? '');
    if (policy.trust.ignoreAfterMs !== undefined && Number.isFinite(published) && now.getTime() - published > policy.trust.ignoreAfterMs) return [];
    const anyAttestations = Object.values(facts.versions).some((x) => x.attestationsUrl);
    if (!facts.hasPublisherData && !anyAttestations) {
      return [
        finding(policy, 'trust-downgrade', 'trust-undecidable', 'warn', `the registry serves no publisher (_npmUser) or attestation data for ${pkg.name}, so a trust downgrade cannot be decided`, {
          remedy: 'a mirror that strips this data hides stolen-token publishes; check against the upstream registry',
        }),
      ];
    }
    if (!Number.isFinite(published)) return []; // release-age reports the missing time
    const prior = strongestBefore(facts, published, semver.prerelease(pkg.version) === null);
    const current = evidenceOf(v, provenance ? provenance.kind === 'verified' : false);
    if (prior.rank <= current) return [];
    const unverified = v.provenancePredicate && provenance?.kind !== 'verified' ? ' (its provenance field did not verify)' : '';
    return [
      finding(policy, 'trust-downgrade', 'trust-downgrade', 'quarantine', `published with ${EVIDENCE[current]}${unverified}, but the earlier ${pkg.name}@${prior.version} had ${EVIDENCE[prior.rank]}: possible package takeover`, {
        remedy: `stay on a version with the same evidence; ask the maintainers; if they confirm, add an exception (check "trust-downgrade") with the reason`,
        data: { current: EVIDENCE[current], earlier: EVIDENCE[prior.rank], earlierVersion: prior.version },
      }),
    ];
  },
};
