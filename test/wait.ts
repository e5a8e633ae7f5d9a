// Bounded waits for an event, in place of fixed sleeps (issue 17): a test waits for what it needs (output seen, a
// request arrived, a process gone), goes on the moment it happens, and fails saying what it waited for when the
// bound passes. The bounds are generous: they only stop a broken run, nothing is asserted about how long it took.
import type { ChildProcess } from 'node:child_process';
import { readdirSync, readlinkSync, realpathSync } from 'node:fs';
import { join } from 'node:path';

export const BOUND_MS = 30_000;

/** Resolves with `probe()`'s first truthy answer, checked now and then every few milliseconds. */
export async function waitFor<T>(probe: () => T | undefined | null | false | Promise<T | undefined | null | false>, what: string | (() => string), boundMs = BOUND_MS): Promise<T> {
  const end = Date.now() + boundMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > end) throw new Error(`gave up after ${boundMs} ms waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** `promise`, or an error naming `what` once `boundMs` passes without it settling. */
export function within<T>(promise: Promise<T>, what: string, boundMs = BOUND_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`gave up after ${boundMs} ms waiting for ${what}`)), boundMs);
  });
  return Promise.race([promise, bound]).finally(() => clearTimeout(timer));
}

export interface Watched {
  /** stdout and stderr so far, interleaved as they came. */
  output(): string;
  /** Resolves once the output contains `text` (or matches it); rejects if the process exits first or at the bound. */
  seen(text: string | RegExp, boundMs?: number): Promise<void>;
  /** The exit code and signal, once the process has exited and its streams closed. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Watch a child's output (stdout and stderr, piped) and exit, to wait on what it prints. */
export function watch(child: ChildProcess): Watched {
  let out = '';
  let ended = false;
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const w of waiters) w();
  };
  const take = (d: Buffer | string) => {
    out += String(d);
    wake();
  };
  child.stdout?.on('data', take);
  child.stderr?.on('data', take);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.on('close', (code, signal) => {
      ended = true;
      wake();
      r({ code, signal });
    }),
  );
  const has = (text: string | RegExp) => (typeof text === 'string' ? out.includes(text) : text.test(out));
  const seen = (text: string | RegExp, boundMs = BOUND_MS) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`gave up after ${boundMs} ms waiting for ${String(text)} in:\n${out}`)), boundMs);
      const done = (err?: Error) => {
        clearTimeout(timer);
        waiters.delete(check);
        if (err) reject(err);
        else resolve();
      };
      const check = () => {
        if (has(text)) done();
        else if (ended) done(new Error(`the process exited before printing ${String(text)}:\n${out}`));
      };
      waiters.add(check);
      check();
    });
  return { output: () => out, seen, exited };
}

/**
 * The processes (pid and command line) whose working directory is `dir` or inside it (Linux /proc): what a
 * package manager left running in a project would be. Processes this user cannot inspect are not listed.
 */
export function processesIn(dir: string): { pid: number; cmd: string }[] {
  const root = realpathSync(dir);
  const found: { pid: number; cmd: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cwd = readlinkSync(join('/proc', entry, 'cwd'));
      if (cwd !== root && !cwd.startsWith(`${root}/`)) continue;
      const cmd = readlinkSync(join('/proc', entry, 'exe'));
      found.push({ pid: Number(entry), cmd });
    } catch {
      // gone meanwhile, or not ours to inspect
    }
  }
  return found;
}

/** Resolves once no process works in `dir` (processesIn): whatever ran there has exited, on its own or ended. */
export async function noProcessIn(dir: string, boundMs = BOUND_MS): Promise<void> {
  await waitFor(
    () => processesIn(dir).length === 0,
    () => `no process left in ${dir} (still: ${JSON.stringify(processesIn(dir))})`,
    boundMs,
  );
}
