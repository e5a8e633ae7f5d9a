// `safe-install init` in a yarn project, end to end with the real yarn 1.22.22 and 4.18.1 against the loopback
// registry: in an init-ed project a teammate's plain `yarn install --frozen-lockfile` (1) / `yarn install
// --immutable` (4) is checked before yarn fetches anything (yarn 1: the root preinstall; yarn 4: the committed
// plugin's validateProject), and runs only the allowed install scripts (yarn 4: enableScripts: false +
// dependenciesMeta built; yarn 1: the hook refuses a tree with a script the policy does not allow).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { TestRegistry } from '../registry/server.js';
import { withHookPass } from '../../src/install/hook-pass.js';
import { OLD, cleanEnv, cli, lockWith, run, tempDir, withTools, EVENT_LOGGER, safeInstallOnPath, scriptedWith } from './helpers.js';

const DAY = 86_400_000;
// Each install script appends "<name>:<event>" to $SI_TEST_LOG, so a test can say exactly what ran.
const LOGGER = EVENT_LOGGER;
const scripted = (version: string) => scriptedWith(LOGGER)(version, ['postinstall']);

let registry: TestRegistry;
let binDir: string;

beforeAll(async () => {
  registry = await TestRegistry.start();
  registry.addPackage({ name: 'allowed-pkg', versions: [scripted('1.0.0')] });
  registry.addPackage({ name: 'denied-pkg', versions: [scripted('1.0.0')] });
  registry.addPackage({ name: 'unreviewed-pkg', versions: [scripted('1.0.0')] });
  registry.addPackage({ name: 'plain', versions: [{ version: '1.0.0', publishedAt: OLD }] });
  // The registry manifest shows no scripts; the tarball's package.json has a postinstall.
  registry.addPackage({ name: 'hidden-script', versions: [{ ...scripted('1.0.0'), manifestOverrides: { scripts: {} } }] });
  registry.addPackage({
    name: 'fresh',
    versions: [
      { version: '1.0.0', publishedAt: OLD },
      { version: '1.1.0', publishedAt: new Date(Date.now() - DAY).toISOString() },
    ],
  });
  // The hook runs `safe-install`: the teammate's PATH finds this build (a global install, or node_modules/.bin).
  binDir = safeInstallOnPath();
});
afterAll(() => registry?.close());

type Yarn = 'yarn1' | 'yarnBerry';

/** A project locked by the real yarn against the test registry, then `safe-install init --yes`. */
async function initedProject(tool: Yarn, deps: Record<string, string>, policy: object, extra: { pkg?: Record<string, unknown>; yarnrc?: string; linker?: 'pnp' | 'node-modules' } = {}) {
  const dir = tempDir('si-init-yarn-');
  const log = join(dir, 'scripts.log');
  const base = cleanEnv(registry.url, { SI_TEST_LOG: log, YARN_ENABLE_TELEMETRY: '0' });
  // yarn's caches inside this test's temporary HOME.
  const env = withTools({ ...base, YARN_GLOBAL_FOLDER: join(base.HOME!, 'berry'), YARN_CACHE_FOLDER: join(base.HOME!, 'yarn-cache') }, { yarn: tool });
  env.PATH = `${binDir}:${env.PATH}`;
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true, dependencies: deps, ...extra.pkg }, null, 2) + '\n');
  await lockWith(tool, dir, registry.url, env);
  if (tool === 'yarnBerry') {
    const linker = extra.linker === 'pnp' ? '' : 'nodeLinker: node-modules\n';
    writeFileSync(join(dir, '.yarnrc.yml'), `npmRegistryServer: "${registry.url}"\nunsafeHttpWhitelist: ["127.0.0.1"]\n${linker}${extra.yarnrc ?? ''}`);
  } else {
    // yarn 1 hands its own registry setting to scripts (npm_config_registry): the hook checks against that one.
    writeFileSync(join(dir, '.yarnrc'), `registry "${registry.url}"\n`);
  }
  writeFileSync(join(dir, 'safe-install.policy.json'), JSON.stringify(policy, null, 2));
  const init = await cli(['init', '--yes'], { cwd: dir, env });
  expect(init.code, init.stdout + init.stderr).toBe(0);
  const ran = () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').filter(Boolean) : []);
  const tarballs = () => registry.requests.filter((r) => r.path.endsWith('.tgz')).length;
  const args = tool === 'yarn1' ? ['install', '--frozen-lockfile', '--non-interactive'] : ['install', '--immutable'];
  // The yarn first on PATH (the pinned one withTools put there), as a teammate would type it.
  const install = () => run('yarn', args, { cwd: dir, env, timeoutMs: 120_000 });
  return { dir, env, ran, init, tarballs, install };
}

