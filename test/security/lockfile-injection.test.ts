// Lockfile injection (issue 14, bypass 1): a registry package's lockfile `resolved` URL points at another host that
// serves a different tarball under the same name and version, with the integrity left out or written as two
// digests (`sha512-<registry's> sha512-<attacker's>`: npm and yarn 1 accept a download that matches either). The
// package manager downloads the attacker's tarball and runs its scripts where they are allowed. The guard checked
// the registry's version, so it must block any download off that registry and any digest the registry does not
// publish; lockfiles without `resolved` (npm's omit-lockfile-registry-resolved) and the public host npm rewrites to
// the configured registry (replace-registry-host) keep working.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestRegistry } from '../registry/server.js';
import { BIN, EVENT_LOGGER, TOOLS, run, tempDir, withTools } from '../integration/helpers.js';
import { attackProject, noStackTrace, type AttackProject, EVIL_LOGGER, postinstallVersion } from './attack.js';

const POLICY = { scripts: { allow: ['victim'] } };

let registry: TestRegistry;
let evil: TestRegistry;
let yarnCache: string;

beforeAll(async () => {
  registry = await TestRegistry.start();
  evil = await TestRegistry.start();
  // The real victim@1.0.0 has a postinstall its users allow; the attacker's copy has the same script, other code.
  const version = postinstallVersion;
  registry.addPackage({ name: 'victim', versions: [version(EVENT_LOGGER)] });
  evil.addPackage({ name: 'victim', versions: [version(EVIL_LOGGER)] });
  yarnCache = tempDir('si-yarn-cache-');
});
afterAll(async () => {
  await registry.close();
  await evil.close();
});

const evilTarballs = () => evil.requests.filter((r) => r.path.endsWith('.tgz')).length;
const evilIntegrity = () => evil.integrityOf('victim', '1.0.0');
const realIntegrity = () => registry.integrityOf('victim', '1.0.0');

type Shape = 'no-integrity' | 'two-digests';

/** A project on victim@1.0.0 locked by the real npm, its lockfile then pointed at the attacker's host. */
async function npmProject(shape?: Shape, lockEnv: Record<string, string> = {}): Promise<AttackProject> {
  const p = attackProject(registry, { dependencies: { victim: '1.0.0' } });
  const lock = await p.npm('install', '--package-lock-only', '--ignore-scripts', ...Object.entries(lockEnv).map(([k, v]) => `--${k}=${v}`));
  expect(lock.code, lock.stderr).toBe(0);
  writeFileSync(join(p.dir, 'safe-install.policy.json'), JSON.stringify(POLICY));
  if (shape) {
    const file = join(p.dir, 'package-lock.json');
    const doc = JSON.parse(readFileSync(file, 'utf8'));
    const entry = doc.packages['node_modules/victim'];
    entry.resolved = evil.tarballUrl('victim', '1.0.0');
    if (shape === 'no-integrity') delete entry.integrity;
    else entry.integrity = `${realIntegrity()} ${evilIntegrity()}`;
    writeFileSync(file, JSON.stringify(doc, null, 2));
  }
  return p;
}

function expectStopped(p: AttackProject, res: { code: number; stdout: string; stderr: string }, codes: string[], evilBefore: number) {
  expect(res.code, res.stdout + res.stderr).toBe(1);
  for (const code of codes) expect(res.stdout).toMatch(new RegExp(`victim@1\\.0\\.0 +${code}`));
  expect(res.stdout).toContain(evil.tarballUrl('victim', '1.0.0'));
  expect(noStackTrace(res.stdout + res.stderr)).toBe(true);
  // Tampering evidence: no exception waives it by default (policy overrides.nonOverridable), so none is offered.
  expect(res.stdout).not.toContain('safe-install approve victim');
  expect(p.ran()).toEqual([]);
  expect(existsSync(join(p.dir, 'node_modules', 'victim'))).toBe(false);
  expect(evilTarballs()).toBe(evilBefore);
}

