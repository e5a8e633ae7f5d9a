// Issue 14, bypass 3: a dependency's bin shadows a command. node_modules/.bin comes first on the PATH of every
// script the package manager runs, so a never-allowed package with no scripts at all that declares
// `"bin": {"node": "evil.sh"}` runs as soon as an allowed install script (or the project's own) calls `node`,
// while the report said only the allowed script ran. Now such a bin is a finding that blocks by default
// (bin-shadows-command; the policy's bins.allow lets a named package), decided from the registry manifest and the
// lockfile before download and from the install's real node_modules/.bin folders before any script runs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestRegistry } from '../registry/server.js';
import { BIN, OLD, run, withTools } from '../integration/helpers.js';
import { attackProject, noStackTrace } from './attack.js';

/** The shadowing `node`: records that it ran (with its arguments), then runs the real node so nothing looks wrong. */
const EVIL = `#!/bin/sh\necho "evilbin:node $*" >> "$SI_TEST_LOG"\nexec "${process.execPath}" "$@"\n`;
const X_JS = "require('fs').appendFileSync(process.env.SI_TEST_LOG, 'allowed-user:postinstall\\n')\n";

let registry: TestRegistry;

beforeAll(async () => {
  registry = await TestRegistry.start();
  registry.addPackage({ name: 'evilbin', versions: [{ version: '1.0.0', publishedAt: OLD, bin: { node: 'evil.sh' }, files: { 'evil.sh': EVIL, 'index.js': '' } }] });
  // The same bin, hidden from the registry manifest (the tarball's package.json declares it).
  registry.addPackage({
    name: 'hiddenbin',
    versions: [{ version: '1.0.0', publishedAt: OLD, bin: { node: 'evil.sh' }, manifestOverrides: { bin: undefined }, files: { 'evil.sh': EVIL, 'index.js': '' } }],
  });
  // An innocent package, whose lockfile entry an attacker can give a bin.
  registry.addPackage({ name: 'innocent', versions: [{ version: '1.0.0', publishedAt: OLD, files: { 'index.js': EVIL } }] });
  for (const dep of ['evilbin', 'hiddenbin', 'innocent']) {
    registry.addPackage({
      name: `user-of-${dep}`,
      versions: [{ version: '1.0.0', publishedAt: OLD, scripts: { postinstall: 'node x.js' }, dependencies: { [dep]: '^1.0.0' }, files: { 'x.js': X_JS.replace('allowed-user', `user-of-${dep}`) } }],
    });
  }
  // A parent with an allowed postinstall that calls node, bundling a child whose bin is `node`.
  const child = { name: 'bchild', version: '1.0.0', bin: { node: 'evil.sh' } };
  const parent = { name: 'bparent', version: '1.0.0', dependencies: { bchild: '^1.0.0' }, bundleDependencies: ['bchild'], scripts: { postinstall: 'node x.js' } };
  registry.addPackage({
    name: 'bparent',
    versions: [
      {
        version: '1.0.0',
        publishedAt: OLD,
        scripts: parent.scripts,
        dependencies: parent.dependencies,
        manifestOverrides: { bundleDependencies: ['bchild'] },
        files: {
          'package.json': JSON.stringify(parent),
          'x.js': X_JS.replace('allowed-user', 'bparent'),
          'node_modules/bchild/package.json': JSON.stringify(child),
          'node_modules/bchild/evil.sh': EVIL,
        },
      },
    ],
  });
  // Two packages with a bin of the same (unprotected) name.
  registry.addPackage({ name: 'tool-a', versions: [{ version: '1.0.0', publishedAt: OLD, bin: { 'si-test-tool': 'cli.js' }, files: { 'cli.js': '' } }] });
  registry.addPackage({ name: 'tool-b', versions: [{ version: '1.0.0', publishedAt: OLD, bin: { 'si-test-tool': 'cli.js' }, files: { 'cli.js': '' } }] });
});
afterAll(() => registry.close());

