// The advisories check end to end: the real CLI against the loopback registry (with its bulk advisory endpoint,
// what npm audit asks) and a loopback OSV API, serving real advisory records (test/fixtures/advisories, see
// SOURCE.md): the chalk 5.6.1 / debug 4.4.2 compromise of September 2025, @ctrl/tinycolor (Shai-Hulud), and an
// ordinary vulnerability of minimist.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestRegistry, type BulkAdvisory } from '../registry/server.js';
import { TestOsv } from '../registry/osv.js';
import { FIXTURES, OLD, cleanEnv, cli, lockWith, tempDir, withTools } from './helpers.js';

const record = (id: string) => JSON.parse(readFileSync(join(FIXTURES, 'advisories', 'osv', `${id}.json`), 'utf8'));
const CHALK = record('MAL-2025-46969');
const DEBUG = record('MAL-2025-46974');
const TINYCOLOR = record('MAL-2025-47141');
const MINIMIST = record('GHSA-xvch-5gv4-984h');

/** The same advisories as the registry's bulk endpoint answers them (GitHub's malware advisories carry CWE-506). */
const BULK: Record<string, BulkAdvisory[]> = {
  chalk: [
    {
      id: 1107589,
      url: 'https://github.com/advisories/GHSA-2v46-p5h4-248w',
      title: 'Malware in chalk',
      severity: 'critical',
      vulnerable_versions: '=5.6.1',
      cwe: ['CWE-506'],
      cvss: { score: 0, vectorString: null },
    },
  ],
  debug: [
    {
      id: 1107590,
      url: 'https://github.com/advisories/GHSA-8mgj-vmr8-frr6',
      title: 'Malware in debug',
      severity: 'critical',
      vulnerable_versions: '=4.4.2',
      cwe: ['CWE-506'],
      cvss: { score: 0, vectorString: null },
    },
  ],
  minimist: [
    {
      id: 1097677,
      url: 'https://github.com/advisories/GHSA-xvch-5gv4-984h',
      title: 'Prototype Pollution in minimist',
      severity: 'critical',
      vulnerable_versions: '>=1.0.0 <1.2.6',
      cwe: ['CWE-1321'],
      cvss: { score: 9.8, vectorString: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' },
    },
  ],
};

const BAD = { chalk: '5.6.1', debug: '4.4.2', minimist: '1.2.5' };
const GOOD = { chalk: '5.6.0', debug: '4.4.1', minimist: '1.2.6' };

let registry: TestRegistry;
let osv: TestOsv;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  registry = await TestRegistry.start();
  for (const [name, versions] of Object.entries({ chalk: ['5.6.0', '5.6.1'], debug: ['4.4.1', '4.4.2'], minimist: ['1.2.5', '1.2.6'], '@ctrl/tinycolor': ['4.1.0', '4.1.1'] })) {
    registry.addPackage({ name, versions: versions.map((version) => ({ version, publishedAt: OLD })) });
  }
});
afterAll(async () => {
  await registry.close();
});
beforeEach(async () => {
  osv = await TestOsv.start();
  osv.add(CHALK, DEBUG, TINYCOLOR, MINIMIST);
  registry.setAdvisories(null);
  registry.bulkRequests.length = 0;
  env = cleanEnv(registry.url);
});
afterEach(async () => {
  await osv.close();
});

/** A project whose lockfile locks `deps` with caret ranges (so an older clean version is within range). */
function project(deps: Record<string, string>, policy?: unknown): string {
  const dir = tempDir('si-adv-');
  const ranges = Object.fromEntries(Object.entries(deps).map(([n, v]) => [n, `^${v.split('.')[0]}.0.0`]));
  const packages: Record<string, unknown> = { '': { name: 'app', version: '1.0.0', dependencies: ranges } };
  for (const [name, version] of Object.entries(deps)) packages[`node_modules/${name}`] = { version, resolved: registry.tarballUrl(name, version), integrity: registry.integrityOf(name, version) };
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', dependencies: ranges }));
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ name: 'app', version: '1.0.0', lockfileVersion: 3, requires: true, packages }));
  if (policy) writeFileSync(join(dir, 'safe-install.policy.json'), JSON.stringify(policy));
  return dir;
}

