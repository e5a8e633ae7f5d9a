// The published package, end to end (issue 19): `npm pack` of this checkout installed into a project with the
// real npm adds exactly one package (the one-file build: no dependencies, no install scripts), and the guard
// never removes itself: in a project set up with init and a 30-day policy, npm's own age gate fails `npm ci`
// before extraction (node_modules gone) and the copy of the guard init kept approves the young version; the
// hook then refuses the install, removes what it holds but not itself, and approve and check run from the
// same project's node_modules.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestRegistry } from '../registry/server.js';
import { cleanEnv, npm, OLD, ROOT, run, tempDir } from './helpers.js';

const DAY = 86_400_000;
let registry: TestRegistry;
let tarball: string;

beforeAll(async () => {
  registry = await TestRegistry.start();
  registry.addPackage({ name: 'plain', versions: [{ version: '1.0.0', publishedAt: OLD }] });
  registry.addPackage({
    name: 'fresh',
    versions: [
      { version: '1.0.0', publishedAt: OLD },
      { version: '1.1.0', publishedAt: new Date(Date.now() - 10 * DAY).toISOString() },
    ],
  });
  const dest = tempDir('si-pack-');
  const packed = await run('npm', ['pack', '--pack-destination', dest, '--json'], { cwd: ROOT, env: cleanEnv(registry.url) });
  expect(packed.code, packed.stderr).toBe(0);
  tarball = join(dest, (JSON.parse(packed.stdout) as { filename: string }[])[0]!.filename);
}, 120_000);
afterAll(() => registry.close());

/** A project with the packed guard installed as a devDependency, the way a user adds it. */
async function projectWithGuard() {
  const dir = tempDir('si-proj-');
  const env = cleanEnv(registry.url);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0' }, null, 2) + '\n');
  const added = await npm(['install', '--save-dev', tarball], { cwd: dir, env });
  expect(added.code, added.stdout + added.stderr).toBe(0);
  return { dir, env, npx: (args: string[]) => run('npx', ['--no-install', 'safe-install', ...args], { cwd: dir, env }) };
}

