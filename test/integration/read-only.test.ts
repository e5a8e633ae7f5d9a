// Read-only means read-only (issue 16). `check`, the CI gate, changes no file in the project, in any output
// format, with or without --now (a future --now once recorded future release dates in the ledger); no run with
// --now writes the ledger; `quarantine` shows an approval at once; `fix` keeps its backups (and every other
// scratch file: the locks) under one folder, .safe-install/tmp/, which git ignores through its own .gitignore,
// while the ledger next to it stays committable. All with the real CLI, npm and git against the loopback registry.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { TestRegistry } from '../registry/server.js';
import { cleanEnv, cli, npm, OLD, run, tempDir } from './helpers.js';
import { writeResolvedLockfile } from '../security/attack.js';

const HOUR = 3_600_000;
const YOUNG = new Date(Date.now() - HOUR).toISOString();
/** Well past the 7-day release age of fresh@1.1.0: as of then it passes (and once would have been recorded released). */
const FUTURE = new Date(Date.now() + 30 * 24 * HOUR).toISOString();
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
});
afterAll(() => registry.close());

type Lockfile = 'resolved' | 'integrity-only';

/** A project locking fresh@1.1.0 (an hour old: held by the 7-day release age, 1.0.0 its fallback) and plain. */
async function project(lockfile: Lockfile) {
  const dir = tempDir('si-ro-');
  const env = cleanEnv(registry.url);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', dependencies: { fresh: '^1.0.0', plain: '1.0.0' } }, null, 2) + '\n');
  if (lockfile === 'resolved') writeResolvedLockfile(dir, registry, { fresh: '1.1.0', plain: '1.0.0' });
  else {
    // As npm writes it with omit-lockfile-registry-resolved: integrity, no resolved URL.
    expect((await npm(['install', '--package-lock-only', '--ignore-scripts'], { cwd: dir, env })).code).toBe(0);
    const lock = JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8'));
    for (const entry of Object.values(lock.packages) as { resolved?: string }[]) delete entry.resolved;
    writeFileSync(join(dir, 'package-lock.json'), JSON.stringify(lock, null, 2) + '\n');
  }
  expect(readFileSync(join(dir, 'package-lock.json'), 'utf8').includes('"resolved"')).toBe(lockfile === 'resolved');
  return { dir, env };
}

