// `safe-install` in place of `pnpm install --frozen-lockfile`, end to end with the real pnpm 10 and 9 against the
// loopback registry: lockfiles made by pnpm itself, no script outside the allowlist runs, allowed ones run in the
// order pnpm's own build step runs them, and held versions install nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestRegistry } from '../registry/server.js';
import { cleanEnv, cli, run, tempDir, withTools, OLD, scriptedWith } from './helpers.js';

const YOUNG = new Date(Date.now() - 86_400_000).toISOString();
// Every script appends "<name>@<version>:<event>" to $SI_TEST_LOG: the test sees what ran, which copy, in which order.
const LOGGER = "const p = require('./package.json'); require('fs').appendFileSync(process.env.SI_TEST_LOG, p.name + '@' + p.version + ':' + process.argv[2] + '\\n')";
// What a dependency's script sees of its environment, paths made relative so two projects compare equal.
const ENV_PROBE = [
  "const e = process.env, path = require('path'), project = path.dirname(e.SI_TEST_LOG);",
  "const keys = ['npm_lifecycle_event', 'npm_lifecycle_script', 'npm_package_name', 'npm_package_version', 'npm_command', 'npm_config_registry', 'npm_config_frozen_lockfile', 'npm_config_verify_deps_before_run', 'pnpm_config_verify_deps_before_run'];",
  'const out = Object.fromEntries(keys.map((k) => [k, e[k]]));',
  "out.userAgent = /^pnpm\\/\\d+/.exec(e.npm_config_user_agent || '')?.[0];",
  'out.initCwdIsProject = e.INIT_CWD === project; out.srcDirIsCwd = e.PNPM_SCRIPT_SRC_DIR === process.cwd();',
  "out.execpath = path.basename(e.npm_execpath || ''); out.nodeGypIsPnpms = /pnpm9?\\/dist\\/node_modules\\/node-gyp/.test(e.npm_config_node_gyp || '');",
  "out.storeDirIsProjects = e.npm_config_store_dir === path.join(project, '.store');",
  "require('fs').appendFileSync(e.SI_TEST_LOG + '.env', JSON.stringify(out) + '\\n');",
].join('\n');
const rootScript = (e: string) => `node -e "require('fs').appendFileSync(process.env.SI_TEST_LOG, 'app:${e}\\n')"`;
const ROOT_SCRIPTS = { 'pnpm:devPreinstall': rootScript('devPreinstall'), postinstall: rootScript('postinstall'), prepare: rootScript('prepare') };

const scripted = scriptedWith(LOGGER);

let registry: TestRegistry;

beforeAll(async () => {
  registry = await TestRegistry.start();
  registry.addPackage({ name: 'plain', versions: [{ version: '1.0.0', publishedAt: OLD }] });
  registry.addPackage({ name: 'unlisted-postinstall', versions: [scripted('1.0.0', ['postinstall'])] });
  // A chain: pnpm builds native-dep@1 before its dependent native-allowed (npm would run every preinstall first).
  registry.addPackage({ name: 'native-allowed', versions: [scripted('2.0.0', ['preinstall', 'install', 'postinstall'], { dependencies: { 'native-dep': '^1.0.0' } })] });
  registry.addPackage({ name: 'native-dep', versions: [scripted('1.0.0', ['postinstall']), scripted('2.0.0', ['postinstall'])] });
  // A scoped package with a peer, installed twice (peer-host@1 from the root, peer-host@2 under wrapper):
  // two store folders with peer suffixes.
  registry.addPackage({
    name: 'peer-host',
    versions: [
      { version: '1.0.0', publishedAt: OLD },
      { version: '2.0.0', publishedAt: OLD },
    ],
  });
  registry.addPackage({ name: '@scope/peer-user', versions: [scripted('1.0.0', ['postinstall'], { manifestOverrides: { peerDependencies: { 'peer-host': '*' } } })] });
  registry.addPackage({ name: 'wrapper', versions: [{ version: '1.0.0', publishedAt: OLD, dependencies: { 'peer-host': '2.0.0', '@scope/peer-user': '1.0.0' } }] });
  // The registry manifest shows no scripts; the tarball's package.json has a postinstall.
  registry.addPackage({ name: 'hidden-script', versions: [scripted('1.0.0', ['postinstall'], { manifestOverrides: { scripts: {} } })] });
  registry.addPackage({ name: 'env-probe', versions: [{ version: '1.0.0', publishedAt: OLD, scripts: { postinstall: 'node probe.js' }, files: { 'probe.js': ENV_PROBE } }] });
  registry.addPackage({
    name: 'fresh',
    versions: [
      { version: '1.0.0', publishedAt: OLD },
      { version: '1.1.0', publishedAt: YOUNG },
    ],
  });
});
afterAll(() => registry.close());

