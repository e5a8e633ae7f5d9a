// Registry signatures with the real npm keys and 30 real signed tuples.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { signature, verifyRegistrySignature } from '../../src/checks/signature.js';
import type { KeysInput } from '../../src/verify/types.js';
import type { RegistryKey } from '../../src/types.js';
import { loadNpmKeys, parseNpmKeysTarget, shippedNpmKeysPath } from '../../src/verify/npm-keys.js';
import { facts, pkg, policy } from './helpers.js';
import { at } from '../../src/util/at.js';

const FIX = join(__dirname, '..', 'fixtures');
const KEYS: RegistryKey[] = JSON.parse(readFileSync(join(FIX, 'keys', 'npm-registry-keys.json'), 'utf8')).keys;
const TUPLES: { name: string; version: string; integrity: string; signatures: { keyid: string; sig: string }[]; publishTime?: string }[] = JSON.parse(
  readFileSync(join(FIX, 'signed', 'tuples.json'), 'utf8'),
);
const keys: KeysInput = { kind: 'keys', keys: KEYS, source: 'test' };
const OLD_KEY = 'SHA256:jl3bwswu80PjjokCgh0o2w5c2U4LhQAE57gj9cz1kzA';

function run(t: (typeof TUPLES)[number], over: { publishedAt?: string; integrity?: string; version?: string; sigs?: { keyid: string; sig: string }[] } = {}, k: KeysInput = keys) {
  const version = over.version ?? t.version;
  // Before the old key expired unless the test says otherwise (tuples without a known time).
  const publishedAt = over.publishedAt ?? t.publishTime ?? '2024-06-01T00:00:00.000Z';
  const f = facts(t.name, { [version]: { integrity: over.integrity ?? t.integrity, signatures: over.sigs ?? t.signatures, publishedAt } });
  return signature.run(pkg({ name: t.name, version }), { facts: f, keys: k }, { now: new Date(), policy: policy() });
}

