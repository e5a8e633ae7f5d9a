// `safe-install init` in a pnpm project, end to end with the real pnpm 10.34.9 and 9.15.9: in an init-ed project
// a teammate's plain `pnpm install --frozen-lockfile` runs only allowed scripts, and the pnpm:devPreinstall hook
// refuses a young version (or an unreviewed build, under strictDepBuilds) before pnpm fetches anything.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { TestRegistry } from '../registry/server.js';
import { cleanEnv, cli, run, tempDir, withTools, EVENT_LOGGER, safeInstallOnPath, OLD, scriptedWith } from './helpers.js';

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
  registry.addPackage({
    name: 'fresh',
    versions: [
      { version: '1.0.0', publishedAt: OLD },
      { version: '1.1.0', publishedAt: new Date(Date.now() - DAY).toISOString() },
    ],
  });
  // The hook runs `safe-install hook`: the teammate's PATH finds this build (as node_modules/.bin would).
  binDir = safeInstallOnPath();
});
afterAll(() => registry?.close());

type Pnpm = 'pnpm' | 'pnpm9';

/** A project locked by the real pnpm against the test registry, then `safe-install init --yes`. */
async function initedProject(pnpmTool: Pnpm, deps: Record<string, string>, policy: object, extra: { pkg?: Record<string, unknown>; workspace?: string } = {}) {
  const dir = tempDir('si-init-pnpm-');
  const log = join(dir, 'scripts.log');
  const base = cleanEnv(registry.url, { SI_TEST_LOG: log, CI: '1' });
  // pnpm's store and metadata cache inside this test's temporary HOME.
  const env = withTools({ ...base, npm_config_store_dir: join(base.HOME!, 'pnpm-store'), npm_config_cache_dir: join(base.HOME!, 'pnpm-cache') }, { pnpm: pnpmTool });
  env.PATH = `${binDir}:${env.PATH}`;
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true, dependencies: deps, ...extra.pkg }, null, 2) + '\n');
  if (extra.workspace) writeFileSync(join(dir, 'pnpm-workspace.yaml'), extra.workspace);
  const lock = await pnpm(['install', '--lockfile-only', '--ignore-scripts'], dir, env);
  expect(lock.code, lock.stdout + lock.stderr).toBe(0);
  writeFileSync(join(dir, 'safe-install.policy.json'), JSON.stringify(policy, null, 2));
  const init = await cli(['init', '--yes'], { cwd: dir, env });
  expect(init.code, init.stdout + init.stderr).toBe(0);
  const ran = () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []);
  return { dir, env, ran, init, install: () => pnpm(['install', '--frozen-lockfile'], dir, env) };
}

/** The pnpm first on PATH (the pinned one withTools put there), as a teammate would type it. */
function pnpm(args: string[], cwd: string, env: NodeJS.ProcessEnv) {
  return run('pnpm', args, { cwd, env, timeoutMs: 120_000 });
}

const workspace = (dir: string) => parse(readFileSync(join(dir, 'pnpm-workspace.yaml'), 'utf8')) as Record<string, unknown>;
const pkgJson = (dir: string) => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
const nodeModules = (dir: string) => (existsSync(join(dir, 'node_modules')) ? readdirSync(join(dir, 'node_modules')) : []);

