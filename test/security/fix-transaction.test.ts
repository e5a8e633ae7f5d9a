// Nothing lost: `safe-install fix` is a transaction. SIGHUP, SIGTERM or SIGINT while npm rewrites the lockfile
// ends npm with it and leaves package.json, the lockfile and the backups exactly as they were (no backup of a
// fix that did not happen), bytes compared (CRLF line endings, non-ASCII text); nothing changes after it exits.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestRegistry } from '../registry/server.js';
import { BIN, cleanEnv, npm, OLD, tempDir } from '../integration/helpers.js';
import { projectLockPath } from '../../src/util/lock.js';
import { noStackTrace } from './attack.js';
import { BOUND_MS, noProcessIn, waitFor } from '../wait.js';

const DELAY_MS = 5000;
const YOUNG = new Date(Date.now() - 86_400_000).toISOString();
let registry: TestRegistry;

beforeAll(async () => {
  registry = await TestRegistry.start();
  registry.addPackage({ name: 'plain', versions: [{ version: '1.0.0', publishedAt: OLD }] });
  for (const s of ['sighup', 'sigterm', 'sigint']) {
    registry.addPackage({
      name: `fresh-${s}`,
      versions: [
        { version: '1.0.0', publishedAt: OLD },
        { version: '1.1.0', publishedAt: YOUNG },
      ],
    });
  }
});
afterAll(() => registry.close());

const FILES = ['package.json', 'package-lock.json', '.safe-install/tmp/package.json.backup', '.safe-install/tmp/package-lock.json.backup'];

describe('fix is a transaction', () => {
  for (const [signal, code] of [
    ['SIGHUP', 129],
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const) {
    it(`${signal} while npm moves the lockfile to the fallback: npm is ended, every file as before (exit ${code})`, async () => {
      const name = `fresh-${signal.toLowerCase()}`;
      const dir = tempDir('si-txn-fix-');
      const env = cleanEnv(registry.url);
      const manifest = Buffer.from(
        JSON.stringify({ name: 'app', version: '1.0.0', description: 'café ☕', dependencies: { [name]: '^1.0.0', plain: '1.0.0' } }, null, 2).replace(/\n/g, '\r\n') + '\r\n',
      );
      writeFileSync(join(dir, 'package.json'), manifest);
      expect((await npm(['install', '--package-lock-only', '--ignore-scripts'], { cwd: dir, env })).code).toBe(0);
      writeFileSync(join(dir, 'package.json'), manifest);
      const files = () => FILES.map((f) => (existsSync(join(dir, f)) ? readFileSync(join(dir, f)) : null));
      const before = files();
      const same = (now: (Buffer | null)[]) => now.every((b, i) => (b === null ? before[i] === null : before[i] !== null && b.equals(before[i]!)));
      expect(readFileSync(join(dir, 'package-lock.json'), 'utf8')).toContain(`${name}-1.1.0.tgz`); // the young version is locked

      const c0 = registry.requestCount(`/${name}`);
      registry.fault(`/${name}`, { times: 1 }); // the check's own request is answered at once
      registry.fault(`/${name}`, { delayMs: DELAY_MS }); // npm's, while it rewrites the lockfile, waits
      try {
        const child = spawn(process.execPath, [BIN, 'fix', '--yes'], { cwd: dir, env });
        let output = '';
        child.stdout.on('data', (d) => (output += d));
        child.stderr.on('data', (d) => (output += d));
        const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('close', (c, s) => r({ code: c, signal: s })));
        await waitFor(
          () => registry.requestCount(`/${name}`) > c0 + 1,
          () => `npm's request for ${name}:\n${output}`,
        );
        expect(output).toContain(`npm install --package-lock-only --ignore-scripts --no-audit --no-fund --save --save-exact ${name}@1.0.0`);
        child.kill(signal);
        const end = await exited;
        const atExit = files();
        // An npm left running would get its answer after the delay, write package.json and the lockfile, then exit:
        // wait until no process is left in the project (at once when npm was ended with the guard), re-read.
        await noProcessIn(dir, DELAY_MS + BOUND_MS);
        expect(same(atExit), output).toBe(true);
        expect(same(files()), output).toBe(true);
        expect(end, output).toEqual({ code, signal: null });
        expect(output).toMatch(
          new RegExp(
            `Interrupted \\(${signal}\\): fix undone; package\\.json, package-lock\\.json, \\.safe-install/tmp/package\\.json\\.backup and \\.safe-install/tmp/package-lock\\.json\\.backup are as before, byte for byte\\.`,
          ),
        );
        expect(noStackTrace(output)).toBe(true);
        expect(existsSync(projectLockPath(dir))).toBe(false);
      } finally {
        registry.clearFaults();
      }
    }, 90_000);
  }
});
