// A monorepo's own lifecycle under the guard, end to end with the real npm, pnpm 10, yarn 1 and yarn 4: the root's
// and the workspaces' scripts run as the package manager itself runs them on a plain install (the same events,
// in an order it could have run them), after the allowed dependencies' scripts; an unlisted dependency stays
// silent; `scripts.rootScripts: false` turns the project's own scripts off, workspaces included.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestRegistry } from '../registry/server.js';
import { EVENT_LOGGER, TOOLS, cleanEnv, cli, lockWith, npm, run, scriptedWith, tempDir, withTools } from './helpers.js';

type Tool = 'npm' | 'pnpm' | 'yarn1' | 'yarnBerry' | 'yarnBerryPnp';
const berry = (t: Tool) => t === 'yarnBerry' || t === 'yarnBerryPnp';

const EVENTS = ['preinstall', 'install', 'postinstall', 'preprepare', 'prepare', 'postprepare'];
// Each project folder's scripts append "<package name>:<event>" to $SI_TEST_LOG, and the same with the user agent
// they see (what `npx only-allow pnpm` reads) to $SI_TEST_LOG.ua.
const logEvent = (e: string) =>
  `const fs = require('fs'), n = require('./package.json').name, log = process.env.SI_TEST_LOG; fs.appendFileSync(log, n + ':${e}\\n'); ` +
  `fs.appendFileSync(log + '.ua', n + ':${e} ' + (process.env.npm_config_user_agent || '-').split(' ')[0] + '\\n')`;
const projectScripts = Object.fromEntries(EVENTS.map((e) => [e, `node -e "${logEvent(e)}"`]));

let registry: TestRegistry;

beforeAll(async () => {
  registry = await TestRegistry.start();
  const scripted = scriptedWith(EVENT_LOGGER);
  registry.addPackage({ name: 'native-dep', versions: [scripted('1.0.0', ['postinstall'])] });
  registry.addPackage({ name: 'unlisted-postinstall', versions: [scripted('1.0.0', ['postinstall'])] });
});
afterAll(() => registry.close());

