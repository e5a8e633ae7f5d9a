// Fail closed: every way the check can go wrong exits 2 (could not check) or blocks, naming the package and
// saying what to do. Nothing is allowed by accident.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { TestRegistry } from '../registry/server.js';
import { cleanEnv, cli, tempDir, writeProject } from './helpers.js';

const OLD = '2024-01-01T00:00:00.000Z';
let registry: TestRegistry;
let dir: string;
let env: NodeJS.ProcessEnv;

const check = (...args: string[]) => cli(['check', '--cache-dir', tempDir('si-c-'), '--retries', '1', ...args], { cwd: dir, env });

beforeAll(async () => {
  registry = await TestRegistry.start();
  for (const name of ['alpha', 'beta', '@scope/gamma']) {
    registry.addPackage({ name, versions: [{ version: '1.0.0', publishedAt: OLD }] });
  }
  dir = tempDir('si-err-');
  writeProject(dir, registry, { alpha: '1.0.0', beta: '1.0.0', '@scope/gamma': '1.0.0' });
  env = cleanEnv(registry.url);
});
afterAll(() => registry.close());
beforeEach(() => registry.clearFaults());

describe('registry failures exit 2 and name the package', () => {
  it('baseline: the project passes', async () => {
    const res = await check();
    expect(res.stdout).toMatch(/OK: \d+ allowed, \d+ with warnings, 0 quarantined, 0 blocked/);
    expect(res.code).toBe(0);
  });

  it('a 5xx that persists through the retries', async () => {
    registry.fault('beta', { status: 503 });
    const res = await check();
    expect(res.code).toBe(2);
    expect(res.stdout).toMatch(/registry answered 503 for beta/);
    expect(res.stdout).toContain('Check incomplete');
    expect(registry.requestCount('/beta')).toBeGreaterThanOrEqual(2); // it retried
  });

  it('a transient 5xx is retried and the check completes', async () => {
    registry.fault('beta', { status: 502, times: 1 });
    const res = await check();
    expect(res.code).toBe(0);
  });

  it('a timeout', async () => {
    registry.fault('@scope/gamma', { hang: true });
    const res = await check('--timeout', '1s', '--retries', '0');
    expect(res.code).toBe(2);
    expect(res.stdout).toMatch(/timed out fetching @scope\/gamma/);
  });

  it('malformed JSON', async () => {
    registry.fault('alpha', { body: '{"name": "alpha", "versions": ' });
    const res = await check('--retries', '0');
    expect(res.code).toBe(2);
    expect(res.stdout).toMatch(/malformed metadata for alpha/);
  });

  it('a packument that is JSON but not a packument', async () => {
    registry.fault('alpha', { body: '{"name": "alpha", "versions": [1, 2]}' });
    const res = await check('--retries', '0');
    expect(res.code).toBe(2);
    expect(res.stdout).toMatch(/malformed metadata for alpha.*"versions"/);
  });

  it('a truncated body', async () => {
    registry.fault('alpha', { truncate: true });
    const res = await check('--retries', '0');
    expect(res.code).toBe(2);
    expect(res.stdout).toMatch(/alpha/);
  });

  it('an unreachable registry', async () => {
    const port = await new Promise<number>((res) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => res(p));
      });
    });
    const res = await check('--registry', `http://127.0.0.1:${port}/`, '--retries', '0');
    expect(res.code).toBe(2);
    // Every request refused: the host is down, said once with what was tried (never-stuck.test.ts has more).
    expect(res.stdout).toMatch(/the registry host 127\.0\.0\.1:\d+ is not answering: the last 3 requests to it failed with no answer in between \(3 x connection refused \(ECONNREFUSED\)\)/);
  });

  it('--offline with an empty cache', async () => {
    const res = await check('--offline');
    expect(res.code).toBe(2);
    expect(res.stdout).toMatch(/no cached metadata for alpha \(--offline\)/);
  });
});

describe('registry answers that block (exit 1)', () => {
  it('404 for a locked package', async () => {
    registry.fault('beta', { status: 404 });
    const res = await check('--json');
    expect(res.code).toBe(1);
    const beta = JSON.parse(res.stdout).packages.find((p: any) => p.name === 'beta');
    expect(beta.verdict).toBe('block');
    expect(beta.findings[0].code).toBe('package-not-in-registry');
  });

  it('a locked version the registry does not have', async () => {
    const d = tempDir('si-err-');
    writeProject(d, registry, { alpha: '1.0.0' });
    const lock = JSON.parse(readFileSync(join(d, 'package-lock.json'), 'utf8'));
    lock.packages['node_modules/alpha'].version = '1.0.1';
    writeFileSync(join(d, 'package-lock.json'), JSON.stringify(lock));
    const res = await cli(['check', '--cache-dir', tempDir('si-c-')], { cwd: d, env });
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/alpha@1\.0\.1 +version-not-in-registry/);
  });
});

describe('local problems exit 2', () => {
  it('no lockfile', async () => {
    const res = await cli(['check'], { cwd: tempDir('si-empty-'), env });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/no npm-shrinkwrap.json or package-lock.json/);
  });

  it('an unparsable lockfile', async () => {
    const d = tempDir('si-bad-');
    writeFileSync(join(d, 'package-lock.json'), '{"lockfileVersion": 3, "packages": {');
    const res = await cli(['check'], { cwd: d, env });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/not valid JSON/);
  });

  it('an unreadable lockfile', async () => {
    const d = tempDir('si-bad-');
    mkdirSync(join(d, 'package-lock.json')); // a directory: readable by nobody as a file, even root
    const res = await cli(['check'], { cwd: d, env });
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('package-lock.json');
  });

  it('a malformed policy names the field', async () => {
    const d = tempDir('si-bad-');
    writeProject(d, registry, { alpha: '1.0.0' });
    writeFileSync(join(d, 'safe-install.policy.json'), JSON.stringify({ minimumReleaseAge: 'a week' }));
    const res = await cli(['check'], { cwd: d, env });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/minimumReleaseAge/);
    expect(res.stderr).toContain('exit 2');
  });

  it('bad flags', async () => {
    expect((await check('--now', 'yesterday')).code).toBe(2);
    expect((await check('--concurrency', '0')).code).toBe(2);
    expect((await cli(['check', '--no-such-flag'], { cwd: dir, env })).code).toBe(2);
  });

  it('never prints a token from the npm configuration', async () => {
    registry.fault('alpha', { status: 401 });
    const token = 'npm_abcdefghijklmnopqrstuvwxyz0123456789';
    const host = new URL(registry.url).host;
    const res = await cli(['check', '--cache-dir', tempDir('si-c-'), '--retries', '0'], {
      cwd: dir,
      env: { ...env, [`npm_config_//${host}/:_authToken`]: token },
    });
    expect(res.code).toBe(2);
    expect(res.stdout).toMatch(/401 for alpha/);
    expect(res.stdout + res.stderr).not.toContain(token);
  });
});
