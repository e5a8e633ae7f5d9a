// Nothing lost: `safe-install add` is a transaction. A failing final install (a tarball answered 500) or an
// interrupt during npm's resolution (SIGHUP, SIGTERM, SIGINT) leaves package.json and the lockfile exactly as
// they were, bytes compared (a package.json with a latin-1 byte and CRLF line endings, which a round trip through
// text would change), and the npm it started is ended with it: nothing changes the files after it exits.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestRegistry } from '../registry/server.js';
import { BIN, cleanEnv, cli, npm, OLD, tempDir } from '../integration/helpers.js';
import { projectLockPath } from '../../src/util/lock.js';
import { noStackTrace } from './attack.js';
import { BOUND_MS, noProcessIn, waitFor } from '../wait.js';

const DELAY_MS = 5000; // how long the registry keeps npm waiting for the packument during resolution
let registry: TestRegistry;

beforeAll(async () => {
  registry = await TestRegistry.start();
  registry.addPackage({ name: 'plain', versions: [{ version: '1.0.0', publishedAt: OLD }] });
  registry.addPackage({ name: 'broken-tarball', versions: [{ version: '1.0.0', publishedAt: OLD }] });
  registry.addPackage({
    name: 'upd',
    versions: [
      { version: '1.0.0', publishedAt: OLD },
      { version: '1.1.0', publishedAt: OLD },
    ],
  });
  for (const s of ['sighup', 'sigterm', 'sigint', 'baseline', 'check-sighup', 'check-sigterm', 'check-sigint'])
    registry.addPackage({ name: `slow-${s}`, versions: [{ version: '1.0.0', publishedAt: OLD }] });
});
afterAll(() => registry.close());

/** package.json bytes no text round trip keeps: CRLF line endings and a latin-1 é (0xE9, not UTF-8). */
function manifestBytes(): Buffer {
  return Buffer.concat([
    Buffer.from('{\r\n  "name": "app",\r\n  "version": "1.0.0",\r\n  "description": "caf', 'latin1'),
    Buffer.from([0xe9]),
    Buffer.from('",\r\n  "dependencies": {\r\n    "plain": "1.0.0"\r\n  }\r\n}\r\n', 'latin1'),
  ]);
}

async function project() {
  const dir = tempDir('si-txn-add-');
  // npm gives up on a 5xx at once (no retry back-off), so a failing install fails quickly.
  const env = cleanEnv(registry.url, { npm_config_fetch_retries: '0' });
  writeFileSync(join(dir, 'package.json'), manifestBytes());
  expect((await npm(['install', '--package-lock-only', '--ignore-scripts'], { cwd: dir, env })).code).toBe(0);
  writeFileSync(join(dir, 'package.json'), manifestBytes()); // exactly these bytes, whatever npm did
  const files = () => ({ manifest: readFileSync(join(dir, 'package.json')), lockfile: readFileSync(join(dir, 'package-lock.json')) });
  return { dir, env, files, before: files() };
}

function sameBytes(a: { manifest: Buffer; lockfile: Buffer }, b: { manifest: Buffer; lockfile: Buffer }): boolean {
  return a.manifest.equals(b.manifest) && a.lockfile.equals(b.lockfile);
}

