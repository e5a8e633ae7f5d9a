import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readLedger, recordVerdicts } from '../../src/quarantine/ledger.js';
import type { PackageVerdict } from '../../src/verdict/verdict.js';
import { pkg } from './helpers.js';

const held = (name: string): PackageVerdict => ({
  pkg: pkg({ name, version: '1.0.0' }),
  verdict: 'quarantine',
  findings: [{ check: 'release-age', code: 'too-young', severity: 'error', action: 'quarantine', message: 'young', data: { eligibleAt: '2030-01-01T00:00:00.000Z', fallback: '0.9.0' } }],
});

describe('quarantine ledger', () => {
  it("concurrent runs never lose each other's entries, and leave no lock or temp file", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'si-ledger-'));
    const names = Array.from({ length: 12 }, (_, i) => `pkg-${i}`);
    await Promise.all(names.map((n) => recordVerdicts(dir, [held(n)], new Date())));
    const ledger = await readLedger(dir);
    expect(ledger.entries.map((e) => e.name).sort()).toEqual([...names].sort());
    expect(readdirSync(join(dir, '.safe-install'))).toEqual(['quarantine.json']); // no lock, no scratch folder left
  });

  it('keeps the first-seen time across runs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'si-ledger-'));
    await recordVerdicts(dir, [held('a')], new Date('2026-01-01T00:00:00Z'));
    await recordVerdicts(dir, [held('a')], new Date('2026-01-02T00:00:00Z'));
    const [e] = (await readLedger(dir)).entries;
    expect(e).toMatchObject({ firstSeen: '2026-01-01T00:00:00.000Z', lastSeen: '2026-01-02T00:00:00.000Z', fallback: '0.9.0' });
  });
});

describe('a corrupt ledger', () => {
  const corrupt = async (text: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'si-ledger-'));
    mkdirSync(join(dir, '.safe-install'));
    writeFileSync(join(dir, '.safe-install', 'quarantine.json'), text);
    return dir;
  };

  it('is a bad-ledger error naming the file and the field, never an empty ledger', async () => {
    const dir = await corrupt('{"version":1,"entries":[null]}');
    await expect(readLedger(dir)).rejects.toMatchObject({ code: 'bad-ledger', message: expect.stringMatching(/quarantine\.json is not a valid ledger[\s\S]*entries\.0: must be object/) });
    await expect(readLedger(await corrupt('{"version":2,"entries":[]}'))).rejects.toMatchObject({ code: 'bad-ledger' });
    await expect(readLedger(await corrupt('{"version":1,'))).rejects.toMatchObject({ code: 'bad-ledger', message: expect.stringContaining('not valid JSON') });
  });

  it('is never overwritten by a run that records verdicts', async () => {
    const text = '{"version":1,"entries":[{"name":"a"}]}';
    const dir = await corrupt(text);
    await expect(recordVerdicts(dir, [held('b')], new Date())).rejects.toMatchObject({ code: 'bad-ledger' });
    expect(readFileSync(join(dir, '.safe-install', 'quarantine.json'), 'utf8')).toBe(text);
    expect(readdirSync(join(dir, '.safe-install'))).toEqual(['quarantine.json']); // no lock, no scratch folder left
  });

  it('a ledger written by recordVerdicts is valid by the schema', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'si-ledger-'));
    await recordVerdicts(dir, [held('a')], new Date());
    await recordVerdicts(dir, [{ ...held('a'), verdict: 'allow', findings: [] }], new Date());
    const ledger = await readLedger(dir);
    expect(ledger.entries).toEqual([expect.objectContaining({ name: 'a', status: 'released', releasedBecause: 'passes' })]);
  });
});
