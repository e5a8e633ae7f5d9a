import { describe, expect, it } from 'vitest';
import { trustDowngrade } from '../../src/checks/trust-downgrade.js';
import type { ProvenanceInput } from '../../src/verify/types.js';
import type { VersionFacts } from '../../src/facts.js';
import { DAY, NOW, ago, facts, pkg, policy } from './helpers.js';
import { at } from '../../src/util/at.js';

const PROV = { attestationsUrl: 'http://r/-/npm/v1/attestations/x', provenancePredicate: 'https://slsa.dev/provenance/v1' };
const verified: ProvenanceInput = { kind: 'verified', message: 'ok' };

function check(versions: Record<string, Partial<VersionFacts>>, version: string, provenance?: ProvenanceInput, doc = {}) {
  const f = { ...facts('x', versions), hasPublisherData: true };
  return trustDowngrade.run(pkg({ name: 'x', version }), { facts: f, provenance }, { now: NOW, policy: policy(doc) });
}

describe('trust downgrade', () => {
  const history = {
    '1.0.0': { publishedAt: ago(300 * DAY) },
    '1.1.0': { publishedAt: ago(200 * DAY), ...PROV, trustedPublisher: true },
    '2.0.0-beta.1': { publishedAt: ago(150 * DAY), ...PROV, trustedPublisher: true, approved: true },
    '1.2.0': { publishedAt: ago(2 * DAY) },
    '1.3.0': { publishedAt: ago(DAY), ...PROV },
    '1.4.0': { publishedAt: ago(DAY / 2), ...PROV, trustedPublisher: true },
  };

  it('a version without the trusted-publisher evidence its predecessor had is a downgrade', () => {
    const f = at(check(history, '1.2.0'), 0);
    expect(f).toMatchObject({ code: 'trust-downgrade', action: 'quarantine' });
    expect(f.data).toMatchObject({ earlierVersion: '1.1.0', earlier: 'trusted publisher', current: 'no trust evidence' });
  });

  it('provenance alone after a trusted publisher is still a downgrade; the same evidence is not', () => {
    expect(check(history, '1.3.0', verified)[0]?.code).toBe('trust-downgrade');
    expect(check(history, '1.4.0', verified)).toEqual([]);
  });

  it('the locked version counts provenance only when it verified (a forged field cannot pass)', () => {
    const f = at(check(history, '1.4.0', { kind: 'failed', code: 'provenance-invalid', message: 'bad' }), 0);
    expect(f.code).toBe('trust-downgrade');
    expect(f.message).toContain('did not verify');
    expect(check(history, '1.4.0', undefined)[0]?.code).toBe('trust-downgrade');
  });

  it('prereleases are skipped for a stable version, counted for a prerelease', () => {
    // 2.0.0-beta.1 had the strongest evidence, but 1.4.0 is stable: compared with stable ones only.
    expect(check(history, '1.4.0', verified)).toEqual([]);
    const pre = { ...history, '2.0.0-beta.2': { publishedAt: ago(DAY / 4), ...PROV, trustedPublisher: true } };
    expect(check(pre, '2.0.0-beta.2', verified)[0]?.data).toMatchObject({ earlier: 'approved staged publish' });
  });

  it('the first version with no evidence before it passes', () => {
    expect(check(history, '1.0.0')).toEqual([]);
  });

  it('exclusions and the ignore-after window (pnpm trustPolicyExclude / trustPolicyIgnoreAfter) and off', () => {
    expect(check(history, '1.2.0', undefined, { trustPolicyExclude: ['x@1.2.0'] })).toEqual([]);
    expect(check(history, '1.2.0', undefined, { trustPolicyIgnoreAfter: '1d' })).toEqual([]);
    expect(check(history, '1.2.0', undefined, { trustPolicyIgnoreAfter: '3d' })[0]?.code).toBe('trust-downgrade');
    expect(check(history, '1.2.0', undefined, { trustPolicy: 'off' })).toEqual([]);
  });

  it('a registry that strips publisher and attestation data cannot decide, and says so', () => {
    const f = { ...facts('x', { '1.0.0': { publishedAt: ago(DAY) } }), hasPublisherData: false };
    const [finding] = trustDowngrade.run(pkg({ name: 'x', version: '1.0.0' }), { facts: f }, { now: NOW, policy: policy() });
    expect(finding).toMatchObject({ code: 'trust-undecidable', action: 'warn' });
  });
});
