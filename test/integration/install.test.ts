// `safe-install` in place of `npm ci`, end to end with the real npm against the loopback registry: no script
// outside the allowlist ever runs, allowed ones run in npm's own order, and held versions install nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestRegistry } from '../registry/server.js';
import { cleanEnv, cli, npm, tempDir, OLD, scriptedWith, EVENT_LOGGER } from './helpers.js';

const YOUNG = new Date(Date.now() - 86_400_000).toISOString();
// Every script appends "<name>:<event>" to $SI_TEST_LOG, so a test sees exactly what ran and in which order.
const LOGGER = EVENT_LOGGER;

const scripted = scriptedWith(LOGGER);

let registry: TestRegistry;

beforeAll(async () => {
  registry = await TestRegistry.start();
  registry.addPackage({ name: 'plain', versions: [{ version: '1.0.0', publishedAt: OLD }] });
  registry.addPackage({ name: 'unlisted-postinstall', versions: [scripted('1.0.0', ['postinstall'])] });
  registry.addPackage({ name: 'native-allowed', versions: [scripted('2.0.0', ['preinstall', 'install', 'postinstall'], { dependencies: { 'native-dep': '^1.0.0' } })] });
  registry.addPackage({ name: 'native-dep', versions: [scripted('1.0.0', ['postinstall'])] });
  // The registry manifest shows no scripts; the tarball's package.json has a postinstall.
  registry.addPackage({ name: 'hidden-script', versions: [scripted('1.0.0', ['postinstall'], { manifestOverrides: { scripts: {} } })] });
  registry.addPackage({
    name: 'failing-script',
    versions: [{ version: '1.0.0', publishedAt: OLD, scripts: { postinstall: 'node fail.js' }, files: { 'fail.js': "console.error('FAILING-SCRIPT-OUTPUT: cannot build'); process.exit(3);\n" } }],
  });
  registry.addPackage({
    name: 'fresh',
    versions: [
      { version: '1.0.0', publishedAt: OLD },
      { version: '1.1.0', publishedAt: YOUNG },
    ],
  });
});
afterAll(() => registry.close());

/** A project locked by the real npm against the test registry. */
async function project(deps: Record<string, string>, opts: { policy?: object; pkg?: Record<string, unknown> } = {}) {
  const dir = tempDir('si-proj-');
  const log = join(dir, 'scripts.log');
  const env = cleanEnv(registry.url, { SI_TEST_LOG: log });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', dependencies: deps, ...opts.pkg }, null, 2));
  const lock = await npm(['install', '--package-lock-only', '--ignore-scripts'], { cwd: dir, env });
  expect(lock.code, lock.stderr).toBe(0);
  if (opts.policy) writeFileSync(join(dir, 'safe-install.policy.json'), JSON.stringify(opts.policy));
  const ran = () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').filter(Boolean) : []);
  return { dir, env, ran, install: (...args: string[]) => cli(args, { cwd: dir, env }) };
}

