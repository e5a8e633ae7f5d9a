// The finding catalog is the one place a finding code's default action is stated: the checks take it from there,
// the SARIF rules read it, and the shipped default policy must say the same (this test holds the two equal).
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CATALOG, FINDING_CODES, defaultActionOf, statedDefault } from '../../src/checks/catalog.js';
import { finding } from '../../src/checks/finding.js';
import { loadPolicy } from '../../src/policy/load.js';
import type { FindingCode } from '../../src/types.js';

const shipped = JSON.parse(readFileSync(resolve('policies/default.json'), 'utf8')) as {
  actions: Record<string, string>;
  sources: { direct: string; transitive: string };
};

describe('the finding catalog', () => {
  it("policies/default.json's actions are exactly the catalog's inDefaultPolicy codes, with the catalog's action", () => {
    const fromCatalog = Object.fromEntries(FINDING_CODES.filter((c) => CATALOG[c].inDefaultPolicy).map((c) => [c, CATALOG[c].action]));
    expect(shipped.actions).toEqual(fromCatalog);
  });

  it('codes whose default depends on the situation are not pinned by the default policy (that would hide the stricter default)', () => {
    for (const code of FINDING_CODES) {
      const e = CATALOG[code];
      if (e.stricter || e.direct) expect(shipped.actions[code], code).toBeUndefined();
    }
  });

  it("the source codes' defaults are the default policy's sources", () => {
    for (const code of ['git-source', 'tarball-source', 'local-source'] as FindingCode[]) {
      expect(CATALOG[code].direct).toBe(shipped.sources.direct);
      expect(CATALOG[code].action).toBe(shipped.sources.transitive);
    }
  });

  it('states each default as the docs and SARIF rules print it', () => {
    expect(statedDefault('too-young')).toBe('quarantine');
    expect(statedDefault('install-script-unlisted')).toBe('warn (block in strict mode)');
    expect(statedDefault('git-source')).toBe('direct: allow, transitive: block');
    expect(statedDefault('metadata-unavailable')).toBe('block, exit 2');
    expect(defaultActionOf('provenance-missing')).toBe('warn');
    expect(defaultActionOf('provenance-missing', true)).toBe('block');
    expect(defaultActionOf('too-young', true)).toBe('quarantine');
  });

  it("a check's finding takes its check id and default action from the catalog, and the policy overrides it", async () => {
    const policy = await loadPolicy(mkdtempSync(join(tmpdir(), 'si-catalog-')), undefined, undefined);
    // provenance-missing is in no policy's actions: the catalog decides.
    const plain = finding(policy, 'provenance-missing', 'm');
    expect(plain).toMatchObject({ check: 'provenance', action: 'warn', severity: 'warn' });
    expect(finding(policy, 'provenance-missing', 'm', { stricter: true })).toMatchObject({ action: 'block', severity: 'error' });
    expect(finding(policy, 'git-source', 'm', { sourcesSay: 'allow' })).toMatchObject({ check: 'source', action: 'allow' });
    const strictPolicy = { ...policy, actions: { ...policy.actions, provenance: 'allow' as const } };
    expect(finding(strictPolicy, 'provenance-missing', 'm', { stricter: true }).action).toBe('allow');
  });
});

describe('the policy schema names what a policy may act on', () => {
  const schema = JSON.parse(readFileSync(resolve('policies/policy.schema.json'), 'utf8')) as {
    properties: { actions: { propertyNames: { enum: string[] } } };
  };
  const named = new Set(schema.properties.actions.propertyNames.enum);
  // Not set through `actions`: the source codes (the policy's `sources`), what is reported only (default allow), and
  // the run's own findings (registry: exit 2; policy: about the exceptions themselves).
  const actionable = (c: FindingCode) => !CATALOG[c].direct && CATALOG[c].action !== 'allow' && CATALOG[c].check !== 'registry' && CATALOG[c].check !== 'policy';

  it("every finding code a policy may act on is among the schema's actions keys, and no other code is", () => {
    const codes = new Set<string>(FINDING_CODES);
    expect(FINDING_CODES.filter(actionable).filter((c) => !named.has(c))).toEqual([]);
    expect([...named].filter((k) => codes.has(k) && !actionable(k as FindingCode))).toEqual([]);
  });

  it("the schema's other keys are the check ids of those codes", () => {
    const codes = new Set<string>(FINDING_CODES);
    const checks = new Set(FINDING_CODES.filter(actionable).map((c) => CATALOG[c].check));
    // A key that is no finding code is a check id; `trust-downgrade` is both.
    const checkKeys = [...named].filter((k) => !codes.has(k) || checks.has(k as never));
    expect(new Set(checkKeys)).toEqual(checks);
  });
});
