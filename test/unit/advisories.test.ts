// Advisory records and matching: OSV's semantics (versions lists, SEMVER/ECOSYSTEM events in version order,
// last_affected, withdrawn), npm's vulnerable_versions, malware classification, merge by alias, record bounds,
// and the lookup with an offline database (no request leaves the machine).
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromBulk, fromOsv, inOsvRange, isMalware, mergeAdvisories, osvAffects } from '../../src/advisories/advisory.js';
import { parseOsvRecord } from '../../src/advisories/osv.js';
import { lookupAdvisories } from '../../src/advisories/lookup.js';
import type { OfflineAdvisoryDb } from '../../src/advisories/db.js';
import { FIXTURES, tempDir } from '../integration/helpers.js';

const fixture = (id: string) => JSON.parse(readFileSync(join(FIXTURES, 'advisories', 'osv', `${id}.json`), 'utf8'));
const rec = (id: string) => parseOsvRecord(fixture(id))!;

describe('OSV matching', () => {
  it('an explicit versions list names only those versions (chalk 5.6.1, not its neighbours)', () => {
    const r = rec('MAL-2025-46969');
    expect(osvAffects(r, 'chalk', '5.6.1')).toBe(true);
    expect(osvAffects(r, 'chalk', '5.6.0')).toBe(false);
    expect(osvAffects(r, 'chalk', '5.6.2')).toBe(false);
    expect(osvAffects(r, 'chalk-next', '5.6.1')).toBe(false);
  });

  it('ECOSYSTEM ranges with introduced/fixed (minimist: <0.2.4 and >=1.0.0 <1.2.6)', () => {
    const r = rec('GHSA-xvch-5gv4-984h');
    for (const v of ['0.0.1', '0.2.3', '1.0.0', '1.2.5']) expect(osvAffects(r, 'minimist', v)).toBe(true);
    for (const v of ['0.2.4', '0.3.0', '1.2.6', '1.2.8']) expect(osvAffects(r, 'minimist', v)).toBe(false);
  });

  it('last_affected closes after the version; events are ordered by version, not as written', () => {
    expect(inOsvRange('4.1.2', [{ introduced: '4.1.1' }, { last_affected: '4.1.2' }])).toBe(true);
    expect(inOsvRange('4.1.3', [{ introduced: '4.1.1' }, { last_affected: '4.1.2' }])).toBe(false);
    expect(inOsvRange('4.1.0', [{ introduced: '4.1.1' }, { last_affected: '4.1.2' }])).toBe(false);
    expect(inOsvRange('2.5.0', [{ fixed: '3.0.0' }, { introduced: '2.0.0' }, { fixed: '2.1.0' }, { introduced: '1.0.0' }])).toBe(false);
    expect(inOsvRange('2.0.5', [{ fixed: '3.0.0' }, { introduced: '2.0.0' }, { fixed: '2.1.0' }, { introduced: '1.0.0' }])).toBe(true);
    expect(inOsvRange('1.0.0-rc.1', [{ introduced: '0' }, { fixed: '1.0.0' }])).toBe(true);
    expect(inOsvRange('1.0.0', [{ introduced: '0' }, { fixed: '1.0.0' }])).toBe(false);
  });

  it('the stored tinycolor record (an open "introduced: 0" range beside 4.1.1-4.1.2) names every version, as OSV reads it', () => {
    const r = rec('MAL-2025-47141');
    expect(osvAffects(r, '@ctrl/tinycolor', '4.1.1')).toBe(true);
    expect(osvAffects(r, '@ctrl/tinycolor', '3.0.0')).toBe(true);
  });

  it('a withdrawn record names nothing; GIT ranges are not read as versions', () => {
    const r = parseOsvRecord({ ...fixture('MAL-2025-46969'), withdrawn: '2025-09-10T00:00:00Z' })!;
    expect(osvAffects(r, 'chalk', '5.6.1')).toBe(false);
    const git = parseOsvRecord({ id: 'X-1', modified: '2025-01-01T00:00:00Z', affected: [{ package: { ecosystem: 'npm', name: 'a' }, ranges: [{ type: 'GIT', events: [{ introduced: '0' }] }] }] })!;
    expect(osvAffects(git, 'a', '1.0.0')).toBe(false);
  });
});