type Tool = 'pnpm' | 'pnpm9';

interface ProjectOpts {
  policy?: object;
  pkg?: Record<string, unknown>;
  /** pnpm's own build allowlist (pnpm-workspace.yaml for pnpm 10, package.json "pnpm" for pnpm 9): the reference run. */
  pnpmAllow?: string[];
  npmrc?: string;
}

/** A project locked by the real pnpm against the test registry, with its store and cache inside the project's temp folder. */
async function project(tool: Tool, deps: Record<string, string>, opts: ProjectOpts = {}) {
  const dir = tempDir('si-pnpm-');
  const log = join(dir, 'scripts.log');
  const env = withTools(cleanEnv(registry.url, { SI_TEST_LOG: log, CI: '1' }), { pnpm: tool });
  writeFileSync(join(dir, '.npmrc'), `registry=${registry.url}\nstore-dir=${join(dir, '.store')}\ncache-dir=${join(dir, '.cache')}\n${opts.npmrc ?? ''}`);
  const pkg: Record<string, unknown> = { name: 'app', version: '1.0.0', dependencies: deps, ...opts.pkg };
  if (opts.pnpmAllow && tool === 'pnpm9') pkg.pnpm = { onlyBuiltDependencies: opts.pnpmAllow };
  if (opts.pnpmAllow && tool === 'pnpm') writeFileSync(join(dir, 'pnpm-workspace.yaml'), `onlyBuiltDependencies:\n${opts.pnpmAllow.map((a) => `  - '${a}'`).join('\n')}\n`);
  writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg, null, 2));
  const lock = await run('pnpm', ['install', '--lockfile-only'], { cwd: dir, env });
  expect(lock.code, lock.stdout + lock.stderr).toBe(0);
  if (opts.policy) writeFileSync(join(dir, 'safe-install.policy.json'), JSON.stringify(opts.policy));
  const ran = () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').filter(Boolean) : []);
  return {
    dir,
    env,
    ran,
    install: (...args: string[]) => cli(args, { cwd: dir, env }),
    /** The reference: plain pnpm with scripts on, deciding builds by its own allowlist. */
    plainPnpm: () => run('pnpm', ['install', '--frozen-lockfile'], { cwd: dir, env }),
  };
}

const depLines = (lines: string[]) => lines.filter((l) => !l.startsWith('app:'));