describe('npm: a registry package resolved to another host', () => {
  it.each<[Shape, string[]]>([
    ['no-integrity', ['resolved-off-registry', 'integrity-uncomparable']],
    ['two-digests', ['resolved-off-registry', 'integrity-mismatch']],
  ])("with %s: plain npm ci runs the attacker's script; safe-install blocks it and downloads nothing", async (shape, codes) => {
    const plain = await npmProject(shape);
    const before = evilTarballs();
    const ci = await plain.npm('ci');
    expect(ci.code, ci.stderr).toBe(0);
    expect(plain.ran()).toEqual(['EVIL victim:postinstall']);
    expect(evilTarballs()).toBe(before + 1);

    const guarded = await npmProject(shape);
    const evilBefore = evilTarballs();
    expectStopped(guarded, await guarded.guard(), codes, evilBefore);
    const check = await guarded.guard('check');
    expect(check.code).toBe(1);
    expect(check.stdout).toMatch(/not on the registry it was checked against/);
  });

  it('an honest lockfile, with or without resolved (omit-lockfile-registry-resolved), installs and runs the allowed script', async () => {
    for (const lockEnv of [{}, { 'omit-lockfile-registry-resolved': 'true' }] as Record<string, string>[]) {
      const p = await npmProject(undefined, lockEnv);
      const entry = JSON.parse(readFileSync(join(p.dir, 'package-lock.json'), 'utf8')).packages['node_modules/victim'];
      expect(entry.integrity).toBe(realIntegrity());
      expect('resolved' in entry).toBe(Object.keys(lockEnv).length === 0);
      const res = await p.guard();
      expect(res.code, res.stdout + res.stderr).toBe(0);
      expect(p.ran()).toEqual(['victim:postinstall']);
    }
  });

  it("the public registry's host is what npm rewrites to the configured registry; with replace-registry-host=never it is blocked", async () => {
    const p = await npmProject();
    const file = join(p.dir, 'package-lock.json');
    const doc = JSON.parse(readFileSync(file, 'utf8'));
    doc.packages['node_modules/victim'].resolved = 'https://registry.npmjs.org/victim/-/victim-1.0.0.tgz';
    writeFileSync(file, JSON.stringify(doc, null, 2));
    // npm's default (replace-registry-host=npmjs) downloads it from the configured registry: the one checked.
    const res = await p.guard();
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(p.ran()).toEqual(['victim:postinstall']);

    const q = await npmProject();
    writeFileSync(join(q.dir, 'package-lock.json'), JSON.stringify(doc, null, 2));
    writeFileSync(join(q.dir, '.npmrc'), 'replace-registry-host=never\n');
    const check = await q.guard('check');
    expect(check.code, check.stdout + check.stderr).toBe(1);
    expect(check.stdout).toMatch(/victim@1\.0\.0 +resolved-off-registry/);
    expect(check.stdout).toContain('replace-registry-host=never');
  });
});

describe('yarn 1: a registry package resolved to another host', () => {
  /** A project locked by the real yarn 1 against the registry, its yarn.lock then pointed at the attacker's host. */
  async function yarnProject(shape: Shape) {
    const p = attackProject(registry, { license: 'MIT', dependencies: { victim: '1.0.0' } }, { YARN_CACHE_FOLDER: join(yarnCache, String(Math.random())) });
    const yarn = (...args: string[]) => run(process.execPath, [TOOLS.yarn1, ...args, '--non-interactive'], { cwd: p.dir, env: p.env });
    const lock = await yarn('install', '--ignore-scripts');
    expect(lock.code, lock.stderr).toBe(0);
    rmSync(join(p.dir, 'node_modules'), { recursive: true, force: true });
    writeFileSync(join(p.dir, 'safe-install.policy.json'), JSON.stringify(POLICY));
    const file = join(p.dir, 'yarn.lock');
    let text = readFileSync(file, 'utf8');
    expect(text).toContain(`resolved "${registry.tarballUrl('victim', '1.0.0')}`);
    text = text.replace(/resolved "[^"]+"/, `resolved "${evil.tarballUrl('victim', '1.0.0')}"`);
    text = shape === 'no-integrity' ? text.replace(/\n\s+integrity [^\n]+/, '') : text.replace(/integrity [^\n]+/, `integrity "${realIntegrity()} ${evilIntegrity()}"`);
    writeFileSync(file, text);
    return { ...p, yarn };
  }

  it.each<[Shape, string[]]>([
    ['no-integrity', ['resolved-off-registry', 'integrity-uncomparable']],
    ['two-digests', ['resolved-off-registry', 'integrity-mismatch']],
  ])("with %s: plain yarn install --frozen-lockfile runs the attacker's script; safe-install blocks it", async (shape, codes) => {
    const plain = await yarnProject(shape);
    const before = evilTarballs();
    const install = await plain.yarn('install', '--frozen-lockfile');
    expect(install.code, install.stdout + install.stderr).toBe(0);
    expect(plain.ran()).toEqual(['EVIL victim:postinstall']);
    expect(evilTarballs()).toBe(before + 1);

    const guarded = await yarnProject(shape);
    const evilBefore = evilTarballs();
    const res = await run(process.execPath, [BIN], { cwd: guarded.dir, env: withTools(guarded.env, { yarn: 'yarn1' }) });
    expectStopped(guarded, res, codes, evilBefore);
  });
});