async function npmProject(deps: Record<string, string>, policy: object) {
  const p = attackProject(registry, { dependencies: deps });
  const lock = await p.npm('install', '--package-lock-only', '--ignore-scripts');
  expect(lock.code, lock.stderr).toBe(0);
  writeFileSync(join(p.dir, 'safe-install.policy.json'), JSON.stringify(policy));
  return p;
}

const lockfileOf = (dir: string) => JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8'));

describe('a dependency bin named like a command (npm)', () => {
  it('without the guard: plain npm ci runs the evil `node` when the allowed postinstall calls node', async () => {
    const p = await npmProject({ 'user-of-evilbin': '1.0.0' }, { scripts: { allow: ['user-of-evilbin'] } });
    expect(lockfileOf(p.dir).packages['node_modules/evilbin'].bin).toEqual({ node: 'evil.sh' });
    const plain = await p.npm('ci');
    expect(plain.code, plain.stderr).toBe(0);
    expect(p.ran()).toEqual(['evilbin:node x.js', 'user-of-evilbin:postinstall']);
  });

  it('the guard blocks it before anything is downloaded, naming the package, the bin and the way to allow it', async () => {
    const p = await npmProject({ 'user-of-evilbin': '1.0.0' }, { scripts: { allow: ['user-of-evilbin'] } });
    const res = await p.guard();
    expect(res.code, res.stdout + res.stderr).toBe(1);
    expect(res.stdout).toMatch(/evilbin@1\.0\.0 +bin-shadows-command: links a bin named "node" \(per the registry manifest\)/);
    expect(res.stdout).toContain('"bins": { "allow": ["evilbin"] }');
    expect(existsSync(join(p.dir, 'node_modules'))).toBe(false);
    expect(p.ran()).toEqual([]);
    expect(noStackTrace(res.stdout + res.stderr)).toBe(true);

    const sarif = await p.guard('check', '--format', 'sarif');
    expect(sarif.code).toBe(1);
    expect(JSON.parse(sarif.stdout).runs[0].results.map((r: { ruleId: string }) => r.ruleId)).toContain('bin-shadows-command');
  });

  it("a bin the policy's bins.allow names is let in (and then runs, as the user chose)", async () => {
    const p = await npmProject({ 'user-of-evilbin': '1.0.0' }, { scripts: { allow: ['user-of-evilbin'] }, bins: { allow: ['evilbin'] } });
    const res = await p.guard();
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(res.stdout).toMatch(/Bins that shadow a command\n +~ evilbin@1\.0\.0 +bin-shadows-command: .*allowed by policy safe-install\.policy\.json bins\.allow \("evilbin"\)/);
    expect(p.ran()).toEqual(['evilbin:node x.js', 'user-of-evilbin:postinstall']);
  });

  it('a bin added to an innocent package in the lockfile: plain npm ci links and runs it; the guard blocks it', async () => {
    const p = await npmProject({ 'user-of-innocent': '1.0.0' }, { scripts: { allow: ['user-of-innocent'] } });
    const lock = lockfileOf(p.dir);
    lock.packages['node_modules/innocent'].bin = { node: 'index.js' };
    writeFileSync(join(p.dir, 'package-lock.json'), JSON.stringify(lock, null, 2));
    const plain = await p.npm('ci');
    expect(plain.code, plain.stderr).toBe(0);
    expect(p.ran()).toEqual(['evilbin:node x.js', 'user-of-innocent:postinstall']);

    const q = await npmProject({ 'user-of-innocent': '1.0.0' }, { scripts: { allow: ['user-of-innocent'] } });
    writeFileSync(join(q.dir, 'package-lock.json'), JSON.stringify(lock, null, 2));
    const res = await q.guard();
    expect(res.code, res.stdout + res.stderr).toBe(1);
    expect(res.stdout).toMatch(/innocent@1\.0\.0 +bin-shadows-command: links a bin named "node" \(per the lockfile\)/);
    expect(q.ran()).toEqual([]);
  });

  it('a command on the PATH the guard runs with is protected too; the same package as that command is not', async () => {
    const bin = join(attackProject(registry, {}).dir, 'bin');
    const p = await npmProject({ 'tool-a': '1.0.0' }, {});
    const { mkdirSync, symlinkSync } = await import('node:fs');
    mkdirSync(bin);
    writeFileSync(join(bin, 'si-test-tool'), '#!/bin/sh\n', { mode: 0o755 });
    const withPath = { ...p.env, PATH: `${bin}:${p.env.PATH}` };
    const res = await run(process.execPath, [BIN, 'check'], { cwd: p.dir, env: withPath });
    expect(res.code, res.stdout + res.stderr).toBe(1);
    expect(res.stdout).toContain(
      `tool-a@1.0.0  bin-shadows-command: links a bin named "si-test-tool" (per the registry manifest), which runs in place of \`si-test-tool\`, the command ${join(bin, 'si-test-tool')} on PATH`,
    );

    // A global install of tool-a itself (its bin a link into .../node_modules/tool-a/) is not shadowed by tool-a.
    const globalBin = join(attackProject(registry, {}).dir, 'gbin');
    mkdirSync(join(globalBin, '..', 'lib', 'node_modules', 'tool-a'), { recursive: true });
    mkdirSync(globalBin);
    writeFileSync(join(globalBin, '..', 'lib', 'node_modules', 'tool-a', 'cli.js'), '');
    symlinkSync(join(globalBin, '..', 'lib', 'node_modules', 'tool-a', 'cli.js'), join(globalBin, 'si-test-tool'));
    const own = await run(process.execPath, [BIN, 'check'], { cwd: p.dir, env: { ...p.env, PATH: `${globalBin}:${p.env.PATH}` } });
    expect(own.code, own.stdout + own.stderr).toBe(0);
  });

  it('two packages that link the same bin name are reported', async () => {
    const p = await npmProject({ 'tool-a': '1.0.0', 'tool-b': '1.0.0' }, {});
    const res = await p.guard('check');
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(res.stdout).toMatch(/tool-a@1\.0\.0 +bin-name-conflict: links a bin named "si-test-tool" into node_modules\/\.bin, as tool-b@1\.0\.0 also does/);
    expect(res.stdout).toMatch(/tool-b@1\.0\.0 +bin-name-conflict: links a bin named "si-test-tool" into node_modules\/\.bin, as tool-a@1\.0\.0 also does/);
  });
});