describe('the packed guard', () => {
  it('installs as exactly one package with no install scripts, and runs', async () => {
    const p = await projectWithGuard();
    const lock = JSON.parse(readFileSync(join(p.dir, 'package-lock.json'), 'utf8')) as { packages: Record<string, { hasInstallScript?: boolean; dependencies?: object }> };
    expect(Object.keys(lock.packages)).toEqual(['', 'node_modules/safe-install']);
    expect(lock.packages['node_modules/safe-install']!.hasInstallScript).toBeUndefined();
    expect(lock.packages['node_modules/safe-install']!.dependencies).toBeUndefined();
    expect(readdirSync(join(p.dir, 'node_modules')).filter((n) => !n.startsWith('.'))).toEqual(['safe-install']);
    const version = await p.npx(['--version']);
    expect(version.code, version.stderr).toBe(0);
    expect(version.stdout.trim()).toBe((JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version);
  });

  it('through npx from a registry: one package fetched (nothing else resolved), and it runs', async () => {
    // The packed tarball's files, served by the loopback registry as safe-install@<version>.
    const unpacked = tempDir('si-unpacked-');
    expect((await run('tar', ['-xzf', tarball, '-C', unpacked], { cwd: unpacked, env: cleanEnv(registry.url) })).code).toBe(0);
    const files: Record<string, Buffer> = {};
    const walk = (rel: string): void => {
      for (const e of readdirSync(join(unpacked, 'package', rel), { withFileTypes: true })) {
        const r = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) walk(r);
        else files[r] = readFileSync(join(unpacked, 'package', r));
      }
    };
    walk('');
    const manifest = JSON.parse(files['package.json']!.toString('utf8')) as { version: string; bin: Record<string, string> };
    registry.addPackage({ name: 'safe-install', versions: [{ version: manifest.version, publishedAt: OLD, files, bin: manifest.bin }] });
    const dir = tempDir('si-npx-');
    const env = cleanEnv(registry.url);
    const res = await run('npx', ['--yes', `safe-install@${manifest.version}`, '--version'], { cwd: dir, env });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout.trim()).toBe(manifest.version);
    // What npx installed for it: the one package.
    const npxDir = join(env.npm_config_cache!, '_npx');
    const installs = readdirSync(npxDir);
    expect(installs).toHaveLength(1);
    expect(readdirSync(join(npxDir, installs[0]!, 'node_modules')).filter((n) => !n.startsWith('.'))).toEqual(['safe-install']);
  });

  it('a package half removed (its bundle gone) says so in one line, without a stack', async () => {
    const p = await projectWithGuard();
    rmSync(join(p.dir, 'node_modules', 'safe-install', 'dist', 'safe-install.mjs'));
    const res = await p.npx(['check']);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/^safe-install: cannot load \S+safe-install\.mjs: ERR_MODULE_NOT_FOUND\n  -> reinstall safe-install/);
    expect(res.stderr).not.toMatch(/\n\s+at /);
  });

  it('the hook refuses and removes what it holds, and the next steps it prints run from the same project, with node_modules or without', async () => {
    const p = await projectWithGuard();
    const added = await npm(['install', '--save-exact', 'plain@1.0.0', 'fresh@1.1.0'], { cwd: p.dir, env: p.env });
    expect(added.code, added.stderr).toBe(0);
    writeFileSync(join(p.dir, 'safe-install.policy.json'), JSON.stringify({ minimumReleaseAge: '30d', requireProvenance: ['plain'] }, null, 2));
    const init = await p.npx(['init', '--yes']);
    expect(init.code, init.stdout + init.stderr).toBe(0);
    expect(readFileSync(join(p.dir, '.npmrc'), 'utf8')).toContain('min-release-age=30');
    expect(init.stdout).toContain('node .safe-install/guard/dist/safe-install.mjs <command>');
    expect(existsSync(join(p.dir, '.safe-install', 'guard', 'dist', 'safe-install.mjs'))).toBe(true);

    // A teammate's plain npm ci: the hook holds fresh (10 days old) and plain (no provenance) and removes them.
    const hooked = await npm(['ci'], { cwd: p.dir, env: p.env });
    const said = hooked.stdout + hooked.stderr;
    expect(hooked.code, said).not.toBe(0);
    expect(said).toContain('Removed from node_modules: node_modules/fresh, node_modules/plain');
    expect(said).toContain('safe-install approve plain@1.0.0 --reason');
    expect(said).toContain('safe-install approve fresh@1.1.0 --reason');
    expect(said).toContain('run these commands as `node .safe-install/guard/dist/safe-install.mjs <command>`');
    expect(existsSync(join(p.dir, 'node_modules', 'plain'))).toBe(false);
    expect(existsSync(join(p.dir, 'node_modules', 'safe-install', 'dist', 'safe-install.mjs'))).toBe(true);

    // The printed next step, from the project's node_modules.
    const approve = await p.npx(['approve', 'plain@1.0.0', '--reason', 'reviewed: built in CI without provenance']);
    expect(approve.code, approve.stdout + approve.stderr).toBe(0);
    // node_modules gone (removed by hand, or by an npm ci that fails after clearing it): npx finds no guard,
    // the copy runs the same commands.
    rmSync(join(p.dir, 'node_modules'), { recursive: true, force: true });
    expect((await p.npx(['check'])).code).not.toBe(0);
    const copy = (args: string[]) => run(process.execPath, [join('.safe-install', 'guard', 'dist', 'safe-install.mjs'), ...args], { cwd: p.dir, env: p.env });
    const approved = await copy(['approve', 'fresh@1.1.0', '--reason', 'urgent fix']);
    expect(approved.code, approved.stdout + approved.stderr).toBe(0);
    const checked = await copy(['check']);
    expect(checked.code, checked.stdout + checked.stderr).toBe(0);

    // The install now passes the hook, and check runs from node_modules again.
    const ci = await npm(['ci'], { cwd: p.dir, env: p.env });
    expect(ci.code, ci.stdout + ci.stderr).toBe(0);
    expect(existsSync(join(p.dir, 'node_modules', 'plain', 'package.json'))).toBe(true);
    const check = await p.npx(['check']);
    expect(check.code, check.stdout + check.stderr).toBe(0);
  });

  it('holds the guard itself like any package, but never removes it: check still runs afterwards', async () => {
    const p = await projectWithGuard();
    expect((await npm(['install', '--save-exact', 'plain@1.0.0'], { cwd: p.dir, env: p.env })).code).toBe(0);
    // Every direct non-registry dependency blocked: the guard itself (installed from its tarball) is held.
    writeFileSync(join(p.dir, 'safe-install.policy.json'), JSON.stringify({ sources: { direct: 'block' } }, null, 2));
    expect((await p.npx(['init', '--yes'])).code).toBe(0);
    const hooked = await npm(['ci'], { cwd: p.dir, env: p.env });
    const said = hooked.stdout + hooked.stderr;
    expect(hooked.code, said).not.toBe(0);
    expect(said).toMatch(/x safe-install@\S+ /);
    expect(said).toContain('Kept in node_modules: node_modules/safe-install (the guard itself');
    expect(said).not.toContain('Removed from node_modules: node_modules/safe-install');
    expect(existsSync(join(p.dir, 'node_modules', 'safe-install', 'dist', 'safe-install.mjs'))).toBe(true);
    expect(existsSync(join(p.dir, 'node_modules', '.bin', 'safe-install'))).toBe(true);
    const check = await p.npx(['check']);
    expect(check.code).toBe(1); // still held, said plainly
    expect(check.stdout).toMatch(/safe-install@/);
    expect(check.stderr).not.toMatch(/ERR_MODULE_NOT_FOUND|\n\s+at /);
  });
});
