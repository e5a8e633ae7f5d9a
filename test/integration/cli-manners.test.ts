// CLI manners (issue 16), end to end with the built CLI, the real npm and the loopback registry: a word or flag
// the CLI does not know never reaches `npm ci` (which empties node_modules and reinstalls), --version is the
// guard's own, --dry-run changes nothing, flags after `--` reach the package manager, a command that needs a
// confirmation it cannot get exits 3 (not 1, "held"), and Ctrl-C during the install prints one line and exits 130.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestRegistry } from '../registry/server.js';
import { BIN, cleanEnv, cli, EVENT_LOGGER, npm, OLD, ROOT, scriptedWith, tempDir } from './helpers.js';
import { waitFor } from '../wait.js';

const YOUNG = new Date(Date.now() - 86_400_000).toISOString();
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

let registry: TestRegistry;

beforeAll(async () => {
  registry = await TestRegistry.start();
  registry.addPackage({ name: 'plain', versions: [{ version: '1.0.0', publishedAt: OLD }] });
  registry.addPackage({ name: 'devonly', versions: [{ version: '1.0.0', publishedAt: OLD }] });
  registry.addPackage({ name: 'slow', versions: [{ version: '1.0.0', publishedAt: OLD }] });
  registry.addPackage({ name: 'scripted', versions: [scriptedWith(EVENT_LOGGER)('1.0.0', ['postinstall'])] });
  registry.addPackage({
    name: 'fresh',
    versions: [
      { version: '1.0.0', publishedAt: OLD },
      { version: '1.1.0', publishedAt: YOUNG },
    ],
  });
});
afterAll(() => registry.close());

/** A project locked by the real npm, optionally with node_modules installed by plain `npm ci` and a marker in it. */
async function project(deps: Record<string, string>, opts: { devDeps?: Record<string, string>; installed?: boolean } = {}) {
  const dir = tempDir('si-manners-');
  const log = join(dir, 'scripts.log');
  const env = cleanEnv(registry.url, { SI_TEST_LOG: log });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', dependencies: deps, devDependencies: opts.devDeps ?? {} }, null, 2));
  const lock = await npm(['install', '--package-lock-only', '--ignore-scripts'], { cwd: dir, env });
  expect(lock.code, lock.stderr).toBe(0);
  const marker = join(dir, 'node_modules', 'MARKER');
  if (opts.installed) {
    const ci = await npm(['ci', '--ignore-scripts'], { cwd: dir, env });
    expect(ci.code, ci.stderr).toBe(0);
    writeFileSync(marker, 'installed before\n');
  }
  /** Every file and folder of the project with its size and mtime: what "untouched" means here. */
  const snapshot = () => {
    const out: string[] = [];
    const walk = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        const p = join(d, e.name);
        const s = statSync(p);
        out.push(`${p.slice(dir.length)} ${e.isDirectory() ? 'dir' : s.size} ${s.mtimeMs}`);
        if (e.isDirectory()) walk(p);
      }
    };
    walk(dir);
    return out.sort();
  };
  const ran = () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').filter(Boolean) : []);
  return { dir, env, marker, snapshot, ran, run: (...args: string[]) => cli(args, { cwd: dir, env }) };
}

