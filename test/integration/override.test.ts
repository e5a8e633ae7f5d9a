// Quarantine and the override, end to end with the real npm: a young urgent patch is held and recorded, approved
// non-interactively and through a real pseudo-terminal (keystrokes), and then installs; CI never prompts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestRegistry } from '../registry/server.js';
import { BIN, cleanEnv, cli, npm, run, tempDir } from './helpers.js';
import { waitFor as waitUntil, watch } from '../wait.js';

const DAY = 86_400_000;
let registry: TestRegistry;

beforeAll(async () => {
  registry = await TestRegistry.start();
  registry.addPackage({
    name: 'fresh',
    versions: [
      { version: '1.0.0', publishedAt: new Date(Date.now() - 90 * DAY).toISOString() },
      { version: '1.1.0', publishedAt: new Date(Date.now() - DAY).toISOString() },
    ],
  });
  registry.addPackage({ name: 'plain', versions: [{ version: '1.0.0', publishedAt: '2024-01-01T00:00:00.000Z' }] });
});
afterAll(() => registry.close());

async function project() {
  const dir = tempDir('si-ovr-');
  const env = cleanEnv(registry.url);
  delete env.CI;
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', dependencies: { fresh: '^1.0.0', plain: '1.0.0' } }));
  expect((await npm(['install', '--package-lock-only', '--ignore-scripts'], { cwd: dir, env })).code).toBe(0);
  await run('git', ['init', '-q'], { cwd: dir, env });
  await run('git', ['config', 'user.email', 'reviewer@example.com'], { cwd: dir, env });
  return { dir, env, policy: () => JSON.parse(readFileSync(join(dir, 'safe-install.policy.json'), 'utf8')) };
}

