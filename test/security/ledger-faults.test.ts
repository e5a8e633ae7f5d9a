// A corrupt quarantine ledger (.safe-install/quarantine.json: a bad merge, a hand edit, a truncated write by
// another tool). The ledger is a record, never a gate: whoever can write it must not crash the guard, change a
// verdict, or make the guard throw the record away. Every command that reads it (quarantine, the install,
// fix; `check` is read-only and does not touch it) says which file is broken and how to repair it, with no
// stack trace, and leaves its bytes alone.
// The first step of the suite's convention does not apply as such (the package manager never reads this file):
// each test shows the file is indeed not a ledger before the guard runs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestRegistry } from '../registry/server.js';
import { cleanEnv, cli, OLD, tempDir, writeProject } from '../integration/helpers.js';
import { noStackTrace } from './attack.js';

const YOUNG = new Date(Date.now() - 3_600_000).toISOString();
const NULL_ENTRY = '{"version":1,"entries":[null]}\n';
const TRUNCATED = '{\n  "version": 1,\n  "entries": [\n    {\n      "name": "fresh",\n      "vers';

let registry: TestRegistry;

beforeAll(async () => {
  registry = await TestRegistry.start();
  registry.addPackage({
    name: 'fresh',
    versions: [
      { version: '1.0.0', publishedAt: OLD },
      { version: '1.1.0', publishedAt: YOUNG },
    ],
  });
});
afterAll(() => registry.close());

/** A project locking fresh@1.1.0 (an hour old: held by the 7-day release age; 1.0.0 is its fallback), with `ledger` as its ledger. */
function project(ledger: string): { dir: string; env: NodeJS.ProcessEnv; file: string } {
  const dir = tempDir('si-ledger-');
  writeProject(dir, registry, { fresh: '1.1.0' });
  mkdirSync(join(dir, '.safe-install'));
  const file = join(dir, '.safe-install', 'quarantine.json');
  writeFileSync(file, ledger);
  return { dir, env: cleanEnv(registry.url), file };
}

const notALedger = (text: string) => {
  try {
    const doc = JSON.parse(text);
    return !Array.isArray(doc.entries) || doc.entries.some((e: unknown) => !e || typeof e !== 'object');
  } catch {
    return true;
  }
};

function expectClearLedgerError(text: string, file: string): void {
  expect(text).toContain(`the quarantine ledger ${file}`);
  expect(text).toMatch(/restore it from version control .*or delete it and the next check records what is held again/);
  expect(noStackTrace(text)).toBe(true);
}

describe('safe-install quarantine with a corrupt ledger', () => {
  it('{"version":1,"entries":[null]}: exit 2, names the file and the bad entry, says how to repair it', async () => {
    const p = project(NULL_ENTRY);
    expect(notALedger(readFileSync(p.file, 'utf8'))).toBe(true);
    const res = await cli(['quarantine'], { cwd: p.dir, env: p.env });
    expect(res.code).toBe(2);
    expectClearLedgerError(res.stderr, p.file);
    expect(res.stderr).toContain('entries.0: must be object');
    expect(res.stderr).toContain('(error bad-ledger: exit 2)');
    expect(readFileSync(p.file, 'utf8')).toBe(NULL_ENTRY);

    const json = await cli(['quarantine', '--json'], { cwd: p.dir, env: p.env });
    expect(json.code).toBe(2);
    expect(json.stdout).toBe('');
    expectClearLedgerError(json.stderr, p.file);
  });

  it('an entry of the wrong shape (status unknown, findings not a list)', async () => {
    const bad = JSON.stringify({ version: 1, entries: [{ name: 'fresh', version: '1.1.0', status: 'maybe', findings: 'x', firstSeen: 'a', lastSeen: 'b' }] });
    const p = project(bad);
    const res = await cli(['quarantine'], { cwd: p.dir, env: p.env });
    expect(res.code).toBe(2);
    expectClearLedgerError(res.stderr, p.file);
    expect(res.stderr).toMatch(/entries\.0\.status: must be equal to one of the allowed values/);
    expect(res.stderr).toMatch(/entries\.0\.findings: must be array/);
  });

  it('the ledger is a folder: exit 2 naming it', async () => {
    const p = project('');
    const { rmSync } = await import('node:fs');
    rmSync(p.file);
    mkdirSync(p.file);
    const res = await cli(['quarantine'], { cwd: p.dir, env: p.env });
    expect(res.code).toBe(2);
    expectClearLedgerError(res.stderr, p.file);
  });
});

