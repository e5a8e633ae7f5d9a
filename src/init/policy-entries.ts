// What the package managers' own settings can hold of the policy's package patterns, shared by the pnpm and
// yarn writers: plain names, and exact versions (`name@1.2.3 || 1.2.4`); globs and ranges cannot be written.
import semver from 'semver';
import { parsePattern, type PackagePattern } from '../policy/pattern.js';
import type { Policy } from '../policy/load.js';

export const PLAIN = /^(@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*$/i;

/** The exact versions of a range made only of versions joined by `||` ("1.2.3 || 1.2.4"), else undefined. */
export function exactVersions(range: string): string[] | undefined {
  const parts = range.split('||').map((p) => p.trim());
  return parts.every((p) => semver.valid(p) === p) ? parts : undefined;
}

/** The policy's own rules (not the ones read back from the package managers' files that init writes). */
export const fromPolicy = (source: string) => source.startsWith('policy ') || source === 'default policy';

/** The package name of an entry (`name` or `name@versions`); the entry itself when it does not parse. */
export const nameOf = (entry: string) => {
  try {
    return parsePattern(entry).name;
  } catch {
    return entry;
  }
};

/**
 * The policy's own rules as the package managers' settings can hold them: plain names and exact versions, and,
 * apart, the patterns they cannot (which each writer names in a note, and leaves out: never wider than the policy).
 */
export interface PolicyEntries {
  /** The largest minimum release age of any rule, in minutes. */
  minReleaseAgeMinutes: number;
  /** The policy's age exclusions. */
  excludes: { names: string[]; other: PackagePattern[] };
  /** Live release-age approvals of exact versions. */
  approvals: { name: string; versions: string[]; expires: string }[];
  /** Denied names (a denial by version denies the name: stricter). */
  denied: { names: string[]; other: PackagePattern[] };
  /** Allowed names, all versions (`versions` undefined) or exact ones; never a denied name. */
  allowed: { entries: { name: string; versions?: string[] }[]; other: PackagePattern[] };
}

export function policyEntries(policy: Policy, now: Date): PolicyEntries {
  const out: PolicyEntries = {
    minReleaseAgeMinutes: Math.ceil(Math.max(0, ...policy.ageRules.map((r) => r.ms)) / 60_000),
    excludes: { names: [], other: [] },
    approvals: [],
    denied: { names: [], other: [] },
    allowed: { entries: [], other: [] },
  };
  for (const p of policy.ageRules.find((r) => fromPolicy(r.source))?.exclude ?? []) {
    if (!p.range && PLAIN.test(p.name)) out.excludes.names.push(p.name);
    else out.excludes.other.push(p);
  }
  for (const e of policy.exceptions) {
    if (Date.parse(e.expires) <= now.getTime() || !(e.checks.includes('release-age') || e.checks.includes('*'))) continue;
    const versions = e.pattern.range ? exactVersions(e.pattern.range) : undefined;
    if (PLAIN.test(e.pattern.name) && versions) out.approvals.push({ name: e.pattern.name, versions, expires: e.expires });
  }
  const denied = new Set<string>();
  for (const r of policy.scripts.deny) {
    if (!fromPolicy(r.source)) continue;
    if (PLAIN.test(r.pattern.name)) denied.add(r.pattern.name);
    else out.denied.other.push(r.pattern);
  }
  out.denied.names = [...denied];
  for (const r of policy.scripts.allow) {
    if (!fromPolicy(r.source) || denied.has(r.pattern.name)) continue;
    const versions = r.pattern.range ? exactVersions(r.pattern.range) : undefined;
    if (PLAIN.test(r.pattern.name) && (!r.pattern.range || versions)) out.allowed.entries.push({ name: r.pattern.name, versions });
    else out.allowed.other.push(r.pattern);
  }
  return out;
}