async function check(dir: string, extra: string[] = []) {
  const res = await cli(['check', '--json', '--osv-url', osv.url, ...extra], { cwd: dir, env });
  const report = JSON.parse(res.stdout);
  const findings = (name: string) => report.packages.find((p: any) => p.name === name).findings.filter((f: any) => f.check === 'advisories' || f.check === 'policy');
  const verdict = (name: string) => report.packages.find((p: any) => p.name === name).verdict;
  return { ...res, report, findings, verdict };
}

describe('malware is blocked, from each source alone', () => {
  it('from the OSV API alone (the registry answers 405, as mirrors do): blocked, naming the advisory, its link, the clean version and the advice', async () => {
    const r = await check(project(BAD));
    expect(r.code).toBe(1);
    const [chalk] = r.findings('chalk');
    expect(chalk).toMatchObject({ code: 'advisory-malware', action: 'block' });
    expect(chalk.message).toContain('MAL-2025-46969 (GHSA-2v46-p5h4-248w): Malicious code in chalk (npm)');
    expect(chalk.message).toContain('https://github.com/advisories/GHSA-2v46-p5h4-248w');
    expect(chalk.remedy).toContain('use chalk@5.6.0');
    expect(chalk.remedy).toMatch(/secrets and keys stored on that computer should be rotated/);
    expect(r.findings('debug')[0]).toMatchObject({ code: 'advisory-malware', action: 'block', data: { fallback: '4.4.1' } });
    expect(r.findings('debug')[0].message).toContain('GHSA-8mgj-vmr8-frr6');
    // An ordinary vulnerability: reported with its severity and fixed version, not blocked.
    const [mini] = r.findings('minimist');
    expect(mini).toMatchObject({ code: 'advisory-vulnerability', action: 'warn', data: { severity: 'critical', fixed: ['0.2.4', '1.2.6'] } });
    expect(mini.remedy).toContain('minimist@1.2.6');
    expect(r.verdict('minimist')).toBe('warn');
    expect(r.report.advisorySources).toEqual(expect.arrayContaining([expect.objectContaining({ source: 'osv', answered: true }), expect.objectContaining({ source: 'registry', answered: false })]));
    expect(osv.count('/v1/querybatch')).toBe(1);
    expect(registry.bulkRequests).toHaveLength(1);
  });

  it('from the registry bulk endpoint alone (the OSV API down)', async () => {
    registry.setAdvisories(BULK);
    osv.failWith = 503;
    const r = await check(project(BAD), ['--retries', '0']);
    expect(r.code).toBe(1);
    const [chalk] = r.findings('chalk');
    expect(chalk).toMatchObject({ code: 'advisory-malware', action: 'block', data: { sources: ['registry'], fallback: '5.6.0' } });
    expect(chalk.message).toContain('GHSA-2v46-p5h4-248w: Malware in chalk');
    expect(r.findings('minimist')[0]).toMatchObject({ code: 'advisory-vulnerability', action: 'warn', data: { severity: 'critical' } });
    expect(registry.bulkRequests[0]!.body).toEqual({ chalk: ['5.6.1'], debug: ['4.4.2'], minimist: ['1.2.5'] });
    expect(r.report.notices.join('\n')).toMatch(/the OSV API at .* did not answer/);
  });

  it('both sources: one finding per advisory, merged by alias', async () => {
    registry.setAdvisories(BULK);
    const r = await check(project(BAD));
    const chalk = r.findings('chalk');
    expect(chalk).toHaveLength(1);
    expect(chalk[0].data.sources.sort()).toEqual(['osv', 'registry']);
    expect(chalk[0].data.advisories).toEqual(expect.arrayContaining(['MAL-2025-46969', 'GHSA-2v46-p5h4-248w']));
  });

  it('the clean neighbouring versions are allowed', async () => {
    registry.setAdvisories(BULK);
    const r = await check(project(GOOD));
    expect(r.code).toBe(0);
    for (const name of Object.keys(GOOD)) expect(r.findings(name)).toEqual([]);
  });

  it('Shai-Hulud: @ctrl/tinycolor@4.1.1 is blocked (this version of the record names every version, so no clean fallback is offered)', async () => {
    const r = await check(project({ '@ctrl/tinycolor': '4.1.1' }));
    expect(r.code).toBe(1);
    expect(r.findings('@ctrl/tinycolor')[0]).toMatchObject({ code: 'advisory-malware', data: { id: 'MAL-2025-47141', fallback: null } });
  });

  it("follows OSV's pages (next_page_token) for a query with more records than a page holds", async () => {
    osv.pageSize = 1;
    osv.add({ ...MINIMIST, id: 'GHSA-test-page-0002', aliases: [], summary: 'A second minimist advisory' });
    const r = await check(project({ minimist: '1.2.5' }));
    expect(
      r
        .findings('minimist')
        .map((f: any) => f.data.id)
        .sort(),
    ).toEqual(['GHSA-test-page-0002', 'GHSA-xvch-5gv4-984h']);
    expect(osv.count('/v1/querybatch')).toBe(2);
    expect(osv.requests.filter((q) => q.path === '/v1/querybatch')[1]!.body).toMatchObject({ queries: [{ page_token: '1' }] });
  });

  it("the bulk request carries npm's auth for the registry", async () => {
    registry.setAdvisories(BULK);
    const dir = project({ chalk: '5.6.1' });
    writeFileSync(join(dir, '.npmrc'), `//${new URL(registry.url).host}/:_authToken=adv-secret-token\n`);
    const r = await check(dir);
    expect(r.code).toBe(1);
    expect(registry.bulkRequests[0]!.authorization).toBe('Bearer adv-secret-token');
    expect(r.stdout + r.stderr).not.toContain('adv-secret-token');
  });

  it('scoped registries: one bulk request per registry, each asked only about its own names', async () => {
    const corp = await TestRegistry.start();
    try {
      corp.addPackage({ name: '@corp/util', versions: [{ version: '1.0.0', publishedAt: OLD }] });
      corp.setAdvisories({
        '@corp/util': [{ id: 9, url: 'https://github.com/advisories/GHSA-corp-0000-0001', title: 'Malware in @corp/util', severity: 'critical', vulnerable_versions: '1.0.0', cwe: [] }],
      });
      registry.setAdvisories(BULK);
      const dir = project({ chalk: '5.6.0' });
      const lock = JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8'));
      lock.packages[''].dependencies['@corp/util'] = '^1.0.0';
      lock.packages['node_modules/@corp/util'] = { version: '1.0.0', resolved: corp.tarballUrl('@corp/util', '1.0.0'), integrity: corp.integrityOf('@corp/util', '1.0.0') };
      writeFileSync(join(dir, 'package-lock.json'), JSON.stringify(lock));
      writeFileSync(join(dir, '.npmrc'), `@corp:registry=${corp.url}\n`);
      const r = await check(dir);
      expect(r.code).toBe(1);
      expect(r.findings('@corp/util')[0]).toMatchObject({ code: 'advisory-malware', data: { id: 'GHSA-corp-0000-0001', sources: ['registry'] } });
      expect(registry.bulkRequests.map((q) => q.body)).toEqual([{ chalk: ['5.6.0'] }]);
      expect(corp.bulkRequests.map((q) => q.body)).toEqual([{ '@corp/util': ['1.0.0'] }]);
    } finally {
      await corp.close();
    }
  });

  it('--offline answers from the cache alone: still blocked, nothing asked', async () => {
    const dir = project(BAD);
    await check(dir);
    const [osvBefore, bulkBefore] = [osv.requests.length, registry.bulkRequests.length];
    const r = await check(dir, ['--offline']);
    expect(r.code).toBe(1);
    expect(r.findings('chalk')[0].code).toBe('advisory-malware');
    expect([osv.requests.length, registry.bulkRequests.length]).toEqual([osvBefore, bulkBefore]);
  });

  it('a second run within the cache TTL asks the OSV API nothing', async () => {
    const dir = project(BAD);
    await check(dir);
    const before = osv.requests.length;
    const r = await check(dir);
    expect(osv.requests.length).toBe(before);
    expect(r.findings('chalk')[0].code).toBe('advisory-malware');
  });
});

