// What shares a cause is said once (issue 16): a property of the registry (no signing keys, no publisher data) is
// one line, one SARIF result and one GitHub annotation, and does not count against each package; a package family
// held for one reason, and packages a lockfile sends to one foreign host, are one line each (--verbose: one per
// package). The CheckResult comes from the real pipeline against the loopback registry (which serves no keys).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestRegistry } from '../registry/server.js';
import { tempDir, writeProject } from '../integration/helpers.js';
import { runCheck, type CheckResult } from '../../src/pipeline.js';
import { toSarif } from '../../src/report/sarif.js';
import { toGithubCommands, toGithubSummary } from '../../src/report/github.js';
import { toJson } from '../../src/report/json.js';
import { countedAs, sharedFindings, summarize } from '../../src/report/summary.js';
import { familyOf, makeStyle, toText } from '../../src/report/text.js';
import { approveHints, releasedLines } from '../../src/cli/held.js';
import type { LedgerEntry } from '../../src/quarantine/ledger.js';
import { approveMany } from '../../src/quarantine/approve.js';
import { GuardError } from '../../src/errors.js';
import { at } from '../../src/util/at.js';

const NOW = new Date('2026-06-15T12:00:00Z');
const OLD = '2024-01-01T00:00:00.000Z';
const YOUNG = '2026-06-14T12:00:00.000Z';
const PLATFORMS = Array.from({ length: 20 }, (_, i) => `@plat/bin-${String(i).padStart(2, '0')}`);
const plain = makeStyle(false);
const savedEnv = { ...process.env };

let registry: TestRegistry;
let result: CheckResult;
let foreign: CheckResult;
let mixed: CheckResult;

type Lock = { packages: Record<string, Record<string, unknown>> };
function entryOf(lock: Lock, key: string): Record<string, unknown> {
  const entry = lock.packages[key];
  if (!entry) throw new Error(`${key} is not in the lockfile`);
  return entry;
}

async function check(deps: Record<string, string>, edit?: (lock: { packages: Record<string, Record<string, unknown>> }) => void): Promise<CheckResult> {
  const dir = tempDir('si-group-');
  writeProject(dir, registry, deps);
  if (edit) {
    const path = join(dir, 'package-lock.json');
    const lock = JSON.parse(readFileSync(path, 'utf8'));
    edit(lock);
    writeFileSync(path, JSON.stringify(lock, null, 2));
  }
  return runCheck({ cwd: dir, registry: registry.url, cacheDir: tempDir('si-group-cache-'), now: NOW, retries: 0 });
}

beforeAll(async () => {
  const home = tempDir('si-group-home-');
  writeFileSync(join(home, '.npmrc'), '');
  writeFileSync(join(home, 'global-npmrc'), '');
  for (const k of Object.keys(process.env)) if (/^npm_config_/i.test(k)) delete process.env[k];
  process.env.npm_config_userconfig = join(home, '.npmrc');
  process.env.npm_config_globalconfig = join(home, 'global-npmrc');

  registry = await TestRegistry.start();
  for (const name of PLATFORMS) registry.addPackage({ name, versions: [{ version: '1.0.0', publishedAt: YOUNG }] });
  registry.addPackage({ name: 'clean', versions: [{ version: '3.0.0', publishedAt: OLD }] });
  registry.addPackage({ name: 'other', versions: [{ version: '1.0.0', publishedAt: OLD }] });
  registry.addPackage({ name: 'scripted', versions: [{ version: '4.0.0', publishedAt: OLD, scripts: { postinstall: 'node setup.js' } }] });
  // A direct dependency whose every version is young: no fallback; and one with an old one outside its range.
  // Old enough, but held for something else: a bin named like a command.
  registry.addPackage({ name: 'shady', versions: [{ version: '1.0.0', publishedAt: OLD, bin: { node: 'x.js' }, files: { 'x.js': '' } }] });
  registry.addPackage({
    name: 'fresh',
    versions: [
      { version: '1.0.0', publishedAt: OLD },
      { version: '2.0.0', publishedAt: YOUNG },
    ],
  });

  const deps: Record<string, string> = { clean: '3.0.0', scripted: '4.0.0', fresh: '2.0.0' };
  for (const name of PLATFORMS) deps[name] = '1.0.0';
  result = await check(deps, (lock) => {
    entryOf(lock, 'node_modules/scripted').hasInstallScript = true;
  });
  mixed = await check({ '@plat/bin-00': '1.0.0', '@plat/bin-01': '1.0.0', '@plat/bin-02': '1.0.0', shady: '1.0.0' });
  // Three packages resolved from one foreign host: one cause.
  foreign = await check({ clean: '3.0.0', other: '1.0.0', scripted: '4.0.0' }, (lock) => {
    for (const [name, v] of [
      ['clean', '3.0.0'],
      ['other', '1.0.0'],
      ['scripted', '4.0.0'],
    ]) {
      entryOf(lock, `node_modules/${name}`).resolved = `https://evil.example/${name}/-/${name}-${v}.tgz`;
    }
  });
}, 60_000);

