// `safe-install` in place of `yarn install --frozen-lockfile` (yarn 1.22.22) and `yarn install --immutable`
// (yarn 4.18.1, PnP and node-modules), end to end with the real yarn against the loopback registry: no script
// outside the allowlist runs, allowed ones run in yarn's own order, folders and environment, and held versions
// install nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestRegistry } from '../registry/server.js';
import { TOOLS, cleanEnv, cli, run, tempDir, withTools, type RunResult, OLD, scriptedWith } from './helpers.js';

const YOUNG = new Date(Date.now() - 86_400_000).toISOString();
// Every script appends "<name>@<version>:<event> <folder> <user agent> <npm_lifecycle_event>" to $SI_TEST_LOG:
// what ran, in which order, where (relative to the project) and in whose environment.
const LOGGER = [
  "const p = require('./package.json'), path = require('path'), log = process.env.SI_TEST_LOG;",
  "const where = path.relative(path.dirname(log), process.cwd()) || '.';",
  "const agent = (process.env.npm_config_user_agent || '-').split(' ')[0];",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the script's own template literal, run by node in the package
  "require('fs').appendFileSync(log, `${p.name}@${p.version}:${process.argv[2]} ${where} ${agent} ${process.env.npm_lifecycle_event}\\n`);",
].join('\n');
const ROOT_LOG = (e: string) => `node -e "require('fs').appendFileSync(process.env.SI_TEST_LOG, 'app:${e}\\n')"`;

const scripted = scriptedWith(LOGGER);

type Tool = 'yarn1' | 'berry-pnp' | 'berry-nm';

let registry: TestRegistry;
let shared: string;

beforeAll(async () => {
  registry = await TestRegistry.start();
  registry.addPackage({ name: 'plain', versions: [{ version: '1.0.0', publishedAt: OLD }] });
  registry.addPackage({ name: 'unlisted-postinstall', versions: [scripted('1.0.0', ['postinstall'])] });
  registry.addPackage({ name: 'native-allowed', versions: [scripted('2.0.0', ['preinstall', 'install', 'postinstall'], { dependencies: { 'native-dep': '^1.0.0' } })] });
  registry.addPackage({ name: 'native-dep', versions: [scripted('1.0.0', ['postinstall']), scripted('2.0.0', ['postinstall'])] });
  registry.addPackage({ name: 'needs-dep2', versions: [{ version: '1.0.0', publishedAt: OLD, dependencies: { 'native-dep': '^2.0.0' } }] });
  // The registry manifest shows no scripts; the tarball's package.json has a postinstall.
  registry.addPackage({ name: 'hidden-script', versions: [scripted('1.0.0', ['postinstall'], { manifestOverrides: { scripts: {} } })] });
  registry.addPackage({
    name: 'fresh',
    versions: [
      { version: '1.0.0', publishedAt: OLD },
      { version: '1.1.0', publishedAt: YOUNG },
    ],
  });
  // yarn's caches, shared by every project here (inside the temp dirs, never this machine's).
  shared = tempDir('si-yarn-cache-');
});
afterAll(() => registry.close());

function yarnrc(dir: string, tool: Tool, extra = ''): void {
  const linker = tool === 'berry-nm' ? 'nodeLinker: node-modules\n' : '';
  writeFileSync(join(dir, '.yarnrc.yml'), `npmRegistryServer: "${registry.url}"\nunsafeHttpWhitelist: ["127.0.0.1"]\nenableTelemetry: false\n${linker}${extra}`);
}

function toolEnv(tool: Tool, log: string): NodeJS.ProcessEnv {
  const env = cleanEnv(registry.url, {
    SI_TEST_LOG: log,
    YARN_CACHE_FOLDER: join(shared, tool === 'yarn1' ? 'yarn1' : 'berry-cache'),
    YARN_GLOBAL_FOLDER: join(shared, 'berry-global'),
    YARN_ENABLE_IMMUTABLE_INSTALLS: 'false',
  });
  return withTools(env, { yarn: tool === 'yarn1' ? 'yarn1' : 'yarnBerry' });
}

const ok = (r: RunResult, what: string) => expect(r.code, `${what}\n${r.stdout}\n${r.stderr}`).toBe(0);

