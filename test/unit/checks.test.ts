import { describe, expect, it } from 'vitest';
import { releaseAge, requiredAge } from '../../src/checks/release-age.js';
import { integrity, compareIntegrity } from '../../src/checks/integrity.js';
import { source } from '../../src/checks/source.js';
import { decide } from '../../src/verdict/verdict.js';
import { compilePolicy, defaultPolicyDocument, mergePolicy } from '../../src/policy/load.js';
import { DAY, NOW, ago, facts, pkg, policy } from './helpers.js';
import { at } from '../../src/util/at.js';

const ctx = (doc = {}) => ({ now: NOW, policy: policy(doc) });
const SHA512_A = 'sha512-' + Buffer.alloc(64, 1).toString('base64');
const SHA512_B = 'sha512-' + Buffer.alloc(64, 2).toString('base64');

describe('release-age', () => {
  const f = facts('left-pad', {
    '1.0.0': { publishedAt: ago(400 * DAY) },
    '1.1.0': { publishedAt: ago(30 * DAY) },
    '1.2.0': { publishedAt: ago(2 * DAY) },
    '2.0.0': { publishedAt: ago(60 * DAY) },
    '1.3.0-beta.1': { publishedAt: ago(20 * DAY) },
  });

  it('holds a version younger than the default 7 days, with eligibility date and a fallback within every range', () => {
    const p = pkg({
      name: 'left-pad',
      version: '1.2.0',
      dependents: [
        { name: '(root)', range: '^1.0.0' },
        { name: 'x', range: '~1.1.0 || ^1.2.0' },
      ],
    });
    const finding = at(releaseAge.run(p, { facts: f }, ctx()), 0);
    expect(finding.code).toBe('too-young');
    expect(finding.action).toBe('quarantine');
    expect(finding.data?.eligibleAt).toBe(new Date(Date.parse(ago(2 * DAY)) + 7 * DAY).toISOString());
    // 2.0.0 is newer and old enough but outside ^1.0.0; the prerelease is skipped for a stable version.
    expect(finding.data?.fallback).toBe('1.1.0');
    expect(finding.remedy).toContain('left-pad@1.1.0');
  });

  it('passes a version exactly as old as required, and honours a longer policy age', () => {
    const p = pkg({ name: 'left-pad', version: '1.1.0' });
    expect(releaseAge.run(p, { facts: f }, ctx())).toEqual([]);
    expect(releaseAge.run(p, { facts: f }, ctx({ minimumReleaseAge: '31d' }))[0]?.code).toBe('too-young');
    expect(releaseAge.run(p, { facts: f }, ctx({ minimumReleaseAge: 30 * 24 * 60 }))).toEqual([]); // minutes, pnpm's unit
  });

  it('offers no fallback when nothing older satisfies the dependents', () => {
    const p = pkg({ name: 'left-pad', version: '1.2.0', dependents: [{ name: '(root)', range: '^1.2.0' }] });
    const finding = at(releaseAge.run(p, { facts: f }, ctx()), 0);
    expect(finding.data?.fallback).toBeNull();
    expect(finding.remedy).toMatch(/no older version/);
  });

  it('reports a version with no publish time instead of passing it', () => {
    const g = facts('x', { '1.0.0': {} });
    const finding = at(releaseAge.run(pkg({ name: 'x', version: '1.0.0' }), { facts: g }, ctx()), 0);
    expect(finding.code).toBe('no-publish-time');
    expect(finding.action).toBe('block');
  });

  it('exclusions by glob and by name@range', () => {
    const p = pkg({ name: '@myorg/tool', version: '1.2.0' });
    const g = facts('@myorg/tool', { '1.2.0': { publishedAt: ago(DAY) } });
    expect(releaseAge.run(p, { facts: g }, ctx({ minimumReleaseAgeExclude: ['@myorg/*'] }))).toEqual([]);
    expect(releaseAge.run(p, { facts: g }, ctx({ minimumReleaseAgeExclude: ['@myorg/tool@^1.2.0'] }))).toEqual([]);
    expect(releaseAge.run(p, { facts: g }, ctx({ minimumReleaseAgeExclude: ['@myorg/tool@^2'] }))).toHaveLength(1);
  });

  it('the stricter of the policy and npm min-release-age applies, and the report names its source', () => {
    const npm = { flat: {}, registry: 'http://r.test/', replaceRegistryHost: 'npmjs', pnpmKeys: {}, minReleaseAge: { days: 10, source: 'npm config min-release-age (project)' } };
    const pol = compilePolicy(mergePolicy(defaultPolicyDocument(), {}), undefined, npm);
    expect(requiredAge(pol, 'a', '1.0.0')?.source).toBe('npm config min-release-age (project)');
    const g = facts('a', { '1.0.0': { publishedAt: ago(8 * DAY) } });
    const finding = at(releaseAge.run(pkg({ name: 'a', version: '1.0.0' }), { facts: g }, { now: NOW, policy: pol }), 0);
    expect(finding.message).toContain('npm config min-release-age (project)');
    // A shorter npm setting does not weaken the policy.
    const weak = compilePolicy(mergePolicy(defaultPolicyDocument(), {}), undefined, { ...npm, minReleaseAge: { days: 1, source: 'npm' } });
    expect(releaseAge.run(pkg({ name: 'a', version: '1.0.0' }), { facts: facts('a', { '1.0.0': { publishedAt: ago(3 * DAY) } }) }, { now: NOW, policy: weak })[0]?.code).toBe('too-young');
  });
});