describe('commands that record into a corrupt ledger: the verdict stands, the ledger is neither crashed on nor overwritten', () => {
  for (const [label, ledger] of [
    ['a null entry', NULL_ENTRY],
    ['truncated JSON', TRUNCATED],
  ] as const) {
    it(`the install (${label}): still holds fresh@1.1.0 (exit 1), says the ledger is broken and how to repair it, keeps its bytes`, async () => {
      const p = project(ledger);
      const res = await cli([], { cwd: p.dir, env: p.env });
      expect(res.code).toBe(1);
      expect(res.stdout).toMatch(/fresh@1\.1\.0/);
      expect(res.stdout).toContain('Note: the quarantine ledger was not updated:');
      expectClearLedgerError(res.stdout + res.stderr, p.file);
      expect(readFileSync(p.file, 'utf8')).toBe(ledger);
    });

    it(`check (${label}): still holds fresh@1.1.0 (exit 1); read-only, it neither reads nor writes the ledger`, async () => {
      const p = project(ledger);
      const res = await cli(['check'], { cwd: p.dir, env: p.env });
      expect(res.code).toBe(1);
      expect(res.stdout).toMatch(/fresh@1\.1\.0/);
      expect(res.stdout + res.stderr).not.toContain('quarantine ledger');
      expect(noStackTrace(res.stdout + res.stderr)).toBe(true);
      expect(readFileSync(p.file, 'utf8')).toBe(ledger);
    });
  }

  it('the install (ci): nothing installed (held), the same clear note, the ledger unchanged', async () => {
    const p = project(NULL_ENTRY);
    const res = await cli([], { cwd: p.dir, env: p.env });
    expect(res.code).toBe(1);
    expectClearLedgerError(res.stdout + res.stderr, p.file);
    expect(existsSync(join(p.dir, 'node_modules', 'fresh'))).toBe(false);
    expect(readFileSync(p.file, 'utf8')).toBe(NULL_ENTRY);
  });

  it('fix --yes: moves to the fallback, says the ledger could not be updated and why, the ledger unchanged', async () => {
    const p = project(NULL_ENTRY);
    // A range that lets fix fall back to 1.0.0.
    writeFileSync(join(p.dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', dependencies: { fresh: '^1.0.0' } }, null, 2));
    const lock = JSON.parse(readFileSync(join(p.dir, 'package-lock.json'), 'utf8'));
    lock.packages[''].dependencies.fresh = '^1.0.0';
    writeFileSync(join(p.dir, 'package-lock.json'), JSON.stringify(lock, null, 2));
    const res = await cli(['fix', '--yes'], { cwd: p.dir, env: p.env });
    expectClearLedgerError(res.stdout + res.stderr, p.file);
    expect(readFileSync(join(p.dir, 'package-lock.json'), 'utf8')).toMatch(/"node_modules\/fresh": \{\s*"version": "1\.0\.0"/);
    expect(res.code).toBe(0);
    expect(readFileSync(p.file, 'utf8')).toBe(NULL_ENTRY);
  });

  it('approve does not depend on the ledger: it records the approval, no stack, the ledger unchanged', async () => {
    const p = project(NULL_ENTRY);
    const res = await cli(['approve', 'fresh@1.1.0', '--reason', 'urgent fix', '--expires', '24h'], { cwd: p.dir, env: p.env });
    expect(noStackTrace(res.stdout + res.stderr)).toBe(true);
    expect(res.code).toBe(0);
    expect(readFileSync(join(p.dir, 'safe-install.policy.json'), 'utf8')).toContain('urgent fix');
    expect(readFileSync(p.file, 'utf8')).toBe(NULL_ENTRY);
  });
});
