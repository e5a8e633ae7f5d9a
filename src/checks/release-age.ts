// release-age: a version younger than the minimum release age is held. Most malicious versions are found
// and unpublished within days, so waiting is cheap protection. Every held version is reported at once, with
// when it becomes eligible and the newest version that would pass instead.
import type { Finding } from '../types.js';
import type { PackageFacts } from '../facts.js';
import type { LockedPackage } from '../lockfile/types.js';
import type { AgeRule, Policy } from '../policy/load.js';
import { matchesAny } from '../policy/pattern.js';
import { formatDuration } from '../util/duration.js';
import type { Check } from './types.js';
import { finding } from './finding.js';
import { findFallback } from './fallback.js';

/** The strictest age rule that applies to this package, or undefined when every rule excludes it. */
export function requiredAge(policy: Policy, name: string, version: string): AgeRule | undefined {
  let strictest: AgeRule | undefined;
  for (const rule of policy.ageRules) {
    if (rule.ms <= 0 || matchesAny(rule.exclude, name, version)) continue;
    if (!strictest || rule.ms > strictest.ms) strictest = rule;
  }
  return strictest;
}

function oldEnough(facts: PackageFacts, version: string, policy: Policy, now: Date): boolean {
  const rule = requiredAge(policy, facts.name, version);
  if (!rule) return true;
  const published = Date.parse(facts.versions[version]?.publishedAt ?? '');
  return Number.isFinite(published) && now.getTime() - published >= rule.ms;
}

export const releaseAge: Check = {
  id: 'release-age',
  run(pkg: LockedPackage, { facts }, { now, policy }): Finding[] {
    if (pkg.source !== 'registry' || !facts || facts === 'missing') return [];
    const version = facts.versions[pkg.version];
    if (!version) return []; // the integrity check reports a version the registry lacks
    const rule = requiredAge(policy, pkg.name, pkg.version);
    if (!rule) return [];
    const published = Date.parse(version.publishedAt ?? '');
    if (!Number.isFinite(published)) {
      return [
        finding(policy, 'no-publish-time', `the registry gives no publish time for ${pkg.name}@${pkg.version}, so its age is unknown`, {
          remedy: `check the registry's metadata, or add an exception for ${pkg.name}@${pkg.version} with a reason`,
        }),
      ];
    }
    const age = now.getTime() - published;
    if (age >= rule.ms) return [];
    const eligibleAt = new Date(published + rule.ms).toISOString();
    const fallback = findFallback(pkg, facts, (v) => oldEnough(facts, v, policy, now));
    const ageText = age < 0 ? 'published in the future of --now' : `published ${formatDuration(age)} ago`;
    return [
      finding(policy, 'too-young', `${ageText} (${version.publishedAt}); ${rule.source} requires ${formatDuration(rule.ms)}`, {
        remedy: fallback
          ? `use ${pkg.name}@${fallback} (newest version that passes and satisfies every dependent), or wait until ${eligibleAt}`
          : `no older version satisfies every dependent's range; wait until ${eligibleAt}, or add an exception with a reason`,
        data: { publishedAt: version.publishedAt, ageMs: age, requiredMs: rule.ms, ruleSource: rule.source, eligibleAt, fallback: fallback ?? null },
      }),
    ];
  },
};