describe('integrity', () => {
  it('matches, mismatches, and compares the legacy sha1 shasum', () => {
    expect(compareIntegrity(SHA512_A, { integrity: SHA512_A, signatures: [], installScripts: {} })).toBe('match');
    expect(compareIntegrity(SHA512_A, { integrity: SHA512_B, signatures: [], installScripts: {} })).toBe('mismatch');
    const sha1hex = 'aa'.repeat(20);
    const sha1sri = 'sha1-' + Buffer.from(sha1hex, 'hex').toString('base64');
    expect(compareIntegrity(sha1sri, { shasum: sha1hex, integrity: SHA512_A, signatures: [], installScripts: {} })).toBe('match');
    expect(compareIntegrity(sha1sri, { shasum: 'bb'.repeat(20), signatures: [], installScripts: {} })).toBe('mismatch');
    expect(compareIntegrity(SHA512_A, { shasum: sha1hex, signatures: [], installScripts: {} })).toBe('uncomparable');
  });

  it('blocks a mismatch, a missing version and a missing package', () => {
    const f = facts('a', { '1.0.0': { integrity: SHA512_B, publishedAt: ago(100 * DAY) } });
    expect(integrity.run(pkg({ name: 'a', version: '1.0.0', integrity: SHA512_A }), { facts: f }, ctx())[0]).toMatchObject({ code: 'integrity-mismatch', action: 'block' });
    expect(integrity.run(pkg({ name: 'a', version: '1.0.1', integrity: SHA512_A }), { facts: f }, ctx())[0]).toMatchObject({ code: 'version-not-in-registry', action: 'block' });
    expect(integrity.run(pkg({ name: 'a', version: '1.0.0' }), { facts: 'missing' }, ctx())[0]).toMatchObject({ code: 'package-not-in-registry', action: 'block' });
    expect(integrity.run(pkg({ name: 'a', version: '1.0.0', integrity: SHA512_B }), { facts: f }, ctx())).toEqual([]);
  });
});

describe('source', () => {
  it('allows exotic direct dependencies and blocks exotic transitive ones by default', () => {
    const direct = pkg({ name: 'g', version: '1.0.0', source: 'git', resolved: 'git+ssh://git@github.com/a/g.git#abc', direct: true });
    const transitive = { ...direct, direct: false };
    expect(source.run(direct, { facts: undefined }, ctx())[0]).toMatchObject({ code: 'git-source', action: 'allow' });
    expect(source.run(transitive, { facts: undefined }, ctx())[0]).toMatchObject({ code: 'git-source', action: 'block' });
    expect(source.run(transitive, { facts: undefined }, ctx({ sources: { transitive: 'warn' } }))[0]?.action).toBe('warn');
    expect(source.run(pkg({ name: 't', version: '1.0.0', source: 'tarball', direct: false }), { facts: undefined }, ctx())[0]?.code).toBe('tarball-source');
    expect(source.run(pkg({ name: 'r', version: '1.0.0' }), { facts: undefined }, ctx())).toEqual([]);
  });
});

describe('verdicts and exceptions', () => {
  const young = facts('a', { '1.0.0': { publishedAt: ago(DAY) } });
  const p = pkg({ name: 'a', version: '1.0.0' });

  it('a live exception waives the named check and says so; an expired one is reported and does not apply', () => {
    const live = policy({ exceptions: [{ package: 'a@1.0.0', checks: ['release-age'], reason: 'CVE fix', expires: ago(-DAY) }] });
    const findings = releaseAge.run(p, { facts: young }, { now: NOW, policy: live });
    const v = decide(p, findings, live, NOW);
    expect(v.verdict).toBe('allow');
    expect(v.findings.map((f) => f.code)).toEqual(['too-young', 'exception-applied']);

    const expired = policy({ exceptions: [{ package: 'a', checks: ['release-age'], reason: 'CVE fix', expires: ago(DAY / 2) }] });
    const w = decide(p, releaseAge.run(p, { facts: young }, { now: NOW, policy: expired }), expired, NOW);
    expect(w.verdict).toBe('quarantine');
    expect(w.findings.map((f) => f.code)).toContain('exception-expired');
  });

  it('an exception for another check does not waive this one', () => {
    const other = policy({ exceptions: [{ package: 'a', checks: ['integrity'], reason: 'x', expires: ago(-DAY) }] });
    expect(decide(p, releaseAge.run(p, { facts: young }, { now: NOW, policy: other }), other, NOW).verdict).toBe('quarantine');
  });

  it('the strongest action wins', () => {
    const f = facts('a', { '1.0.0': { publishedAt: ago(DAY), integrity: SHA512_B } });
    const q = pkg({ name: 'a', version: '1.0.0', integrity: SHA512_A });
    const pol = policy();
    const findings = [...integrity.run(q, { facts: f }, { now: NOW, policy: pol }), ...releaseAge.run(q, { facts: f }, { now: NOW, policy: pol })];
    expect(decide(q, findings, pol, NOW).verdict).toBe('block');
  });
});
