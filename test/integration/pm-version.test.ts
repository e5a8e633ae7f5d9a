// Which package manager runs, and which version: an install asks the program it would start (`<pm> --version`,
// through the same PATH, shim or corepack) before anything is fetched, says it in the header, and refuses one that
// cannot install the lockfile or is not the version package.json "packageManager" declares. Real npm, pnpm 9 and
// 10, yarn 1 and 4 (the pinned devDependencies, put first on PATH by withTools) and a real corepack, against
// the loopback registry; corepack only as far as it works offline (a cache it reuses, or a download that fails).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { TestRegistry } from '../registry/server.js';
import { OLD, TOOLS, cleanEnv, cli, lockWith, run, tempDir, withTools, type RunResult } from './helpers.js';

type Tool = 'npm' | 'pnpm' | 'pnpm9' | 'yarn1' | 'yarnBerry';

let registry: TestRegistry;
let npmScript: string;
let npmVersion: string;

/** The version a pinned tool's own package.json gives (what `<tool> --version` must print). */
const versionOf = (tool: keyof typeof TOOLS) => (JSON.parse(readFileSync(join(dirname(TOOLS[tool]), '..', 'package.json'), 'utf8')) as { version: string }).version;

beforeAll(async () => {
  registry = await TestRegistry.start();
  registry.addPackage({ name: 'plain', versions: [{ version: '1.0.0', publishedAt: OLD }] });
  // The pinned npm, first on PATH in cleanEnv: the one the header must name.
  npmScript = TOOLS.npm;
  npmVersion = versionOf('npm');
});
afterAll(() => registry?.close());

const show = (r: RunResult) => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

/** The environment a tool's project runs in: its caches in the temp HOME, the pinned tool first on PATH. */
function envFor(tool: Tool, on?: Tool): NodeJS.ProcessEnv {
  const env = cleanEnv(registry.url, { CI: '1' });
  const home = env.HOME!;
  Object.assign(env, { YARN_CACHE_FOLDER: join(home, 'yarn-cache'), YARN_GLOBAL_FOLDER: join(home, 'berry'), YARN_ENABLE_IMMUTABLE_INSTALLS: 'false' });
  const put = on ?? tool;
  if (put === 'pnpm' || put === 'pnpm9') return withTools(env, { pnpm: put });
  if (put === 'yarn1' || put === 'yarnBerry') return withTools(env, { yarn: put });
  return env;
}

/** A project locked by the real `tool`, with the settings its install needs (registry, store) written back. */
async function project(tool: Tool, pkg: Record<string, unknown> = {}): Promise<string> {
  const dir = tempDir(`si-pmv-${tool}-`);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true, dependencies: { plain: '1.0.0' } }, null, 2));
  await lockWith(tool, dir, registry.url, cleanEnv(registry.url));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true, dependencies: { plain: '1.0.0' }, ...pkg }, null, 2));
  if (tool === 'pnpm' || tool === 'pnpm9') writeFileSync(join(dir, '.npmrc'), `registry=${registry.url}\nstore-dir=${join(dir, '.store')}\n`);
  if (tool === 'yarnBerry') {
    writeFileSync(join(dir, '.yarnrc.yml'), `npmRegistryServer: "${registry.url}"\nunsafeHttpWhitelist: ["127.0.0.1"]\nenableTelemetry: false\nenableGlobalCache: false\nnodeLinker: node-modules\n`);
  }
  return dir;
}

/** Every file of the project as bytes, to show a refused run changed nothing. */
function snapshot(dir: string): Map<string, string> {
  return new Map(readdirSync(dir, { withFileTypes: true }).map((e) => [e.name, e.isFile() ? readFileSync(join(dir, e.name), 'latin1') : e.isDirectory() ? 'a folder' : 'other']));
}

const LOCKFILE: Record<Tool, string> = {
  npm: 'package-lock.json v3',
  pnpm: 'pnpm-lock.yaml v9',
  pnpm9: 'pnpm-lock.yaml v9',
  yarn1: 'yarn.lock v1',
  yarnBerry: 'yarn.lock (berry)',
};
const NAME: Record<Tool, string> = { npm: 'npm', pnpm: 'pnpm', pnpm9: 'pnpm', yarn1: 'yarn', yarnBerry: 'yarn' };
const CHECK_SAYS: Record<Tool, string> = { npm: 'npm 7 or later', pnpm: 'pnpm 9 or later', pnpm9: 'pnpm 9 or later', yarn1: 'yarn 1', yarnBerry: 'yarn 2 or later' };

