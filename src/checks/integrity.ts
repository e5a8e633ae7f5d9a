// integrity: the lockfile's integrity must be the registry's for that version. A difference means the
// lockfile was tampered with (or points at other bytes than the registry serves now).
import ssri from 'ssri';
import type { Finding, LockedPackage, VersionFacts } from '../types.js';
import type { Check } from './types.js';
import { finding } from './finding.js';
import { fullVersion } from '../registry/facts.js';

/** The registry's hashes as one SRI: dist.integrity plus the legacy sha1 shasum. */
function registryHashes(v: Partial<VersionFacts>): ReturnType<typeof ssri.parse> | undefined {
  const parts = [v.integrity, v.shasum && /^[0-9a-f]{40}$/i.test(v.shasum) ? ssri.fromHex(v.shasum, 'sha1').toString() : undefined]
    .filter(Boolean)
    .join(' ');
  return parts ? ssri.parse(parts) : undefined;
}

/** 'match' | 'mismatch' | 'uncomparable' over the strongest algorithm both sides have. */
export function compareIntegrity(locked: string, v: Partial<VersionFacts>): 'match' | 'mismatch' | 'uncomparable' {
  const lockedSri = ssri.parse(locked);
  const reg = registryHashes(v);
  if (!reg || !lockedSri) return 'uncomparable';
  for (const algo of ['sha512', 'sha384', 'sha256', 'sha1'] as const) {
    const a = (lockedSri as unknown as Record<string, { digest: string }[] | undefined>)[algo];
    const b = (reg as unknown as Record<string, { digest: string }[] | undefined>)[algo];
    if (a?.length && b?.length) return a.some((x) => b.some((y) => x.digest === y.digest)) ? 'match' : 'mismatch';
  }
  return 'uncomparable';
}

export const integrity: Check = {
  id: 'integrity',
  run(pkg: LockedPackage, { facts }, { policy }): Finding[] {
    if (pkg.source !== 'registry' || facts === undefined) return [];
    if (facts === 'missing') {
      return [
        finding(policy, 'integrity', 'package-not-in-registry', 'block', `the registry has no package named ${pkg.name}`, {
          remedy: 'it was unpublished, or this registry (a private mirror?) lacks it; check the name and the registry setting',
        }),
      ];
    }
    const version = fullVersion(facts, pkg.version);
    if (!version) {
      return [
        finding(policy, 'integrity', 'version-not-in-registry', 'block', `the registry has no version ${pkg.version} of ${pkg.name}`, {
          remedy: 'it was unpublished (often a removed malicious version) or the mirror lacks it; update the dependency',
        }),
      ];
    }
    if (!pkg.integrity) {
      return [
        finding(policy, 'integrity', 'no-lockfile-integrity', 'warn', "the lockfile records no registry integrity, so the tarball is verified only against the registry's (yarn berry lockfiles never record it: their checksum hashes yarn's own archive)", {
          remedy: 'npm: regenerate the lockfile with a current npm; yarn berry: nothing to regenerate, keep checksumBehavior: throw and install with --immutable',
        }),
      ];
    }
    const result = compareIntegrity(pkg.integrity, version);
    if (result === 'mismatch') {
      return [
        finding(policy, 'integrity', 'integrity-mismatch', 'block', `lockfile integrity ${short(pkg.integrity)} differs from the registry's ${short(version.integrity ?? version.shasum ?? '')}`, {
          remedy: 'do not install: the lockfile or the registry content changed; find out why before regenerating the lockfile',
          data: { lockfile: pkg.integrity, registry: version.integrity ?? null },
        }),
      ];
    }
    if (result === 'uncomparable') {
      return [
        finding(policy, 'integrity', 'integrity-uncomparable', 'warn', 'the lockfile and the registry record no hash of the same algorithm, so they cannot be compared', {
          data: { lockfile: pkg.integrity, registry: version.integrity ?? version.shasum ?? null },
        }),
      ];
    }
    return [];
  },
};

function short(sri: string): string {
  return sri.length > 24 ? `${sri.slice(0, 20)}...` : sri;
}
