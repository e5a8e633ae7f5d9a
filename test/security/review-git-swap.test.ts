// Review of issue 14, bypass 2: package.json asks for one git repository, the lockfile fetches another (or another
// commit than the one package.json pins). npm refuses (arborist's dep-valid: same repository, same commit when the
// spec names one), but pnpm installs whatever `resolution: {repo, commit}` names under the spec's key, and the
// guard, which compared only the kinds (a git spec may resolve to "git"), allowed it as a direct git dependency.
// The repositories are local (git+file:), which pnpm fetches as it would any other.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestRegistry } from '../registry/server.js';
import { BIN, OLD, TOOLS, run, tempDir, withTools } from '../integration/helpers.js';
import { attackProject, noStackTrace } from './attack.js';

const POLICY = { scripts: { allow: ['victim'] } };

let registry: TestRegistry;
let repos: string;
const commits: Record<string, string> = {};
const commitOf = (who: string): string => {
  const c = commits[who];
  if (c === undefined) throw new Error(`no commit recorded for ${who}`);
  return c;
};

/** A git repository holding a package `victim` whose postinstall logs `who`. */
async function repo(who: string, env: NodeJS.ProcessEnv): Promise<string> {
  const dir = join(repos, who);
  mkdirSync(dir);
  const logger = `require('fs').appendFileSync(process.env.SI_TEST_LOG, '${who} victim:postinstall\\n')`;
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'victim', version: '1.0.0', scripts: { postinstall: 'node log.js' } }));
  writeFileSync(join(dir, 'log.js'), logger);
  const git = (...args: string[]) => run('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', '-c', 'init.defaultBranch=main', ...args], { cwd: dir, env });
  for (const args of [
    ['init', '-q'],
    ['add', '.'],
    ['commit', '-qm', who],
  ])
    expect((await git(...args)).code).toBe(0);
  commits[who] = (await git('rev-parse', 'HEAD')).stdout.trim();
  // A commit on another branch (as a fork's pull request commit is reachable through the upstream repository).
  expect((await git('checkout', '-qb', 'pr')).code).toBe(0);
  writeFileSync(join(dir, 'log.js'), logger.replace(`'${who} `, `'${who}-pr `));
  for (const args of [['commit', '-qam', `${who}-pr`]]) expect((await git(...args)).code).toBe(0);
  commits[`${who}-pr`] = (await git('rev-parse', 'HEAD')).stdout.trim();
  expect((await git('checkout', '-q', 'main')).code).toBe(0);
  return dir;
}

beforeAll(async () => {
  registry = await TestRegistry.start();
  // The registry's victim, which a catalog range asks for.
  registry.addPackage({ name: 'victim', versions: [{ version: '1.0.0', publishedAt: OLD, files: { 'log.js': '// the registry package\n' } }] });
  repos = tempDir('si-git-repos-');
  const env = { ...process.env, HOME: repos, GIT_CONFIG_NOSYSTEM: '1' };
  await repo('good', env);
  await repo('evil', env);
});
afterAll(() => registry.close());

async function pnpmProject(spec: string, swap?: { repo: string; commit: string }) {
  const p = attackProject(registry, { dependencies: { victim: spec } }, { CI: '1' });
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
    const text = before.replace(/resolution: \{commit: [0-9a-f]+, repo: [^,}]+/, `resolution: {commit: ${swap.commit}, repo: ${swap.repo}`);
    expect(text).not.toBe(before);
    writeFileSync(file, text);
  }
  return { ...p, env, pnpm };
}

const installed = (dir: string) => readFileSync(join(dir, 'node_modules', 'victim', 'log.js'), 'utf8');

describe('pnpm 10: a git dependency whose lockfile resolution names another repository', () => {
  const goodSpec = () => `git+file://${join(repos, 'good')}`;
  const evilRepo = () => ({ repo: `file://${join(repos, 'evil')}`, commit: commitOf('evil') });

  it("plain pnpm install --frozen-lockfile installs the other repository's code; safe-install blocks it", async () => {
    const plain = await pnpmProject(goodSpec(), evilRepo());
    const install = await plain.pnpm('install', '--frozen-lockfile');
    expect(install.code, install.stdout + install.stderr).toBe(0);
    expect(installed(plain.dir)).toContain("'evil victim:postinstall");

    const guarded = await pnpmProject(goodSpec(), evilRepo());
    const res = await run(process.execPath, [BIN], { cwd: guarded.dir, env: guarded.env });
    expect(res.code, res.stdout + res.stderr).toBe(1);
    expect(res.stdout).toMatch(/victim@.* +source-mismatch/);
    expect(res.stdout).toContain(`package.json asks for "${goodSpec()}" but the lockfile resolves it to a git repository (file://${join(repos, 'evil')}#${commits.evil})`);
    expect(noStackTrace(res.stdout + res.stderr)).toBe(true);
    expect(guarded.ran()).toEqual([]);
    expect(existsSync(join(guarded.dir, 'node_modules', 'victim'))).toBe(false);
  });

  it('a commit package.json pins must be the one the lockfile fetches, in the same repository', async () => {
    const pinned = `${goodSpec()}#${commits.good}`;
    const other = { repo: `file://${join(repos, 'good')}`, commit: commitOf('good-pr') };
    const plain = await pnpmProject(pinned, other);
    const install = await plain.pnpm('install', '--frozen-lockfile');
    expect(install.code, install.stdout + install.stderr).toBe(0);
    expect(installed(plain.dir)).toContain("'good-pr victim:postinstall");

    const guarded = await pnpmProject(pinned, other);
    const res = await run(process.execPath, [BIN, 'check'], { cwd: guarded.dir, env: guarded.env });
    expect(res.code, res.stdout + res.stderr).toBe(1);
    expect(res.stdout).toMatch(/victim@.* +source-mismatch/);
  });

  it('the repository package.json asks for is still a direct dependency, allowed', async () => {
    const p = await pnpmProject(goodSpec());
    const res = await run(process.execPath, [BIN], { cwd: p.dir, env: p.env });
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(p.ran()).toEqual(['good victim:postinstall']);
  });
});