describe('a typo never installs', () => {
  // Each of these ran `npm ci` before (node_modules emptied and reinstalled, "Installed.").
  const cases: { args: string[]; error: RegExp; suggestion: RegExp }[] = [
    { args: ['chek'], error: /error: unknown command 'chek'/, suggestion: /Did you mean check\?/ },
    { args: ['aprove', 'plain@1.0.0', '--reason', 'x'], error: /error: unknown command 'aprove'/, suggestion: /Did you mean approve\?/ },
    { args: ['-C', '.', 'scirpts'], error: /error: unknown command 'scirpts'/, suggestion: /Did you mean scripts\?/ },
    { args: ['--verison'], error: /error: unknown option '--verison'/, suggestion: /Did you mean --version\?/ },
    { args: ['--registy', 'http://127.0.0.1:9/'], error: /error: unknown option '--registy'/, suggestion: /Did you mean --registry\?/ },
    // A package manager's flag without `--`: refused, with the command line that passes it.
    { args: ['--omit=dev'], error: /error: unknown option '--omit=dev'/, suggestion: /a flag for the package manager goes after `--`: safe-install -- --omit=dev/ },
  ];

  it.each(cases)('safe-install $args: exit 2 with the suggestion; node_modules and every file untouched, npm never started', async ({ args, error, suggestion }) => {
    const p = await project({ plain: '1.0.0' }, { installed: true });
    const before = p.snapshot();
    const requests = registry.requestCount();
    const res = await p.run(...args);
    expect(res.code, res.stdout + res.stderr).toBe(2);
    expect(res.stderr).toMatch(error);
    expect(res.stderr).toMatch(suggestion);
    expect(res.stderr).toContain('nothing was installed and no file was changed');
    expect(res.stdout).not.toContain('Installed.');
    expect(res.stdout).not.toContain('Installing with');
    expect(readFileSync(p.marker, 'utf8')).toBe('installed before\n');
    expect(p.snapshot()).toEqual(before);
    expect(registry.requestCount()).toBe(requests); // not even the check ran
  });

  it("--version prints safe-install's version and nothing else; nothing is installed", async () => {
    const p = await project({ plain: '1.0.0' }, { installed: true });
    const before = p.snapshot();
    for (const flag of ['--version', '-V']) {
      const res = await p.run(flag);
      expect(res.code, res.stderr).toBe(0);
      expect(res.stdout).toBe(`${VERSION}\n`);
      expect(res.stderr).toBe('');
    }
    expect(p.snapshot()).toEqual(before);
  });

  it('--dry-run checks, says what the install would run, and changes nothing (node_modules, no ledger)', async () => {
    const p = await project({ plain: '1.0.0' }, { installed: true });
    const before = p.snapshot();
    const res = await p.run('--dry-run');
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(res.stdout).toContain('Dry run: nothing was installed and no file was written');
    expect(res.stdout).toContain('it would run npm ci --ignore-scripts');
    expect(res.stdout).not.toContain('Installed.');
    expect(readFileSync(p.marker, 'utf8')).toBe('installed before\n');
    expect(existsSync(join(p.dir, '.safe-install'))).toBe(false);
    expect(p.snapshot()).toEqual(before);
  });

  it('--dry-run with a held version: exit 1, the install would be refused, nothing written', async () => {
    const p = await project({ fresh: '^1.0.0' }, { installed: true });
    const before = p.snapshot();
    const res = await p.run('--dry-run');
    expect(res.code, res.stdout + res.stderr).toBe(1);
    expect(res.stdout).toContain('without --dry-run the install would be refused');
    expect(p.snapshot()).toEqual(before);
  });

  it("flags after `--` reach npm ci: --omit=dev leaves the devDependency out; an unknown one is npm's to judge", async () => {
    const p = await project({ plain: '1.0.0' }, { devDeps: { devonly: '1.0.0' } });
    const res = await p.run('--', '--omit=dev');
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(res.stdout).toContain('Installing with npm ci --ignore-scripts --omit=dev');
    expect(existsSync(join(p.dir, 'node_modules/plain/package.json'))).toBe(true);
    expect(existsSync(join(p.dir, 'node_modules/devonly'))).toBe(false);

    const q = await project({ plain: '1.0.0' });
    const foo = await q.run('-C', q.dir, '--', '--foo');
    expect(foo.code, foo.stdout + foo.stderr).toBe(0);
    expect(foo.stdout).toContain('Installing with npm ci --ignore-scripts --foo');
    expect(foo.stdout + foo.stderr).toMatch(/Unknown cli config "--foo"/); // npm's own words: it was npm that got it
  });
});

describe('flags after `--` that would undo the guard or install nothing are refused', () => {
  it('--ignore-scripts=false: npm takes the last one and runs every script; safe-install refuses it before anything runs', async () => {
    // Where the guard is absent: the same flags on npm ci turn the scripts back on (npm keeps the last one).
    const plain = await project({ scripted: '1.0.0' });
    expect((await npm(['ci', '--ignore-scripts', '--ignore-scripts=false'], { cwd: plain.dir, env: plain.env })).code).toBe(0);
    expect(plain.ran()).toEqual(['scripted:postinstall']);

    const p = await project({ scripted: '1.0.0' }, { installed: true });
    const before = p.snapshot();
    for (const flag of ['--ignore-scripts=false', '--no-ignore-scripts', '--ignore_scripts=false']) {
      const res = await p.run('--', flag);
      expect(res.code, res.stdout + res.stderr).toBe(2);
      expect(res.stderr).toContain(`\`${flag}\` after \`--\` is not passed to the package manager`);
      expect(res.stderr).toContain('safe-install scripts allow <name>');
    }
    expect(p.ran()).toEqual([]);
    expect(p.snapshot()).toEqual(before);
  });

  it.each([['--dry-run'], ['--version'], ['-v'], ['--help']])('-- %s: npm would install nothing while safe-install said "Installed."; refused, node_modules untouched', async (flag) => {
    const p = await project({ plain: '1.0.0' }, { installed: true });
    const before = p.snapshot();
    const res = await p.run('--', flag);
    expect(res.code, res.stdout + res.stderr).toBe(2);
    expect(res.stderr).toContain(`\`${flag}\` after \`--\` is not passed to the package manager`);
    expect(res.stdout).not.toContain('Installed.');
    expect(p.snapshot()).toEqual(before);
  });
});