describe('registry signatures', () => {
  it('every real tuple verifies', () => {
    for (const t of TUPLES) expect(run(t), `${t.name}@${t.version}`).toEqual([]);
    expect(TUPLES.length).toBe(30);
  });

  it('tampering with the signature, version or integrity is signature-invalid', () => {
    const t = at(TUPLES, 1);
    const sig = Buffer.from(at(t.signatures, 0).sig, 'base64');
    sig.writeUInt8(sig.readUInt8(sig.length - 3) ^ 1, sig.length - 3);
    expect(run(t, { sigs: [{ keyid: at(t.signatures, 0).keyid, sig: sig.toString('base64') }] })[0]?.code).toBe('signature-invalid');
    expect(run(t, { version: '1.0.1' })[0]?.code).toBe('signature-invalid');
    expect(run(t, { integrity: at(TUPLES, 2).integrity })[0]?.code).toBe('signature-invalid');
    // A signature moved to another package does not verify there.
    expect(run(at(TUPLES, 2), { sigs: t.signatures })[0]?.code).toBe('signature-invalid');
  });

  it('an old-key signature counts only for versions published before the key expired', () => {
    const t = TUPLES.find((x) => x.signatures[0]?.keyid === OLD_KEY && x.publishTime)!;
    expect(run(t)).toEqual([]);
    expect(run(t, { publishedAt: '2025-02-01T00:00:00.000Z' })[0]?.code).toBe('signature-expired-key');
    expect(run(t, { publishedAt: '' })[0]?.code).toBe('signature-expired-key'); // unknown time cannot be shown to precede expiry
    const newKey = TUPLES.find((x) => x.signatures[0]?.keyid !== OLD_KEY)!;
    expect(run(newKey, { publishedAt: '2026-11-01T00:00:00.000Z' })).toEqual([]);
  });

  it('unknown key, missing signature, and a registry with no keys get their own codes', () => {
    const t = at(TUPLES, 0);
    expect(run(t, {}, { kind: 'keys', keys: KEYS.filter((k) => k.keyid !== at(t.signatures, 0).keyid), source: 'test' })[0]?.code).toBe('signature-unknown-key');
    expect(run(t, { sigs: [] })[0]).toMatchObject({ code: 'signature-missing', action: 'block' });
    // An unsigned version from a registry that serves no keys: said (once per registry by the reporters), not blocked.
    expect(run(t, { sigs: [] }, { kind: 'none', registry: 'http://mirror/' })).toMatchObject([{ code: 'registry-no-keys', action: 'warn' }]);
    const unsigned = facts(t.name, { [t.version]: { integrity: t.integrity, signatures: [] } });
    const strict = signature.run(
      pkg({ name: t.name, version: t.version }),
      { facts: unsigned, keys: { kind: 'none', registry: 'http://mirror/' } },
      { now: new Date(), policy: policy({ actions: { 'registry-no-keys': 'block' } }) },
    );
    expect(strict[0]?.action).toBe('block');
  });

  it('a signed version whose registry serves no keys is signature-unverifiable and blocks, valid signature or not', () => {
    const none: KeysInput = { kind: 'none', registry: 'http://mirror/' };
    for (const t of [at(TUPLES, 0), at(TUPLES, 5)]) {
      const [f, ...rest] = run(t, {}, none);
      expect(rest).toEqual([]);
      expect(f).toMatchObject({ code: 'signature-unverifiable', action: 'block', severity: 'error' });
      expect(f?.message).toContain(`${t.name}@${t.version} is signed`);
      expect(f?.message).toContain('http://mirror/ serves no signing keys');
      expect(f?.remedy).toContain('registryMirrorOf');
    }
    // A tampered one (signature kept, integrity swapped) is no different: nothing can tell, so it blocks.
    expect(run(at(TUPLES, 1), { integrity: at(TUPLES, 2).integrity }, none)[0]?.code).toBe('signature-unverifiable');
  });

  it('a declared mirror that serves no keys: signed versions verify with the upstream keys, unsigned ones are said once', () => {
    const mirror: KeysInput = { kind: 'keys', keys: loadNpmKeys().keys, source: 'shipped', npm: true, mirror: { registry: 'http://mirror/', upstream: 'https://registry.npmjs.org/' } };
    for (const t of TUPLES) expect(run(t, {}, mirror), `${t.name}@${t.version}`).toEqual([]);
    expect(run(at(TUPLES, 1), { integrity: at(TUPLES, 2).integrity }, mirror)[0]).toMatchObject({ code: 'signature-invalid', action: 'block' });
    expect(run(at(TUPLES, 1), { sigs: [] }, mirror)).toMatchObject([{ code: 'registry-no-keys', action: 'warn' }]);
    expect(run(at(TUPLES, 1), { sigs: [] }, mirror)[0]?.message).toContain('the mirror http://mirror/ (of https://registry.npmjs.org/)');
    // A signature whose key npm's keys lack: refreshing them is the remedy (or it is forged).
    const other = { keyid: 'SHA256:not-an-npm-key', sig: at(at(TUPLES, 1).signatures, 0).sig };
    expect(run(at(TUPLES, 1), { sigs: [other] }, mirror)[0]).toMatchObject({ code: 'signature-unknown-key', action: 'block' });
    expect(run(at(TUPLES, 1), { sigs: [other] }, mirror)[0]?.remedy).toContain('safe-install trust refresh');
  });

  it("npm's shipped keys (the TUF target) keep the expiry rule: the old key only for versions published before 2025-01-29", () => {
    const shipped = loadNpmKeys();
    expect(shipped.source).toBe(shippedNpmKeysPath());
    const old = shipped.keys.find((k) => k.keyid === OLD_KEY)!;
    expect(old.expires).toBe('2025-01-29T00:00:00.000Z');
    expect(shipped.keys.map((k) => k.keyid).sort()).toEqual(KEYS.map((k) => k.keyid).sort());
    for (const k of shipped.keys) expect(k.key).toBe(KEYS.find((x) => x.keyid === k.keyid)!.key); // the same keys as /-/npm/v1/keys
    const npm: KeysInput = { kind: 'keys', keys: shipped.keys, source: 'shipped', npm: true };
    const t = TUPLES.find((x) => x.signatures[0]?.keyid === OLD_KEY && x.publishTime)!;
    expect(run(t, {}, npm)).toEqual([]);
    expect(run(t, { publishedAt: '2025-01-29T00:00:00.001Z' }, npm)[0]?.code).toBe('signature-expired-key');
    expect(run(t, { publishedAt: '' }, npm)[0]?.code).toBe('signature-expired-key');
    const newKey = TUPLES.find((x) => x.signatures[0]?.keyid !== OLD_KEY)!;
    expect(run(newKey, { publishedAt: '2026-11-01T00:00:00.000Z' }, npm)).toEqual([]);
  });

  it('reads the TUF keys target as npm does, and refuses one it cannot use', () => {
    const text = readFileSync(join(FIX, 'keys', 'npm-keys-from-sigstore-tuf.json'), 'utf8');
    const keys = parseNpmKeysTarget(text);
    expect(keys).toHaveLength(2); // npm:attestations entries are not signature keys
    const doc = JSON.parse(text);
    expect(() => parseNpmKeysTarget('{not json')).toThrow(/not JSON/);
    expect(() => parseNpmKeysTarget('{}')).toThrow(/no "keys" list/);
    expect(() => parseNpmKeysTarget(JSON.stringify({ keys: doc.keys.filter((k: any) => k.keyUsage !== 'npm:signatures') }))).toThrow(/no npm:signatures key/);
    const bad = structuredClone(doc);
    bad.keys[0].publicKey.rawBytes = Buffer.from('not a key').toString('base64');
    expect(() => parseNpmKeysTarget(JSON.stringify(bad))).toThrow(/not an ECDSA P-256 public key/);
    const badEnd = structuredClone(doc);
    badEnd.keys[0].publicKey.validFor.end = 'soon';
    expect(() => parseNpmKeysTarget(JSON.stringify(badEnd))).toThrow(/validFor.end/);
    const otherKind = structuredClone(doc);
    otherKind.keys[2].publicKey.keyDetails = 'PKIX_ED25519';
    expect(parseNpmKeysTarget(JSON.stringify(otherKind)).map((k) => k.keyid)).toEqual([OLD_KEY]);
  });

  it('the raw verifier rejects a wrong key', () => {
    const t = at(TUPLES, 0);
    const other = KEYS.find((k) => k.keyid !== at(t.signatures, 0).keyid)!;
    expect(verifyRegistrySignature(t.name, t.version, t.integrity, at(t.signatures, 0).sig, other)).toBe(false);
  });
});