describe('quarantine ledger and approvals', () => {
  it('without a terminal it never prompts: it prints the exact approve command; the ledger records the hold', async () => {
    const p = await project();
    for (const env of [p.env, { ...p.env, CI: 'true' }]) {
      const res = await cli([], { cwd: p.dir, env });
      expect(res.code).toBe(1);
      expect(res.stdout).toContain('safe-install approve fresh@1.1.0 --reason "..." --expires 3d');
      expect(res.stdout).not.toContain('Held versions: approve');
      expect(existsSync(join(p.dir, 'node_modules'))).toBe(false);
    }
    const ledger = JSON.parse(readFileSync(join(p.dir, '.safe-install', 'quarantine.json'), 'utf8'));
    expect(ledger.entries).toEqual([expect.objectContaining({ name: 'fresh', version: '1.1.0', status: 'held', fallback: '1.0.0', findings: [expect.objectContaining({ code: 'too-young' })] })]);
    const list = await cli(['quarantine'], { cwd: p.dir, env: p.env });
    expect(list.stdout).toMatch(/fresh@1\.1\.0 +held since .*eligible .* \(in [\d.]+d\)/);
    expect(list.stdout).toContain('fallback: fresh@1.0.0');
  });

  it('approve records reason, expiry and approver; the install then completes; approvals lists it', async () => {
    const p = await project();
    expect((await cli([], { cwd: p.dir, env: p.env })).code).toBe(1); // held, and recorded by the install (check records nothing)
    const res = await cli(['approve', 'fresh@1.1.0', '--reason', 'fixes CVE-2026-1234', '--expires', '48h'], { cwd: p.dir, env: p.env });
    expect(res.code, res.stderr).toBe(0);
    const [exception] = p.policy().exceptions;
    expect(exception).toMatchObject({ package: 'fresh@1.1.0', checks: ['release-age'], reason: 'fixes CVE-2026-1234', approvedBy: 'reviewer@example.com' });
    expect(Date.parse(exception.expires) - Date.parse(exception.approvedAt)).toBe(48 * 3_600_000);
    const install = await cli([], { cwd: p.dir, env: p.env });
    expect(install.code, install.stdout).toBe(0);
    expect(install.stdout).toMatch(/Released from quarantine: fresh@1\.1\.0 .*an approval waives what held it/);
    expect(JSON.parse(readFileSync(join(p.dir, 'node_modules/fresh/package.json'), 'utf8')).version).toBe('1.1.0');
    const approvals = await cli(['approvals'], { cwd: p.dir, env: p.env });
    expect(approvals.stdout).toMatch(/live +fresh@1\.1\.0 +waives release-age until/);
    // Expired: stops applying, is reported, and the version is held again.
    const later = new Date(Date.now() + 3 * DAY).toISOString();
    expect((await cli(['approvals', '--now', later], { cwd: p.dir, env: p.env })).stdout).toMatch(/expired +fresh@1\.1\.0/);
    const check = await cli(['check', '--now', later], { cwd: p.dir, env: p.env });
    expect(check.code).toBe(1);
    expect(check.stdout).toContain('exception-expired');
  });

  it('refuses an approval without a reason, beyond the maximum expiry, or for a non-overridable finding', async () => {
    const p = await project();
    expect((await cli(['approve', 'fresh@1.1.0', '--reason', ' '], { cwd: p.dir, env: p.env })).code).toBe(2);
    expect((await cli(['approve', 'fresh@1.1.0', '--reason', 'x', '--expires', '30d'], { cwd: p.dir, env: p.env })).stderr).toMatch(/at most 14d/);
    expect((await cli(['approve', 'plain@1.0.0', '--reason', 'x'], { cwd: p.dir, env: p.env })).stderr).toMatch(/is not held/);
    const lock = JSON.parse(readFileSync(join(p.dir, 'package-lock.json'), 'utf8'));
    lock.packages['node_modules/plain'].integrity = 'sha512-' + Buffer.alloc(64, 5).toString('base64');
    writeFileSync(join(p.dir, 'package-lock.json'), JSON.stringify(lock));
    const res = await cli(['approve', 'plain@1.0.0', '--reason', 'trust me'], { cwd: p.dir, env: p.env });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/integrity-mismatch may not be overridden/);
    expect(existsSync(join(p.dir, 'safe-install.policy.json'))).toBe(false);
  });

  it('a held version is released once it is old enough, and the release is recorded', async () => {
    const p = await project();
    expect((await cli([], { cwd: p.dir, env: p.env })).code).toBe(1);
    // Time passing, as the ledger sees it: the release age drops below the version's age (a run with --now
    // records nothing, so the present has to be the one in which it is old enough).
    writeFileSync(join(p.dir, 'safe-install.policy.json'), JSON.stringify({ minimumReleaseAge: '1h' }));
    const started = Date.now();
    const res = await cli([], { cwd: p.dir, env: p.env });
    expect(res.code, res.stdout).toBe(0);
    expect(res.stdout).toMatch(/Released from quarantine: fresh@1\.1\.0 .*now old enough and passes every check/);
    const ledger = JSON.parse(readFileSync(join(p.dir, '.safe-install', 'quarantine.json'), 'utf8'));
    expect(ledger.entries[0]).toMatchObject({ status: 'released', releasedBecause: 'passes' });
    expect(Date.parse(ledger.entries[0].releasedAt)).toBeGreaterThanOrEqual(Math.floor(started / 1000) * 1000 - 1000);
  });
});

/**
 * The CLI in a real terminal: util-linux `script` gives it a pseudo-terminal, and we type into it like a person.
 * Bounded: a prompt that stops answering fails the test instead of hanging it.
 */
