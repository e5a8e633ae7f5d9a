// Registry signatures with the real npm keys and 30 real signed tuples.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { signature, verifyRegistrySignature } from '../../src/checks/signature.js';
import type { KeysInput, RegistryKey } from '../../src/checks/types.js';
import { facts, pkg, policy } from './helpers.js';

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
    const t = TUPLES[1];
    const sig = Buffer.from(t.signatures[0].sig, 'base64');
    sig[sig.length - 3] ^= 1;
    expect(run(t, { sigs: [{ keyid: t.signatures[0].keyid, sig: sig.toString('base64') }] })[0].code).toBe('signature-invalid');
    expect(run(t, { version: '1.0.1' })[0].code).toBe('signature-invalid');
    expect(run(t, { integrity: TUPLES[2].integrity })[0].code).toBe('signature-invalid');
    // A signature moved to another package does not verify there.
    expect(run(TUPLES[2], { sigs: t.signatures })[0].code).toBe('signature-invalid');
  });

  it('an old-key signature counts only for versions published before the key expired', () => {
    const t = TUPLES.find((x) => x.signatures[0].keyid === OLD_KEY && x.publishTime)!;
    expect(run(t)).toEqual([]);
    expect(run(t, { publishedAt: '2025-02-01T00:00:00.000Z' })[0].code).toBe('signature-expired-key');
    expect(run(t, { publishedAt: '' })[0].code).toBe('signature-expired-key'); // unknown time cannot be shown to precede expiry
    const newKey = TUPLES.find((x) => x.signatures[0].keyid !== OLD_KEY)!;
    expect(run(newKey, { publishedAt: '2026-11-01T00:00:00.000Z' })).toEqual([]);
  });

  it('unknown key, missing signature, and a registry with no keys get their own codes', () => {
    const t = TUPLES[0];
    expect(run(t, {}, { kind: 'keys', keys: KEYS.filter((k) => k.keyid !== t.signatures[0].keyid), source: 'test' })[0].code).toBe('signature-unknown-key');
    expect(run(t, { sigs: [] })[0]).toMatchObject({ code: 'signature-missing', action: 'block' });
    expect(run(t, {}, { kind: 'none', registry: 'http://mirror/' })[0]).toMatchObject({ code: 'registry-no-keys', action: 'warn' });
    const strict = signature.run(pkg({ name: t.name, version: t.version }), { facts: facts(t.name, { [t.version]: { integrity: t.integrity, signatures: t.signatures } }), keys: { kind: 'none', registry: 'http://mirror/' } }, { now: new Date(), policy: policy({ actions: { 'registry-no-keys': 'block' } }) });
    expect(strict[0].action).toBe('block');
  });

  it('the raw verifier rejects a wrong key', () => {
    const t = TUPLES[0];
    const other = KEYS.find((k) => k.keyid !== t.signatures[0].keyid)!;
    expect(verifyRegistrySignature(t.name, t.version, t.integrity, t.signatures[0].sig, other)).toBe(false);
  });
});