afterAll(async () => {
  await registry?.close();
  for (const k of Object.keys(process.env)) if (!(k in savedEnv)) delete process.env[k];
  Object.assign(process.env, savedEnv);
});

describe('registry-wide findings', () => {
  it('the registry serves no keys and no publisher data: every package has both findings (the premise)', () => {
    expect(result.errors).toEqual([]);
    for (const v of result.verdicts) {
      const codes = v.findings.map((f) => f.code);
      expect(codes).toContain('registry-no-keys');
      expect(codes).toContain('trust-undecidable');
    }
    expect(result.verdicts.find((v) => v.pkg.name === 'clean')?.verdict).toBe('warn');
  });

  it('are one finding each, naming how many packages they concern', () => {
    const shared = sharedFindings(result);
    expect(shared.map((s) => s.code).sort()).toEqual(['registry-no-keys', 'trust-undecidable']);
    for (const s of shared) expect(s.packages).toHaveLength(result.verdicts.length);
    expect(shared.find((s) => s.code === 'trust-undecidable')!.message).not.toMatch(/clean|@plat/);
  });

  it('count a package whose own checks pass as allowed (its JSON verdict stays warn)', () => {
    const s = summarize(result);
    expect(s).toMatchObject({ packages: 23, allow: 1, warn: 1, quarantine: 21, block: 0, exitCode: 1 });
    expect(countedAs(result.verdicts.find((v) => v.pkg.name === 'clean')!)).toBe('allow');
    expect(countedAs(result.verdicts.find((v) => v.pkg.name === 'scripted')!)).toBe('warn');
    const json = toJson(result) as { summary: { allow: number }; packages: { name: string; verdict: string }[] };
    expect(json.summary.allow).toBe(1);
    expect(json.packages.find((p) => p.name === 'clean')?.verdict).toBe('warn');
    const shared = (toJson(result) as { sharedFindings: { code: string; packages: string[] }[] }).sharedFindings;
    expect(shared.map((f) => [f.code, f.packages.length])).toEqual(
      expect.arrayContaining([
        ['registry-no-keys', 23],
        ['trust-undecidable', 23],
      ]),
    );
    expect(shared).toHaveLength(2);
  });

  it('SARIF: one result per registry-wide finding, none per package', () => {
    const results = at(toSarif(result).runs, 0).results ?? [];
    const byRule = (id: string) => results.filter((r) => r.ruleId === id);
    expect(byRule('registry-no-keys')).toHaveLength(1);
    expect(byRule('trust-undecidable')).toHaveLength(1);
    expect(byRule('registry-no-keys')[0]?.properties).toMatchObject({ packageCount: 23, scope: 'registry' });
    expect(byRule('registry-no-keys')[0]?.message.text).toMatch(/\(23 packages\)/);
    // The package's own findings stay one per package: 21 held too young, one unlisted script.
    expect(byRule('too-young')).toHaveLength(21);
    expect(byRule('install-script-unlisted')).toHaveLength(1);
    expect(results).toHaveLength(2 + 21 + 1);
    const summary = at(toSarif(result).runs, 0).properties?.summary as { allow: number };
    expect(summary.allow).toBe(1);
  });

  it('GitHub: one annotation and one summary line per registry-wide finding', () => {
    const commands = toGithubCommands(result, { root: tempDir() }).split('\n');
    expect(commands.filter((l) => l.includes('title=registry-no-keys'))).toHaveLength(1);
    expect(commands.filter((l) => l.includes('title=trust-undecidable'))).toHaveLength(1);
    expect(commands.filter((l) => l.startsWith('::'))).toHaveLength(2 + 21 + 1);
    const md = toGithubSummary(result, { root: tempDir() });
    expect(md.match(/^- `registry-no-keys`/gm)).toHaveLength(1);
    expect(md).toContain('**1 allowed, 1 with warnings, 21 quarantined, 0 blocked**');
  });

  it("text: one line each, and the counts by the packages' own checks", () => {
    const text = toText(result, plain);
    expect(text.match(/^ {2}~ registry-no-keys:/gm)).toHaveLength(1);
    expect(text.match(/trust-undecidable/g)).toHaveLength(1);
    expect(text).toMatch(/registry-no-keys: .*\(23 packages\)/);
    expect(text).toContain('Install refused: 1 allowed, 1 with warnings, 21 quarantined, 0 blocked (exit 1)');
    expect(text).toMatch(/Warnings \(1\)\n {2}~ scripted@4\.0\.0 {2}install-script-unlisted/);
  });
});