describe.each(['pnpm', 'pnpm9'] as const)('safe-install (in place of pnpm install --frozen-lockfile) with the real %s', (tool) => {
  it('an unlisted package is installed without running its script, with the command that allows it', async () => {
    const p = await project(tool, { 'unlisted-postinstall': '1.0.0', plain: '1.0.0' }, { pkg: { scripts: ROOT_SCRIPTS } });
    const res = await p.install();
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(res.stdout).toContain('Installing with pnpm install --frozen-lockfile --ignore-scripts');
    expect(existsSync(join(p.dir, 'node_modules/unlisted-postinstall/index.js'))).toBe(true);
    expect(depLines(p.ran())).toEqual([]);
    expect(res.stdout).toMatch(/skipped +unlisted-postinstall@1\.0\.0 +postinstall: node log\.js postinstall/);
    expect(res.stdout).toContain('safe-install scripts allow unlisted-postinstall');
    // The project's own scripts, in pnpm's order (pnpm:devPreinstall first).
    expect(p.ran()).toEqual(['app:devPreinstall', 'app:postinstall', 'app:prepare']);
  });

  it("allowed packages run their scripts in plain pnpm's order; others stay silent", async () => {
    const deps = { 'native-allowed': '2.0.0', 'unlisted-postinstall': '1.0.0', '@scope/peer-user': '1.0.0', 'peer-host': '1.0.0', wrapper: '1.0.0', 'env-probe': '1.0.0' };
    const p = await project(tool, deps, { policy: { scripts: { allow: ['native-*', '@scope/*', 'env-probe'] } }, pkg: { scripts: ROOT_SCRIPTS } });
    const res = await p.install();
    expect(res.code, res.stdout + res.stderr).toBe(0);
    const guarded = p.ran();

    const ref = await project(tool, deps, { pnpmAllow: ['native-allowed', 'native-dep', '@scope/peer-user', 'env-probe'], pkg: { scripts: ROOT_SCRIPTS } });
    const plain = await ref.plainPnpm();
    expect(plain.code, plain.stdout + plain.stderr).toBe(0);
    const reference = ref.ran();

    // The same scripts ran, each copy once (the scoped package twice: two peer variants), the unlisted one not at all.
    expect([...depLines(guarded)].sort()).toEqual([...depLines(reference)].sort());
    expect([...depLines(guarded)].sort()).toEqual([
      '@scope/peer-user@1.0.0:postinstall',
      '@scope/peer-user@1.0.0:postinstall',
      'native-allowed@2.0.0:install',
      'native-allowed@2.0.0:postinstall',
      'native-allowed@2.0.0:preinstall',
      'native-dep@1.0.0:postinstall',
    ]);
    // pnpm's order: a dependency is built before its dependent, a package's three events back to back. (Packages
    // in one build chunk run concurrently in pnpm, so only the chain's order is fixed.)
    const chain = (l: string[]) => l.filter((x) => x.startsWith('native-'));
    expect(chain(guarded)).toEqual(chain(reference));
    expect(chain(guarded)).toEqual(['native-dep@1.0.0:postinstall', 'native-allowed@2.0.0:preinstall', 'native-allowed@2.0.0:install', 'native-allowed@2.0.0:postinstall']);
    // pnpm:devPreinstall first (pnpm runs it before installing anything; the guard installs first, so it runs
    // first of the scripts), the dependencies' scripts, then the project's lifecycle, as pnpm orders them.
    const roots = (l: string[]) => l.filter((x) => x.startsWith('app:'));
    expect(roots(guarded)).toEqual(roots(reference));
    expect(guarded[0]).toBe('app:devPreinstall');
    expect(reference[0]).toBe('app:devPreinstall');
    expect(guarded.slice(-2)).toEqual(['app:postinstall', 'app:prepare']);
    expect(reference.slice(-2)).toEqual(['app:postinstall', 'app:prepare']);
    expect(res.stdout).toMatch(/ran +native-dep@1\.0\.0 +postinstall/);
    // The environment pnpm gives a dependency's script (@pnpm/npm-lifecycle), the same under the guard.
    const envOf = (dir: string) => readFileSync(join(dir, 'scripts.log.env'), 'utf8');
    expect(envOf(p.dir)).toEqual(envOf(ref.dir));
    expect(JSON.parse(envOf(p.dir))).toMatchObject({
      npm_lifecycle_event: 'postinstall',
      npm_package_name: 'env-probe',
      userAgent: tool === 'pnpm' ? 'pnpm/10' : 'pnpm/9',
      initCwdIsProject: true,
      srcDirIsCwd: true,
      execpath: 'pnpm.cjs',
      nodeGypIsPnpms: true,
      storeDirIsProjects: true,
    });
    expect(res.stdout).toMatch(/skipped +unlisted-postinstall@1\.0\.0/);
  });

  it('a name@range allow covers only the matching one of two installed versions', async () => {
    const deps = { 'native-allowed': '2.0.0', 'native-dep': '2.0.0' }; // native-dep@2 here, native-dep@1 under native-allowed
    const p = await project(tool, deps, { policy: { scripts: { allow: ['native-allowed', 'native-dep@^1'] } } });
    const res = await p.install();
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(p.ran()).toEqual(['native-dep@1.0.0:postinstall', 'native-allowed@2.0.0:preinstall', 'native-allowed@2.0.0:install', 'native-allowed@2.0.0:postinstall']);
    expect(res.stdout).toMatch(/skipped +native-dep@2\.0\.0 +postinstall/);

    const q = await project(tool, deps, { policy: { scripts: { allow: ['native-dep@^2'] } } });
    expect((await q.install()).code).toBe(0);
    expect(q.ran()).toEqual(['native-dep@2.0.0:postinstall']);
  });

  it('a script hidden from the registry manifest never runs, and is reported', async () => {
    const p = await project(tool, { 'hidden-script': '1.0.0' });
    const res = await p.install();
    expect(p.ran()).toEqual([]);
    expect(res.stdout).toMatch(/hidden-script@1\.0\.0 +manifest-scripts-mismatch/);
    expect(res.code, res.stdout + res.stderr).toBe(0); // unlisted: skipped anyway

    const q = await project(tool, { 'hidden-script': '1.0.0' }, { policy: { scripts: { allow: ['hidden-script'] } } });
    const refused = await q.install();
    expect(q.ran()).toEqual([]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain('Install refused after extraction');
  });

  it('a version younger than the minimum age is refused before pnpm runs: nothing installed', async () => {
    const p = await project(tool, { fresh: '^1.0.0', plain: '1.0.0' });
    expect(readFileSync(join(p.dir, 'pnpm-lock.yaml'), 'utf8')).toContain('fresh@1.1.0');
    const tarballsBefore = registry.requests.filter((r) => r.path.endsWith('.tgz')).length;
    const res = await p.install();
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/fresh@1\.1\.0 +too-young/);
    expect(existsSync(join(p.dir, 'node_modules'))).toBe(false);
    expect(registry.requests.filter((r) => r.path.endsWith('.tgz')).length).toBe(tarballsBefore);
  });

  it('maps a non-default virtual store (virtual-store-dir, hashed folder names) and refuses node-linker=hoisted', async () => {
    const deps = { '@scope/peer-user': '1.0.0', 'peer-host': '1.0.0', wrapper: '1.0.0', 'unlisted-postinstall': '1.0.0' };
    const p = await project(tool, deps, { policy: { scripts: { allow: ['@scope/peer-user'] } }, npmrc: 'virtual-store-dir=.vstore\nvirtual-store-dir-max-length=30\n' });
    const res = await p.install();
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(existsSync(join(p.dir, '.vstore'))).toBe(true);
    expect(p.ran()).toEqual(['@scope/peer-user@1.0.0:postinstall', '@scope/peer-user@1.0.0:postinstall']);
    // Both copies are found in the hashed folders, and the unlisted one is reported where it is.
    expect(res.stdout).toMatch(/ran +@scope\/peer-user@1\.0\.0/);
    expect(res.stdout).toMatch(/skipped +unlisted-postinstall@1\.0\.0/);

    const h = await project(tool, { 'native-dep': '1.0.0' }, { policy: { scripts: { allow: ['native-dep'] } }, npmrc: 'node-linker=hoisted\n' });
    const refused = await h.install();
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('node-linker=hoisted');
    expect(h.ran()).toEqual([]);
  });
});