/** Every file, folder and link under `dir` (dotfiles included) with its content hash: any new, changed or removed path shows. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const rel = relative(dir, p);
      const st = lstatSync(p);
      if (st.isSymbolicLink()) out[rel] = `link ${readlinkSync(p)}`;
      else if (st.isDirectory()) {
        out[rel] = 'dir';
        walk(p);
      } else out[rel] = `${st.mode.toString(8)} ${createHash('sha256').update(readFileSync(p)).digest('hex')}`;
    }
  };
  walk(dir);
  return out;
}

const git = async (dir: string, env: NodeJS.ProcessEnv, ...args: string[]) => {
  const res = await run('git', ['-c', 'user.email=dev@example.com', '-c', 'user.name=dev', ...args], { cwd: dir, env });
  expect(res.code, res.stderr).toBe(0);
  return res.stdout;
};
const status = async (dir: string, env: NodeJS.ProcessEnv) => (await git(dir, env, 'status', '--porcelain', '--untracked-files=all')).split('\n').filter(Boolean).sort();

const FORMATS: [string, string[]][] = [
  ['text', []],
  ['json', ['--json']],
  ['sarif', ['--format', 'sarif']],
  ['github', ['--format', 'github']],
];

describe('check changes no file in the project', () => {
  for (const lockfile of ['resolved', 'integrity-only'] as const) {
    for (const [format, args] of FORMATS) {
      it(`${format}, ${lockfile} lockfile: held (exit 1) and, with --now in the future, passing (exit 0): the folder byte for byte the same`, async () => {
        const p = await project(lockfile);
        const before = snapshot(p.dir);
        const held = await cli(['check', ...args], { cwd: p.dir, env: p.env });
        expect(held.code, held.stdout + held.stderr).toBe(1);
        expect(held.stdout).toContain('fresh'); // it saw the held version (what an older check recorded in the ledger)
        expect(snapshot(p.dir)).toEqual(before);
        const later = await cli(['check', '--now', FUTURE, ...args], { cwd: p.dir, env: p.env });
        expect(later.code, later.stdout + later.stderr).toBe(0);
        expect(snapshot(p.dir)).toEqual(before);
        expect(existsSync(join(p.dir, '.safe-install'))).toBe(false);
      });
    }
  }

  it('with a ledger the install recorded: check (now, and --now in the future) neither releases nor touches it', async () => {
    const p = await project('resolved');
    const install = await cli([], { cwd: p.dir, env: p.env });
    expect(install.code, install.stdout + install.stderr).toBe(1); // held: nothing installed, the hold recorded
    const ledgerFile = join(p.dir, '.safe-install', 'quarantine.json');
    expect(JSON.parse(readFileSync(ledgerFile, 'utf8')).entries).toEqual([expect.objectContaining({ name: 'fresh', version: '1.1.0', status: 'held' })]);
    // The install leaves no scratch: its locks are gone, and so is the scratch folder that held them.
    expect(readdirSync(join(p.dir, '.safe-install'))).toEqual(['quarantine.json']);
    const before = snapshot(p.dir);
    for (const args of [[], ['--now', FUTURE], ['--format', 'github', '--now', FUTURE], ['--json'], ['--format', 'sarif']]) {
      const res = await cli(['check', ...args], { cwd: p.dir, env: p.env });
      expect(res.code).toBe(args.includes('--now') ? 0 : 1);
      expect(res.stdout).not.toContain('Released from quarantine');
      expect(snapshot(p.dir), `check ${args.join(' ')}`).toEqual(before);
    }
  });

  it('an install with --now records nothing in the ledger, and says so', async () => {
    const p = await project('resolved');
    expect((await cli([], { cwd: p.dir, env: p.env })).code).toBe(1);
    const ledgerFile = join(p.dir, '.safe-install', 'quarantine.json');
    const ledger = readFileSync(ledgerFile);
    // As of the past, fresh@1.1.0 is still held: the install stops, and does not record that false "first seen".
    const past = new Date(Date.now() - 10 * 60_000).toISOString();
    const res = await cli(['--now', past], { cwd: p.dir, env: p.env });
    expect(res.code, res.stdout + res.stderr).toBe(1);
    expect(res.stdout + res.stderr).toContain(`Note: the quarantine ledger was not updated: this run is evaluated as of --now ${past}, not the present.`);
    expect(readFileSync(ledgerFile).equals(ledger)).toBe(true);
    expect(readdirSync(join(p.dir, '.safe-install'))).toEqual(['quarantine.json']);
  });
});

describe('quarantine reflects an approval at once', () => {
  it('right after approve, the held version is listed as approved (text and JSON), the ledger untouched', async () => {
    const p = await project('resolved');
    expect((await cli([], { cwd: p.dir, env: p.env })).code).toBe(1);
    const ledgerFile = join(p.dir, '.safe-install', 'quarantine.json');
    const listed = await cli(['quarantine'], { cwd: p.dir, env: p.env });
    expect(listed.stdout).toMatch(/Held \(1\)\n +! fresh@1\.1\.0 +held since/);
    expect(listed.stdout).not.toContain('Approved');

    const approve = await cli(['approve', 'fresh@1.1.0', '--reason', 'fixes CVE-2026-1234', '--expires', '24h'], { cwd: p.dir, env: p.env });
    expect(approve.code, approve.stdout + approve.stderr).toBe(0);
    const ledger = readFileSync(ledgerFile);
    const res = await cli(['quarantine'], { cwd: p.dir, env: p.env });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(
      /Approved \(1\)\n +\+ fresh@1\.1\.0 +approved until \S+ by [^:]+: fixes CVE-2026-1234\n +not held: it installs; held since \S+ for too-young; the next install records its release/,
    );
    expect(res.stdout).not.toContain('Held (');
    const json = JSON.parse((await cli(['quarantine', '--json'], { cwd: p.dir, env: p.env })).stdout);
    expect(json.entries).toEqual([
      expect.objectContaining({ name: 'fresh', version: '1.1.0', status: 'held', approval: expect.objectContaining({ package: 'fresh@1.1.0', reason: 'fixes CVE-2026-1234' }) }),
    ]);
    expect(readFileSync(ledgerFile).equals(ledger)).toBe(true);

    // The install records the release, and the list agrees.
    const install = await cli([], { cwd: p.dir, env: p.env });
    expect(install.code, install.stdout + install.stderr).toBe(0);
    expect(install.stdout).toMatch(/Released from quarantine: fresh@1\.1\.0 .*an approval waives what held it/);
    expect((await cli(['quarantine'], { cwd: p.dir, env: p.env })).stdout).toMatch(/Released \(1\)\n +\+ fresh@1\.1\.0 .*\(approved\)/);
  });
});

describe('fix keeps its scratch under one folder git ignores', () => {
  it('no backup in the project root; backups in .safe-install/tmp/ (ignored by git); the ledger committable', async () => {
    const p = await project('integrity-only');
    await git(p.dir, p.env, 'init', '-q');
    await git(p.dir, p.env, 'add', '-A');
    await git(p.dir, p.env, 'commit', '-qm', 'app');
    const manifest = readFileSync(join(p.dir, 'package.json'));
    const lockBefore = readFileSync(join(p.dir, 'package-lock.json'));

    const res = await cli(['fix', '--yes'], { cwd: p.dir, env: p.env });
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(readFileSync(join(p.dir, 'package-lock.json'), 'utf8')).toMatch(/"node_modules\/fresh": \{\s*"version": "1\.0\.0"/);
    // Nothing new in the project root but the one folder; no *.safe-install-backup, no lock.
    expect(readdirSync(p.dir).sort()).toEqual(['.git', '.safe-install', 'package-lock.json', 'package.json']);
    expect(readdirSync(join(p.dir, '.safe-install')).sort()).toEqual(['quarantine.json', 'tmp']);
    expect(readdirSync(join(p.dir, '.safe-install', 'tmp')).sort()).toEqual(['.gitignore', 'package-lock.json.backup', 'package.json.backup']);
    expect(readFileSync(join(p.dir, '.safe-install/tmp/package.json.backup')).equals(manifest)).toBe(true);
    expect(readFileSync(join(p.dir, '.safe-install/tmp/package-lock.json.backup')).equals(lockBefore)).toBe(true);
    expect(res.stdout).toContain('Backups: .safe-install/tmp/package.json.backup, .safe-install/tmp/package-lock.json.backup');
    expect(res.stdout).toContain('to undo: mv .safe-install/tmp/package.json.backup package.json && mv .safe-install/tmp/package-lock.json.backup package-lock.json');

    // git: the lockfile changed, the ledger is there to commit, the scratch is ignored (the user's own .gitignore untouched: there is none).
    expect(await status(p.dir, p.env)).toEqual([' M package-lock.json', '?? .safe-install/quarantine.json']);
    const ignored = (await git(p.dir, p.env, 'status', '--porcelain', '--ignored', '--untracked-files=all'))
      .split('\n')
      .filter((l) => l.startsWith('!! '))
      .sort();
    expect(ignored).toEqual(['!! .safe-install/tmp/.gitignore', '!! .safe-install/tmp/package-lock.json.backup', '!! .safe-install/tmp/package.json.backup']);
    expect(existsSync(join(p.dir, '.gitignore'))).toBe(false);

    // The undo the output gives works as written.
    const undo = await run('sh', ['-c', 'mv .safe-install/tmp/package.json.backup package.json && mv .safe-install/tmp/package-lock.json.backup package-lock.json'], { cwd: p.dir, env: p.env });
    expect(undo.code, undo.stderr).toBe(0);
    expect(readFileSync(join(p.dir, 'package-lock.json')).equals(lockBefore)).toBe(true);
  });

  it('approve leaves no scratch behind: git sees only the policy it edits', async () => {
    const p = await project('resolved');
    await git(p.dir, p.env, 'init', '-q');
    await git(p.dir, p.env, 'add', '-A');
    await git(p.dir, p.env, 'commit', '-qm', 'app');
    const res = await cli(['approve', 'fresh@1.1.0', '--reason', 'urgent', '--expires', '24h'], { cwd: p.dir, env: p.env });
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(await status(p.dir, p.env)).toEqual(['?? safe-install.policy.json']);
    expect(existsSync(join(p.dir, '.safe-install'))).toBe(false);
    expect(existsSync(join(p.dir, '.safe-install.lock'))).toBe(false);
  });
});
