// What the package managers' own age gates do with an already-locked young version, measured with the real
// tools (npm on PATH, pinned pnpm 10 and yarn 4): the README's comparison cites these. Each gate is set to 7 days
// and the lockfile locks a version published 2 days ago; safe-install refuses that tree in every case.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestRegistry } from '../registry/server.js';
import { cleanEnv, cli, lockWith, npm, run, tempDir, TOOLS } from './helpers.js';

const DAY = 86_400_000;
const ago = (days: number) => new Date(Date.now() - days * DAY).toISOString();

let registry: TestRegistry;
beforeAll(async () => {
  registry = await TestRegistry.start();
  registry.addPackage({ name: 'settled', versions: [{ version: '1.0.0', publishedAt: ago(300) }] });
  registry.addPackage({
    name: 'fresh',
    versions: [
      { version: '1.0.0', publishedAt: ago(90) },
      { version: '1.1.0', publishedAt: ago(2) },
    ],
  });
});
afterAll(() => registry?.close());

async function lockedProject(tool: Parameters<typeof lockWith>[0]) {
  const dir = tempDir(`si-own-${tool}-`);
  const env = cleanEnv(registry.url);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true, dependencies: { settled: '1.0.0', fresh: '1.1.0' } }));
  await lockWith(tool, dir, registry.url, env);
  return { dir, env };
}

const installed = (dir: string) => existsSync(join(dir, 'node_modules/fresh/package.json')) && JSON.parse(readFileSync(join(dir, 'node_modules/fresh/package.json'), 'utf8')).version;

/** safe-install refuses the same tree; returns what its report says the package manager guards itself. */
async function guardRefuses(dir: string, env: NodeJS.ProcessEnv): Promise<string> {
  const res = await cli(['check', '--json'], { cwd: dir, env });
  expect(res.code).toBe(1);
  const report = JSON.parse(res.stdout);
  expect(report.packages.find((p: { name: string }) => p.name === 'fresh').findings.map((f: { code: string }) => f.code)).toContain('too-young');
  return report.packageManager.ownGuards.join('\n');
}

describe("package managers' own age gates on a frozen install of a young locked version", () => {
  it("npm 11 (min-release-age=7 in .npmrc), lockfile with `resolved` (npm's default): npm ci installs it; safe-install refuses", async () => {
    const { dir, env } = await lockedProject('npm');
    expect(JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8')).packages['node_modules/fresh'].resolved).toMatch(/^http/);
    writeFileSync(join(dir, '.npmrc'), 'min-release-age=7\n');
    const version = await npm(['--version'], { cwd: dir, env });
    expect(Number.parseInt(version.stdout, 10)).toBeGreaterThanOrEqual(11);
    const res = await npm(['ci', '--ignore-scripts'], { cwd: dir, env });
    expect(res.code, res.stderr).toBe(0);
    expect(installed(dir)).toBe('1.1.0');
    expect(await guardRefuses(dir, env)).toMatch(/`npm ci` re-checks no locked version's age \(this lockfile records `resolved` URLs\)/);
  });

  it('npm 11, lockfile without `resolved` (omit-lockfile-registry-resolved): npm ci refuses at the first young version', async () => {
    const { dir, env } = await lockedProject('npm');
    const lock = JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8'));
    expect(lock.packages['node_modules/fresh'].resolved).toBeDefined();
    for (const entry of Object.values(lock.packages) as { resolved?: string }[]) delete entry.resolved;
    writeFileSync(join(dir, 'package-lock.json'), JSON.stringify(lock, null, 2));
    writeFileSync(join(dir, '.npmrc'), 'min-release-age=7\n');
    const res = await npm(['ci', '--ignore-scripts'], { cwd: dir, env });
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/ETARGET|No matching version/);
    expect(installed(dir)).toBe(false);
    expect(await guardRefuses(dir, env)).toMatch(/re-checks ages only because this lockfile records no `resolved` URLs/);
  });

  it('pnpm 10 (minimumReleaseAge: 10080 in pnpm-workspace.yaml): pnpm install --frozen-lockfile installs it; safe-install refuses', async () => {
    const { dir, env } = await lockedProject('pnpm');
    writeFileSync(join(dir, 'pnpm-workspace.yaml'), 'minimumReleaseAge: 10080\n');
    writeFileSync(join(dir, '.npmrc'), `registry=${registry.url}\nstore-dir=${join(env.HOME!, 'pnpm-store')}\n`);
    const res = await run(process.execPath, [TOOLS.pnpm, 'install', '--frozen-lockfile', '--ignore-scripts'], { cwd: dir, env: { ...env, CI: '1' } });
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(installed(dir)).toBe('1.1.0');
    await guardRefuses(dir, env);
    // The setting is read: resolving ^1.0.0 afresh skips the young 1.1.0.
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true, dependencies: { fresh: '^1.0.0' } }));
    const resolve = await run(process.execPath, [TOOLS.pnpm, 'install', '--lockfile-only', '--no-frozen-lockfile'], { cwd: dir, env: { ...env, CI: '1' } });
    expect(resolve.code, resolve.stdout + resolve.stderr).toBe(0);
    expect(readFileSync(join(dir, 'pnpm-lock.yaml'), 'utf8')).toMatch(/fresh@1\.0\.0/);
  });

  it('yarn 4 (npmMinimalAgeGate: 7d in .yarnrc.yml): yarn install --immutable installs it; safe-install refuses', async () => {
    const { dir, env } = await lockedProject('yarnBerry');
    writeFileSync(
      join(dir, '.yarnrc.yml'),
      `npmRegistryServer: "${registry.url}"\nunsafeHttpWhitelist: ["127.0.0.1"]\nenableTelemetry: false\nenableGlobalCache: false\nnodeLinker: node-modules\nnpmMinimalAgeGate: 7d\n`,
    );
    const res = await run(process.execPath, [TOOLS.yarnBerry, 'install', '--immutable', '--mode=skip-build'], { cwd: dir, env: { ...env, YARN_GLOBAL_FOLDER: join(env.HOME!, 'berry') } });
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(installed(dir)).toBe('1.1.0');
    await guardRefuses(dir, env);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true, dependencies: { fresh: '^1.0.0' } }));
    const resolve = await run(process.execPath, [TOOLS.yarnBerry, 'install', '--mode=update-lockfile'], {
      cwd: dir,
      env: { ...env, YARN_ENABLE_IMMUTABLE_INSTALLS: 'false', YARN_GLOBAL_FOLDER: join(env.HOME!, 'berry') },
    });
    expect(resolve.code, resolve.stdout + resolve.stderr).toBe(0);
    expect(readFileSync(join(dir, 'yarn.lock'), 'utf8')).toMatch(/resolution: "fresh@npm:1\.0\.0"/);
  });
});