describe('the header says which package manager runs, which version, and what decided it', () => {
  for (const tool of ['npm', 'pnpm', 'pnpm9', 'yarn1', 'yarnBerry'] as const) {
    it(`${tool}: the install asks it; check only says what the lockfile needs`, async () => {
      const dir = await project(tool);
      const env = envFor(tool);
      const version = tool === 'npm' ? npmVersion : versionOf(tool);
      const script = tool === 'npm' ? npmScript : TOOLS[tool];

      const checked = await cli(['check'], { cwd: dir, env });
      expect(checked.code, show(checked)).toBe(0);
      expect(checked.stdout).toContain(`package manager: ${CHECK_SAYS[tool]} (from ${LOCKFILE[tool]}; not started by check)`);

      const res = await cli([], { cwd: dir, env });
      expect(res.code, show(res)).toBe(0);
      expect(res.stdout).toContain(`package manager: ${NAME[tool]} ${version} (from ${LOCKFILE[tool]}; ${script}, first on PATH)`);
      expect(res.stdout).toContain('Installed.');
      expect(existsSync(join(dir, 'node_modules', 'plain', 'package.json'))).toBe(true);
    }, 180_000);
  }

  it('started by a package manager (npm_execpath: `pnpm exec safe-install`), that one is asked and runs, not the first on PATH', async () => {
    const dir = await project('pnpm9');
    const env = { ...envFor('pnpm9', 'pnpm'), npm_execpath: TOOLS.pnpm9 };
    const res = await cli([], { cwd: dir, env });
    expect(res.code, show(res)).toBe(0);
    expect(res.stdout).toContain(`package manager: pnpm ${versionOf('pnpm9')} (from pnpm-lock.yaml v9; ${TOOLS.pnpm9}, the one that started safe-install)`);
    // What ran is the pnpm the header names: pnpm 9 writes its own version into node_modules/.modules.yaml.
    expect(readFileSync(join(dir, 'node_modules', '.modules.yaml'), 'utf8')).toMatch(new RegExp(`pnpm@${versionOf('pnpm9').replace(/\./g, '\\.')}`));
  }, 180_000);

  it('check --json: what the lockfile needs and the declared version; no program was started', async () => {
    const dir = await project('pnpm', { packageManager: 'pnpm@10.34.9' });
    const res = await cli(['check', '--json'], { cwd: dir, env: envFor('pnpm') });
    expect(res.code, show(res)).toBe(0);
    const pm = (JSON.parse(res.stdout) as { packageManager: Record<string, unknown> }).packageManager;
    expect(pm).toMatchObject({ name: 'pnpm', version: '10.34.9', declared: '10.34.9', lockfile: 'pnpm-lock.yaml v9', needs: '>=9.0.0', runs: null });
  }, 180_000);
});

