// The newest version that would pass: old enough, same release channel, and satisfying every dependent's
// range in the lockfile, so swapping it in does not break the tree.
import semver from 'semver';
import type { PackageFacts } from '../facts.js';
import type { LockedPackage } from '../lockfile/types.js';

/** The semver range a dependent asked for, or undefined when it is not a plain range (tag, URL...). */
export function dependentRange(range: string): string | undefined {
  const spec = range.startsWith('npm:') ? range.slice(range.lastIndexOf('@') + 1) : range;
  return semver.validRange(spec) ?? undefined;
}

export function findFallback(pkg: LockedPackage, facts: PackageFacts, passes: (version: string) => boolean): string | undefined {
  const ranges = pkg.dependents.map((d) => dependentRange(d.range)).filter((r): r is string => r !== undefined);
  const prerelease = semver.prerelease(pkg.version) !== null;
  const candidates = Object.keys(facts.versions)
    .filter((v) => semver.valid(v) && v !== pkg.version)
    .filter((v) => prerelease || semver.prerelease(v) === null)
    .filter((v) => !facts.versions[v]?.deprecated)
    .filter((v) => ranges.every((r) => semver.satisfies(v, r, { includePrerelease: prerelease })))
    .sort(semver.rcompare);
  return candidates.find((v) => passes(v));
}