const pkgJson = (dir: string) => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
const yarnrc = (dir: string) => parse(readFileSync(join(dir, '.yarnrc.yml'), 'utf8')) as Record<string, unknown>;
const nodeModules = (dir: string) => (existsSync(join(dir, 'node_modules')) ? readdirSync(join(dir, 'node_modules')).filter((f) => !f.startsWith('.')) : []);

describe('yarn 4: the plugin runs the hook before yarn fetches; enableScripts: false + dependenciesMeta build only the allowed', () => {
  it('writes .yarnrc.yml, the plugin and dependenciesMeta; only the allowed script runs, the denied and the unlisted ones not', async () => {
    const p = await initedProject(
      'yarnBerry',
      { 'allowed-pkg': '1.0.0', 'denied-pkg': '1.0.0', 'unreviewed-pkg': '1.0.0', plain: '1.0.0' },
      { scripts: { allow: ['allowed-pkg'], deny: ['denied-pkg'] } },
    );
    expect(yarnrc(p.dir)).toEqual({
      npmRegistryServer: registry.url,
      unsafeHttpWhitelist: ['127.0.0.1'],
      nodeLinker: 'node-modules',
      plugins: [{ path: '.yarn/plugins/safe-install.cjs' }],
      npmMinimalAgeGate: 10080,
      enableScripts: false,
    });
    expect(existsSync(join(p.dir, '.yarn/plugins/safe-install.cjs'))).toBe(true);
    expect(pkgJson(p.dir).dependenciesMeta).toEqual({ 'allowed-pkg': { built: true }, 'denied-pkg': { built: false } });
    expect(pkgJson(p.dir).scripts).toBeUndefined(); // berry runs a root preinstall only after fetching: no hook there
    const res = await p.install();
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(res.stdout + res.stderr).toContain('safe-install hook: 4 packages checked, none held');
    expect(p.ran()).toEqual(['allowed-pkg:postinstall']);
    expect(existsSync(join(p.dir, 'node_modules/denied-pkg/index.js'))).toBe(true);
    expect(existsSync(join(p.dir, 'node_modules/unreviewed-pkg/index.js'))).toBe(true);
  });

  it('refuses a young locked version before anything is fetched; an approval lets it in', async () => {
    const p = await initedProject('yarnBerry', { fresh: '^1.0.0', plain: '1.0.0' }, {});
    expect(readFileSync(join(p.dir, 'yarn.lock'), 'utf8')).toContain('fresh@npm:1.1.0');
    const before = p.tarballs();
    const res = await p.install();
    expect(res.code).not.toBe(0);
    expect(res.stdout + res.stderr).toMatch(/fresh@1\.1\.0 +too-young/);
    expect(res.stdout + res.stderr).toContain('safe-install hook refused the install');
    // yarn stopped in "Project validation": no resolution, no fetch (its cache may hold the tarballs from locking).
    expect(res.stdout).not.toMatch(/Resolution step|Fetch step|Link step/);
    expect(p.tarballs()).toBe(before);
    expect(nodeModules(p.dir)).toEqual([]);
    expect(existsSync(join(p.dir, '.pnp.cjs'))).toBe(false);

    const approve = await cli(['approve', 'fresh@1.1.0', '--reason', 'urgent fix'], { cwd: p.dir, env: p.env });
    expect(approve.code, approve.stdout + approve.stderr).toBe(0);
    // yarn's own exclusion names the exact version, marked so the sync after expiry removes it.
    expect(readFileSync(join(p.dir, '.yarnrc.yml'), 'utf8')).toMatch(/npmPreapprovedPackages:\n {2}- fresh@1\.1\.0 # safe-install approval until /);
    const again = await p.install();
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(existsSync(join(p.dir, 'node_modules/fresh/package.json'))).toBe(true);
  });

  it('scripts allow updates dependenciesMeta, and the next plain install runs that script', async () => {
    const p = await initedProject('yarnBerry', { 'unreviewed-pkg': '1.0.0', plain: '1.0.0' }, {});
    const first = await p.install();
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(p.ran()).toEqual([]);
    const allow = await cli(['scripts', 'allow', 'unreviewed-pkg'], { cwd: p.dir, env: p.env });
    expect(allow.code, allow.stdout + allow.stderr).toBe(0);
    expect(allow.stdout).toContain('package.json');
    expect(pkgJson(p.dir).dependenciesMeta).toEqual({ 'unreviewed-pkg': { built: true } });
    const again = await p.install();
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(p.ran()).toEqual(['unreviewed-pkg:postinstall']);
    // A denial wins, in yarn's settings too.
    await cli(['scripts', 'deny', 'unreviewed-pkg'], { cwd: p.dir, env: p.env });
    expect(pkgJson(p.dir).dependenciesMeta).toEqual({ 'unreviewed-pkg': { built: false } });
  });

  it('safe-install itself in an init-ed PnP project runs the check once (the plugin stays quiet) and only the allowed script', async () => {
    const p = await initedProject('yarnBerry', { 'allowed-pkg': '1.0.0', 'unreviewed-pkg': '1.0.0', plain: '1.0.0' }, { scripts: { allow: ['allowed-pkg'] } }, { linker: 'pnp' });
    const res = await cli([], { cwd: p.dir, env: p.env });
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(p.ran()).toEqual(['allowed-pkg:postinstall']);
    expect(res.stdout + res.stderr).not.toContain('safe-install hook');
    expect(res.stdout.match(/safe-install check /g)).toHaveLength(1);
    // And a plain install in the same PnP project goes through the plugin.
    const plain = await p.install();
    expect(plain.code, plain.stdout + plain.stderr).toBe(0);
    expect(plain.stdout + plain.stderr).toContain('safe-install hook: 3 packages checked, none held');
  });

  it('without safe-install where the plugin looks, a plain install fails closed with nothing fetched', async () => {
    const p = await initedProject('yarnBerry', { plain: '1.0.0' }, {});
    const before = p.tarballs();
    const res = await run('yarn', ['install', '--immutable'], {
      cwd: p.dir,
      env: {
        ...p.env,
        PATH: p.env
          .PATH!.split(':')
          .filter((d) => d !== binDir)
          .join(':'),
      },
    });
    expect(res.code).not.toBe(0);
    expect(res.stdout + res.stderr).toContain('safe-install hook could not start (ENOENT)');
    expect(res.stdout).not.toMatch(/Resolution step|Fetch step|Link step/);
    expect(p.tarballs()).toBe(before);
  });

  it('is idempotent and keeps what was there: comments, other keys, a stricter gate, preapproved entries, other dependenciesMeta fields', async () => {
    const before = '# team settings\nnpmMinimalAgeGate: 20d # stricter\nnpmPreapprovedPackages:\n  - "@corp/*" # ours\n';
    const p = await initedProject(
      'yarnBerry',
      { plain: '1.0.0', 'allowed-pkg': '1.0.0' },
      { scripts: { allow: ['allowed-pkg'] }, minimumReleaseAgeExclude: ['plain'] },
      {
        yarnrc: before,
        pkg: { dependenciesMeta: { 'allowed-pkg': { unplugged: true } } },
      },
    );
    const text = readFileSync(join(p.dir, '.yarnrc.yml'), 'utf8');
    expect(text).toContain('# team settings');
    expect(text).toContain('npmMinimalAgeGate: 20d # stricter');
    expect(text).toContain('- "@corp/*" # ours');
    expect(yarnrc(p.dir)).toMatchObject({ npmPreapprovedPackages: ['@corp/*', 'plain'], enableScripts: false });
    expect(pkgJson(p.dir).dependenciesMeta).toEqual({ 'allowed-pkg': { unplugged: true, built: true } });
    const again = await cli(['init', '--yes'], { cwd: p.dir, env: p.env });
    expect(again.stdout, again.stderr).toContain('Nothing to change');
    const res = await p.install();
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(p.ran()).toEqual(['allowed-pkg:postinstall']);
  });
});

describe('yarn 1: the preinstall hook checks before yarn fetches, and refuses scripts yarn 1 cannot leave out', () => {
  it('writes only the preinstall hook; the allowed script runs', async () => {
    const p = await initedProject('yarn1', { 'allowed-pkg': '1.0.0', plain: '1.0.0' }, { scripts: { allow: ['allowed-pkg'] } });
    expect(pkgJson(p.dir).scripts).toEqual({ preinstall: 'safe-install hook' });
    const before = p.tarballs();
    expect(existsSync(join(p.dir, '.npmrc'))).toBe(false);
    expect(existsSync(join(p.dir, '.yarnrc.yml'))).toBe(false);
    expect(p.init.stdout).toContain('yarn 1 (yarn.lock (yarn 1 format)) has no age gate');
    const res = await p.install();
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(res.stdout + res.stderr).toContain('safe-install hook: 2 packages checked, none held');
    expect(p.ran()).toEqual(['allowed-pkg:postinstall']);
    expect(p.tarballs()).toBe(before + 2); // yarn 1's cache here is empty: the refusals below fetch nothing
  });

  it('an unlisted or denied install script fails the install closed, before anything is fetched; allowing it lets the next install run it', async () => {
    const p = await initedProject('yarn1', { 'unreviewed-pkg': '1.0.0', 'denied-pkg': '1.0.0', plain: '1.0.0' }, { scripts: { deny: ['denied-pkg'] } });
    const before = p.tarballs();
    const res = await p.install();
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain("yarn 1 cannot leave out one package's install scripts");
    expect(res.stderr).toMatch(/denied-pkg@1\.0\.0/);
    expect(res.stderr).toMatch(/unreviewed-pkg@1\.0\.0/);
    expect(p.tarballs()).toBe(before);
    expect(p.ran()).toEqual([]);
    expect(nodeModules(p.dir)).toEqual([]);

    await cli(['scripts', 'allow', 'unreviewed-pkg', 'denied-pkg'], { cwd: p.dir, env: p.env });
    const again = await p.install();
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect([...p.ran()].sort()).toEqual(['denied-pkg:postinstall', 'unreviewed-pkg:postinstall']);
  });

  it('refuses a young locked version before anything is fetched', async () => {
    const p = await initedProject('yarn1', { fresh: '^1.0.0', plain: '1.0.0' }, {});
    expect(readFileSync(join(p.dir, 'yarn.lock'), 'utf8')).toContain('fresh/-/fresh-1.1.0.tgz');
    const before = p.tarballs();
    const res = await p.install();
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/fresh@1\.1\.0 +too-young/);
    expect(res.stderr).toContain('Nothing was fetched');
    expect(p.tarballs()).toBe(before);
    expect(nodeModules(p.dir)).toEqual([]);
  });

  it('safe-install itself in an init-ed project runs the check once (the hook stays quiet) and only the allowed script, an unlisted one not', async () => {
    const p = await initedProject('yarn1', { 'allowed-pkg': '1.0.0', 'unreviewed-pkg': '1.0.0' }, { scripts: { allow: ['allowed-pkg'] } }, { pkg: { scripts: { preinstall: 'node -e 0' } } });
    expect(pkgJson(p.dir).scripts.preinstall).toBe('safe-install hook && node -e 0');
    const res = await cli([], { cwd: p.dir, env: p.env });
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(p.ran()).toEqual(['allowed-pkg:postinstall']);
    expect(res.stdout + res.stderr).not.toContain('safe-install hook');
    expect(res.stdout.match(/safe-install check /g)).toHaveLength(1);
    const again = await cli(['init', '--yes'], { cwd: p.dir, env: p.env });
    expect(again.stdout, again.stderr).toContain('Nothing to change');
  });
});