describe('safe-install (in place of npm ci) with the real npm', () => {
  it('an unlisted package is installed without running its script, with the command that allows it', async () => {
    const p = await project({ 'unlisted-postinstall': '1.0.0', plain: '1.0.0' });
    const res = await p.install();
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(existsSync(join(p.dir, 'node_modules/unlisted-postinstall/index.js'))).toBe(true);
    expect(p.ran()).toEqual([]);
    expect(res.stdout).toMatch(/skipped +unlisted-postinstall@1\.0\.0 +postinstall: node log\.js postinstall/);
    expect(res.stdout).toContain('safe-install scripts allow unlisted-postinstall');
  });

  it('allowed packages run their scripts in the order plain npm ci runs them; others stay silent', async () => {
    const deps = { 'native-allowed': '2.0.0', 'unlisted-postinstall': '1.0.0' };
    const p = await project(deps, { policy: { scripts: { allow: ['native-*'] } } });
    const res = await p.install();
    expect(res.code, res.stdout + res.stderr).toBe(0);
    const guarded = p.ran();
    expect(guarded).not.toContain('unlisted-postinstall:postinstall');

    // The reference: plain `npm ci` with scripts on, in a copy of the same project.
    const ref = await project(deps);
    const plain = await npm(['ci'], { cwd: ref.dir, env: ref.env });
    expect(plain.code, plain.stderr).toBe(0);
    expect(guarded).toEqual(ref.ran().filter((l) => l.startsWith('native-')));
    expect([...guarded].sort()).toEqual(['native-allowed:install', 'native-allowed:postinstall', 'native-allowed:preinstall', 'native-dep:postinstall']);
    // npm runs every preinstall, then every install, then every postinstall.
    expect(guarded.indexOf('native-allowed:preinstall')).toBeLessThan(guarded.indexOf('native-allowed:install'));
    expect(guarded.indexOf('native-allowed:install')).toBeLessThan(guarded.indexOf('native-dep:postinstall'));
  });

  it('a name@range allow covers only matching versions, and a package.json allowScripts denial wins', async () => {
    const p = await project({ 'native-allowed': '2.0.0' }, { policy: { scripts: { allow: ['native-allowed@^2', 'native-dep@^2'] } } });
    expect((await p.install()).code).toBe(0);
    expect(p.ran()).toEqual(['native-allowed:preinstall', 'native-allowed:install', 'native-allowed:postinstall']);

    const q = await project({ 'native-allowed': '2.0.0' }, { policy: { scripts: { allow: ['native-*'] } }, pkg: { allowScripts: { 'native-dep': false } } });
    const res = await q.install();
    expect(res.code).toBe(0);
    expect(q.ran()).not.toContain('native-dep:postinstall');
    expect(res.stdout).toMatch(/native-dep@1\.0\.0 .*denied by package\.json allowScripts/);
  });

  it('a script hidden from the registry manifest never runs, and is reported', async () => {
    const p = await project({ 'hidden-script': '1.0.0' });
    const res = await p.install();
    expect(p.ran()).toEqual([]);
    expect(res.stdout).toMatch(/hidden-script@1\.0\.0 +manifest-scripts-mismatch/);
    expect(res.code).toBe(0); // unlisted: skipped anyway

    // Even when the name is allowed, a tarball that lies about its scripts is not trusted.
    const q = await project({ 'hidden-script': '1.0.0' }, { policy: { scripts: { allow: ['hidden-script'] } } });
    const refused = await q.install();
    expect(q.ran()).toEqual([]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain('Install refused after extraction');
  });

  it('a quarantined version stops the install before anything is downloaded', async () => {
    const p = await project({ fresh: '^1.0.0', plain: '1.0.0' });
    const tarballsBefore = registry.requests.filter((r) => r.path.endsWith('.tgz')).length;
    const res = await p.install();
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/fresh@1\.1\.0 +too-young/);
    expect(res.stdout).toContain('use fresh@1.0.0');
    expect(existsSync(join(p.dir, 'node_modules'))).toBe(false);
    expect(registry.requests.filter((r) => r.path.endsWith('.tgz')).length).toBe(tarballsBefore);
  });

  it('strict mode refuses an unlisted install script before extraction', async () => {
    const p = await project({ 'unlisted-postinstall': '1.0.0' }, { policy: { scripts: { unlisted: 'block' } } });
    const res = await p.install();
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/unlisted-postinstall@1\.0\.0 +install-script-unlisted/);
    expect(existsSync(join(p.dir, 'node_modules'))).toBe(false);
  });

  it('an allowed script that fails fails the install with its output', async () => {
    const p = await project({ 'failing-script': '1.0.0' }, { policy: { scripts: { allow: ['failing-script'] } } });
    const res = await p.install();
    expect(res.code).not.toBe(0);
    expect(res.stdout + res.stderr).toContain('FAILING-SCRIPT-OUTPUT: cannot build');
    expect(res.stderr).toMatch(/allowed install script failed/);
  });

  it("runs the project's own install lifecycle after the dependencies, unless the policy turns it off", async () => {
    const rootScript = (e: string) => `node -e "require('fs').appendFileSync(process.env.SI_TEST_LOG, 'app:${e}\\n')"`;
    const pkg = { scripts: { postinstall: rootScript('postinstall'), prepare: rootScript('prepare') } };
    const p = await project({ 'native-dep': '1.0.0' }, { policy: { scripts: { allow: ['native-dep'] } }, pkg });
    expect((await p.install()).code).toBe(0);
    expect(p.ran()).toEqual(['native-dep:postinstall', 'app:postinstall', 'app:prepare']);

    const q = await project({ 'native-dep': '1.0.0' }, { policy: { scripts: { allow: ['native-dep'], rootScripts: false } }, pkg });
    expect((await q.install()).code).toBe(0);
    expect(q.ran()).toEqual(['native-dep:postinstall']);
  });

  it('passes npm arguments after -- through (--omit=dev)', async () => {
    const p = await project({ plain: '1.0.0' }, { pkg: { devDependencies: { 'native-dep': '1.0.0' } } });
    const res = await p.install('--', '--omit=dev');
    expect(res.code, res.stdout).toBe(0);
    expect(existsSync(join(p.dir, 'node_modules/plain'))).toBe(true);
    expect(existsSync(join(p.dir, 'node_modules/native-dep'))).toBe(false);
  });
});