describe('when no source answers', () => {
  it('warns once (advisories-unavailable), never blocks clean packages for it; the policy can make it block', async () => {
    osv.failWith = 503;
    const dir = project(GOOD);
    const text = await cli(['check', '--osv-url', osv.url, '--retries', '0'], { cwd: dir, env });
    expect(text.code).toBe(0);
    expect(text.stdout.match(/advisories-unavailable:/g)).toHaveLength(1);
    expect(text.stdout).toMatch(/advisories-unavailable: .*\(3 packages\)/);
    writeFileSync(join(dir, 'safe-install.policy.json'), JSON.stringify({ actions: { 'advisories-unavailable': 'block' } }));
    const strict = await check(dir, ['--retries', '0']);
    expect(strict.code).toBe(1);
    expect(strict.findings('chalk')[0]).toMatchObject({ code: 'advisories-unavailable', action: 'block' });
  });
});

describe('credentials', () => {
  it('an OSV URL with credentials is never printed with them', async () => {
    const withCredentials = osv.url.replace('http://', 'http://osvuser:osv-secret-pw@');
    const res = await cli(['check', '--osv-url', withCredentials, '--retries', '0'], { cwd: project({ chalk: '5.6.1' }), env });
    const json = await cli(['check', '--json', '--osv-url', withCredentials, '--retries', '0', '--cache-ttl', '0'], { cwd: project({ chalk: '5.6.1' }), env });
    expect(res.stdout).toMatch(/advisories: the OSV API at /);
    for (const r of [res, json]) expect(r.stdout + r.stderr).not.toContain('osv-secret-pw');
  });
});