describe('pnpm 10: an init-ed project guards a plain pnpm install --frozen-lockfile', () => {
  it('writes pnpm-workspace.yaml and the pnpm:devPreinstall hook; only the allowed script runs, the denied one silently not', async () => {
    const p = await initedProject('pnpm', { 'allowed-pkg': '1.0.0', 'denied-pkg': '1.0.0', plain: '1.0.0' }, { scripts: { allow: ['allowed-pkg'], deny: ['denied-pkg'] } });
    expect(workspace(p.dir)).toEqual({
      minimumReleaseAge: 10080,
      onlyBuiltDependencies: ['allowed-pkg'],
      ignoredBuiltDependencies: ['denied-pkg'],
      strictDepBuilds: true,
    });
    expect(pkgJson(p.dir).scripts).toEqual({ 'pnpm:devPreinstall': 'safe-install hook' });
    expect(existsSync(join(p.dir, '.npmrc'))).toBe(false); // npm's arrangement is not written in a pnpm project
    const res = await p.install();
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(res.stdout + res.stderr).toContain('safe-install hook: 3 packages checked, none held');
    expect(p.ran()).toEqual(['allowed-pkg:postinstall']);
    expect(existsSync(join(p.dir, 'node_modules/denied-pkg/index.js'))).toBe(true);
  });

  it('a package with install scripts in neither list fails the install before pnpm fetches anything (strictDepBuilds)', async () => {
    const p = await initedProject('pnpm', { 'unreviewed-pkg': '1.0.0', plain: '1.0.0' }, {});
    const res = await p.install();
    expect(res.code).not.toBe(0);
    expect(res.stdout + res.stderr).toMatch(/unreviewed-pkg@1\.0\.0 +install-script-unlisted/);
    expect(res.stdout + res.stderr).toContain('Nothing was fetched');
    expect(p.ran()).toEqual([]);
    expect(nodeModules(p.dir).filter((f) => !f.startsWith('.'))).toEqual([]);

    // (c) allowing it updates pnpm-workspace.yaml, and the next plain install runs its script.
    const allow = await cli(['scripts', 'allow', 'unreviewed-pkg'], { cwd: p.dir, env: p.env });
    expect(allow.code, allow.stdout + allow.stderr).toBe(0);
    expect(workspace(p.dir).onlyBuiltDependencies).toEqual(['unreviewed-pkg']);
    const again = await p.install();
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(p.ran()).toEqual(['unreviewed-pkg:postinstall']);
  });

  it('refuses a young version before anything is fetched, leaving it out of node_modules; an approval lets it in', async () => {
    const p = await initedProject('pnpm', { fresh: '^1.0.0', plain: '1.0.0' }, {});
    expect(readFileSync(join(p.dir, 'pnpm-lock.yaml'), 'utf8')).toContain('fresh@1.1.0');
    const res = await p.install();
    expect(res.code).not.toBe(0);
    expect(res.stdout + res.stderr).toMatch(/fresh@1\.1\.0 +too-young/);
    expect(existsSync(join(p.dir, 'node_modules/fresh'))).toBe(false);
    expect(existsSync(join(p.dir, 'node_modules/plain'))).toBe(false);

    const approve = await cli(['approve', 'fresh@1.1.0', '--reason', 'urgent fix'], { cwd: p.dir, env: p.env });
    expect(approve.code, approve.stdout + approve.stderr).toBe(0);
    // pnpm's own exclusion names the exact version, marked so the sync after expiry removes it.
    expect(readFileSync(join(p.dir, 'pnpm-workspace.yaml'), 'utf8')).toMatch(/minimumReleaseAgeExclude:\n {2}- fresh@1\.1\.0 # safe-install approval until /);
    const again = await p.install();
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(existsSync(join(p.dir, 'node_modules/fresh/package.json'))).toBe(true);
  });

  it('safe-install itself in an init-ed project runs the check once (the hook stays quiet) and the allowed script', async () => {
    const p = await initedProject('pnpm', { 'allowed-pkg': '1.0.0', plain: '1.0.0' }, { scripts: { allow: ['allowed-pkg'] } });
    const res = await cli([], { cwd: p.dir, env: p.env });
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(p.ran()).toEqual(['allowed-pkg:postinstall']);
    expect(res.stdout + res.stderr).not.toContain('safe-install hook:');
    expect(res.stdout.match(/safe-install check /g)).toHaveLength(1);
  });

  it('is idempotent and keeps what was there: comments, other keys, a stricter age, list entries, an existing devPreinstall', async () => {
    const before = ['# team settings', 'savePrefix: "~" # keep this', 'minimumReleaseAge: 20160', 'onlyBuiltDependencies:', '  - plain # reviewed', ''].join('\n');
    const p = await initedProject(
      'pnpm',
      { plain: '1.0.0', 'allowed-pkg': '1.0.0' },
      { scripts: { allow: ['allowed-pkg'] } },
      {
        workspace: before,
        pkg: { scripts: { 'pnpm:devPreinstall': 'node -e 0' } },
      },
    );
    const text = readFileSync(join(p.dir, 'pnpm-workspace.yaml'), 'utf8');
    expect(text).toContain('# team settings');
    expect(text).toContain('savePrefix: "~" # keep this');
    expect(text).toContain('- plain # reviewed');
    expect(workspace(p.dir)).toMatchObject({ minimumReleaseAge: 20160, onlyBuiltDependencies: ['plain', 'allowed-pkg'], strictDepBuilds: true });
    expect(pkgJson(p.dir).scripts['pnpm:devPreinstall']).toBe('safe-install hook && node -e 0');
    const again = await cli(['init', '--yes'], { cwd: p.dir, env: p.env });
    expect(again.stdout, again.stderr).toContain('Nothing to change');
    // A denial wins: the name leaves pnpm's allow list.
    await cli(['scripts', 'deny', 'allowed-pkg'], { cwd: p.dir, env: p.env });
    expect(workspace(p.dir)).toMatchObject({ onlyBuiltDependencies: ['plain'], ignoredBuiltDependencies: ['allowed-pkg'] });
  });
});

describe('pnpm 9: the hook guards, package.json pnpm.onlyBuiltDependencies limits the builds', () => {
  const pkg = { packageManager: 'pnpm@9.15.9' };

  it('writes no pnpm-workspace.yaml (pnpm 9 fails on one without packages); only the allowed script runs; init says what pnpm 9 lacks', async () => {
    const p = await initedProject('pnpm9', { 'allowed-pkg': '1.0.0', 'denied-pkg': '1.0.0', 'unreviewed-pkg': '1.0.0' }, { scripts: { allow: ['allowed-pkg'], deny: ['denied-pkg'] } }, { pkg });
    expect(existsSync(join(p.dir, 'pnpm-workspace.yaml'))).toBe(false);
    expect(pkgJson(p.dir).pnpm).toEqual({ onlyBuiltDependencies: ['allowed-pkg'] });
    expect(p.init.stdout).toMatch(/pnpm 9 .* has no minimumReleaseAge and no strictDepBuilds/);
    const res = await p.install();
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(p.ran()).toEqual(['allowed-pkg:postinstall']);
    // pnpm 9 skips an unlisted build silently (it has no strictDepBuilds), as safe-install's default does.
    expect(existsSync(join(p.dir, 'node_modules/unreviewed-pkg/index.js'))).toBe(true);
  });

  it('refuses a young version before anything is fetched', async () => {
    const p = await initedProject('pnpm9', { fresh: '^1.0.0', plain: '1.0.0' }, {}, { pkg });
    const res = await p.install();
    expect(res.code).not.toBe(0);
    expect(res.stdout + res.stderr).toMatch(/fresh@1\.1\.0 +too-young/);
    expect(existsSync(join(p.dir, 'node_modules/fresh'))).toBe(false);
    expect(existsSync(join(p.dir, 'node_modules/plain'))).toBe(false);
  });

  it('scripts allow updates package.json pnpm.onlyBuiltDependencies, and a plain install runs the script', async () => {
    const p = await initedProject('pnpm9', { 'unreviewed-pkg': '1.0.0' }, {}, { pkg });
    expect(pkgJson(p.dir).pnpm).toEqual({ onlyBuiltDependencies: [] }); // an empty list: pnpm 9 then builds nothing
    await cli(['scripts', 'allow', 'unreviewed-pkg'], { cwd: p.dir, env: p.env });
    expect(pkgJson(p.dir).pnpm).toEqual({ onlyBuiltDependencies: ['unreviewed-pkg'] });
    const res = await p.install();
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(p.ran()).toEqual(['unreviewed-pkg:postinstall']);
  });
});

describe('init in a pnpm project', () => {
  it('with no packageManager field it writes the pnpm 10 arrangement and says how to get the pnpm 9 one', async () => {
    const p = await initedProject('pnpm', { plain: '1.0.0' }, {});
    expect(p.init.stdout).toContain('the pnpm 10 arrangement (pnpm-workspace.yaml) was chosen');
    expect(p.init.stdout).toContain('pnpm:devPreinstall');
  });
});