function terminal(p: Awaited<ReturnType<typeof project>>) {
  const child = spawn('script', ['-qefc', `${process.execPath} ${BIN}`, '/dev/null'], { cwd: p.dir, env: { ...p.env, TERM: 'xterm', COLUMNS: '80', LINES: '40' } });
  const term = watch(child);
  const closed = term.exited.then(({ code }) => code ?? 1);
  return {
    screen: term.output,
    /** Until the screen shows `text` (bounded; fails with the screen if the CLI exits first). */
    waitFor: (text: string) => term.seen(text),
    /** Like a person: one key, then wait for the screen to follow (something drawn after it). */
    press: async (keys: string) => {
      const before = term.output().length;
      child.stdin.write(keys);
      await waitUntil(
        () => term.output().length > before,
        () => `the screen to follow ${JSON.stringify(keys)}:\n${term.output()}`,
      );
    },
    /** Like tmux `send-keys` or a fast typist: every key its own write, no pause in between. */
    burst: (...keys: string[]) => {
      for (const k of keys) child.stdin.write(k);
    },
    /** The exit code; a CLI still running after 30 s is killed (and the test fails on its code). */
    exit: async () => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      const code = await closed;
      clearTimeout(timer);
      return code;
    },
  };
}

const DEL = '\x7f'; // what the Backspace key sends

describe('the interactive prompt in a real pseudo-terminal', () => {
  it('a keystroke approval writes the exception and the install completes', async () => {
    const p = await project();
    const term = terminal(p);
    const { waitFor, press } = term;
    await waitFor('Held versions: approve an urgent one');
    await press('\r');
    await waitFor('a: approve');
    await press('a');
    await waitFor('Reason (required)');
    await press('needed for the CVE fix');
    await press('\r');
    await waitFor('Expires in');
    await press('\r');
    await waitFor('? y/n');
    await press('y');
    const code = await term.exit();
    expect(term.screen()).toContain('Installed.');
    expect(code).toBe(0);
    expect(p.policy().exceptions[0]).toMatchObject({ package: 'fresh@1.1.0', reason: 'needed for the CVE fix', approvedBy: 'reviewer@example.com' });
    expect(existsSync(join(p.dir, 'node_modules/fresh/package.json'))).toBe(true);
  });

  it('keys sent with no pauses are all kept, in order: "20d" then Enter records 20 days, not the default', async () => {
    const p = await project();
    writeFileSync(join(p.dir, 'safe-install.policy.json'), JSON.stringify({ overrides: { maxExpiry: '30d' } }));
    const term = terminal(p);
    await term.waitFor('Held versions: approve an urgent one');
    // The whole approval as fast as the terminal takes it: details, approve, reason, expiry, confirm.
    term.burst('\r', 'a', ...'needed for the CVE fix', '\r', '2', '0', 'd', '\r', 'y');
    const code = await term.exit();
    expect(code, term.screen()).toBe(0);
    expect(term.screen()).toContain('Installed.');
    const [exception] = p.policy().exceptions;
    expect(exception).toMatchObject({ package: 'fresh@1.1.0', reason: 'needed for the CVE fix' });
    expect(Date.parse(exception.expires) - Date.parse(exception.approvedAt)).toBe(20 * DAY);
  });

  it('after an expiry beyond the maximum, Backspace sent at once erases it and the corrected expiry is recorded', async () => {
    const p = await project();
    const term = terminal(p);
    await term.waitFor('Held versions: approve an urgent one');
    await term.press('\r');
    await term.waitFor('a: approve');
    await term.press('a');
    await term.waitFor('Reason (required)');
    await term.press('needed for the CVE fix');
    await term.press('\r');
    await term.waitFor('Expires in');
    term.burst('2', '0', 'd', '\r');
    await term.waitFor('between 1m and 14d (policy)');
    term.burst(DEL, DEL, DEL, '4', '8', 'h', '\r');
    await term.waitFor('for 48h because "needed for the CVE fix"? y/n');
    term.burst('y');
    const code = await term.exit();
    expect(code, term.screen()).toBe(0);
    expect(term.screen()).not.toContain('for 3d because');
    const [exception] = p.policy().exceptions;
    expect(Date.parse(exception.expires) - Date.parse(exception.approvedAt)).toBe(48 * 3_600_000);
  });
});
