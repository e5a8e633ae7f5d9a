// signature: the registry's ECDSA P-256 signature over `${name}@${version}:${integrity}` (dist.signatures),
// verified with the registry's keys. A key signs only versions published before it expired, as npm holds.
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import type { Finding, LockedPackage } from '../types.js';
import type { Check, RegistryKey } from './types.js';
import { finding } from './finding.js';
import { fullVersion } from '../registry/facts.js';

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
    if (keys.kind === 'none') {
      return [
        finding(policy, 'signature', 'registry-no-keys', 'warn', `the registry ${keys.registry} publishes no signing keys (/-/npm/v1/keys), so signatures cannot be verified`, {
          remedy: 'behind a mirror: pin the upstream registry keys in the policy (registryKeys), or accept this with actions."registry-no-keys": "allow"',
        }),
      ];
    }
    if (!v.integrity || !v.signatures.length) {
      return [
        finding(policy, 'signature', 'signature-missing', 'block', `no registry signature for ${pkg.name}@${pkg.version}, though the registry signs packages (${keys.source})`, {
          remedy: 'the metadata was altered in transit or by a proxy; check the registry path before installing',
        }),
      ];
    }
    const known = v.signatures.map((s) => ({ s, key: keys.keys.find((k) => k.keyid === s.keyid) })).filter((x) => x.key);
    if (!known.length) {
      return [
        finding(policy, 'signature', 'signature-unknown-key', 'block', `signed with key ${v.signatures.map((s) => s.keyid).join(', ')}, which the registry does not list`, {
          remedy: 'the registry rotated its keys (refresh with --cache-ttl 0), or the signature is forged',
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
        finding(policy, 'signature', 'signature-expired-key', 'block', `signed with key ${expired.keyid}, which expired ${expired.expires}, before this version's publish time (${v.publishedAt ?? 'unknown'})`, {
          remedy: 'a signature made after a key expired is not valid; do not install',
        }),
      ];
    }
    return [
      finding(policy, 'signature', 'signature-invalid', 'block', `the registry signature does not verify over ${pkg.name}@${pkg.version}:${v.integrity.slice(0, 20)}...`, {
        remedy: 'the name, version or integrity was altered; do not install',
      }),
    ];
  },
};