describe('policy', () => {
  const future = '2099-01-01T00:00:00.000Z';
  const past = '2020-01-01T00:00:00.000Z';

  it('advisories.block makes a vulnerability of that severity or higher block', async () => {
    const r = await check(project({ minimist: '1.2.5' }, { advisories: { block: 'high' } }));
    expect(r.code).toBe(1);
    expect(r.findings('minimist')[0]).toMatchObject({ code: 'advisory-vulnerability', action: 'block' });
  });

  it('an exception naming a vulnerability id waives it until it expires', async () => {
    const exc = (expires: string) => ({
      advisories: { block: 'high' },
      exceptions: [{ package: 'minimist@1.2.5', checks: ['advisories'], advisories: ['GHSA-xvch-5gv4-984h'], reason: 'not reachable from our code', expires }],
    });
    const live = await check(project({ minimist: '1.2.5' }, exc(future)));
    expect(live.code).toBe(0);
    expect(live.findings('minimist').map((f: any) => f.code)).toEqual(['advisory-vulnerability', 'exception-applied']);
    const expired = await check(project({ minimist: '1.2.5' }, exc(past)));
    expect(expired.code).toBe(1);
    expect(expired.findings('minimist').map((f: any) => f.code)).toEqual(['advisory-vulnerability', 'exception-expired']);
  });

  it('malware: an exception for other checks (even "*") does not waive it; one naming the exact advisory id does, until it expires', async () => {
    const star = await check(project({ chalk: '5.6.1' }, { exceptions: [{ package: 'chalk', checks: ['*'], reason: 'trust it', expires: future }] }));
    expect(star.code).toBe(1);
    expect(star.verdict('chalk')).toBe('block');
    const other = await check(
      project({ chalk: '5.6.1' }, { exceptions: [{ package: 'chalk', checks: ['advisories'], advisories: ['GHSA-xvch-5gv4-984h'], reason: 'another advisory', expires: future }] }),
    );
    expect(other.code).toBe(1);
    const byId = (expires: string) => ({ exceptions: [{ package: 'chalk@5.6.1', checks: ['advisories'], advisories: ['MAL-2025-46969'], reason: 'our own audited fork of this tarball', expires }] });
    // (Within overrides.maxExpiry of --now: see the next test.)
    const live = await check(project({ chalk: '5.6.1' }, byId('2026-12-10T00:00:00.000Z')), ['--now', '2026-12-01T00:00:00.000Z']);
    expect(live.code).toBe(0);
    expect(live.findings('chalk').map((f: any) => f.code)).toEqual(['advisory-malware', 'exception-applied']);
    const expired = await check(project({ chalk: '5.6.1' }, byId(past)));
    expect(expired.code).toBe(1);
    expect(expired.findings('chalk').map((f: any) => f.code)).toEqual(['advisory-malware', 'exception-expired']);
  });

  it('malware: an exception naming its id is time-boxed: one running past overrides.maxExpiry (default 14d) from now does not apply', async () => {
    const now = '2026-12-01T00:00:00.000Z';
    const exc = (expires: string) => ({ exceptions: [{ package: 'chalk@5.6.1', checks: ['advisories'], advisories: ['MAL-2025-46969'], reason: 'audited', expires }] });
    const long = await check(project({ chalk: '5.6.1' }, exc('2026-12-20T00:00:00.000Z')), ['--now', now]);
    expect(long.code).toBe(1);
    const [malware, note] = long.findings('chalk');
    expect(malware).toMatchObject({ code: 'advisory-malware', action: 'block' });
    expect(note.message).toMatch(/does not apply: it names malware and runs until 2026-12-20T00:00:00.000Z, past the policy's overrides.maxExpiry/);
    const short = await check(project({ chalk: '5.6.1' }, exc('2026-12-10T00:00:00.000Z')), ['--now', now]);
    expect(short.code).toBe(0);
  });

  it('refuses a policy that would weaken malware to a warning', async () => {
    const r = await cli(['check', '--osv-url', osv.url], { cwd: project({ chalk: '5.6.0' }, { actions: { 'advisory-malware': 'warn' } }), env });
    expect(r.code).toBe(2);
    expect(r.stderr + r.stdout).toMatch(/malware is always blocked/);
  });
});

/** Whether src/advisories/db.ts is the real reader yet (h-advdb) rather than the stub this branch compiles with. */
async function dbReaderBuilt(): Promise<boolean> {
  const { openAdvisoryDb } = await import('../../src/advisories/db.js');
  try {
    await (await openAdvisoryDb(join(FIXTURES, 'advisories', 'malicious-packages'))).close();
    return true;
  } catch (err) {
    return !/not built yet/.test((err as Error).message);
  }
}

const DB_READER = await dbReaderBuilt();

describe('an offline database', () => {
  it.skipIf(!DB_READER)('--advisories-db with the OpenSSF layout: malware blocked, the clean neighbour allowed, no advisory request made', async () => {
    osv.failWith = 500;
    registry.setAdvisories(BULK);
    const db = join(FIXTURES, 'advisories', 'malicious-packages');
    const bad = await check(project({ chalk: '5.6.1', debug: '4.4.1' }), ['--advisories-db', db]);
    expect(bad.code).toBe(1);
    expect(bad.findings('chalk')[0]).toMatchObject({ code: 'advisory-malware', data: { id: 'MAL-2025-46969', sources: ['db'], fallback: '5.6.0' } });
    expect(bad.findings('debug')).toEqual([]);
    expect(bad.report.advisorySources).toEqual([expect.objectContaining({ source: 'db', answered: true })]);
    expect(osv.requests).toHaveLength(0);
    expect(registry.bulkRequests).toHaveLength(0);
  });

  it('one given with --advisories-db that cannot be opened stops the check (exit 2) before any advisory request', async () => {
    const r = await cli(['check', '--osv-url', osv.url, '--advisories-db', join(tempDir('si-adv-db-'), 'missing')], { cwd: project(BAD), env });
    expect(r.code).toBe(2);
    expect(r.stderr + r.stdout).toMatch(/cannot use the advisory database .*missing/);
    expect(osv.requests).toHaveLength(0);
    expect(registry.bulkRequests).toHaveLength(0);
  });
});

describe('pnpm lockfiles get the same check', () => {
  it('blocks debug@4.4.2 locked by pnpm', async () => {
    const dir = tempDir('si-adv-pnpm-');
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', dependencies: { debug: '4.4.2' } }));
    const penv = withTools(env, { pnpm: 'pnpm' });
    await lockWith('pnpm', dir, registry.url, penv);
    const res = await cli(['check', '--json', '--osv-url', osv.url], { cwd: dir, env: penv });
    expect(res.code).toBe(1);
    const debug = JSON.parse(res.stdout).packages.find((p: any) => p.name === 'debug');
    expect(debug.findings.find((f: any) => f.check === 'advisories')).toMatchObject({ code: 'advisory-malware', data: { id: 'MAL-2025-46974' } });
  });
});