/** app (root) -> b -> a, b -> native-dep (allowed) and unlisted-postinstall; every folder has every lifecycle event. */
async function monorepo(tool: Tool, policy: object) {
  const dir = tempDir('si-ws-');
  const log = join(dir, 'scripts.log');
  let env = cleanEnv(registry.url, { SI_TEST_LOG: log, CI: '1' });
  if (tool === 'pnpm') env = withTools(env, { pnpm: 'pnpm' });
  if (tool === 'yarn1' || berry(tool)) env = withTools(env, { yarn: tool === 'yarn1' ? 'yarn1' : 'yarnBerry' });
  const link = tool === 'pnpm' || berry(tool) ? 'workspace:*' : '1.0.0';
  const write = (folder: string, manifest: object) => {
    mkdirSync(join(dir, folder), { recursive: true });
    writeFileSync(join(dir, folder, 'package.json'), JSON.stringify(manifest, null, 2));
  };
  // The reference builds native-dep through yarn's own switch (dependenciesMeta built; without it this yarn 4.18
  // run built no dependency), which safe-install also reads as allowed.
  const meta = berry(tool) ? { dependenciesMeta: { 'native-dep': { built: true } } } : {};
  write('.', { name: 'app', version: '1.0.0', private: true, license: 'MIT', workspaces: ['packages/*'], scripts: projectScripts, dependencies: { b: link }, ...meta });
  write('packages/a', { name: 'a', version: '1.0.0', license: 'MIT', scripts: projectScripts });
  write('packages/b', { name: 'b', version: '1.0.0', license: 'MIT', scripts: projectScripts, dependencies: { a: link, 'native-dep': '1.0.0', 'unlisted-postinstall': '1.0.0' } });
  // pnpm's own allowlist lets its reference run build native-dep (pnpm 10 builds no dependency unlisted).
  if (tool === 'pnpm') writeFileSync(join(dir, 'pnpm-workspace.yaml'), "packages:\n  - 'packages/*'\nonlyBuiltDependencies:\n  - native-dep\n");
  await lockWith(tool === 'yarnBerryPnp' ? 'yarnBerry' : tool, dir, registry.url, env);
  if (tool === 'pnpm') writeFileSync(join(dir, '.npmrc'), `registry=${registry.url}\nstore-dir=${join(dir, '.store')}\ncache-dir=${join(dir, '.cache')}\n`);
  if (berry(tool)) {
    const linker = tool === 'yarnBerry' ? 'nodeLinker: node-modules\n' : '';
    writeFileSync(join(dir, '.yarnrc.yml'), `npmRegistryServer: "${registry.url}"\nunsafeHttpWhitelist: ["127.0.0.1"]\nenableTelemetry: false\nenableGlobalCache: false\n${linker}`);
  }
  writeFileSync(join(dir, 'safe-install.policy.json'), JSON.stringify(policy));
  const ran = () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').filter(Boolean) : []);
  const agents = () => (existsSync(`${log}.ua`) ? readFileSync(`${log}.ua`, 'utf8').trim().split('\n').filter(Boolean).sort() : []);
  const node = (script: string, args: string[]) => run(process.execPath, [script, ...args], { cwd: dir, env });
  /** The package manager itself, scripts on: the reference. */
  const plain = () =>
    tool === 'npm'
      ? npm(['ci'], { cwd: dir, env })
      : tool === 'pnpm'
        ? node(TOOLS.pnpm, ['install', '--frozen-lockfile'])
        : tool === 'yarn1'
          ? node(TOOLS.yarn1, ['install', '--frozen-lockfile', '--non-interactive'])
          : node(TOOLS.yarnBerry, ['install', '--immutable']);
  return { dir, ran, agents, plain, install: (cwd = dir, args: string[] = []) => cli(args, { cwd, env }) };
}

/** What each package manager runs for a folder, in order (measured with these versions; see src/install/project-scripts.ts). */
const RUNS: Record<Tool, { workspace: string[]; root: string[] }> = {
  npm: { workspace: ['preinstall', 'prepare', 'install', 'postinstall'], root: EVENTS },
  pnpm: { workspace: EVENTS, root: EVENTS },
  yarn1: { workspace: ['preinstall', 'install', 'postinstall'], root: ['preinstall', 'install', 'postinstall', 'prepare'] },
  yarnBerry: { workspace: ['preinstall', 'install', 'postinstall'], root: ['preinstall', 'install', 'postinstall'] },
  yarnBerryPnp: { workspace: ['preinstall', 'install', 'postinstall'], root: ['preinstall', 'install', 'postinstall'] },
};

const of = (lines: string[], name: string) => lines.filter((l) => l.startsWith(`${name}:`)).map((l) => l.slice(name.length + 1));
const first = (lines: string[], name: string) => lines.findIndex((l) => l.startsWith(`${name}:`));
const last = (lines: string[], name: string) => lines.length - 1 - [...lines].reverse().findIndex((l) => l.startsWith(`${name}:`));

/** The order constraints the package manager guarantees (packages it runs concurrently may interleave). */
function expectPmOrder(tool: Tool, lines: string[]): void {
  const { workspace, root } = RUNS[tool];
  expect(of(lines, 'a')).toEqual(workspace);
  expect(of(lines, 'b')).toEqual(workspace);
  expect(of(lines, 'app')).toEqual(root);
  expect(of(lines, 'native-dep')).toEqual(['postinstall']);
  // The allowed dependency is built before the workspace that depends on it.
  expect(first(lines, 'native-dep')).toBeLessThan(first(lines, 'b'));
  if (tool === 'npm') {
    // npm builds the workspaces as links after every dependency, one event across all of them at a time, then the root.
    expect(last(lines, 'native-dep')).toBeLessThan(Math.min(first(lines, 'a'), first(lines, 'b')));
    const ws = lines.filter((l) => /^[ab]:/.test(l)).map((l) => workspace.indexOf(l.split(':')[1] ?? ''));
    expect(ws).toEqual([...ws].sort((x, y) => x - y));
    expect(Math.max(last(lines, 'a'), last(lines, 'b'))).toBeLessThan(first(lines, 'app'));
    return;
  }
  // pnpm and yarn: a workspace after the ones it depends on, the root's install after them all.
  expect(last(lines, 'a')).toBeLessThan(first(lines, 'b'));
  const rootInstall = lines.indexOf('app:install');
  expect(last(lines, 'b')).toBeLessThan(rootInstall);
  // yarn 1 runs the root's preinstall before it fetches anything: first of all.
  if (tool === 'yarn1') expect(lines[0]).toBe('app:preinstall');
}