describe('pnpm 10: a workspace dependency (workspace:*) the lockfile resolves to a git repository', () => {
  async function workspaceProject(swap: boolean) {
    const p = attackProject(registry, { dependencies: { victim: 'workspace:*' } }, { CI: '1' });
    const env = withTools(p.env, { pnpm: 'pnpm' });
    mkdirSync(join(p.dir, 'packages', 'victim'), { recursive: true });
    writeFileSync(join(p.dir, 'packages', 'victim', 'package.json'), JSON.stringify({ name: 'victim', version: '1.0.0' }));
    writeFileSync(join(p.dir, 'packages', 'victim', 'log.js'), "// the project's own code\n");
    writeFileSync(join(p.dir, '.npmrc'), `registry=${registry.url}\nstore-dir=${join(p.dir, '.store')}\ncache-dir=${join(p.dir, '.cache')}\n`);
    writeFileSync(join(p.dir, 'pnpm-workspace.yaml'), "packages:\n  - 'packages/*'\nonlyBuiltDependencies:\n  - 'victim'\n");
    const pnpm = (...args: string[]) => run('pnpm', args, { cwd: p.dir, env });
    const lock = await pnpm('install', '--lockfile-only');
    expect(lock.code, lock.stdout + lock.stderr).toBe(0);
    writeFileSync(join(p.dir, 'safe-install.policy.json'), JSON.stringify(POLICY));
    if (swap) {
      const file = join(p.dir, 'pnpm-lock.yaml');
      const before = readFileSync(file, 'utf8');
      const id = `victim@git+file://${join(repos, 'evil')}#${commits.evil}`;
      const text =
        before.replace('version: link:packages/victim', `version: git+file://${join(repos, 'evil')}#${commits.evil}`) +
        `\npackages:\n\n  ${id}:\n    resolution: {commit: ${commits.evil}, repo: file://${join(repos, 'evil')}, type: git}\n    version: 1.0.0\n\nsnapshots:\n\n  ${id}: {}\n`;
      expect(text).not.toBe(before);
      writeFileSync(file, text);
    }
    return { ...p, env, pnpm };
  }

  it("plain pnpm install --frozen-lockfile installs the repository's code in place of the workspace; safe-install blocks it", async () => {
    const plain = await workspaceProject(true);
    const install = await plain.pnpm('install', '--frozen-lockfile');
    expect(install.code, install.stdout + install.stderr).toBe(0);
    expect(installed(plain.dir)).toContain("'evil victim:postinstall");

    const guarded = await workspaceProject(true);
    const res = await run(process.execPath, [BIN], { cwd: guarded.dir, env: guarded.env });
    expect(res.code, res.stdout + res.stderr).toBe(1);
    expect(res.stdout).toContain('package.json asks for "workspace:*" but the lockfile resolves it to a git repository');
    expect(noStackTrace(res.stdout + res.stderr)).toBe(true);
    expect(guarded.ran()).toEqual([]);
    expect(existsSync(join(guarded.dir, 'node_modules', 'victim'))).toBe(false);
  });

  it('the workspace link itself is the project, allowed', async () => {
    const p = await workspaceProject(false);
    const res = await run(process.execPath, [BIN], { cwd: p.dir, env: p.env });
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(installed(p.dir)).toBe("// the project's own code\n");
  });
});