/** A project locked by the real yarn against the test registry (lockfile only, nothing installed). */
async function project(tool: Tool, deps: Record<string, string>, opts: { policy?: object; pkg?: Record<string, unknown> } = {}) {
  const dir = tempDir('si-yarn-proj-');
  const log = join(dir, 'scripts.log');
  const env = toolEnv(tool, log);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', license: 'MIT', dependencies: deps, ...opts.pkg }, null, 2));
  const yarn = (args: string[], extra: NodeJS.ProcessEnv = {}) => run(process.execPath, [tool === 'yarn1' ? TOOLS.yarn1 : TOOLS.yarnBerry, ...args], { cwd: dir, env: { ...env, ...extra } });
  if (tool === 'yarn1') {
    ok(await yarn(['install', '--ignore-scripts', '--non-interactive']), 'yarn 1 lock');
    rmSync(join(dir, 'node_modules'), { recursive: true, force: true });
  } else {
    // yarn 4's own age gate (1 day) would refuse to resolve the young version these tests lock on purpose.
    yarnrc(dir, tool, 'npmMinimalAgeGate: 0\n');
    ok(await yarn(['install', '--mode=update-lockfile']), 'yarn berry lock');
    yarnrc(dir, tool);
    rmSync(join(dir, '.yarn'), { recursive: true, force: true });
  }
  if (opts.policy) writeFileSync(join(dir, 'safe-install.policy.json'), JSON.stringify(opts.policy));
  const ran = () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').filter(Boolean) : []);
  const installed = (name: string) =>
    tool === 'berry-pnp' ? existsSync(join(dir, '.pnp.cjs')) && readFileSync(join(dir, '.pnp.cjs'), 'utf8').includes(`"${name}"`) : existsSync(join(dir, 'node_modules', name, 'package.json'));
  return { dir, env, yarn, ran, installed, install: (...args: string[]) => cli(args, { cwd: dir, env }) };
}

const names = (lines: string[]) => lines.map((l) => l.split(' ')[0]);