describe.each(['npm', 'pnpm', 'yarn1', 'yarnBerry', 'yarnBerryPnp'] as Tool[])("a monorepo's own scripts with the real %s", (tool) => {
  it('run as the package manager runs them, after the allowed dependencies; the unlisted one stays silent', async () => {
    const p = await monorepo(tool, { scripts: { allow: ['native-dep'] } });
    const res = await p.install();
    expect(res.code, res.stdout + res.stderr).toBe(0);
    const guarded = p.ran();
    expect(guarded.filter((l) => l.startsWith('unlisted-postinstall'))).toEqual([]);
    expectPmOrder(tool, guarded);
    expect(res.stdout).toMatch(/project scripts run:\n(?: {4}.*\n)*? {4}packages\/a: preinstall/);
    expect(res.stdout).toMatch(/project scripts run:\n(?: {4}.*\n)*? {4}\(root\): preinstall/);

    const ref = await monorepo(tool, { scripts: { allow: ['native-dep'] } });
    const plain = await ref.plain();
    expect(plain.code, plain.stdout + plain.stderr).toBe(0);
    const reference = ref.ran().filter((l) => !l.startsWith('unlisted-postinstall'));
    expectPmOrder(tool, reference);
    expect([...guarded].sort()).toEqual([...reference].sort());
    // Each script saw the package manager's user agent, as under the package manager itself (npm's root scripts
    // run outside npm, with this process's environment).
    const seen = (p: { agents: () => string[] }) => p.agents().filter((l) => tool !== 'npm' || !l.startsWith('app:'));
    expect(seen(p)).toEqual(seen(ref));
    expect(seen(p).every((l) => /:\w+ (?:npm|pnpm|yarn)\/\d/.test(l))).toBe(true);
  });

  it('run from a workspace folder, the guard works on the whole project from its root, as the package manager does', async () => {
    const p = await monorepo(tool, { scripts: { allow: ['native-dep'] } });
    const res = await p.install(join(p.dir, 'packages', 'b'));
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(res.stdout).toMatch(/safe-install check {2}\.\.\/\.\.\/(?:package-lock\.json|pnpm-lock\.yaml|yarn\.lock) /);
    expectPmOrder(tool, p.ran());
    // A policy edit from there changes the project's policy (the one the check reads), not a new one in the folder.
    const deny = await p.install(join(p.dir, 'packages', 'b'), ['scripts', 'deny', 'unlisted-postinstall']);
    expect(deny.code, deny.stdout + deny.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(p.dir, 'safe-install.policy.json'), 'utf8')).scripts.deny).toEqual(['unlisted-postinstall']);
    expect(existsSync(join(p.dir, 'packages', 'b', 'safe-install.policy.json'))).toBe(false);
  });

  it('scripts.rootScripts: false runs none of the project folders, only the allowed dependency', async () => {
    const p = await monorepo(tool, { scripts: { allow: ['native-dep'], rootScripts: false } });
    const res = await p.install();
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(p.ran()).toEqual(['native-dep:postinstall']);
    expect(res.stdout).toContain('project scripts not run (policy scripts.rootScripts is false)');
  });
});