describe('pnpm 10: a catalog dependency (catalog:, a registry range in pnpm-workspace.yaml) the lockfile resolves to a git repository', () => {
  async function catalogProject(swap: boolean, entry = '^1.0.0', spec = 'catalog:') {
    const p = attackProject(registry, { dependencies: { victim: spec } }, { CI: '1' });
    const env = withTools(p.env, { pnpm: 'pnpm' });
    writeFileSync(join(p.dir, '.npmrc'), `registry=${registry.url}\nstore-dir=${join(p.dir, '.store')}\ncache-dir=${join(p.dir, '.cache')}\n`);
    writeFileSync(
      join(p.dir, 'pnpm-workspace.yaml'),
      `catalogs:\n  default:\n    victim: ${JSON.stringify(entry)}\n  tools:\n    victim: ${JSON.stringify(entry)}\nonlyBuiltDependencies:\n  - 'victim'\n`,
    );
    const pnpm = (...args: string[]) => run('pnpm', args, { cwd: p.dir, env });
    const lock = await pnpm('install', '--lockfile-only');
    expect(lock.code, lock.stdout + lock.stderr).toBe(0);
    writeFileSync(join(p.dir, 'safe-install.policy.json'), JSON.stringify(POLICY));
    if (swap) {
      const file = join(p.dir, 'pnpm-lock.yaml');
      const before = readFileSync(file, 'utf8');
      const git = `git+file://${join(repos, 'evil')}#${commits.evil}`;
      const text = before
        .replace(/(importers:[\s\S]*?specifier: 'catalog:'\n\s+version: )1\.0\.0/, `$1${git}`)
        .replace(/\n  victim@1\.0\.0:\n    resolution: \{[^}]+\}/, `\n  victim@${git}:\n    resolution: {commit: ${commits.evil}, repo: file://${join(repos, 'evil')}, type: git}\n    version: 1.0.0`)
        .replace(/\n  victim@1\.0\.0: \{\}/, `\n  victim@${git}: {}`);
      expect(text).not.toBe(before);
      writeFileSync(file, text);
    }
    return { ...p, env, pnpm };
  }

  it("plain pnpm install --frozen-lockfile installs the repository's code; safe-install blocks it", async () => {
    const plain = await catalogProject(true);
    const install = await plain.pnpm('install', '--frozen-lockfile');
    expect(install.code, install.stdout + install.stderr + readFileSync(join(plain.dir, 'pnpm-lock.yaml'), 'utf8')).toBe(0);
    expect(installed(plain.dir)).toContain("'evil victim:postinstall");

    const guarded = await catalogProject(true);
    const res = await run(process.execPath, [BIN], { cwd: guarded.dir, env: guarded.env });
    expect(res.code, res.stdout + res.stderr).toBe(1);
    expect(res.stdout).toContain('package.json asks for "^1.0.0" but the lockfile resolves it to a git repository');
    expect(noStackTrace(res.stdout + res.stderr)).toBe(true);
    expect(guarded.ran()).toEqual([]);
  });

  it("a catalog entry that is itself a git repository is the project's choice, allowed (a named catalog too)", async () => {
    const p = await catalogProject(false, `git+file://${join(repos, 'good')}`, 'catalog:tools');
    const res = await run(process.execPath, [BIN], { cwd: p.dir, env: p.env });
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(p.ran()).toEqual(['good victim:postinstall']);
  });
});

describe('yarn 1: a git dependency whose yarn.lock resolved names another repository', () => {
  async function yarnProject(swap: boolean) {
    const spec = `git+file://${join(repos, 'good')}`;
    const p = attackProject(registry, { license: 'MIT', dependencies: { victim: spec } }, { YARN_CACHE_FOLDER: tempDir('si-yarn-cache-') });
    const yarn = (...args: string[]) => run(process.execPath, [TOOLS.yarn1, ...args, '--non-interactive'], { cwd: p.dir, env: p.env });
    const lock = await yarn('install', '--ignore-scripts');
    expect(lock.code, lock.stdout + lock.stderr).toBe(0);
    rmSync(join(p.dir, 'node_modules'), { recursive: true, force: true });
    writeFileSync(join(p.dir, 'safe-install.policy.json'), JSON.stringify(POLICY));
    if (swap) {
      const file = join(p.dir, 'yarn.lock');
      const before = readFileSync(file, 'utf8');
      const text = before.replace(/resolved "[^"]+"/, `resolved "git+file://${join(repos, 'evil')}#${commits.evil}"`);
      expect(text).not.toBe(before);
      writeFileSync(file, text);
    }
    return { ...p, yarn, spec };
  }

  it('plain yarn install --frozen-lockfile installs the other repository and runs its script; safe-install blocks it', async () => {
    const plain = await yarnProject(true);
    const install = await plain.yarn('install', '--frozen-lockfile');
    expect(install.code, install.stdout + install.stderr).toBe(0);
    expect(plain.ran()).toEqual(['evil victim:postinstall']);

    const guarded = await yarnProject(true);
    const res = await run(process.execPath, [BIN], { cwd: guarded.dir, env: withTools(guarded.env, { yarn: 'yarn1' }) });
    expect(res.code, res.stdout + res.stderr).toBe(1);
    expect(res.stdout).toContain(`package.json asks for "${guarded.spec}" but the lockfile resolves it to a git repository`);
    expect(noStackTrace(res.stdout + res.stderr)).toBe(true);
    expect(guarded.ran()).toEqual([]);
    expect(existsSync(join(guarded.dir, 'node_modules', 'victim'))).toBe(false);
  });

  it('the repository package.json asks for is allowed', async () => {
    const p = await yarnProject(false);
    const res = await run(process.execPath, [BIN], { cwd: p.dir, env: withTools(p.env, { yarn: 'yarn1' }) });
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(p.ran()).toEqual(['good victim:postinstall']);
  });
});