describe('add is a transaction', () => {
  it('a tarball answered 500 during the final install: package.json and the lockfile come back byte for byte', async () => {
    const p = await project();
    const tarball = new URL(registry.tarballUrl('broken-tarball', '1.0.0')).pathname;
    registry.fault(tarball, { status: 500 });
    try {
      // The fault is real: the package manager itself fails on that tarball (plain npm, no guard).
      const plainDir = tempDir('si-txn-plain-');
      writeFileSync(join(plainDir, 'package.json'), JSON.stringify({ name: 'x', version: '1.0.0', dependencies: { 'broken-tarball': '1.0.0' } }));
      const plain = await npm(['install', '--ignore-scripts'], { cwd: plainDir, env: p.env });
      expect(plain.code).not.toBe(0);
      expect(plain.stdout + plain.stderr).toMatch(/500/);

      const res = await cli(['add', 'broken-tarball'], { cwd: p.dir, env: p.env });
      expect(sameBytes(p.files(), p.before), res.stdout + res.stderr).toBe(true);
      expect(res.code, res.stdout + res.stderr).toBe(2);
      expect(res.stdout).toMatch(/OK: |with warnings/); // the check passed: the failure came after it
      expect(res.stderr).toContain('npm ci --ignore-scripts failed');
      expect(res.stdout).toContain('The install failed: package.json and package-lock.json are restored byte for byte');
      expect(noStackTrace(res.stdout + res.stderr)).toBe(true);
      expect(sameBytes(p.files(), p.before)).toBe(true);
      expect(existsSync(projectLockPath(p.dir))).toBe(false);
    } finally {
      registry.clearFaults();
    }
  });

  it('update: a tarball answered 500 during the final install puts both files back too', async () => {
    const p = await project();
    // The project depends on upd ^1.0.0, locked at 1.0.0; 1.1.0's tarball fails.
    const withUpd = (range: string) => Buffer.from(p.before.manifest.toString('latin1').replace('"plain": "1.0.0"', `"plain": "1.0.0",\r\n    "upd": "${range}"`), 'latin1');
    writeFileSync(join(p.dir, 'package.json'), withUpd('1.0.0'));
    expect((await npm(['install', '--package-lock-only', '--ignore-scripts'], { cwd: p.dir, env: p.env })).code).toBe(0);
    writeFileSync(join(p.dir, 'package.json'), withUpd('^1.0.0'));
    const before = p.files();
    expect(before.lockfile.toString()).toContain('upd-1.0.0.tgz');
    registry.fault(new URL(registry.tarballUrl('upd', '1.1.0')).pathname, { status: 500 });
    try {
      const res = await cli(['update', 'upd'], { cwd: p.dir, env: p.env });
      expect(sameBytes(p.files(), before), res.stdout + res.stderr).toBe(true);
      expect(res.code, res.stdout + res.stderr).toBe(2);
      expect(res.stdout).toContain('~ upd 1.0.0 -> 1.1.0'); // what update was about to install
      expect(res.stdout).toContain('The install failed: package.json and package-lock.json are restored byte for byte');
      expect(noStackTrace(res.stdout + res.stderr)).toBe(true);
    } finally {
      registry.clearFaults();
    }
  });

  it('left alone, the npm that add starts finishes its resolution and rewrites both files (what must not outlive the guard)', async () => {
    const p = await project();
    registry.fault('/slow-baseline', { delayMs: DELAY_MS });
    try {
      const res = await npm(['install', 'slow-baseline', '--package-lock-only', '--ignore-scripts'], { cwd: p.dir, env: p.env });
      expect(res.code).toBe(0);
      const after = p.files();
      expect(after.manifest.equals(p.before.manifest)).toBe(false);
      expect(after.manifest.includes(Buffer.from([0xe9]))).toBe(false); // npm rewrote the é as U+FFFD
      expect(after.lockfile.toString()).toContain('slow-baseline');
    } finally {
      registry.clearFaults();
    }
  });

  for (const [signal, code] of [
    ['SIGHUP', 129],
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const) {
    it(`${signal} during npm's resolution: npm is ended, both files come back byte for byte and stay so (exit ${code})`, async () => {
      const p = await project();
      const name = `slow-${signal.toLowerCase()}`;
      registry.fault(`/${name}`, { delayMs: DELAY_MS });
      try {
        const child = spawn(process.execPath, [BIN, 'add', name], { cwd: p.dir, env: p.env });
        let output = '';
        child.stdout.on('data', (d) => (output += d));
        child.stderr.on('data', (d) => (output += d));
        const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('close', (c, s) => r({ code: c, signal: s })));
        // npm has asked the registry for the packument and is waiting for it: resolution is under way.
        await waitFor(() => registry.requestCount(`/${name}`) > 0, `npm's request for ${name}`);
        child.kill(signal);
        const end = await exited;
        const atExit = p.files();
        // An npm left running would get its answer after the delay, write both files, then exit: wait until no
        // process is left in the project (at once when npm was ended with the guard), re-read.
        await noProcessIn(p.dir, DELAY_MS + BOUND_MS);
        expect(sameBytes(atExit, p.before), output).toBe(true);
        expect(sameBytes(p.files(), p.before), output).toBe(true);
        expect(end, output).toEqual({ code, signal: null });
        expect(output).toContain(`Interrupted (${signal}): add undone; package.json and package-lock.json are as before, byte for byte.`);
        expect(noStackTrace(output)).toBe(true);
        expect(existsSync(projectLockPath(p.dir))).toBe(false);
      } finally {
        registry.clearFaults();
      }
    }, 90_000);

    it(`${signal} during the check, after npm rewrote both files: they come back byte for byte, the latin-1 byte included (exit ${code})`, async () => {
      const p = await project();
      const name = `slow-check-${signal.toLowerCase()}`;
      registry.fault(`/${name}`, { times: 1 }); // npm's resolution gets its answer at once
      registry.fault(`/${name}`, { delayMs: DELAY_MS }); // the guard's own check of the new lockfile waits
      try {
        const child = spawn(process.execPath, [BIN, 'add', name], { cwd: p.dir, env: p.env });
        let output = '';
        child.stdout.on('data', (d) => (output += d));
        child.stderr.on('data', (d) => (output += d));
        const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('close', (c, s) => r({ code: c, signal: s })));
        await waitFor(
          () => registry.requestCount(`/${name}`) > 1,
          () => `the guard's check asking for ${name}:\n${output}`,
        );
        // npm is done: package.json names the new dependency (and its é is now U+FFFD), the lockfile locks it.
        expect(readFileSync(join(p.dir, 'package.json'), 'latin1')).toContain(name);
        child.kill(signal);
        const end = await exited;
        expect(sameBytes(p.files(), p.before), output).toBe(true);
        expect(end, output).toEqual({ code, signal: null });
        expect(output).toContain(`Interrupted (${signal}): add undone; package.json and package-lock.json are as before, byte for byte.`);
        expect(noStackTrace(output)).toBe(true);
        expect(existsSync(join(p.dir, 'node_modules'))).toBe(false);
      } finally {
        registry.clearFaults();
      }
    }, 90_000);
  }
});