describe('a package family held for one reason', () => {
  it('text: one line for the family, naming each version; --verbose: one line per package', () => {
    const text = toText(result, plain);
    expect(text).toMatch(/! @plat\/\* \(20 packages\) {2}too-young: /);
    expect(text.match(/too-young/g)).toHaveLength(2); // the family's line and fresh's
    expect(text).toContain('@plat/bin-00@1.0.0, @plat/bin-01@1.0.0');
    expect(text).toContain('and 8 more');
    const verbose = toText(result, plain, { verbose: true });
    expect(verbose.match(/too-young/g)).toHaveLength(21);
    for (const name of PLATFORMS) expect(verbose).toContain(`! ${name}@1.0.0  too-young`);
    expect(verbose).toMatch(/registry-no-keys: .*\n.*\n.*@plat\/bin-19@1\.0\.0/);
  });

  it('approve hints: --all-held, one command for the family, one for the rest; --verbose: one per version', () => {
    const hints = approveHints(result, plain);
    const commands = hints.split('\n').filter((l) => l.includes('safe-install approve'));
    expect(commands[0]).toContain('safe-install approve --all-held --reason "..." --expires 3d');
    expect(commands[0]).toContain('all 21 at once');
    expect(commands).toContain(`  safe-install approve ${PLATFORMS.map((n) => `${n}@1.0.0`).join(' ')} --reason "..." --expires 3d`);
    expect(commands).toContain('  safe-install approve fresh@2.0.0 --reason "..." --expires 3d');
    expect(commands).toHaveLength(3);
    const verbose = approveHints(result, plain, { verbose: true })
      .split('\n')
      .filter((l) => /safe-install approve \S+@/.test(l));
    expect(verbose).toHaveLength(21);
  });

  it('a held direct dependency with no fallback: the older version to add, or the date', () => {
    const hints = approveHints(result, plain);
    expect(hints).toMatch(/fresh@2\.0\.0: safe-install add fresh@1\.0\.0 .*or wait until 2026-06-21T12:00:00\.000Z/);
  });

  it('released lines: one per family of versions released for one reason; --verbose one each', () => {
    const entry = (name: string, why: LedgerEntry['releasedBecause']): LedgerEntry => ({
      name,
      version: '1.0.0',
      status: 'released',
      findings: [],
      firstSeen: '2026-06-10T00:00:00.000Z',
      lastSeen: '2026-06-14T00:00:00.000Z',
      releasedBecause: why,
    });
    const released = [...PLATFORMS.map((n) => entry(n, 'passes')), entry('ms', 'approved'), entry('@plat/x', 'approved')];
    const lines = releasedLines(released, plain);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(
      /^Released from quarantine: @plat\/\* \(20 versions, held since 2026-06-10T00:00:00\.000Z; now old enough and passes every check\): @plat\/bin-00@1\.0\.0, @plat\/bin-01@1\.0\.0, @plat\/bin-02@1\.0\.0 and 17 more$/,
    );
    expect(lines[1]).toMatch(/^Released from quarantine: ms@1\.0\.0 .*an approval waives what held it/);
    expect(releasedLines(released, plain, { verbose: true })).toHaveLength(22);
  });

  it('families are scopes or the name before "-", never a lone name', () => {
    expect(familyOf('@img/sharp-linux-x64')).toBe('@img/*');
    expect(familyOf('esbuild-linux-64')).toBe('esbuild-*');
    expect(familyOf('lightningcss-darwin-arm64')).toBe('lightningcss-*');
    expect(familyOf('ms')).toBeUndefined();
    // Names that merely share a first word are not a family (each keeps its own line).
    expect(familyOf('time-commented')).toBeUndefined();
    expect(familyOf('lodash-es')).toBeUndefined();
  });
});

