// Attack family: the project hook switched off for another project. safe-install's own installs used to carry
// SAFE_INSTALL_RUNNING=1, inherited by every script it ran, and the hook did nothing under it. So a root script
// (a postinstall that sets up an example folder, a test fixture) or an allowed dependency's script that ran
// `npm ci` in another guarded project installed a young version there with exit 0, where a plain `npm ci` in
// that folder is refused by its hook. Now the guard's marker is a one-use pass for the very project and step it
// installs, and the scripts it runs get none: the nested install's hook runs its check and refuses.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestRegistry } from '../registry/server.js';
import { cli, npm, OLD, safeInstallOnPath } from '../integration/helpers.js';
import { attackProject, noStackTrace, type AttackProject } from './attack.js';

const DAY = 86_400_000;
let registry: TestRegistry;
let binDir: string;

beforeAll(async () => {
  registry = await TestRegistry.start();
  registry.addPackage({ name: 'plain', versions: [{ version: '1.0.0', publishedAt: OLD }] });
  registry.addPackage({
    name: 'fresh',
    versions: [
      { version: '1.0.0', publishedAt: OLD },
      { version: '1.1.0', publishedAt: new Date(Date.now() - DAY).toISOString() },
    ],
  });
  // An allowed dependency whose postinstall runs `npm ci` in the folder $SI_INNER names.
  registry.addPackage({
    name: 'builder',
    versions: [
      {
        version: '1.0.0',
        publishedAt: OLD,
        scripts: { postinstall: 'node build.js' },
        files: { 'build.js': "require('child_process').execSync('npm ci', { cwd: process.env.SI_INNER, stdio: 'inherit' });\n", 'index.js': '' },
      },
    ],
  });
  // The hooks run `safe-install hook`: PATH finds this build (as node_modules/.bin would).
  binDir = safeInstallOnPath();
});
afterAll(() => registry.close());

/**
 * The outer project (`pkg`), guarded by `safe-install`, and in its examples/inner folder another project set up
 * by `safe-install init` whose lockfile (with `resolved` URLs, as users' are) locks the young fresh@1.1.0.
 */