describe('a bundled package with a `node` bin the lockfile does not record (npm links bundled bins from the tarball)', () => {
  async function bundledProject(policy: object) {
    const p = await npmProject({ bparent: '1.0.0' }, policy);
    const lock = lockfileOf(p.dir);
    expect(lock.packages['node_modules/bparent/node_modules/bchild']).toMatchObject({ inBundle: true, bin: { node: 'evil.sh' } });
    delete lock.packages['node_modules/bparent/node_modules/bchild'].bin;
    writeFileSync(join(p.dir, 'package-lock.json'), JSON.stringify(lock, null, 2));
    return p;
  }

  it('without the guard: plain npm ci links it and the allowed parent postinstall runs it', async () => {
    const p = await bundledProject({ scripts: { allow: ['bparent'] } });
    const plain = await p.npm('ci');
    expect(plain.code, plain.stderr).toBe(0);
    expect(p.ran()).toEqual(['evilbin:node x.js', 'bparent:postinstall']);
  });

  it('the guard finds it on disk after extraction, runs no script, and removes the link', async () => {
    const p = await bundledProject({ scripts: { allow: ['bparent'] } });
    const res = await p.guard();
    expect(res.code, res.stdout + res.stderr).toBe(1);
    expect(res.stdout).toMatch(/x bchild@1\.0\.0 +bin-shadows-command: links a bin named "node" \(linked at node_modules\/bparent\/node_modules\/\.bin\/node\)/);
    expect(res.stdout).toContain('Install refused after extraction: no install script has run.');
    expect(res.stdout).toContain('removed node_modules/bparent/node_modules/.bin/node');
    expect(p.ran()).toEqual([]);
    expect(existsSync(join(p.dir, 'node_modules/bparent/node_modules/.bin/node'))).toBe(false);
    expect(noStackTrace(res.stdout + res.stderr)).toBe(true);
  });
});

