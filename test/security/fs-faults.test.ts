// A broken environment (a file where a folder should be, a dangling symbolic link, a folder where a file
// should be, a cache folder that is a file) is not an attack on the package manager but on the guard's
// promise: "could not check" is a clear error naming the file and what to do, exit 2, never a stack trace,
// and nothing of the user's changed. Each case runs the real CLI in a real project against the loopback
// registry. The first step of the suite's convention (the attack working without the guard) is each case's
// own precondition here: the broken path is shown broken before the guard runs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, lstatSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestRegistry } from '../registry/server.js';
import { cleanEnv, cli, OLD, tempDir, writeProject } from '../integration/helpers.js';
import { noStackTrace } from './attack.js';

let registry: TestRegistry;

beforeAll(async () => {
  registry = await TestRegistry.start();
  registry.addPackage({ name: 'left-pad', versions: [{ version: '1.0.0', publishedAt: OLD }] });
});
afterAll(() => registry.close());

/** A project locking left-pad, with a user .npmrc of its own (init would add to it). */
function project(): { dir: string; env: NodeJS.ProcessEnv; snapshot(): Record<string, string> } {
  const dir = tempDir('si-fsfault-');
  writeProject(dir, registry, { 'left-pad': '1.0.0' });
  writeFileSync(join(dir, '.npmrc'), "# the team's own settings\nsave-exact=true\n");
  const env = cleanEnv(registry.url);
  const files = ['package.json', 'package-lock.json', '.npmrc'];
  return { dir, env, snapshot: () => Object.fromEntries(files.map((f) => [f, readFileSync(join(dir, f), 'latin1')])) };
}

describe('init into a broken .github', () => {
  it('.github is a file: exit 2 naming it, no stack, package.json/.npmrc/lockfile unchanged byte for byte', async () => {
    const p = project();
    writeFileSync(join(p.dir, '.github'), 'not a folder\n');
    // The environment is broken: nothing can create .github/workflows here.
    expect(() => mkdirSync(join(p.dir, '.github', 'workflows'), { recursive: true })).toThrow(/ENOTDIR|EEXIST/);
    const before = p.snapshot();

    const res = await cli(['init', '--ci', 'github', '--yes'], { cwd: p.dir, env: p.env });
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(`${join(p.dir, '.github')} is a file, not a folder`);
    expect(res.stderr).toMatch(/-> move or remove the file .*\.github/);
    expect(res.stderr).toContain('(error file-system: exit 2)');
    expect(noStackTrace(res.stdout + res.stderr)).toBe(true);
    expect(p.snapshot()).toEqual(before);
    expect(existsSync(join(p.dir, 'safe-install.policy.json'))).toBe(false);
  });

  it('.github/workflows is a dangling symbolic link: exit 2 naming the link, nothing written', async () => {
    const p = project();
    mkdirSync(join(p.dir, '.github'));
    symlinkSync(join(p.dir, 'gone'), join(p.dir, '.github', 'workflows'));
    expect(() => mkdirSync(join(p.dir, '.github', 'workflows'), { recursive: true })).toThrow(/ENOENT|EEXIST/);
    const before = p.snapshot();

    const res = await cli(['init', '--ci', 'github', '--yes'], { cwd: p.dir, env: p.env });
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(`${join(p.dir, '.github', 'workflows')} is a symbolic link to ${join(p.dir, 'gone')}, which does not exist`);
    expect(res.stderr).toMatch(/-> remove the link .*workflows or make it point to a folder that exists/);
    expect(noStackTrace(res.stdout + res.stderr)).toBe(true);
    expect(p.snapshot()).toEqual(before);
    expect(existsSync(join(p.dir, 'safe-install.policy.json'))).toBe(false);
    expect(lstatSync(join(p.dir, '.github', 'workflows')).isSymbolicLink()).toBe(true);
  });
});

describe('check with a broken policy, lockfile or cache', () => {
  it('the policy file is a folder: exit 2 naming it', async () => {
    const p = project();
    mkdirSync(join(p.dir, 'safe-install.policy.json'));
    const res = await cli(['check'], { cwd: p.dir, env: p.env });
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(`cannot read the policy ${join(p.dir, 'safe-install.policy.json')}: this is a folder where a file is expected (EISDIR)`);
    expect(res.stderr).toContain(`-> remove or rename the folder ${join(p.dir, 'safe-install.policy.json')}`);
    expect(noStackTrace(res.stdout + res.stderr)).toBe(true);
  });

  it('the lockfile is a folder: exit 2 naming it', async () => {
    const p = project();
    const lock = join(p.dir, 'package-lock.json');
    const text = readFileSync(lock, 'utf8');
    rmSync(lock);
    mkdirSync(lock);
    const res = await cli(['check'], { cwd: p.dir, env: p.env });
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(`${lock}: cannot read the lockfile: this is a folder where a file is expected (EISDIR)`);
    expect(res.stderr).toMatch(/-> /);
    expect(noStackTrace(res.stdout + res.stderr)).toBe(true);
    expect(text).toContain('left-pad');
  });

  it('the lockfile is a dangling symbolic link: exit 2 naming the link and its missing target, not "no lockfile"', async () => {
    const p = project();
    const lock = join(p.dir, 'package-lock.json');
    rmSync(lock);
    symlinkSync(join(p.dir, 'elsewhere.json'), lock);
    expect(existsSync(lock)).toBe(false);
    const res = await cli(['check'], { cwd: p.dir, env: p.env });
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(`${lock} is a symbolic link to ${join(p.dir, 'elsewhere.json')}, which does not exist`);
    expect(res.stderr).toContain('(error bad-lockfile: exit 2)');
    expect(noStackTrace(res.stdout + res.stderr)).toBe(true);
  });

  it('the cache folder is a file: check still asks the registry (the cache is only a speed-up), with no stack', async () => {
    const p = project();
    const file = join(tempDir('si-cachefile-'), 'cache');
    writeFileSync(file, 'not a folder\n');
    const res = await cli(['check'], { cwd: p.dir, env: { ...p.env, XDG_CACHE_HOME: file } });
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/1 names: 1 fetched/);
    expect(noStackTrace(res.stdout + res.stderr)).toBe(true);
    expect(readFileSync(file, 'utf8')).toBe('not a folder\n');
  });

  it('trust refresh into a cache folder that is a file: exit 2 naming the file, not "unreachable"', async () => {
    const p = project();
    const file = join(tempDir('si-cachefile-'), 'cache');
    writeFileSync(file, 'not a folder\n');
    const res = await cli(['trust', 'refresh', '--mirror-url', registry.url], { cwd: p.dir, env: { ...p.env, XDG_CACHE_HOME: file } });
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(`${file} is a file, not a folder`);
    expect(res.stderr).toContain('(error file-system: exit 2)');
    expect(res.stderr).not.toMatch(/unreachable/);
    expect(noStackTrace(res.stdout + res.stderr)).toBe(true);
    expect(readFileSync(file, 'utf8')).toBe('not a folder\n');
  });

  it('inspect with --cache-dir naming a file: exit 2 naming the file', async () => {
    const p = project();
    const file = join(tempDir('si-cachefile-'), 'cache');
    writeFileSync(file, 'not a folder\n');
    const res = await cli(['inspect', 'left-pad@1.0.0', '--cache-dir', file], { cwd: p.dir, env: p.env });
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(`${file} is a file, not a folder`);
    expect(res.stderr).toMatch(/-> move or remove the file/);
    expect(noStackTrace(res.stdout + res.stderr)).toBe(true);
    expect(readFileSync(file, 'utf8')).toBe('not a folder\n');
  });
});