describe('a lockfile that sends packages to another host', () => {
  it('is one blocked line for the host, naming each package (one per package with --verbose)', () => {
    expect(foreign.verdicts.every((v) => v.findings.some((f) => f.code === 'resolved-off-registry'))).toBe(true);
    const text = toText(foreign, plain);
    expect(text.match(/resolved-off-registry/g)).toHaveLength(1);
    expect(text).toMatch(/x 3 packages from evil\.example {2}resolved-off-registry: /);
    expect(text).toContain('clean@3.0.0, other@1.0.0, scripted@4.0.0');
    expect(text).toContain('Install refused: 0 allowed, 0 with warnings, 0 quarantined, 3 blocked (exit 1)');
    expect(toText(foreign, plain, { verbose: true }).match(/resolved-off-registry/g)).toHaveLength(3);
  });
});

describe('approve --all-held', () => {
  it('waives release age only: a version held for anything else stays held and must be named; one expiry for all', async () => {
    expect(mixed.verdicts.find((v) => v.pkg.name === 'shady')?.findings.map((f) => f.code)).toContain('bin-shadows-command');
    const hints = approveHints(mixed, plain);
    expect(hints).toContain('safe-install approve --all-held --reason "..." --expires 3d   (the 3 held only for their release age; the others by name)');
    expect(hints).toContain('safe-install approve shady@1.0.0 --reason');

    const done = await approveMany(mixed, { specs: [], allHeld: true, reason: 'one release', now: NOW });
    expect(done.map((a) => `${a.name}@${a.version}`)).toEqual(['@plat/bin-00@1.0.0', '@plat/bin-01@1.0.0', '@plat/bin-02@1.0.0']);
    expect(done.refused).toEqual([{ name: 'shady', version: '1.0.0', codes: ['bin-shadows-command'], overridable: true }]);
    const policy = JSON.parse(readFileSync(join(mixed.tree.root.dir, 'safe-install.policy.json'), 'utf8'));
    expect(policy.exceptions.map((e: { package: string }) => e.package)).toEqual(['@plat/bin-00@1.0.0', '@plat/bin-01@1.0.0', '@plat/bin-02@1.0.0']);
    expect(new Set(policy.exceptions.map((e: { expires: string }) => e.expires))).toEqual(new Set([new Date(NOW.getTime() + 3 * 86_400_000).toISOString()]));

    // Named specs: all or none.
    await expect(approveMany(mixed, { specs: ['shady@1.0.0', 'nope@1.0.0'], reason: 'x', now: NOW })).rejects.toThrow(GuardError);
    expect(JSON.parse(readFileSync(join(mixed.tree.root.dir, 'safe-install.policy.json'), 'utf8')).exceptions).toHaveLength(3);
    await expect(approveMany(mixed, { specs: ['shady@1.0.0'], allHeld: true, reason: 'x', now: NOW })).rejects.toThrow(/either name@version arguments or --all-held/);
  });
});
