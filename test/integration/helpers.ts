// Helpers for tests that run the real CLI (and the real npm) against the loopback test registry.
import { execFile } from 'node:child_process';
import { mkdtempSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LockedTree } from '../../src/lockfile/types.js';
import type { FakeVersion, TestRegistry } from '../registry/server.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
// SAFE_INSTALL_TEST_BIN=dist/safe-install.mjs runs the same tests against the one-file build (scripts/bundle.mjs).
export const BIN = process.env.SAFE_INSTALL_TEST_BIN ? resolve(ROOT, process.env.SAFE_INSTALL_TEST_BIN) : join(ROOT, 'bin', 'safe-install');
export const FIXTURES = join(ROOT, 'test', 'fixtures');

/** A loopback port nothing listens on: the OSV API the tests' checks use unless they start their own. */
export const CLOSED_OSV_URL = 'http://127.0.0.1:9';

export function tempDir(prefix = 'si-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** The pinned npm (a devDependency, like pnpm and yarn): what every test runs, never the npm on this machine's PATH. */
export const NPM_CLI = join(ROOT, 'node_modules', 'npm', 'bin', 'npm-cli.js');

let npmBin: string | undefined;
/**
 * A folder holding only `npm` and `npx`, linked to the pinned npm as node_modules/.bin links them: first on PATH
 * in every test environment, so the npm that safe-install starts from PATH is the pinned one (what a project's CI
 * gets from `npm ci` and `npx safe-install`).
 */
export function pinnedNpmBin(): string {
  if (npmBin) return npmBin;
  const dir = tempDir('si-npm-bin-');
  symlinkSync(NPM_CLI, join(dir, 'npm'));
  symlinkSync(join(dirname(NPM_CLI), 'npx-cli.js'), join(dir, 'npx'));
  return (npmBin = dir);
}

/**
 * An environment with nothing of this machine's npm setup: its own HOME, empty user/global npmrc, its own npm
 * cache and safe-install cache, and the test registry as the registry.
 */
export function cleanEnv(registry: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const home = tempDir('si-home-');
  writeFileSync(join(home, '.npmrc'), '');
  writeFileSync(join(home, 'global-npmrc'), '');
  mkdirSync(join(home, 'cache'));
  return {
    PATH: `${pinnedNpmBin()}${delimiter}${process.env.PATH ?? ''}`,
    HOME: home,
    XDG_CACHE_HOME: join(home, 'cache'),
    npm_config_userconfig: join(home, '.npmrc'),
    npm_config_globalconfig: join(home, 'global-npmrc'),
    npm_config_cache: join(home, 'npm-cache'),
    npm_config_registry: registry,
    npm_config_update_notifier: 'false',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    NO_COLOR: '1',
    // Never the public OSV API from a test: a closed loopback port (refused at once); a test gives its own with --osv-url.
    SAFE_INSTALL_OSV_URL: CLOSED_OSV_URL,
    ...extra,
  };
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run a command asynchronously (the registry lives in this process: a sync call would deadlock it). */
export function run(cmd: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<RunResult> {
  return new Promise((res) => {
    execFile(cmd, args, { cwd: opts.cwd, env: opts.env, timeout: opts.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      res({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

export function cli(args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv }): Promise<RunResult> {
  return run(process.execPath, [BIN, ...args], opts);
}

/** The pinned npm (NPM_CLI), whatever `opts.env` has on PATH. */
export function npm(args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv }): Promise<RunResult> {
  return run(process.execPath, [NPM_CLI, ...args], opts);
}

/**
 * Serve a real-shaped packument for every registry package of a lockfile: each locked version with the
 * lockfile's integrity and the publish time `publishedAt(pkg)` gives (undefined leaves `time` without it).
 */
export function serveLockedTree(
  registry: TestRegistry,
  tree: LockedTree,
  publishedAt: (name: string, version: string) => string | undefined,
  tamper: { integrity?: (name: string, version: string) => string | undefined; omitVersion?: (name: string, version: string) => boolean } = {},
): void {
  const byName = new Map<string, Set<string>>();
  const integrity = new Map<string, string | undefined>();
  for (const p of tree.packages) {
    if (p.source !== 'registry') continue;
    if (!byName.has(p.name)) byName.set(p.name, new Set());
    byName.get(p.name)!.add(p.version);
    integrity.set(`${p.name}@${p.version}`, p.integrity);
  }
  for (const [name, versions] of byName) {
    const doc: Record<string, any> = { _id: name, name, 'dist-tags': {}, versions: {}, time: {} };
    for (const version of versions) {
      if (tamper.omitVersion?.(name, version)) continue;
      const base = name.startsWith('@') ? name.split('/')[1] : name;
      doc.versions[version] = {
        name,
        version,
        dist: {
          integrity: tamper.integrity?.(name, version) ?? integrity.get(`${name}@${version}`),
          tarball: `https://registry.example.com/${name}/-/${base}-${version}.tgz`,
        },
      };
      const t = publishedAt(name, version);
      if (t) doc.time[version] = t;
      doc['dist-tags'].latest = version;
    }
    registry.addRawPackument(doc);
  }
}

/** A project whose v3 lockfile locks `deps` (top-level, name -> version) as served by `registry`. */
export function writeProject(dir: string, registry: TestRegistry, deps: Record<string, string>, extra: Record<string, unknown> = {}): void {
  const packages: Record<string, unknown> = { '': { name: 'app', version: '1.0.0', dependencies: deps } };
  for (const [name, version] of Object.entries(deps)) {
    packages[`node_modules/${name}`] = { version, integrity: registry.integrityOf(name, version) };
  }
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', dependencies: deps, ...extra }, null, 2));
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ name: 'app', version: '1.0.0', lockfileVersion: 3, requires: true, packages }, null, 2));
}

/** The pinned package managers the tests run (devDependencies, so `npm ci` installs them; never assumed on PATH). */
export const TOOLS = {
  npm: NPM_CLI,
  pnpm: join(ROOT, 'node_modules', 'pnpm', 'bin', 'pnpm.cjs'),
  pnpm9: join(ROOT, 'node_modules', 'pnpm9', 'bin', 'pnpm.cjs'),
  yarn1: join(ROOT, 'node_modules', 'yarn', 'bin', 'yarn.js'),
  yarnBerry: join(ROOT, 'node_modules', '@yarnpkg', 'cli-dist', 'bin', 'yarn.js'),
} as const;

/**
 * `env` with a folder of shims first on PATH, so `pnpm` and `yarn` (as safe-install starts them) are the pinned
 * ones: `{ pnpm: 'pnpm9', yarn: 'yarnBerry' }` picks which.
 */
export function withTools(env: NodeJS.ProcessEnv, pick: { pnpm?: 'pnpm' | 'pnpm9'; yarn?: 'yarn1' | 'yarnBerry' }): NodeJS.ProcessEnv {
  const dir = tempDir('si-tools-');
  const shim = (name: string, target: string) => {
    writeFileSync(join(dir, name), `#!/bin/sh\nexec "${process.execPath}" "${target}" "$@"\n`, { mode: 0o755 });
  };
  if (pick.pnpm) shim('pnpm', TOOLS[pick.pnpm]);
  if (pick.yarn) shim('yarn', TOOLS[pick.yarn]);
  return { ...env, PATH: `${dir}:${env.PATH ?? process.env.PATH}`, COREPACK_ENABLE_STRICT: '0', COREPACK_ENABLE_AUTO_PIN: '0' };
}

/**
 * Lock the project in `dir` (package.json already written) with a real package manager against `registry`,
 * leaving only package.json and the lockfile (no node_modules, no settings files it needed).
 */
export async function lockWith(tool: keyof typeof TOOLS | 'npm', dir: string, registry: string, env: NodeJS.ProcessEnv): Promise<void> {
  const home = env.HOME!;
  const ok = (r: RunResult, what: string) => {
    if (r.code !== 0) throw new Error(`${what} failed (${r.code}): ${r.stdout}\n${r.stderr}`);
  };
  const node = (path: string, args: string[], extra: NodeJS.ProcessEnv = {}) => run(process.execPath, [path, ...args], { cwd: dir, env: { ...env, ...extra }, timeoutMs: 120_000 });
  if (tool === 'npm') return ok(await npm(['install', '--package-lock-only', '--ignore-scripts'], { cwd: dir, env }), 'npm install --package-lock-only');
  if (tool === 'pnpm' || tool === 'pnpm9') {
    const rc = join(dir, '.npmrc');
    writeFileSync(rc, `registry=${registry}\nstore-dir=${join(home, 'pnpm-store')}\ncache-dir=${join(home, 'pnpm-cache')}\n`);
    ok(await node(TOOLS[tool], ['install', '--lockfile-only', '--ignore-scripts'], { CI: '1' }), 'pnpm install --lockfile-only');
    return rmSync(rc);
  }
  if (tool === 'yarn1') {
    ok(await node(TOOLS.yarn1, ['install', '--ignore-scripts', '--non-interactive', '--no-progress', '--registry', registry, '--cache-folder', join(home, 'yarn1-cache')]), 'yarn install');
    return rmSync(join(dir, 'node_modules'), { recursive: true, force: true });
  }
  const rc = join(dir, '.yarnrc.yml');
  // yarn 4.15+ refuses versions younger than a day when it resolves; a test tree may lock one on purpose.
  writeFileSync(rc, `npmRegistryServer: "${registry}"\nunsafeHttpWhitelist: ["127.0.0.1"]\nenableTelemetry: false\nenableGlobalCache: false\nnpmMinimalAgeGate: 0\n`);
  ok(await node(TOOLS.yarnBerry, ['install', '--mode=update-lockfile'], { YARN_ENABLE_IMMUTABLE_INSTALLS: 'false', YARN_GLOBAL_FOLDER: join(home, 'berry') }), 'yarn install --mode=update-lockfile');
  rmSync(rc);
  for (const f of readdirSync(dir)) if (f.startsWith('.yarn') || f.startsWith('.pnp')) rmSync(join(dir, f), { recursive: true, force: true });
}

/** log.js for scripted packages: every script appends "<name>:<event>" to $SI_TEST_LOG, so a test sees what ran, in order. */
export const EVENT_LOGGER = "require('fs').appendFileSync(process.env.SI_TEST_LOG, require('./package.json').name + ':' + process.argv[2] + '\\n')";

/** A folder holding a `safe-install` link to this build, for PATH: what a project hook finds (as node_modules/.bin would). */
export function safeInstallOnPath(): string {
  const dir = tempDir('si-bin-');
  symlinkSync(BIN, join(dir, 'safe-install'));
  return dir;
}

/** A publish time old enough for every age rule in the tests. */
export const OLD = '2024-01-01T00:00:00.000Z';

/**
 * Versions whose install scripts run `node log.js <event>`, with `logger` as log.js (each test file logs the
 * fields its assertions need to $SI_TEST_LOG).
 */
export function scriptedWith(logger: string) {
  return (version: string, events: string[], extra: Partial<FakeVersion> = {}): FakeVersion => {
    const scripts = Object.fromEntries(events.map((e) => [e, `node log.js ${e}`]));
    return { version, publishedAt: OLD, scripts, files: { 'log.js': logger, 'index.js': 'module.exports = 1;\n' }, ...extra };
  };
}
