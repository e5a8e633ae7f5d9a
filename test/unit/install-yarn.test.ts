// The yarn runners' pure parts: yarn 1's production mode and script environment, berry locators and the
// build plugin's decisions (run against a stand-in Project, the methods yarn calls).
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { classicEnv, classicProduction } from '../../src/install/yarn-classic.js';
import { buildPlugin, locatorOf } from '../../src/install/yarn-berry.js';
import type { LockedPackage } from '../../src/lockfile/types.js';

const pkg = (p: Partial<LockedPackage>): LockedPackage => ({
  id: 'x',
  name: 'x',
  aliases: [],
  version: '1.0.0',
  source: 'registry',
  direct: true,
  dev: false,
  optional: false,
  hasInstallScript: false,
  paths: [],
  dependents: [],
  ...p,
});

describe('yarn 1', () => {
  it('production mode: --production/--prod, or NODE_ENV=production unless turned off', () => {
    expect(classicProduction([], {})).toBe(false);
    expect(classicProduction(['--production'], {})).toBe(true);
    expect(classicProduction(['--prod=false'], { NODE_ENV: 'production' })).toBe(false);
    expect(classicProduction([], { NODE_ENV: 'production' })).toBe(true);
    expect(classicProduction([], { NODE_ENV: 'production', YARN_PRODUCTION: 'false' })).toBe(false);
  });

  it("builds makeEnv's npm_package_* and npm_config_* (yarn's settings first, credentials left out)", () => {
    const env = classicEnv({
      dir: '/p',
      manifest: { name: 'a', version: '1.0.0', _id: 'hidden', readme: 'long', config: { port: 8080 }, bin: { 'a-b': 'x.js' } },
      config: {
        yarn: { 'user-agent': 'yarn/1.22.22 npm/? node/v20 linux x64', registry: 'https://registry.yarnpkg.com' },
        npm: { registry: 'http://mirror/', '//mirror/:_authToken': 'secret', 'a:port': '1' },
      },
      production: true,
      argv: ['install', '--frozen-lockfile'],
      execPath: '/yarn.js',
    });
    expect(env).toMatchObject({
      npm_package_name: 'a',
      npm_package_config_port: '1',
      npm_package_bin_a_b: 'x.js',
      npm_config_user_agent: 'yarn/1.22.22 npm/? node/v20 linux x64',
      npm_config_registry: 'https://registry.yarnpkg.com',
      npm_execpath: '/yarn.js',
      NODE_ENV: 'production',
      npm_config_argv: JSON.stringify({ remain: [], cooked: ['install'], original: ['install', '--frozen-lockfile'] }),
    });
    expect(env.npm_package__id).toBeUndefined();
    expect(env.npm_package_readme).toBeUndefined();
    expect(Object.values(env)).not.toContain('secret');
  });
});

describe('yarn berry', () => {
  it('locators as yarn writes them', () => {
    expect(locatorOf(pkg({ name: '@s/a', version: '2.0.0' }))).toBe('@s/a@npm:2.0.0');
    expect(locatorOf(pkg({ name: 'a', resolved: 'a@patch:a@npm%3A1.0.0#./p.patch::version=1.0.0&hash=1' }))).toBe('a@patch:a@npm%3A1.0.0#./p.patch::version=1.0.0&hash=1');
    expect(locatorOf(pkg({ name: 'a', source: 'git', resolved: 'https://github.com/o/a.git#commit=abc' }))).toBe('a@https://github.com/o/a.git#commit=abc');
  });

  for (const projectScripts of [false, true]) {
    it(`the plugin builds exactly the allowed locators, keeps a built: false, and ${projectScripts ? 'rebuilds the workspaces' : "hides the workspaces' install scripts while linking"}`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'si-plugin-'));
      const file = join(dir, 'plugin.cjs');
      const report = join(dir, 'built.json');
      writeFileSync(file, buildPlugin({ allowed: ['a@npm:1.0.0', '@s/b@npm:2.0.0'], projectScripts, restore: { YARN_PLUGINS: null, YARN_ENABLE_SCRIPTS: 'true' }, report }));
      const plugin = createRequire(import.meta.url)(file);
      const { hooks } = plugin.factory(() => undefined);
      const loc = (scope: string | null, name: string, reference: string) => ({ scope, name, reference, locatorHash: `${name}-${reference}` });
      const ws = {
        relativeCwd: 'packages/w',
        anchoredLocator: loc(null, 'w', 'workspace:packages/w'),
        manifest: {
          scripts: new Map([
            ['postinstall', 'x'],
            ['build', 'y'],
          ]),
        },
      };
      const seenScripts: string[][] = [];
      const project = {
        workspaces: [ws],
        storedPackages: new Map([
          ['1', loc(null, 'a', 'npm:1.0.0')],
          ['2', loc('s', 'b', 'virtual:abc#npm:2.0.0')],
        ]),
        storedBuildState: new Map([
          ['a-npm:1.0.0', 'old'],
          ['w-workspace:packages/w', 'old'],
        ]),
        getDependencyMeta: (l: { name: string }) => (l.name === 'b' ? { built: false } : { unplugged: true }),
        linkEverything: async () => {
          seenScripts.push([...ws.manifest.scripts.keys()]);
          // yarn records a build it ran; one it skipped keeps (or lacks) its state.
          expect(project.storedBuildState.has('a-npm:1.0.0')).toBe(false);
          expect(project.storedBuildState.has('w-workspace:packages/w')).toBe(!projectScripts);
          project.storedBuildState.set('a-npm:1.0.0', 'new');
          if (projectScripts) project.storedBuildState.set('w-workspace:packages/w', 'new');
        },
      };
      hooks.validateProject(project);
      expect(project.getDependencyMeta(loc(null, 'a', 'npm:1.0.0') as never)).toEqual({ unplugged: true, built: true });
      expect(project.getDependencyMeta(loc(null, 'a', 'npm:1.0.1') as never)).toEqual({ unplugged: true, built: false });
      expect(project.getDependencyMeta(loc('s', 'b', 'npm:2.0.0') as never)).toEqual({ built: false });
      await project.linkEverything();
      expect(seenScripts).toEqual([projectScripts ? ['postinstall', 'build'] : ['build']]);
      expect([...ws.manifest.scripts.keys()]).toEqual(['postinstall', 'build']);
      await hooks.afterAllInstalled(project);
      expect(JSON.parse(readFileSync(report, 'utf8'))).toEqual({ built: ['a@npm:1.0.0'], workspaces: ['packages/w'] });
      const env: Record<string, string> = { YARN_PLUGINS: '/tmp/p.cjs', YARN_ENABLE_SCRIPTS: 'false' };
      await hooks.setupScriptEnvironment(project, env);
      expect(env).toEqual({ YARN_ENABLE_SCRIPTS: 'true' });
    });
  }
});
