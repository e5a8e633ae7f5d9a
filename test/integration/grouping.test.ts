// Output that fits a real app (issue 16), end to end with the built CLI, the real npm and the loopback registry
// (which, like a mirror, serves no signing keys and no publisher data): a family of 20 platform packages held as
// too young is one line and one approve command, `approve` takes several versions or --all-held with one reason
// and one expiry (all or none), a registry-wide finding is one SARIF result, packages whose own checks pass are
// counted as allowed, and the run that releases the family says so in one line.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Log } from 'sarif';
import { TestRegistry } from '../registry/server.js';
import { cleanEnv, cli, npm, run, tempDir } from './helpers.js';
import { at } from '../../src/util/at.js';

const DAY = 86_400_000;
const PLATFORMS = Array.from({ length: 20 }, (_, i) => `@plat/bin-${String(i).padStart(2, '0')}`);
const SPECS = PLATFORMS.map((n) => `${n}@1.0.0`);
let registry: TestRegistry;

beforeAll(async () => {
  registry = await TestRegistry.start();
  const young = new Date(Date.now() - DAY).toISOString();
  for (const name of PLATFORMS) registry.addPackage({ name, versions: [{ version: '1.0.0', publishedAt: young }] });
  registry.addPackage({ name: 'plain', versions: [{ version: '1.0.0', publishedAt: '2024-01-01T00:00:00.000Z' }] });
});
afterAll(() => registry.close());

async function project() {
  const dir = tempDir('si-group-');
  const env = cleanEnv(registry.url);
  delete env.CI;
  const deps: Record<string, string> = { plain: '1.0.0' };
  for (const name of PLATFORMS) deps[name] = '1.0.0';
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', dependencies: deps }));
  expect((await npm(['install', '--package-lock-only', '--ignore-scripts'], { cwd: dir, env })).code).toBe(0);
  await run('git', ['init', '-q'], { cwd: dir, env });
  await run('git', ['config', 'user.email', 'reviewer@example.com'], { cwd: dir, env });
  const policyFile = join(dir, 'safe-install.policy.json');
  return {
    dir,
    env,
    exceptions: (): { package: string; expires: string; reason: string; approvedAt: string }[] => (existsSync(policyFile) ? (JSON.parse(readFileSync(policyFile, 'utf8')).exceptions ?? []) : []),
  };
}

describe('a family of 20 young platform packages', () => {
  it('check: one line and one approve command for the family, --all-held, registry-wide findings once, counted by own checks', async () => {
    const p = await project();
    const res = await cli(['check', '--format', 'text,sarif=out/report.sarif'], { cwd: p.dir, env: p.env });
    expect(res.code, res.stderr).toBe(1);
    expect(res.stdout).toMatch(/Quarantined \(20\)\n {2}! @plat\/\* \(20 packages\) {2}too-young: /);
    expect(res.stdout.match(/too-young/g)).toHaveLength(1);
    expect(res.stdout.match(/^ {2}~ registry-no-keys:.*\(21 packages\)$/gm)).toHaveLength(1);
    expect(res.stdout.match(/^ {2}~ trust-undecidable:.*\(21 packages\)$/gm)).toHaveLength(1);
    expect(res.stdout).toContain('Install refused: 1 allowed, 0 with warnings, 20 quarantined, 0 blocked (exit 1)');
    const approveLines = res.stdout.split('\n').filter((l) => l.includes('safe-install approve'));
    expect(approveLines).toEqual(['  safe-install approve --all-held --reason "..." --expires 3d   (all 20 at once)', `  safe-install approve ${SPECS.join(' ')} --reason "..." --expires 3d`]);

    const sarif = JSON.parse(readFileSync(join(p.dir, 'out', 'report.sarif'), 'utf8')) as Log;
    const results = at(sarif.runs, 0).results ?? [];
    expect(results.filter((r) => r.ruleId === 'registry-no-keys')).toHaveLength(1);
    expect(results.filter((r) => r.ruleId === 'trust-undecidable')).toHaveLength(1);
    expect(results.filter((r) => r.ruleId === 'too-young')).toHaveLength(20);
    expect(results).toHaveLength(22);
    expect(sarif.runs[0]?.properties?.summary).toMatchObject({ allow: 1, warn: 0, quarantine: 20 });

    const verbose = await cli(['check', '--verbose'], { cwd: p.dir, env: p.env });
    expect(verbose.stdout.match(/too-young/g)).toHaveLength(20);
    expect(verbose.stdout.split('\n').filter((l) => /safe-install approve @plat/.test(l))).toHaveLength(20);
  });

  it('approve takes several versions with one reason and expiry, all or none; --all-held the rest; the release is one line', async () => {
    const p = await project();
    // The first run records the holds in the ledger (install refused, nothing installed).
    const first = await cli([], { cwd: p.dir, env: p.env });
    expect(first.code, first.stderr).toBe(1);
    expect(existsSync(join(p.dir, 'node_modules'))).toBe(false);

    // One version not held: nothing is approved.
    const bad = await cli(['approve', at(SPECS, 0), 'plain@1.0.0', '--reason', 'x'], { cwd: p.dir, env: p.env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/plain@1\.0\.0 is not held.*nothing was approved/);
    expect(p.exceptions()).toEqual([]);
    expect((await cli(['approve', '--reason', 'x'], { cwd: p.dir, env: p.env })).stderr).toMatch(/name@version arguments or --all-held/);

    const two = await cli(['approve', at(SPECS, 0), at(SPECS, 1), '--reason', 'platform binaries of one release', '--expires', '2d'], { cwd: p.dir, env: p.env });
    expect(two.code, two.stderr).toBe(0);
    expect(two.stdout).toContain(`Approved 2 versions (waives release-age) until`);
    let ex = p.exceptions();
    expect(ex.map((e) => e.package)).toEqual(SPECS.slice(0, 2));
    expect(new Set(ex.map((e) => e.expires)).size).toBe(1);
    expect(Date.parse(at(ex, 0).expires) - Date.parse(at(ex, 0).approvedAt)).toBe(2 * DAY);

    const all = await cli(['approve', '--all-held', '--reason', 'the rest of the release', '--expires', '48h'], { cwd: p.dir, env: p.env });
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toContain('Approved 18 versions (waives release-age) until');
    ex = p.exceptions();
    expect(ex.map((e) => e.package).sort()).toEqual([...SPECS].sort());
    const rest = ex.slice(2);
    expect(new Set(rest.map((e) => e.expires)).size).toBe(1);
    expect(rest.every((e) => e.reason === 'the rest of the release')).toBe(true);
    expect(Date.parse(at(rest, 0).expires) - Date.parse(at(rest, 0).approvedAt)).toBe(2 * DAY);

    const install = await cli([], { cwd: p.dir, env: p.env });
    expect(install.code, install.stdout + install.stderr).toBe(0);
    for (const name of PLATFORMS) expect(existsSync(join(p.dir, 'node_modules', name, 'package.json'))).toBe(true);
    const released = install.stdout.split('\n').filter((l) => l.includes('Released from quarantine'));
    expect(released).toHaveLength(1);
    expect(released[0]).toMatch(/^Released from quarantine: @plat\/\* \(20 versions, held since .*; an approval waives what held it\): /);
    // The family on one line: the first few named, then how many more.
    expect(released[0]).toMatch(/\): (@plat\/bin-\d\d@1\.0\.0, ){2}@plat\/bin-\d\d@1\.0\.0 and 17 more$/);
  });
});