describe('pnpm: a `node` bin in a dependency of an allowed package', () => {
  async function pnpmProject(dep: 'evilbin' | 'hiddenbin', policy: object) {
    const p = attackProject(registry, { dependencies: { [`user-of-${dep}`]: '1.0.0' } }, { CI: '1' });
    const env = withTools(p.env, { pnpm: 'pnpm' });
    writeFileSync(join(p.dir, '.npmrc'), `registry=${registry.url}\nstore-dir=${join(p.dir, '.store')}\ncache-dir=${join(p.dir, '.cache')}\n`);
    writeFileSync(join(p.dir, 'pnpm-workspace.yaml'), `onlyBuiltDependencies:\n  - user-of-${dep}\n`);
    const lock = await run('pnpm', ['install', '--lockfile-only'], { cwd: p.dir, env });
    expect(lock.code, lock.stdout + lock.stderr).toBe(0);
    writeFileSync(join(p.dir, 'safe-install.policy.json'), JSON.stringify(policy));
    return { ...p, env, pnpm: (...args: string[]) => run('pnpm', args, { cwd: p.dir, env }), guard: (...args: string[]) => run(process.execPath, [BIN, ...args], { cwd: p.dir, env }) };
  }

  it('without the guard: plain pnpm install --frozen-lockfile runs the evil `node` in the allowed postinstall', async () => {
    const p = await pnpmProject('evilbin', {});
    const plain = await p.pnpm('install', '--frozen-lockfile');
    expect(plain.code, plain.stdout + plain.stderr).toBe(0);
    expect(p.ran()).toEqual(['evilbin:node x.js', 'user-of-evilbin:postinstall']);
  });

  it('the guard blocks it before pnpm fetches anything', async () => {
    const p = await pnpmProject('evilbin', { scripts: { allow: ['user-of-evilbin'] } });
    const res = await p.guard();
    expect(res.code, res.stdout + res.stderr).toBe(1);
    expect(res.stdout).toMatch(/evilbin@1\.0\.0 +bin-shadows-command: links a bin named "node" \(per the registry manifest\)/);
    expect(existsSync(join(p.dir, 'node_modules'))).toBe(false);
    expect(p.ran()).toEqual([]);
  });

  it('a bin hidden from the registry manifest, with hasBin added to the lockfile: plain pnpm runs it; the guard finds it on disk', async () => {
    const p = await pnpmProject('hiddenbin', { scripts: { allow: ['user-of-hiddenbin'] } });
    const file = join(p.dir, 'pnpm-lock.yaml');
    const text = readFileSync(file, 'utf8');
    const tampered = text.replace(/(\n  hiddenbin@1\.0\.0:\n    resolution: \{[^}]*\}\n)/, '$1    hasBin: true\n');
    expect(tampered).not.toBe(text);
    writeFileSync(file, tampered);
    const plain = await p.pnpm('install', '--frozen-lockfile');
    expect(plain.code, plain.stdout + plain.stderr).toBe(0);
    expect(p.ran()).toEqual(['evilbin:node x.js', 'user-of-hiddenbin:postinstall']);

    const q = await pnpmProject('hiddenbin', { scripts: { allow: ['user-of-hiddenbin'] } });
    writeFileSync(join(q.dir, 'pnpm-lock.yaml'), tampered);
    const res = await q.guard();
    expect(res.code, res.stdout + res.stderr).toBe(1);
    expect(res.stdout).toMatch(
      /x hiddenbin@1\.0\.0 +bin-shadows-command: links a bin named "node" \(linked at node_modules\/\.pnpm\/user-of-hiddenbin@1\.0\.0\/node_modules\/user-of-hiddenbin\/node_modules\/\.bin\/node\)/,
    );
    expect(res.stdout).toContain('Install refused after extraction: no install script has run.');
    expect(q.ran()).toEqual([]);
    expect(existsSync(join(q.dir, 'node_modules/.pnpm/user-of-hiddenbin@1.0.0/node_modules/user-of-hiddenbin/node_modules/.bin/node'))).toBe(false);
    expect(noStackTrace(res.stdout + res.stderr)).toBe(true);
  });
});