describe('what the yarn arrangements cannot guard (measured, said in README)', () => {
  it('yarn 4: exact-version allows and several names are written to package.json and yarn.lock as yarn writes them', async () => {
    const p = await initedProject(
      'yarnBerry',
      { 'allowed-pkg': '1.0.0', 'unreviewed-pkg': '1.0.0', 'denied-pkg': '1.0.0' },
      { scripts: { allow: ['unreviewed-pkg', 'allowed-pkg@1.0.0', 'allowed-*'], deny: ['denied-pkg'] } },
    );
    expect(pkgJson(p.dir).dependenciesMeta).toEqual({ 'unreviewed-pkg': { built: true }, 'allowed-pkg@1.0.0': { built: true }, 'denied-pkg': { built: false } });
    expect(p.init.stdout).toContain('"allowed-*" (a glob or range) cannot be written for yarn');
    const res = await p.install(); // --immutable: yarn.lock carries the same dependenciesMeta
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect([...p.ran()].sort()).toEqual(['allowed-pkg:postinstall', 'unreviewed-pkg:postinstall']);
  });

  it('yarn 4: a script hidden from the registry manifest does not run (enableScripts: false) unless allowed', async () => {
    const p = await initedProject('yarnBerry', { 'hidden-script': '1.0.0' }, {});
    const res = await p.install();
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(p.ran()).toEqual([]);
  });

  it('yarn 1: a script hidden from the registry manifest runs in a plain install (the hook cannot see it before the fetch)', async () => {
    const p = await initedProject('yarn1', { 'hidden-script': '1.0.0' }, {});
    const res = await p.install();
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(p.ran()).toEqual(['hidden-script:postinstall']);
    // safe-install in place of yarn install finds it after extraction and does not run it.
    const q = await initedProject('yarn1', { 'hidden-script': '1.0.0' }, {});
    const guarded = await cli([], { cwd: q.dir, env: q.env });
    expect(guarded.code, guarded.stdout + guarded.stderr).toBe(0);
    expect(q.ran()).toEqual([]);
  });

  it('yarn 1: --ignore-scripts skips the hook, so a young version installs', async () => {
    const p = await initedProject('yarn1', { fresh: '^1.0.0' }, {});
    const res = await run('yarn', ['install', '--frozen-lockfile', '--ignore-scripts'], { cwd: p.dir, env: p.env });
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(res.stdout + res.stderr).not.toContain('safe-install hook');
    expect(JSON.parse(readFileSync(join(p.dir, 'node_modules/fresh/package.json'), 'utf8')).version).toBe('1.1.0');
  });

  it('yarn 4: a root preinstall would run only after the fetch step (why the plugin is used)', async () => {
    const p = await initedProject('yarnBerry', { fresh: '^1.0.0' }, {}, { pkg: { scripts: { preinstall: 'node -e "process.exit(1)"' } } });
    // Without the plugin's check (its one-use pass, as safe-install's own install carries), the failing root
    // preinstall comes after yarn fetched.
    const res = await withHookPass(p.dir, (pass) => run('yarn', ['install', '--immutable'], { cwd: p.dir, env: { ...p.env, ...pass } }));
    expect(res.code).not.toBe(0);
    expect(res.stdout).toMatch(/Fetch step[\s\S]*Link step[\s\S]*app@workspace:\. couldn't be built successfully/);
  });
});
