// `safe-install fix` end to end with the real npm against the loopback registry: quarantined versions are
// replaced by their fallbacks through npm's own resolver (lockfile only, scripts off), the result installs
// with `npm ci` and passes `check`, and every failure leaves package.json and the lockfile byte for byte.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestRegistry } from '../registry/server.js';
import { cleanEnv, cli, npm, tempDir } from './helpers.js';
import { fixCommand, type FixFlags } from '../../src/cli/fix.js';
import { applyFix, backupPath, planFix } from '../../src/quarantine/fix.js';
import { projectLockPath, scratchDir } from '../../src/util/lock.js';
import { runCheck } from '../../src/pipeline.js';
import { GuardError } from '../../src/errors.js';

const OLD = '2024-01-01T00:00:00.000Z';
const YOUNG = new Date(Date.now() - 86_400_000).toISOString();

let registry: TestRegistry;

beforeAll(async () => {
  registry = await TestRegistry.start();
  registry.addPackage({
    name: 'fresh',
    versions: [
      { version: '1.0.0', publishedAt: OLD },
      { version: '1.1.0', publishedAt: YOUNG },
    ],
  });
  registry.addPackage({ name: 'plain', versions: [{ version: '1.0.0', publishedAt: OLD }] });
  registry.addPackage({ name: 'mid', versions: [{ version: '1.0.0', publishedAt: OLD, dependencies: { leaf: '^2.0.0' } }] });
  registry.addPackage({
    name: 'leaf',
    versions: [
      { version: '2.0.0', publishedAt: OLD },
      { version: '2.1.0', publishedAt: YOUNG },
      { version: '3.0.0', publishedAt: OLD },
    ],
  });
  registry.addPackage({ name: 'solo', versions: [{ version: '1.0.0', publishedAt: YOUNG }] });
  // The fallback of `shifty` depends on a package that has only a young version: the fix cannot pass.
  registry.addPackage({
    name: 'shifty',
    versions: [
      { version: '1.0.0', publishedAt: OLD, dependencies: { newdep: '^1.0.0' } },
      { version: '1.1.0', publishedAt: YOUNG },
    ],
  });
  registry.addPackage({ name: 'newdep', versions: [{ version: '1.0.0', publishedAt: YOUNG }] });
});
afterAll(() => registry.close());

/** A project locked by the real npm against the test registry. */
async function project(pkg: Record<string, unknown>) {
  const dir = tempDir('si-fix-');
  const env = cleanEnv(registry.url);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', ...pkg }, null, 2) + '\n');
  const lock = await npm(['install', '--package-lock-only', '--ignore-scripts'], { cwd: dir, env });
  expect(lock.code, lock.stderr).toBe(0);
  const read = (file: string) => readFileSync(join(dir, file));
  const lockfile = () => JSON.parse(read('package-lock.json').toString()) as { packages: Record<string, { version?: string }> };
  const snapshot = () => ({ manifest: read('package.json'), lockfile: read('package-lock.json') });
  return { dir, env, read, lockfile, snapshot };
}

/**
 * Run code in this process with the project's environment (npm config, caches, registry), as the CLI would
 * see it: every npm_config_* of the test runner's own npm is removed for the duration, and npm_execpath (which
 * would start that npm instead of the pinned one first on PATH).
 */