describe('exit codes', () => {
  it('init without a terminal and without --yes: exit 3 (not confirmed), nothing written', async () => {
    const p = await project({ plain: '1.0.0' });
    const before = p.snapshot();
    const res = await p.run('init');
    expect(res.code, res.stdout + res.stderr).toBe(3);
    expect(res.stdout).toMatch(/Nothing was written: there is no one to confirm .* Re-run with --yes/);
    expect(p.snapshot()).toEqual(before);
  });

  it('fix without a terminal and without --yes: exit 3 (not confirmed), nothing changed; 1 stays "held"', async () => {
    const p = await project({ fresh: '^1.0.0' });
    const before = p.snapshot();
    const res = await p.run('fix');
    expect(res.code, res.stdout + res.stderr).toBe(3);
    expect(res.stdout).toContain('Not applied (exit 3)');
    expect(res.stdout).toContain('safe-install fix --yes');
    expect(p.snapshot().filter((l) => !l.startsWith('/.safe-install'))).toEqual(before);
    expect((await p.run('check')).code).toBe(1);
  });
});

/** Processes (other than the test's) whose working folder is `dir`: what an interrupted install left running. */
function processesIn(dir: string): number[] {
  const pids: number[] = [];
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      if (readlinkSync(`/proc/${pid}/cwd`) === dir) pids.push(Number(pid));
    } catch {
      // gone, or not ours
    }
  }
  return pids;
}

describe('Ctrl-C', () => {
  it.skipIf(process.platform !== 'linux')(
    'during npm ci: npm is stopped, one line says node_modules may be incomplete and to re-run, exit 130',
    async () => {
      const p = await project({ plain: '1.0.0', slow: '1.0.0' }, { installed: true });
      // The tarball never comes: npm waits on it while safe-install is in its install step.
      registry.fault('/slow/-/', { hang: true });
      const earlier = registry.requestCount('/slow/-/'); // the plain npm ci that made node_modules
      try {
        // An empty npm cache: npm must ask the registry for the tarball (the plain npm ci above cached it).
        const env = { ...p.env, npm_config_cache: tempDir('si-npm-cache-') };
        const child = spawn(process.execPath, [BIN], { cwd: p.dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d) => (stdout += d));
        child.stderr.on('data', (d) => (stderr += d));
        const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('exit', (code, signal) => r({ code, signal })));
        // Sent once npm is waiting for the tarball: the interrupt lands in the middle of `npm ci`.
        await waitFor(
          () => registry.requestCount('/slow/-/') > earlier,
          () => `npm's request for the tarball:\n${stdout}${stderr}`,
        );
        expect(stdout).toContain('Installing with npm ci --ignore-scripts');
        child.kill('SIGINT'); // to safe-install alone, as `kill -INT` would
        const { code, signal } = await exited;
        expect({ code, signal }, stdout + stderr).toEqual({ code: 130, signal: null });
        const lines = stderr.split('\n').filter((l) => l.trim());
        const said = lines.filter((l) => /Interrupted/.test(l));
        expect(said, stderr).toEqual([
          'Interrupted (SIGINT) during npm ci --ignore-scripts: node_modules may be emptied or incomplete and no install script has run: run safe-install again to install.',
        ]);
        expect(stderr).not.toMatch(/error|exit 2|at .*\.js:\d+/);
        expect(stdout).not.toContain('Installed.');
        // npm (and anything it started) is gone, not left running in the project.
        expect(processesIn(p.dir)).toEqual([]);
      } finally {
        registry.clearFaults();
      }
    },
    120_000,
  );

  it.skipIf(process.platform !== 'linux')(
    'while checking: one line, nothing was installed, node_modules untouched, exit 130',
    async () => {
      const p = await project({ plain: '1.0.0', slow: '1.0.0' }, { installed: true });
      const before = p.snapshot();
      registry.fault('slow', { hang: true, packumentOnly: true });
      try {
        const child = spawn(process.execPath, [BIN, '--cache-ttl', '0'], { cwd: p.dir, env: p.env, stdio: ['ignore', 'pipe', 'pipe'] });
        let stderr = '';
        child.stderr.on('data', (d) => (stderr += d));
        const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('exit', (code, signal) => r({ code, signal })));
        const packuments = () => registry.requestCount('slow') - registry.requestCount('/slow/-/');
        const start = packuments();
        await waitFor(
          () => packuments() > start,
          () => `the check's request for slow's packument:\n${stderr}`,
        );
        child.kill('SIGINT');
        const { code, signal } = await exited;
        expect({ code, signal }, stderr).toEqual({ code: 130, signal: null });
        expect(stderr.split('\n').filter((l) => /Interrupted/.test(l))).toEqual(['Interrupted (SIGINT) while checking: nothing was installed; node_modules was not touched.']);
        expect(p.snapshot()).toEqual(before);
      } finally {
        registry.clearFaults();
      }
    },
    120_000,
  );
});
