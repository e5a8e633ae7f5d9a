// signature: the registry's ECDSA P-256 signature over `${name}@${version}:${integrity}` (dist.signatures),
// verified with the keys trusted for the registry (KeysInput). A key signs only versions published before it expired,
// as npm holds. A signature that cannot be checked against a trusted key blocks (signature-unverifiable): hiding the
// keys endpoint must not turn a tampered version into a warning. Only an unsigned version from a registry that serves
// no keys (a mirror that strips signatures) is a warning, said once per registry.
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import type { Finding, RegistryKey } from '../types.js';
import type { LockedPackage } from '../lockfile/types.js';
import type { Check } from './types.js';
import { finding } from './finding.js';
import { fullVersion } from '../facts.js';

const keyObjects = new Map<string, KeyObject | null>();

function keyObject(k: RegistryKey): KeyObject | null {
  let obj = keyObjects.get(k.key);
  if (obj === undefined) {
    try {
      obj = createPublicKey({ key: Buffer.from(k.key, 'base64'), format: 'der', type: 'spki' });
    } catch {
      obj = null; // a key that does not parse verifies nothing
    }
    keyObjects.set(k.key, obj);
  }
  return obj;
}

export function verifyRegistrySignature(name: string, version: string, integrity: string, sig: string, key: RegistryKey): boolean {
  const obj = keyObject(key);
  if (!obj) return false;
  try {
    return verify('sha256', Buffer.from(`${name}@${version}:${integrity}`, 'utf8'), obj, Buffer.from(sig, 'base64'));
  } catch {
    return false;
  }
}

export const signature: Check = {
  id: 'signature',
  run(pkg: LockedPackage, { facts, keys }, { policy }): Finding[] {
    if (pkg.source !== 'registry' || !facts || facts === 'missing' || !keys) return [];
    const v = fullVersion(facts, pkg.version);
    if (!v) return [];
    const signed = v.signatures.length > 0;
    if (!signed && keys.kind === 'none') {
      return [
        finding(policy, 'registry-no-keys', `the registry ${keys.registry} publishes no signing keys (/-/npm/v1/keys) and serves versions without signatures, so they cannot be verified`, {
          remedy:
            'behind a mirror of the npm registry: declare it (registryMirrorOf) and use one that keeps dist.signatures; or pin the upstream registry keys (registryKeys); or accept this with actions."registry-no-keys": "allow"',
        }),
      ];
    }
    if (!signed && keys.kind === 'keys' && keys.mirror) {
      return [
        finding(
          policy,
          'registry-no-keys',
          keys.mirror.registry === keys.mirror.upstream
            ? `${keys.mirror.registry} answers as the npm registry but serves no signing keys and no registry signatures (a mirror or proxy), so signatures cannot be verified`
            : `the mirror ${keys.mirror.registry} (of ${keys.mirror.upstream}) serves no signing keys and strips the registry signature of versions, so those cannot be verified`,
          {
            remedy: 'use a mirror that keeps dist.signatures (its signatures are then verified with the upstream keys), or accept this with actions."registry-no-keys": "allow"',
          },
        ),
      ];
    }
    if (keys.kind === 'none') {
      return [
        finding(
          policy,
          'signature-unverifiable',
          `${pkg.name}@${pkg.version} is signed (key ${v.signatures.map((s) => s.keyid).join(', ')}), but the registry ${keys.registry} serves no signing keys and none are trusted for it, so the signature cannot be verified`,
          {
            remedy: `a proxy that altered the metadata would hide the keys this way; if ${keys.registry} mirrors the npm registry, declare it in the policy (registryMirrorOf: {"${keys.registry}": "https://registry.npmjs.org/"}) and its signatures are verified with npm's keys shipped with safe-install; for another registry pin its keys (registryKeys)`,
          },
        ),
      ];
    }
    if (!v.integrity || !signed) {
      return [
        finding(policy, 'signature-missing', `no registry signature for ${pkg.name}@${pkg.version}, though the registry signs packages (${keys.source})`, {
          remedy: 'the metadata was altered in transit or by a proxy; check the registry path before installing',
        }),
      ];
    }
    const known = v.signatures.map((s) => ({ s, key: keys.keys.find((k) => k.keyid === s.keyid) })).filter((x) => x.key);
    if (!known.length) {
      return [
        finding(policy, 'signature-unknown-key', `signed with key ${v.signatures.map((s) => s.keyid).join(', ')}, which is not among the trusted keys (${keys.source})`, {
          remedy: keys.npm
            ? 'npm rotated its keys since these were shipped: run `safe-install trust refresh` (or update safe-install); otherwise the signature is forged'
            : 'the registry rotated its keys (refresh with --cache-ttl 0), or the signature is forged',
        }),
      ];
    }
    const published = Date.parse(v.publishedAt ?? '');
    let expired: RegistryKey | undefined;
    for (const { s, key } of known) {
      const valid = !key!.expires || (Number.isFinite(published) && published < Date.parse(key!.expires));
      if (!valid) {
        expired = key;
        continue;
      }
      if (verifyRegistrySignature(pkg.name, pkg.version, v.integrity, s.sig, key!)) return [];
    }
    if (expired && known.length === 1) {
      return [
        finding(policy, 'signature-expired-key', `signed with key ${expired.keyid}, which expired ${expired.expires}, before this version's publish time (${v.publishedAt ?? 'unknown'})`, {
          remedy: 'a signature made after a key expired is not valid; do not install',
        }),
      ];
    }
    return [
      finding(policy, 'signature-invalid', `the registry signature does not verify over ${pkg.name}@${pkg.version}:${v.integrity.slice(0, 20)}...`, {
        remedy: 'the name, version or integrity was altered; do not install',
      }),
    ];
  },
};
