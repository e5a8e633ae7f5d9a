// The unit tier's rule, enforced (setupFiles of the `unit` project in vitest.config.ts): a unit test starts no
// package manager and connects nowhere off this machine (a loopback server in the test is fine). Each attempt is
// recorded as it is made, whatever the code under test does with the outcome, and fails the test after it: such
// a test belongs in test/integration (the `e2e` project).
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { basename } from 'node:path';
import { afterEach, expect } from 'vitest';

const require = createRequire(import.meta.url);
const cp = require('node:child_process') as Record<string, unknown>;
const net = require('node:net') as typeof import('node:net');

const KEY = Symbol.for('safe-install.unit-isolation');
type Store = { attempts: string[] };
const store: Store = ((globalThis as Record<symbol, Store | undefined>)[KEY] ??= { attempts: [] });

/** Package managers by command name, or by the script node is asked to run (npm-cli.js, pnpm.cjs, yarn.js...). */
const PM_COMMAND = /^(npm|npx|pnpm|pnpx|yarn|yarnpkg|corepack)(\.cmd|\.exe)?$/;
const PM_SCRIPT = /(^|[\\/])(npm-cli|npx-cli|pnpm|pnpx|yarn|yarn-[\d.]+|corepack)\.(c?js|mjs)$/;

function packageManagerIn(fn: string, cmd: unknown, rest: unknown[]): string | undefined {
  if (typeof cmd !== 'string') return undefined;
  // exec/execSync take a shell line: its first word is the command.
  const first = fn === 'exec' || fn === 'execSync' ? (cmd.trim().split(/\s+/)[0] ?? '') : cmd;
  if (PM_COMMAND.test(basename(first)) || PM_SCRIPT.test(first)) return `${fn}(${cmd})`;
  const args = Array.isArray(rest[0]) ? (rest[0] as unknown[]) : [];
  const script = args.find((a): a is string => typeof a === 'string' && !a.startsWith('-'));
  if (script && PM_SCRIPT.test(script)) return `${fn}(${cmd} ${script})`;
  return undefined;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1', '::ffff:127.0.0.1']);

/** Where a Socket#connect call goes, unless it is a local (Unix socket or loopback) one. */
function remoteOf(args: unknown[]): string | undefined {
  // net.connect() hands on its normalized arguments: [options, callback].
  const [a, b] = Array.isArray(args[0]) ? (args[0] as unknown[]) : args;
  if (typeof a === 'string' && !/^\d+$/.test(a)) return undefined; // a Unix socket path
  let host: unknown;
  let port: unknown;
  if (a && typeof a === 'object' && !Array.isArray(a)) {
    const o = a as { path?: unknown; host?: unknown; port?: unknown };
    if (o.path !== undefined) return undefined;
    host = o.host;
    port = o.port;
  } else {
    port = a;
    host = typeof b === 'string' ? b : undefined;
  }
  const h = typeof host === 'string' && host !== '' ? host : 'localhost';
  return LOOPBACK.has(h) || /^127\./.test(h) ? undefined : `connect(${h}:${String(port)})`;
}

if (!(cp as Record<symbol, unknown>)[KEY]) {
  for (const fn of ['spawn', 'spawnSync', 'execFile', 'execFileSync', 'exec', 'execSync', 'fork']) {
    const original = cp[fn] as (...args: unknown[]) => unknown;
    cp[fn] = function (this: unknown, cmd: unknown, ...rest: unknown[]) {
      const pm = packageManagerIn(fn, cmd, rest);
      if (pm) store.attempts.push(pm);
      return original.call(this, cmd, ...rest);
    };
  }
  (cp as Record<symbol, unknown>)[KEY] = true;
  syncBuiltinESMExports(); // `import { spawn } from 'node:child_process'` sees the wrapper too
  const connect = net.Socket.prototype.connect as (...args: unknown[]) => unknown;
  net.Socket.prototype.connect = function (this: unknown, ...args: unknown[]) {
    const remote = remoteOf(args);
    if (remote) store.attempts.push(remote);
    return connect.apply(this, args);
  } as typeof net.Socket.prototype.connect;
}

/** The attempts recorded since the last call (and forgets them): for the test of this file. */
export function takeAttempts(): string[] {
  return store.attempts.splice(0);
}

afterEach(() => {
  expect(takeAttempts(), 'a unit test starts no package manager and connects nowhere off this machine: move it to test/integration').toEqual([]);
});