describe.each(['yarn1', 'berry-pnp', 'berry-nm'] as Tool[])('safe-install with the real %s', (tool) => {
  const agent = tool === 'yarn1' ? 'yarn/1.22.22' : 'yarn/4.18.1';

  it('an unlisted package is installed without running its script, with the command that allows it', async () => {
    const p = await project(tool, { 'unlisted-postinstall': '1.0.0', plain: '1.0.0' });
    const res = await p.install();
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(p.installed('unlisted-postinstall')).toBe(true);
    expect(p.ran()).toEqual([]);
    expect(res.stdout).toMatch(/skipped +unlisted-postinstall@1\.0\.0 +postinstall: node log\.js postinstall/);
    expect(res.stdout).toContain('safe-install scripts allow unlisted-postinstall');
  });

  it("allowed packages run in yarn's own order, folders and environment; others stay silent", async () => {
    const deps = { 'native-allowed': '2.0.0', 'unlisted-postinstall': '1.0.0' };
    const pkg = { scripts: { postinstall: ROOT_LOG('postinstall') } };
    const p = await project(tool, deps, { policy: { scripts: { allow: ['native-*'] } }, pkg });
    const res = await p.install();
    expect(res.code, res.stdout + res.stderr).toBe(0);
    const guarded = p.ran();
    expect(names(guarded)).toEqual(['native-dep@1.0.0:postinstall', 'native-allowed@2.0.0:preinstall', 'native-allowed@2.0.0:install', 'native-allowed@2.0.0:postinstall', 'app:postinstall']);
    for (const line of guarded.filter((l) => !l.startsWith('app:'))) expect(line.split(' ').slice(2)).toEqual([agent, line.split(' ')[0]?.split(':')[1]]);

    // The reference: plain yarn with scripts on (yarn 1), or with the same packages built (berry: dependenciesMeta).
    const ref = await project(tool, deps, { pkg });
    if (tool === 'yarn1') {
      ok(await ref.yarn(['install', '--frozen-lockfile']), 'plain yarn 1');
    } else {
      const manifest = JSON.parse(readFileSync(join(ref.dir, 'package.json'), 'utf8'));
      manifest.dependenciesMeta = { 'native-allowed': { built: true }, 'native-dep': { built: true } };
      writeFileSync(join(ref.dir, 'package.json'), JSON.stringify(manifest, null, 2));
      ok(await ref.yarn(['install'], { YARN_ENABLE_SCRIPTS: 'false' }), 'plain yarn berry');
    }
    expect(guarded).toEqual(ref.ran().filter((l) => !l.startsWith('unlisted-postinstall')));
    if (tool === 'berry-pnp') expect(guarded[0]).toMatch(/^native-dep@1\.0\.0:postinstall \.yarn\/unplugged\/native-dep-npm-1\.0\.0-\w+\/node_modules\/native-dep /);
    else expect(guarded[0]).toMatch(/^native-dep@1\.0\.0:postinstall node_modules\/native-dep /);
  });

  it('a script hidden from the registry manifest never runs, and is reported', async () => {
    const p = await project(tool, { 'hidden-script': '1.0.0' });
    const res = await p.install();
    expect(p.ran()).toEqual([]);
    expect(res.stdout).toMatch(/hidden-script@1\.0\.0 +manifest-scripts-mismatch/);
    expect(res.code, res.stdout + res.stderr).toBe(0);

    const q = await project(tool, { 'hidden-script': '1.0.0' }, { policy: { scripts: { allow: ['hidden-script'] } } });
    const refused = await q.install();
    expect(q.ran()).toEqual([]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain('Install refused after extraction');
  });

  it('a young version is refused before yarn starts: exit 1, nothing installed or downloaded', async () => {
    const p = await project(tool, { fresh: '^1.0.0', plain: '1.0.0' });
    const before = registry.requests.filter((r) => r.path.endsWith('.tgz')).length;
    const res = await p.install();
    expect(res.code, res.stdout + res.stderr).toBe(1);
    expect(res.stdout).toMatch(/fresh@1\.1\.0 +too-young/);
    expect(existsSync(join(p.dir, 'node_modules'))).toBe(false);
    expect(existsSync(join(p.dir, '.pnp.cjs'))).toBe(false);
    expect(registry.requests.filter((r) => r.path.endsWith('.tgz')).length).toBe(before);
  });

  it('a name@range allow covers only the matching one of two installed versions', async () => {
    const p = await project(tool, { 'native-allowed': '2.0.0', 'needs-dep2': '1.0.0' }, { policy: { scripts: { allow: ['native-dep@^2'] } } });
    const res = await p.install();
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(names(p.ran())).toEqual(['native-dep@2.0.0:postinstall']);
    expect(res.stdout).toMatch(/skipped +native-dep@1\.0\.0 /);
    expect(res.stdout).toMatch(/ran +native-dep@2\.0\.0 /);
  });
});

describe('yarn berry layouts safe-install cannot build', () => {
  it('nodeLinker pnpm is refused before anything is installed (exit 2)', async () => {
    const p = await project('berry-nm', { plain: '1.0.0' });
    writeFileSync(join(p.dir, '.yarnrc.yml'), readFileSync(join(p.dir, '.yarnrc.yml'), 'utf8').replace('node-modules', 'pnpm'));
    const res = await p.install();
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/cannot install a yarn project with nodeLinker: pnpm/);
    expect(existsSync(join(p.dir, 'node_modules'))).toBe(false);
  });
});

describe('yarn 1 lifecycle', () => {
  it("runs the project's own events yarn 1 runs on install, without prepublish and prepare under --production", async () => {
    const events = ['preinstall', 'install', 'postinstall', 'prepublish', 'prepare'];
    const pkg = { scripts: Object.fromEntries(events.map((e) => [e, ROOT_LOG(e)])) };
    const p = await project('yarn1', { plain: '1.0.0' }, { pkg });
    ok(await p.install(), 'safe-install');
    expect(p.ran()).toEqual(events.map((e) => `app:${e}`));
    // --production: yarn 1 runs neither prepublish nor prepare.
    const q = await project('yarn1', { plain: '1.0.0' }, { pkg });
    ok(await q.install('--', '--production'), 'safe-install -- --production');
    expect(q.ran()).toEqual(['app:preinstall', 'app:install', 'app:postinstall']);
  });
});