describe('classification and merge', () => {
  it('malware: a MAL- id, CWE-506, or a title "Malware in"; anything else is a vulnerability', () => {
    expect(isMalware(['MAL-2025-1'], [], 'x')).toBe(true);
    expect(isMalware(['GHSA-a'], ['CWE-506'], 'x')).toBe(true);
    expect(isMalware(['GHSA-a'], [], 'Malware in left-pad')).toBe(true);
    expect(isMalware(['GHSA-a'], ['CWE-1321'], 'Prototype Pollution in minimist')).toBe(false);
    expect(fromOsv(rec('MAL-2025-46974'), 'debug', 'osv')).toMatchObject({ kind: 'malware', id: 'MAL-2025-46974', url: 'https://github.com/advisories/GHSA-8mgj-vmr8-frr6' });
    expect(fromOsv(rec('MAL-2025-46974'), 'debug', 'osv').advice).toMatch(/^Any computer that has this package installed/);
    expect(fromOsv(rec('GHSA-xvch-5gv4-984h'), 'minimist', 'osv')).toMatchObject({ kind: 'vulnerability', severity: 'critical', fixed: ['0.2.4', '1.2.6'] });
  });

  it("npm's vulnerable_versions, as npm audit reads it; an unreadable range names every version", () => {
    const a = fromBulk({
      id: 1,
      url: 'https://github.com/advisories/GHSA-xvch-5gv4-984h',
      title: 'Prototype Pollution in minimist',
      severity: 'critical',
      vulnerable_versions: '<0.2.4 || >=1.0.0 <1.2.6',
      cwe: ['CWE-1321'],
    });
    expect([a.affects('1.2.5'), a.affects('1.2.6'), a.affects('0.2.3')]).toEqual([true, false, true]);
    expect(a.id).toBe('GHSA-xvch-5gv4-984h');
    expect(fromBulk({ id: 2, url: 'u', title: 't', vulnerable_versions: 'not a range', cwe: [] }).affects('9.9.9')).toBe(true);
  });

  it('merges by alias across sources: one advisory, both sources, malware if either says so', () => {
    const osv = fromOsv(rec('MAL-2025-46969'), 'chalk', 'osv');
    const bulk = fromBulk({ id: 7, url: 'https://github.com/advisories/GHSA-2v46-p5h4-248w', title: 'Malware in chalk', severity: 'critical', vulnerable_versions: '=5.6.1', cwe: ['CWE-506'] });
    const other = fromOsv(rec('GHSA-xvch-5gv4-984h'), 'chalk', 'osv');
    const merged = mergeAdvisories([bulk, other, osv]);
    expect(merged).toHaveLength(2);
    const m = merged.find((a) => a.kind === 'malware')!;
    expect(m.id).toBe('MAL-2025-46969');
    expect(m.sources.sort()).toEqual(['osv', 'registry']);
    expect(m.ids).toEqual(expect.arrayContaining(['MAL-2025-46969', 'GHSA-2v46-p5h4-248w', 'npm:7']));
  });
});

describe('record bounds', () => {
  it('refuses what is not a record, or lists past the bounds', () => {
    expect(parseOsvRecord(null)).toBeUndefined();
    expect(parseOsvRecord({ id: 'X', modified: 1 })).toBeUndefined();
    expect(parseOsvRecord({ id: 'X', modified: 'm', affected: [{ package: { ecosystem: 'npm', name: 'a' }, versions: new Array(20_000).fill('1.0.0') }] })).toBeUndefined();
    expect(parseOsvRecord({ id: 'X', modified: 'm', aliases: [5] })).toBeUndefined();
  });
});

describe('lookup with an offline database', () => {
  it('uses only the database (no request leaves the machine), skips malformed records and says its age', async () => {
    const asked: string[] = [];
    let closed = false;
    const db: OfflineAdvisoryDb = {
      path: '/data/osv',
      kind: 'directory',
      builtAt: new Date('2026-11-30T00:00:00Z'),
      async recordsFor(name) {
        asked.push(name);
        return name === 'chalk' ? [fixture('MAL-2025-46969'), { broken: true }] : [];
      },
      async close() {
        closed = true;
      },
    };
    const lookup = await lookupAdvisories(
      [
        { name: 'chalk', version: '5.6.1' },
        { name: 'left-pad', version: '1.3.0' },
      ],
      {
        npm: { registry: 'http://127.0.0.1:9/', flat: {} } as never,
        fetchOptions: {},
        // Any request to these would fail the test: both closed ports.
        osvUrl: 'http://127.0.0.1:9',
        sources: { osv: true, registry: true },
        cacheDir: tempDir('si-adv-unit-'),
        ttlMs: 0,
        offline: false,
        bounds: { timeoutMs: 1000, retries: 0, maxBytes: 1 << 20 },
        db,
        now: new Date('2026-12-04T00:00:00Z'),
      },
    );
    expect(asked.sort()).toEqual(['chalk', 'left-pad']);
    expect(closed).toBe(true);
    expect(lookup.sources).toHaveLength(1);
    expect(lookup.sources[0]).toMatchObject({ source: 'db', answered: true });
    expect(lookup.sources[0]!.detail).toMatch(/built 2026-11-30T00:00:00.000Z \(4d.* ago\); 1 malformed record skipped; no advisory request left the machine/);
    expect(lookup.covered('left-pad')).toBe(true);
    expect(lookup.forName('chalk').map((a) => [a.id, a.kind, a.affects('5.6.1'), a.affects('5.6.0')])).toEqual([['MAL-2025-46969', 'malware', true, false]]);
  });
});
