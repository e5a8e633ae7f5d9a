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
import { readdirSync, readFileSync, rmdirSync, unlinkSync } from 'node:fs';
import { link, lstat, mkdir, readdir, readFile, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
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

/**
 * The one folder in a project for safe-install's scratch files: the locks (this project's, the ledger's, a
 * policy's) and `fix`'s backups. It holds its own `.gitignore` (`*`), so git ignores everything in it without
 * the user editing theirs, while the ledger next to it (`.safe-install/quarantine.json`) stays committable.
 * Only commands that install or that edit state create it; `check` never does. When a run's last lock is
 * released and nothing else is in it (no backup, no other run's lock), it is removed again.
 */
export const SCRATCH_DIR = join('.safe-install', 'tmp');
const SCRATCH_IGNORE = '# safe-install scratch (locks, fix backups): never committed\n*\n';

export function scratchDir(projectDir: string): string {
  return join(resolve(projectDir), SCRATCH_DIR);
}

/** The lock that guards a project's files (policy, package.json, lockfile, the package manager's settings). */
export function projectLockPath(projectDir: string): string {
  return join(scratchDir(projectDir), 'project.lock');
}

/** The lock of a file kept in `dir` (a ledger, a policy): in the scratch folder of the file's own folder. */
export function fileLockPath(file: string): string {
  return join(scratchDir(dirname(resolve(file))), `${basename(file)}.lock`);
}

function isScratchDir(dir: string): boolean {
  return basename(dir) === basename(SCRATCH_DIR) && basename(dirname(dir)) === dirname(SCRATCH_DIR);
}

/**
 * Create the scratch folder (and its .gitignore) if it is not there. A `.safe-install` or `tmp` that is a link
 * or a file (a repository can ship one) is refused: scratch files are never written through a link elsewhere.
 */
export async function ensureScratchDir(dir: string): Promise<void> {
  // Another run that just released its lock may tidy the empty folder away between our steps (ENOENT on the
  // `tmp` folder or its .gitignore): made again, a few times at most.
  for (let attempt = 1; ; attempt++) {
    try {
      return await makeScratchDir(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 8) throw err;
    }
  }
}

async function makeScratchDir(dir: string): Promise<void> {
  for (const d of [dirname(dir), dir]) {
    const st = await lstat(d).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? undefined : Promise.reject(err)));
    if (st && !st.isDirectory()) {
      throw new GuardError('bad-config', `${d} is not a folder (${st.isSymbolicLink() ? 'a symbolic link' : 'a file'}): safe-install keeps its scratch files (locks, backups) in ${dir}`, {
        remedy: `remove ${d} (safe-install creates it as a folder when it needs it)`,
      });
    }
    if (!st) await mkdir(d).catch((err: NodeJS.ErrnoException) => (err.code === 'EEXIST' ? undefined : Promise.reject(err)));
  }
  await writeFile(join(dir, '.gitignore'), SCRATCH_IGNORE, { flag: 'wx' }).catch((err: NodeJS.ErrnoException) => (err.code === 'EEXIST' ? undefined : Promise.reject(err)));
}

function tidyScratchDirSync(dir: string): void {
  try {
    if (readdirSync(dir).some((n) => n !== '.gitignore') || readFileSync(join(dir, '.gitignore'), 'utf8') !== SCRATCH_IGNORE) return;
    unlinkSync(join(dir, '.gitignore'));
    rmdirSync(dir);
    rmdirSync(dirname(dir));
  } catch {
    // kept: another run uses it, or it holds a backup or a ledger
  }
}

/** Remove a scratch folder that holds nothing but its .gitignore (and `.safe-install` if that leaves it empty). */
async function tidyScratchDir(dir: string): Promise<void> {
  const names = await readdir(dir).catch(() => undefined);
  if (!names || names.some((n) => n !== '.gitignore')) return;
  if ((await readFile(join(dir, '.gitignore'), 'utf8').catch(() => SCRATCH_IGNORE)) !== SCRATCH_IGNORE) return; // the user's own
  await unlink(join(dir, '.gitignore')).catch(() => {});
  // Another run that took a lock here meanwhile keeps the folder (ENOTEMPTY); it re-creates the .gitignore.
  if (
    await rmdir(dir).then(
      () => true,
      () => false,
    )
  )
    await rmdir(dirname(dir)).catch(() => {});
}

function command(): string {
  const args = process.argv
    .slice(2)
    .filter((a) => !a.startsWith('-'))
    .slice(0, 2);
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

function parseOwner(text: string | undefined): LockOwner | undefined {
  if (text === undefined) return undefined;
  try {
    const o = JSON.parse(text) as Partial<LockOwner>;
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
    const age = await stat(breaker).then(
      (s) => Date.now() - s.mtimeMs,
      () => 0,
    );
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
  if (isScratchDir(dirname(lock))) await ensureScratchDir(dirname(lock));
  const deadline = Date.now() + (opts.waitMs ?? 30_000);
  for (let delay = 20; ; delay = Math.min(delay * 2, 250)) {
    const created = await tryCreate(lock, me).catch(async (err: NodeJS.ErrnoException) => {
      // The scratch folder was tidied away by another run just now: made again, tried again.
      if (err.code !== 'ENOENT' || !isScratchDir(dirname(lock)) || Date.now() > deadline) throw err;
      await ensureScratchDir(dirname(lock));
      return false;
    });
    if (created) return;
    const text = await readFile(lock, 'utf8').catch(() => undefined);
    const owner = parseOwner(text); // the same read: text and owner are one holder's
    if (text !== undefined && owner && owner.host === me.host && !alive(owner.pid)) {
      await breakStale(lock, text); // its process is gone (killed): the lock says nothing any more
      continue;
    }
    if (text !== undefined && !owner) {
      // Not one of ours (or damaged): broken only once it is clearly old.
      const age = await stat(lock).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
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
      for (const d of new Set([...heldByProcess].map((l) => dirname(l)).filter(isScratchDir))) tidyScratchDirSync(d);
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
    for (const d of new Set(taken.map((l) => dirname(l)).filter(isScratchDir))) await tidyScratchDir(d);
  }
}