async function inEnv<T>(env: NodeJS.ProcessEnv, fn: () => Promise<T>): Promise<T> {
  const saved = { ...process.env };
  for (const k of Object.keys(process.env)) if (/^npm_(config_|execpath$)/i.test(k)) delete process.env[k];
  Object.assign(process.env, env);
  try {
    return await fn();
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
}

/** fixCommand in-process (until it is wired into main), with its output captured. */
async function fix(p: { dir: string; env: NodeJS.ProcessEnv }, flags: FixFlags = { yes: true }) {
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  try {
    const code = await inEnv(p.env, () => fixCommand({ cwd: p.dir, color: false, ...flags }));
    return { code, out };
  } finally {
    spy.mockRestore();
  }
}

const versionAt = (lock: { packages: Record<string, { version?: string }> }, name: string) =>
  Object.entries(lock.packages)
    .filter(([path]) => path === `node_modules/${name}` || path.endsWith(`/node_modules/${name}`))
    .map(([, e]) => e.version);

describe('safe-install fix with the real npm', () => {
  it('replaces a young direct dependency with its fallback and keeps package.json as it was', async () => {
    const p = await project({ dependencies: { fresh: '^1.0.0', plain: '1.0.0' } });
    expect(versionAt(p.lockfile(), 'fresh')).toEqual(['1.1.0']);
    const manifestBefore = p.read('package.json');

    const res = await fix(p);
    expect(res.code, res.out).toBe(0);
    expect(versionAt(p.lockfile(), 'fresh')).toEqual(['1.0.0']);
    expect(p.read('package.json').equals(manifestBefore)).toBe(true);
    expect(p.lockfile().packages[''] as unknown).toMatchObject({ dependencies: { fresh: '^1.0.0', plain: '1.0.0' } });
    expect(res.out).toContain('fresh 1.1.0 -> 1.0.0');
    expect(res.out).toMatch(/package\.json: what changed\n {2}\(nothing\)/);
    expect(res.out).toContain('Fixed: 1 held version(s) replaced.');
    // Backups of both files as they were; node_modules untouched (lockfile only).
    expect(readFileSync(backupPath(p.dir, 'package.json')).equals(manifestBefore)).toBe(true);
    expect(existsSync(backupPath(p.dir, 'package-lock.json'))).toBe(true);
    expect(existsSync(join(p.dir, 'node_modules'))).toBe(false);

    // The quarantine ledger: the held version is released as replaced, by the fallback; no lock is left behind.
    const ledger = JSON.parse(p.read('.safe-install/quarantine.json').toString());
    expect(ledger.entries).toEqual([expect.objectContaining({ name: 'fresh', version: '1.1.0', status: 'released', releasedBecause: 'replaced', replacedBy: '1.0.0' })]);
    expect(res.out).toContain('ledger: fresh@1.1.0 released (replaced by 1.0.0)');
    expect(existsSync(projectLockPath(p.dir))).toBe(false);

    const ci = await npm(['ci', '--ignore-scripts'], { cwd: p.dir, env: p.env });
    expect(ci.code, ci.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(p.dir, 'node_modules/fresh/package.json'), 'utf8')).version).toBe('1.0.0');
    const check = await cli(['check'], { cwd: p.dir, env: p.env });
    expect(check.code, check.stdout + check.stderr).toBe(0);
  });

  it('replaces a young transitive dependency through an overrides entry', async () => {
    const p = await project({ dependencies: { mid: '1.0.0' } });
    expect(versionAt(p.lockfile(), 'leaf')).toEqual(['2.1.0']);

    const res = await fix(p);
    expect(res.code, res.out).toBe(0);
    expect(versionAt(p.lockfile(), 'leaf')).toEqual(['2.0.0']);
    const manifest = JSON.parse(p.read('package.json').toString());
    expect(manifest.overrides).toEqual({ 'leaf@2.1.0': '2.0.0' });
    expect(manifest.dependencies).toEqual({ mid: '1.0.0' });
    expect(res.out).toContain('leaf 2.1.0 -> 2.0.0');
    expect(res.out).toContain('+ overrides: {"leaf@2.1.0":"2.0.0"}');
    expect(existsSync(join(p.dir, 'node_modules'))).toBe(false);

    const ci = await npm(['ci', '--ignore-scripts'], { cwd: p.dir, env: p.env });
    expect(ci.code, ci.stderr).toBe(0);
    const check = await cli(['check'], { cwd: p.dir, env: p.env });
    expect(check.code, check.stdout + check.stderr).toBe(0);
    // npm keeps the result: a later plain install changes nothing.
    const lockAfter = p.read('package-lock.json');
    expect((await npm(['install', '--package-lock-only', '--ignore-scripts'], { cwd: p.dir, env: p.env })).code).toBe(0);
    expect(p.read('package-lock.json').equals(lockAfter)).toBe(true);
  });

  it('scopes the override under the dependent when the root depends on the same name (npm EOVERRIDE otherwise)', async () => {
    const p = await project({ dependencies: { mid: '1.0.0', leaf: '>=2.0.0' } });
    expect(versionAt(p.lockfile(), 'leaf').sort()).toEqual(['2.1.0', '3.0.0']);

    const res = await fix(p);
    expect(res.code, res.out).toBe(0);
    expect(versionAt(p.lockfile(), 'leaf').sort()).toEqual(['2.0.0', '3.0.0']);
    expect(JSON.parse(p.read('package.json').toString()).overrides).toEqual({ mid: { 'leaf@2.1.0': '2.0.0' } });
    const ci = await npm(['ci', '--ignore-scripts'], { cwd: p.dir, env: p.env });
    expect(ci.code, ci.stderr).toBe(0);
    expect((await cli(['check'], { cwd: p.dir, env: p.env })).code).toBe(0);
  });

  it('a held version without a fallback stays blocked: exit 1, files unchanged byte for byte', async () => {
    const p = await project({ dependencies: { solo: '^1.0.0' } });
    const before = p.snapshot();
    const res = await fix(p);
    expect(res.code, res.out).toBe(1);
    expect(res.out).toMatch(/solo@1\.0\.0 +still blocked: no fallback \(too-young\)/);
    expect(p.snapshot()).toEqual(before);
    expect(existsSync(backupPath(p.dir, 'package.json'))).toBe(false);
    expect(existsSync(backupPath(p.dir, 'package-lock.json'))).toBe(false);
  });

  it('replaces what it can and reports the rest as still blocked (exit 1)', async () => {
    const p = await project({ dependencies: { fresh: '^1.0.0', solo: '1.0.0' } });
    const res = await fix(p);
    expect(res.code, res.out).toBe(1);
    expect(versionAt(p.lockfile(), 'fresh')).toEqual(['1.0.0']);
    expect(versionAt(p.lockfile(), 'solo')).toEqual(['1.0.0']);
    expect(res.out).toContain('Fixed: 1 held version(s) replaced.');
    expect(res.out).toMatch(/Still blocked \(1\), exit 1:\n +x solo@1\.0\.0/);
  });

  it('--dry-run shows the plan and writes nothing', async () => {
    const p = await project({ dependencies: { fresh: '^1.0.0', mid: '1.0.0' } });
    const before = p.snapshot();
    const res = await fix(p, { dryRun: true });
    expect(res.code, res.out).toBe(1);
    expect(p.snapshot()).toEqual(before);
    expect(existsSync(backupPath(p.dir, 'package.json'))).toBe(false);
    expect(res.out).toMatch(/fresh@1\.1\.0 +too-young -> fresh@1\.0\.0/);
    expect(res.out).toMatch(/leaf@2\.1\.0 +too-young -> leaf@2\.0\.0/);
    expect(res.out).toContain('+ overrides: {"leaf@2.1.0":"2.0.0"}');
    expect(res.out).toContain('npm install --package-lock-only --ignore-scripts --no-audit --no-fund --save --save-exact fresh@1.0.0');
    expect(res.out).toContain('Dry run: nothing was written.');
  });

  it('without a terminal and without --yes it applies nothing and prints the command that does', async () => {
    const p = await project({ dependencies: { fresh: '^1.0.0' } });
    const before = p.snapshot();
    const res = await fix(p, {});
    expect(res.code).toBe(3); // not confirmed (1 means something stays held)
    expect(p.snapshot()).toEqual(before);
    expect(res.out).toContain(`safe-install fix --yes -C ${p.dir}`);
  });

  it('a re-check that fails (the fallback brings a young dependency) restores both files byte for byte', async () => {
    const p = await project({ dependencies: { shifty: '^1.0.0' } });
    const before = p.snapshot();
    const res = await fix(p);
    expect(res.code, res.out).toBe(1);
    expect(res.out).toContain('+ newdep 1.0.0'); // what npm did, shown before it is undone
    expect(res.out).toMatch(/newdep@1\.0\.0 is now quarantined: too-young/);
    expect(res.out).toContain('byte for byte: nothing changed (exit 1)');
    expect(p.snapshot()).toEqual(before);
    expect(existsSync(backupPath(p.dir, 'package-lock.json'))).toBe(false);
  });

  it("an undone run puts back an earlier fix's backups", async () => {
    const p = await project({ dependencies: { shifty: '^1.0.0' } });
    mkdirSync(scratchDir(p.dir), { recursive: true });
    writeFileSync(backupPath(p.dir, 'package.json'), '{"earlier": "manifest"}\n');
    writeFileSync(backupPath(p.dir, 'package-lock.json'), '{"earlier": "lockfile"}\n');
    const before = p.snapshot();
    expect((await fix(p)).code).toBe(1);
    expect(p.snapshot()).toEqual(before);
    expect(readFileSync(backupPath(p.dir, 'package.json')).toString()).toBe('{"earlier": "manifest"}\n');
    expect(readFileSync(backupPath(p.dir, 'package-lock.json')).toString()).toBe('{"earlier": "lockfile"}\n');
  });

  it('an npm failure restores both files byte for byte and is an error (exit 2)', async () => {
    const p = await project({ dependencies: { fresh: '^1.0.0', mid: '1.0.0' } });
    const before = p.snapshot();
    await inEnv(p.env, async () => {
      const result = await runCheck({ cwd: p.dir });
      const plan = planFix(result, p.read('package.json').toString());
      const failing = async (_args: string[], cwd: string) => {
        // npm wrote half a lockfile and then failed.
        writeFileSync(join(cwd, 'package-lock.json'), '{"lockfileVersion": 3, "packa');
        return { code: 1, output: 'npm error code E500\nnpm error 500 Internal Server Error' };
      };
      const err = await applyFix(plan, { before: result.tree, recheck: () => runCheck({ cwd: p.dir }), npm: failing }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(GuardError);
      expect(err).toMatchObject({ code: 'install-failed' });
      expect((err as GuardError).message).toContain('npm error 500 Internal Server Error');
      expect((err as GuardError).remedy).toContain('restored');
    });
    expect(p.snapshot()).toEqual(before);
  });
});
