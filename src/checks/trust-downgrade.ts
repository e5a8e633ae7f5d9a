// trust-downgrade: a version published with weaker trust evidence than an earlier version of the same package
// is the mark of a stolen-token publish. Earlier versions are every version published before it (by time,
// all majors; prereleases skipped for a stable version), as pnpm's `trustPolicy: no-downgrade`. Unlike pnpm,
// the locked version's provenance counts only when its attestation verified: a forged field cannot pass.
import semver from 'semver';
import type { Finding } from '../types.js';
import type { PackageFacts, VersionFacts, VersionSummary } from '../facts.js';
import { matchesAny } from '../policy/pattern.js';
import type { Check } from './types.js';
import { finding } from './finding.js';

/** none < provenance < trusted publisher (with provenance) < staged publish approved by a maintainer. */
export const EVIDENCE = ['no trust evidence', 'provenance attestation', 'trusted publisher', 'approved staged publish'] as const;

export function evidenceOf(v: VersionFacts | VersionSummary, provenanceVerified?: boolean): number {
  const provenance = provenanceVerified ?? Boolean(v.provenancePredicate);
  if (v.approved && provenance) return 3;
  if (v.trustedPublisher && provenance) return 2;
  return provenance ? 1 : 0;
}

/** Per package (not per locked version): each dated version's time, evidence and channel, in the registry's order. */
interface Dated {
  version: string;
  t: number;
  rank: number;
  prerelease: boolean;
}
const datedCache = new WeakMap<PackageFacts, { dated: Dated[]; anyAttestations: boolean }>();

/** Parsing every version's time and semver once per package, not once per locked version of it. */
function datedVersions(facts: PackageFacts): { dated: Dated[]; anyAttestations: boolean } {
  let out = datedCache.get(facts);
  if (!out) {
    out = { dated: [], anyAttestations: false };
    for (const [version, v] of Object.entries(facts.versions)) {
      if (v.attestationsUrl) out.anyAttestations = true;
      // Only versions with evidence can be the strongest (rank 0 is the starting point): skip the rest early.
      const rank = evidenceOf(v);
      if (rank === 0) continue;
      const t = Date.parse(v.publishedAt ?? '');
      if (Number.isFinite(t)) out.dated.push({ version, t, rank, prerelease: semver.prerelease(version) !== null });
    }
    datedCache.set(facts, out);
  }
  return out;
}

function strongestBefore(facts: PackageFacts, before: number, stableOnly: boolean): { rank: number; version?: string } {
  let best: { rank: number; version?: string } = { rank: 0 };
  for (const d of datedVersions(facts).dated) {
    if (stableOnly && d.prerelease) continue;
    if (d.t >= before) continue;
    if (d.rank > best.rank) best = { rank: d.rank, version: d.version };
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
    const { anyAttestations } = datedVersions(facts);
    if (!facts.hasPublisherData && !anyAttestations) {
      return [
        finding(policy, 'trust-undecidable', `the registry serves no publisher (_npmUser) or attestation data for ${pkg.name}, so a trust downgrade cannot be decided`, {
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
      finding(policy, 'trust-downgrade', `published with ${EVIDENCE[current]}${unverified}, but the earlier ${pkg.name}@${prior.version} had ${EVIDENCE[prior.rank]}: possible package takeover`, {
        remedy: `stay on a version with the same evidence; ask the maintainers; if they confirm, add an exception (check "trust-downgrade") with the reason`,
        data: { current: EVIDENCE[current], earlier: EVIDENCE[prior.rank], earlierVersion: prior.version },
      }),
    ];
  },
};