async function nested(pkg: Record<string, unknown>): Promise<{ outer: AttackProject; inner: string; freshInInner: () => string | undefined }> {
  const outer = attackProject(registry, pkg);
  outer.env.PATH = `${binDir}:${outer.env.PATH}`;
  const inner = join(outer.dir, 'examples', 'inner');
  outer.env.SI_INNER = inner;
  mkdirSync(inner, { recursive: true });
  writeFileSync(join(inner, 'package.json'), JSON.stringify({ name: 'inner', version: '1.0.0', dependencies: { fresh: '1.1.0' } }, null, 2) + '\n');
  const lock = await npm(['install', '--package-lock-only', '--ignore-scripts'], { cwd: inner, env: outer.env });
  expect(lock.code, lock.stderr).toBe(0);
  expect(JSON.parse(readFileSync(join(inner, 'package-lock.json'), 'utf8')).packages['node_modules/fresh'].resolved).toMatch(/^http/);
  const init = await cli(['init', '--yes'], { cwd: inner, env: outer.env });
  expect(init.code, init.stdout + init.stderr).toBe(0);
  expect(JSON.parse(readFileSync(join(inner, 'package.json'), 'utf8')).scripts.preinstall).toBe('safe-install hook');
  const lockOuter = await outer.npm('install', '--package-lock-only', '--ignore-scripts');
  expect(lockOuter.code, lockOuter.stderr).toBe(0);
  const file = join(inner, 'node_modules/fresh/package.json');
  return { outer, inner, freshInInner: () => (existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')).version : undefined) };
}

describe('an install started by a script the guard runs, in another guarded project', () => {
  it('a plain npm ci in the inner project is refused by its hook', async () => {
    const { outer, inner, freshInInner } = await nested({ dependencies: { plain: '1.0.0' } });
    const res = await npm(['ci'], { cwd: inner, env: outer.env });
    expect(res.code).not.toBe(0);
    expect(res.stdout + res.stderr).toMatch(/fresh@1\.1\.0 +too-young/);
    expect(res.stdout + res.stderr).toContain('The install is refused (safe-install hook, exit 1)');
    expect(freshInInner()).toBeUndefined();
  });

  it("the outer project's own postinstall running npm ci in the inner one: the inner hook refuses it", async () => {
    const { outer, freshInInner } = await nested({ dependencies: { plain: '1.0.0' }, scripts: { postinstall: 'cd examples/inner && npm ci' } });
    // Where the guard is absent the nested hook runs: plain npm ci in the outer project fails on it too.
    const plain = await outer.npm('ci');
    expect(plain.code).not.toBe(0);
    expect(plain.stdout + plain.stderr).toMatch(/fresh@1\.1\.0 +too-young/);
    expect(freshInInner()).toBeUndefined();
    // Through the guard: before the fix, exit 0 with fresh@1.1.0 installed in examples/inner.
    const res = await outer.guard();
    const out = res.stdout + res.stderr;
    expect(out).toMatch(/fresh@1\.1\.0 +too-young/);
    expect(out).toContain('The install is refused (safe-install hook, exit 1)');
    expect(out).toMatch(/the project's postinstall script failed/);
    expect(res.code).not.toBe(0);
    expect(noStackTrace(out), out).toBe(true);
    expect(freshInInner()).toBeUndefined();
    expect(existsSync(join(outer.dir, 'node_modules/plain/package.json'))).toBe(true);
  });

  it("an allowed dependency's script running npm ci in the inner project: the inner hook refuses it", async () => {
    const { outer, freshInInner } = await nested({ dependencies: { builder: '1.0.0' } });
    writeFileSync(join(outer.dir, 'safe-install.policy.json'), JSON.stringify({ scripts: { allow: ['builder'] } }));
    const plain = await outer.npm('ci');
    expect(plain.code).not.toBe(0);
    expect(plain.stdout + plain.stderr).toMatch(/fresh@1\.1\.0 +too-young/);
    expect(freshInInner()).toBeUndefined();
    // Through the guard: before the fix, npm rebuild carried the marker and fresh@1.1.0 was installed.
    const res = await outer.guard();
    const out = res.stdout + res.stderr;
    expect(out).toMatch(/fresh@1\.1\.0 +too-young/);
    expect(out).toContain('The install is refused (safe-install hook, exit 1)');
    expect(out).toMatch(/an allowed install script failed/);
    expect(res.code).not.toBe(0);
    expect(freshInInner()).toBeUndefined();
  });

  it("the pass the outer hook uses is not the inner project's: a preinstall chaining the hook and npm ci in the inner one", async () => {
    const { outer, freshInInner } = await nested({ dependencies: { plain: '1.0.0' }, scripts: { preinstall: 'safe-install hook && cd examples/inner && npm ci' } });
    const res = await outer.guard();
    const out = res.stdout + res.stderr;
    // The outer hook is quiet (the guard's pass for the outer project); the inner one checks and refuses.
    expect(out).not.toContain('safe-install hook: 1 packages checked');
    expect(out).toMatch(/fresh@1\.1\.0 +too-young/);
    expect(out).toContain('The install is refused (safe-install hook, exit 1)');
    expect(out).toMatch(/the project's preinstall script failed/);
    expect(res.code).not.toBe(0);
    expect(freshInInner()).toBeUndefined();
  });

  it("the guard's own install of an init-ed project still runs its hook's check once (the pass)", async () => {
    const { outer, inner, freshInInner } = await nested({ dependencies: { plain: '1.0.0' } });
    // The inner project with an old version: safe-install there runs the check itself and the hook stays quiet.
    writeFileSync(join(inner, 'package.json'), JSON.stringify({ name: 'inner', version: '1.0.0', dependencies: { fresh: '1.0.0' }, scripts: { preinstall: 'safe-install hook' } }, null, 2) + '\n');
    expect((await npm(['install', '--package-lock-only', '--ignore-scripts'], { cwd: inner, env: outer.env })).code).toBe(0);
    const res = await cli([], { cwd: inner, env: outer.env });
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(res.stdout + res.stderr).not.toContain('safe-install hook:');
    expect(freshInInner()).toBe('1.0.0');
  });
});
