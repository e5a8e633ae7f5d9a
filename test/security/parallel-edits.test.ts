// Nothing lost: policy edits run in parallel (eight `safe-install scripts allow|deny` at once, as a script or two
// terminals do) each keep their entry, in the policy and in the package manager's settings kept in sync with it
// (package.json allowScripts in an init-ed npm project). Every read-modify-write holds the project's lock; a
// lost `deny` would let a package's install scripts run under a plain `npm ci`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestRegistry } from '../registry/server.js';
import { cleanEnv, cli, npm, OLD, tempDir } from '../integration/helpers.js';
import { projectLockPath } from '../../src/util/lock.js';
import { noStackTrace } from './attack.js';

let registry: TestRegistry;
const NAMES = Array.from({ length: 8 }, (_, i) => `pkg${i}`);

beforeAll(async () => {
  registry = await TestRegistry.start();
  registry.addPackage({ name: 'plain', versions: [{ version: '1.0.0', publishedAt: OLD }] });
});
afterAll(() => registry.close());

async function initedProject() {
  const dir = tempDir('si-txn-edits-');
  const env = cleanEnv(registry.url);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', dependencies: { plain: '1.0.0' } }, null, 2) + '\n');
  expect((await npm(['install', '--package-lock-only', '--ignore-scripts'], { cwd: dir, env })).code).toBe(0);
  const init = await cli(['init', '--yes'], { cwd: dir, env });
  expect(init.code, init.stdout + init.stderr).toBe(0);
  const json = (f: string) => JSON.parse(readFileSync(join(dir, f), 'utf8'));
  return { dir, env, policy: () => json('safe-install.policy.json'), allowScripts: () => json('package.json').allowScripts ?? {} };
}

describe('parallel policy edits lose nothing', () => {
  it('eight `scripts allow` at once: all eight in the policy and in package.json allowScripts', async () => {
    const p = await initedProject();
    const runs = await Promise.all(NAMES.map((n) => cli(['scripts', 'allow', n], { cwd: p.dir, env: p.env })));
    for (const r of runs) expect(r.code, r.stdout + r.stderr).toBe(0); // a run that failed says why first
    expect([...(p.policy().scripts?.allow ?? [])].sort()).toEqual(NAMES);
    expect(p.allowScripts()).toEqual(Object.fromEntries(NAMES.map((n) => [n, true])));
    for (const r of runs) {
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(noStackTrace(r.stdout + r.stderr)).toBe(true);
    }
    expect(existsSync(projectLockPath(p.dir))).toBe(false);
  });

  it('four `allow` and four `deny` at once: every deny stays a deny, in the policy and for npm', async () => {
    const p = await initedProject();
    const kind = (i: number) => (i % 2 ? 'deny' : 'allow');
    const runs = await Promise.all(NAMES.map((n, i) => cli(['scripts', kind(i), n], { cwd: p.dir, env: p.env })));
    expect([...(p.policy().scripts?.deny ?? [])].sort()).toEqual(NAMES.filter((_, i) => kind(i) === 'deny'));
    expect([...(p.policy().scripts?.allow ?? [])].sort()).toEqual(NAMES.filter((_, i) => kind(i) === 'allow'));
    expect(p.allowScripts()).toEqual(Object.fromEntries(NAMES.map((n, i) => [n, kind(i) === 'allow'])));
    for (const r of runs) {
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(noStackTrace(r.stdout + r.stderr)).toBe(true);
    }
  });
});
