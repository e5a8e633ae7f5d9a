// integrity: the lockfile's integrity must be the registry's for that version. A difference means the
// lockfile was tampered with (or points at other bytes than the registry serves now).
import ssri from 'ssri';
import type { Finding } from '../types.js';
import { type VersionFacts, fullVersion } from '../facts.js';
import type { LockedPackage } from '../lockfile/types.js';
import type { Check } from './types.js';
import { finding } from './finding.js';

/** The registry's hashes as one SRI: dist.integrity plus the legacy sha1 shasum. */
function registryHashes(v: Partial<VersionFacts>): ReturnType<typeof ssri.parse> | undefined {
  const parts = [v.integrity, v.shasum && /^[0-9a-f]{40}$/i.test(v.shasum) ? ssri.fromHex(v.shasum, 'sha1').toString() : undefined].filter(Boolean).join(' ');
  return parts ? ssri.parse(parts) : undefined;
}

const STRONG = ['sha512', 'sha384', 'sha256', 'sha1'];

/**
 * The lockfile's integrity against the registry's hashes for the version. npm and yarn accept a download that
 * matches any one digest of the strongest algorithm listed (`sha512-<registry's> sha512-<other>` lets other bytes
 * in), so every digest listed must be one the registry publishes:
 * - 'mismatch': a listed digest differs from every one the registry publishes in that algorithm;
 * - 'uncomparable': nothing to compare, or something that cannot be: no sha1/sha256/sha384/sha512 digest in the
 *   lockfile (none, md5 only, garbage), no hash from the registry, or a listed digest in an algorithm the
 *   registry publishes none of;
 * - 'match': every listed digest is one of the registry's.
 */
export function compareIntegrity(locked: string, v: Partial<VersionFacts>): 'match' | 'mismatch' | 'uncomparable' {
  const lockedSri = ssri.parse(locked) as unknown as Record<string, { digest: string }[] | undefined> | null;
  const reg = registryHashes(v) as unknown as Record<string, { digest: string }[] | undefined> | undefined;
  const listed = Object.entries(lockedSri ?? {}).flatMap(([algo, hashes]) => (Array.isArray(hashes) ? hashes.map((h) => ({ algo, digest: h.digest })) : []));
  if (!reg || !listed.some((h) => STRONG.includes(h.algo))) return 'uncomparable';
  let unverifiable = false;
  for (const h of listed) {
    const published = reg[h.algo];
    if (!published?.length) unverifiable = true;
    else if (!published.some((p) => p.digest === h.digest)) return 'mismatch';
  }
  return unverifiable ? 'uncomparable' : 'match';
}

/** The digests the lockfile lists that the registry does not publish (for the message). */
export function foreignDigests(locked: string, v: Partial<VersionFacts>): string[] {
  const lockedSri = ssri.parse(locked) as unknown as Record<string, { digest: string }[] | undefined> | null;
  const reg = (registryHashes(v) ?? {}) as unknown as Record<string, { digest: string }[] | undefined>;
  return Object.entries(lockedSri ?? {}).flatMap(([algo, hashes]) =>
    (Array.isArray(hashes) ? hashes : []).filter((h) => !reg[algo]?.some((p) => p.digest === h.digest)).map((h) => `${algo}-${h.digest}`),
  );
}

export const integrity: Check = {
  id: 'integrity',
  run(pkg: LockedPackage, { facts, download }, { policy }): Finding[] {
    if (pkg.source !== 'registry' || facts === undefined) return [];
    if (facts === 'missing') {
      return [
        finding(policy, 'package-not-in-registry', `the registry has no package named ${pkg.name}`, {
          remedy: 'it was unpublished, or this registry (a private mirror?) lacks it; check the name and the registry setting',
        }),
      ];
    }
    const version = fullVersion(facts, pkg.version);
    if (!version) {
      return [
        finding(policy, 'version-not-in-registry', `the registry has no version ${pkg.version} of ${pkg.name}`, {
          remedy: 'it was unpublished (often a removed malicious version) or the mirror lacks it; update the dependency',
        }),
      ];
    }
    if (!pkg.integrity) {
      if (download?.url) {
        return [
          finding(policy, 'integrity-uncomparable', `the lockfile records no integrity for it, only a URL (${download.url}): the package manager would install whatever that URL serves, unverified`, {
            remedy:
              "regenerate the lockfile from package.json with a current package manager (it records the registry's integrity); if this entry was edited by hand or in a pull request, find out why",
            data: { lockfile: null, resolved: download.url, registry: version.integrity ?? version.shasum ?? null },
          }),
        ];
      }
      return [
        finding(
          policy,
          'no-lockfile-integrity',
          "the lockfile records no registry integrity and no URL: the package manager fetches this version from the registry checked here and verifies the registry's own integrity (yarn berry lockfiles never record it: their checksum hashes yarn's own archive)",
          {
            remedy: 'npm: regenerate the lockfile with a current npm; yarn berry: nothing to regenerate, keep checksumBehavior: throw and install with --immutable',
          },
        ),
      ];
    }
    const result = compareIntegrity(pkg.integrity, version);
    if (result === 'mismatch') {
      return [
        finding(
          policy,
          'integrity-mismatch',
          `the lockfile's integrity lists ${foreignDigests(pkg.integrity, version).map(short).join(', ')}, which the registry does not publish for this version (the registry's: ${short(version.integrity ?? version.shasum ?? '')})`,
          {
            remedy: 'do not install: the lockfile or the registry content changed; find out why before regenerating the lockfile',
            data: { lockfile: pkg.integrity, registry: version.integrity ?? null },
          },
        ),
      ];
    }
    if (result === 'uncomparable') {
      return [
        finding(
          policy,
          'integrity-uncomparable',
          `the lockfile's integrity ${short(pkg.integrity)} cannot be compared with the registry's: it lists no sha1/sha256/sha384/sha512 digest, or one in an algorithm the registry publishes none of (or the registry publishes no hash), so the downloaded bytes would not be pinned to the registry's`,
          {
            remedy: "regenerate the lockfile from package.json with a current package manager (it records the registry's sha512 integrity)",
            data: { lockfile: pkg.integrity, registry: version.integrity ?? version.shasum ?? null },
          },
        ),
      ];
    }
    return [];
  },
};

function short(sri: string): string {
  return sri.length > 24 ? `${sri.slice(0, 20)}...` : sri;
}