describe('a package manager that cannot install the lockfile is refused before anything is fetched or installed', () => {
  /** Refused with exit 2 and `message`, with no registry request, no install and no file of the project changed. */
  async function refused(dir: string, env: NodeJS.ProcessEnv, message: RegExp): Promise<RunResult> {
    const before = snapshot(dir);
    const requests = registry.requests.length;
    const res = await cli([], { cwd: dir, env });
    expect(res.code, show(res)).toBe(2);
    expect(res.stderr, show(res)).toMatch(message);
    expect(res.stderr).toContain('nothing was checked or installed');
    expect(res.stdout + res.stderr).not.toMatch(/Installed\.|Unsupported option name/);
    expect(registry.requests.length, 'no registry request').toBe(requests);
    expect(existsSync(join(dir, 'node_modules'))).toBe(false);
    expect(snapshot(dir)).toEqual(before);
    return res;
  }

  it('a yarn 1 lockfile with yarn 4 first on PATH (which ran yarn 4 with yarn 1 flags: "Unsupported option name")', async () => {
    const dir = await project('yarn1');
    const env = envFor('yarn1', 'yarnBerry');
    // What safe-install started before it asked: yarn 1's frozen install, which yarn 4 rejects on yarn 1's flags.
    const before = await run('yarn', ['install', '--frozen-lockfile', '--ignore-scripts', '--non-interactive'], { cwd: dir, env });
    expect(before.code, show(before)).not.toBe(0);
    expect(before.stdout + before.stderr).toMatch(/Unsupported option name \("--(ignore-scripts|non-interactive)"\)/);

    const res = await refused(dir, env, new RegExp(`yarn\\.lock v1 needs yarn 1, but yarn ${versionOf('yarnBerry').replace(/\./g, '\\.')} would run \\(${TOOLS.yarnBerry}, first on PATH\\)`));
    expect(res.stderr).toMatch(/install yarn 1 and put it first on PATH/);
  }, 180_000);

  it('a yarn berry lockfile (packageManager yarn@4) with yarn 1 first on PATH', async () => {
    const dir = await project('yarnBerry', { packageManager: `yarn@${versionOf('yarnBerry')}` });
    const env = envFor('yarnBerry', 'yarn1');
    await refused(dir, env, /yarn\.lock \(berry\) needs yarn 2 or later, but yarn 1\.22\.22 would run/);
  }, 180_000);

  it('a yarn 1 lockfile whose package.json declares yarn 4: the field and the lockfile disagree, and it says so', async () => {
    const dir = await project('yarn1', { packageManager: `yarn@${versionOf('yarnBerry')}` });
    const res = await refused(dir, envFor('yarn1', 'yarnBerry'), /yarn\.lock v1 needs yarn 1, but yarn 4\.\d+\.\d+ would run/);
    expect(res.stderr).toMatch(/package\.json "packageManager" \(yarn@4\.\d+\.\d+\) and yarn\.lock v1 \(yarn 1\) disagree/);
  }, 180_000);

  it('a pnpm lockfile v6 with pnpm 10 (ERR_PNPM_LOCKFILE_BREAKING_CHANGE from pnpm itself, now said before the check)', async () => {
    const dir = tempDir('si-pmv-v6-');
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', dependencies: { plain: '1.0.0' } }));
    writeFileSync(
      join(dir, 'pnpm-lock.yaml'),
      `lockfileVersion: '6.0'\n\nsettings:\n  autoInstallPeers: true\n  excludeLinksFromLockfile: false\n\ndependencies:\n  plain:\n    specifier: 1.0.0\n    version: 1.0.0\n\n` +
        `packages:\n\n  /plain@1.0.0:\n    resolution: {integrity: ${registry.integrityOf('plain', '1.0.0')}}\n    dev: false\n`,
    );
    await refused(dir, envFor('pnpm'), new RegExp(`pnpm-lock\\.yaml v6 needs pnpm 8 or 9, but pnpm ${versionOf('pnpm').replace(/\./g, '\\.')} would run`));
  }, 180_000);

  it('package.json packageManager pnpm@10 with pnpm 9 first on PATH', async () => {
    const dir = await project('pnpm9', { packageManager: 'pnpm@10.34.9' });
    const res = await refused(dir, envFor('pnpm9'), /package\.json "packageManager" declares pnpm@10\.34\.9, but pnpm 9\.15\.9 would run/);
    expect(res.stderr).toMatch(/corepack enable/);
  }, 180_000);

  it('package.json packageManager pnpm@9 with pnpm 10, which fetches the declared pnpm itself and cannot here', async () => {
    const dir = await project('pnpm', { packageManager: 'pnpm@9.15.9' });
    const before = snapshot(dir);
    const res = await cli([], { cwd: dir, env: envFor('pnpm') });
    expect(res.code, show(res)).toBe(2);
    // pnpm 10's manage-package-manager-versions: its `--version` already switches to the declared pnpm, and the
    // test registry has no pnpm to switch to; safe-install says what failed and installs nothing.
    expect(res.stderr).toMatch(/could not tell which pnpm would run: `pnpm --version` \(\S+pnpm\.cjs\) failed \(exit 1\): /);
    expect(res.stderr).toMatch(/install pnpm 9\.15\.9 \(package\.json "packageManager"\) and put it first on PATH/);
    expect(existsSync(join(dir, 'node_modules'))).toBe(false);
    expect(snapshot(dir)).toEqual(before);
  }, 180_000);

  /** A `yarn` first on PATH that is not one: `body` is its shell script. */
  function fakeYarn(body: string): NodeJS.ProcessEnv {
    const bin = tempDir('si-fake-yarn-');
    writeFileSync(join(bin, 'yarn'), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
    return { ...cleanEnv(registry.url), PATH: `${bin}:${process.env.PATH}` };
  }

  it('a yarn that prints no version', async () => {
    const dir = await project('yarn1');
    await refused(dir, fakeYarn('echo "hello from a wrapper"'), /could not tell which yarn would run: `yarn --version` \(\S+\/yarn\) printed no version/);
  }, 180_000);

  it('a yarn that never answers is stopped (bounded in time, not stuck)', async () => {
    const dir = await project('yarn1');
    await refused(dir, fakeYarn('exec sleep 120'), /could not tell which yarn would run: `yarn --version` \(\S+\/yarn\) did not answer within 20 s/);
  }, 180_000);

  it('no pnpm on PATH at all', async () => {
    const dir = await project('pnpm');
    const env = { ...cleanEnv(registry.url), PATH: '/usr/bin:/bin' };
    await refused(dir, env, /could not start pnpm: it is not on PATH/);
  }, 180_000);
});

describe('corepack, as far as it works offline', () => {
  /** corepack's own shims (as `corepack enable` makes them) first on PATH, with its cache in the temp HOME. */
  async function corepackEnv(cachedYarn: boolean): Promise<NodeJS.ProcessEnv> {
    const env = envFor('yarn1');
    const bin = tempDir('si-corepack-bin-');
    const enable = await run('corepack', ['enable', '--install-directory', bin, 'yarn'], { cwd: bin, env });
    expect(enable.code, show(enable)).toBe(0);
    const home = join(env.HOME!, 'corepack');
    if (cachedYarn) {
      // What `corepack install` leaves: the release unpacked and its .corepack record (here from the pinned yarn 1).
      const at = join(home, 'v1', 'yarn', versionOf('yarn1'));
      mkdirSync(dirname(at), { recursive: true });
      cpSync(dirname(dirname(TOOLS.yarn1)), at, { recursive: true });
      writeFileSync(join(at, '.corepack'), JSON.stringify({ locator: { name: 'yarn', reference: versionOf('yarn1') }, bin: { yarn: './bin/yarn.js' }, hash: 'sha512.0' }));
    }
    // A registry address nothing listens on: any download corepack tries fails at once.
    const port = await new Promise<number>((res) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => res(p));
      });
    });
    return { ...env, PATH: `${bin}:${process.env.PATH}`, COREPACK_HOME: home, COREPACK_NPM_REGISTRY: `http://127.0.0.1:${port}`, COREPACK_ENABLE_STRICT: '1' };
  }

  it("the declared yarn, already in corepack's cache, runs through corepack and the header says so", async () => {
    const dir = await project('yarn1', { packageManager: `yarn@${versionOf('yarn1')}` });
    const env = await corepackEnv(true);
    const manifest = readFileSync(join(dir, 'package.json'), 'utf8');
    const res = await cli([], { cwd: dir, env });
    expect(res.code, show(res)).toBe(0);
    expect(res.stdout).toMatch(
      new RegExp(
        `package manager: yarn ${versionOf('yarn1').replace(/\./g, '\\.')} \\(from yarn\\.lock v1 and package\\.json packageManager yarn@[\\d.]+; \\S*/corepack/dist/yarn\\.js, through corepack\\)`,
      ),
    );
    expect(existsSync(join(dir, 'node_modules', 'plain', 'package.json'))).toBe(true);
    expect(readFileSync(join(dir, 'package.json'), 'utf8')).toBe(manifest);
  }, 180_000);

  it('a declared yarn corepack cannot fetch is refused, saying corepack could not provide it', async () => {
    const dir = await project('yarn1', { packageManager: 'yarn@1.22.19' });
    const env = await corepackEnv(true);
    const before = snapshot(dir);
    const res = await cli([], { cwd: dir, env });
    expect(res.code, show(res)).toBe(2);
    expect(res.stderr).toMatch(
      /could not tell which yarn would run: `yarn --version` \(\S*\/corepack\/dist\/yarn\.js, through corepack\) failed \(exit 1\): Error: Error when performing the request to http:\/\/127\.0\.0\.1:\d+\/yarn\/1\.22\.19/,
    );
    expect(res.stderr).toMatch(/corepack could not provide yarn 1\.22\.19 \(package\.json "packageManager"\): run `corepack install`/);
    expect(existsSync(join(dir, 'node_modules'))).toBe(false);
    expect(snapshot(dir)).toEqual(before);
  }, 180_000);
});
