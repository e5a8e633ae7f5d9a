// Locks between safe-install runs on the same files: a lock file created atomically (written in full under a
// temporary name, then hard-linked into place, which fails when it exists), naming the process that holds it.
// A lock whose process is gone (same host, pid no longer running) is stale and is broken, under a short second
// lock so that two waiters never both break it (the second would remove the first one's fresh lock). Waiting is
// bounded: after `waitMs` the run stops with a message naming the holder and what to do.
//
// Re-entrant within one asynchronous call chain (AsyncLocalStorage): a command that holds the project lock can
// call an edit that takes it again. Concurrent chains in one process still exclude each other.
//
// (No library: proper-lockfile is not in the dependency tree, and npm's own packages do not lock project files.)
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import { unlinkSync } from 'node:fs';
import { link, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { GuardError } from '../errors.js';

interface LockOwner {
  pid: number;
  host: string;
  command: string;
  since: string;
}

export interface LockOptions {
  /** How long to wait for another run's lock before giving up (default 30 s). */
  waitMs?: number;
  /** What the lock protects, for the message ("this project's settings"). */
  what?: string;
}

const heldHere = new AsyncLocalStorage<ReadonlySet<string>>();
/** Every lock this process holds, removed if the process exits without releasing it (process.exit in a handler). */
const heldByProcess = new Set<string>();
let exitHook = false;

/** The lock that guards a project's files (policy, package.json, lockfile, the package manager's settings). */
export function projectLockPath(projectDir: string): string {
  return join(resolve(projectDir), '.safe-install.lock');
}

function command(): string {
  const args = process.argv.slice(2).filter((a) => !a.startsWith('-')).slice(0, 2);
  return ['safe-install', ...args].join(' ');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readOwner(lock: string): Promise<LockOwner | undefined> {
  try {
    const o = JSON.parse(await readFile(lock, 'utf8')) as Partial<LockOwner>;
    return typeof o?.pid === 'number' && typeof o.host === 'string' ? (o as LockOwner) : undefined;
  } catch {
    return undefined;
  }
}

/** Create `lock` holding `owner`, or return false when it exists. */
async function tryCreate(lock: string, owner: LockOwner): Promise<boolean> {
  const tmp = `${lock}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, JSON.stringify(owner) + '\n', { flag: 'wx' });
  try {
    await link(tmp, lock);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await unlink(tmp).catch(() => {});
  }
}

/** Remove `lock` if it is still the stale one seen (under a short breaker lock; a stale breaker goes after 10 s). */
async function breakStale(lock: string, seen: string): Promise<void> {
  const breaker = `${lock}.break`;
  const me: LockOwner = { pid: process.pid, host: hostname(), command: command(), since: new Date().toISOString() };
  if (!(await tryCreate(breaker, me).catch(() => false))) {
    const age = await stat(breaker).then((s) => Date.now() - s.mtimeMs, () => 0);
    if (age > 10_000) await unlink(breaker).catch(() => {});
    return;
  }
  try {
    const now = await readFile(lock, 'utf8').catch(() => undefined);
    if (now === seen) await unlink(lock).catch(() => {});
  } finally {
    await unlink(breaker).catch(() => {});
  }
}

const waited = (ms: number) => (ms < 1000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`);

async function acquire(lock: string, opts: LockOptions): Promise<void> {
  const me: LockOwner = { pid: process.pid, host: hostname(), command: command(), since: new Date().toISOString() };
  const deadline = Date.now() + (opts.waitMs ?? 30_000);
  for (let delay = 20; ; delay = Math.min(delay * 2, 250)) {
    if (await tryCreate(lock, me)) return;
    const text = await readFile(lock, 'utf8').catch(() => undefined);
    const owner = await readOwner(lock);
    if (text !== undefined && owner && owner.host === me.host && !alive(owner.pid)) {
      await breakStale(lock, text); // its process is gone (killed): the lock says nothing any more
      continue;
    }
    if (text !== undefined && !owner) {
      // Not one of ours (or damaged): broken only once it is clearly old.
      const age = await stat(lock).then((s) => Date.now() - s.mtimeMs, () => 0);
      if (age > 60_000) await breakStale(lock, text);
    }
    if (Date.now() > deadline) {
      const who = owner ? `\`${owner.command}\` (pid ${owner.pid}${owner.host === me.host ? '' : ` on ${owner.host}`}, since ${owner.since})` : 'another run';
      throw new GuardError('bad-usage', `cannot change ${opts.what ?? lock} now: ${who} holds its lock ${lock} (waited ${waited(opts.waitMs ?? 30_000)})`, {
        remedy: `wait until it finishes and run this again; if no safe-install is running there, remove ${lock}`,
      });
    }
    await new Promise((r) => setTimeout(r, delay + Math.floor(Math.random() * 20)));
  }
}

/**
 * Run `fn` holding every lock in `locks` (lock file paths), taken in sorted order so two runs never wait on each
 * other in a cycle. Locks this call chain already holds are not taken again.
 */
export async function withLocks<T>(locks: string[], fn: () => Promise<T>, opts: LockOptions = {}): Promise<T> {
  const held = heldHere.getStore() ?? new Set<string>();
  const wanted = [...new Set(locks.map((l) => resolve(l)))].filter((l) => !held.has(l)).sort();
  if (!wanted.length) return fn();
  if (!exitHook) {
    exitHook = true;
    process.on('exit', () => {
      for (const l of heldByProcess) {
        try {
          unlinkSync(l);
        } catch {
          // already gone
        }
      }
    });
  }
  const taken: string[] = [];
  try {
    for (const l of wanted) {
      await acquire(l, opts);
      taken.push(l);
      heldByProcess.add(l);
    }
    return await heldHere.run(new Set([...held, ...taken]), fn);
  } finally {
    for (const l of taken.reverse()) {
      heldByProcess.delete(l);
      await unlink(l).catch(() => {});
    }
  }
}

/** `withLocks` for one file's read-modify-write: its lock is `<file>.lock`. */
export function withFileLock<T>(file: string, fn: () => Promise<T>, opts: LockOptions = {}): Promise<T> {
  return withLocks([`${file}.lock`], fn, { what: file, ...opts });
}
