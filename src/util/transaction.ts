// The commands that change a user's files (add, update, fix, init, scripts allow|deny, approve) are
// transactions: every file they may change is snapshotted as bytes (or as absent) before it is touched, and on
// any failure or interrupt (SIGINT, SIGTERM, SIGHUP) each one is put back byte for byte (a file that did not
// exist is removed again, with the folders the transaction created for it). On an interrupt the package manager
// it started is ended first (its whole process group), so nothing writes after the restore; the process then
// exits with 128 + the signal's number. Commit is the normal end of the function.
//
// A transaction holds the project's lock (util/lock.ts) from start to end; one started inside another joins it.
import { AsyncLocalStorage } from 'node:async_hooks';
import { mkdir, readFile, rmdir, unlink } from 'node:fs/promises';
import { constants } from 'node:os';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { classifyError, GuardError } from '../errors.js';
import { setOwnProcessGroups, stopRunning } from './children.js';
import { writeFileAtomic } from './atomic.js';
import { withLocks, type LockOptions } from './lock.js';

export interface Transaction {
  /** Snapshot these files' bytes (or absence) now, before anything changes them; a file keeps its first snapshot. */
  track(...paths: string[]): Promise<void>;
  /** Write a file (atomically) as part of the transaction: tracked first, its missing folders created and recorded. */
  write(path: string, data: string | Uint8Array): Promise<void>;
  /** Put every tracked file back now; the transaction ends undone. Returns the tracked files. */
  rollback(): Promise<string[]>;
  /** True once an interrupt is undoing the transaction: stop, the process is about to exit. */
  readonly aborted: boolean;
}

export interface TransactionOptions {
  /** The command, for messages: "init", "add". */
  label: string;
  /** Lock files held for the whole transaction (see util/lock.ts projectLockPath). */
  locks?: string[];
  lockOptions?: LockOptions;
  /** Files to snapshot at the start (those a child process may change). */
  files?: string[];
  /** Paths in messages are shown relative to this folder. */
  relativeTo?: string;
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

class Txn implements Transaction {
  private readonly snapshots = new Map<string, Buffer | null>();
  private readonly createdDirs: string[] = [];
  private readonly pending = new Set<Promise<unknown>>();
  private undoing: Promise<void> | undefined;
  aborted = false;
  ended = false;

  constructor(readonly opts: TransactionOptions) {}

  async track(...paths: string[]): Promise<void> {
    for (const p of paths.map((x) => resolve(x))) {
      if (this.snapshots.has(p)) continue;
      const bytes = await readFile(p).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' || err.code === 'ENOTDIR' ? null : Promise.reject(err)));
      if (!this.snapshots.has(p)) this.snapshots.set(p, bytes);
    }
  }

  async write(path: string, data: string | Uint8Array): Promise<void> {
    if (this.aborted || this.ended) throw new GuardError('install-failed', `${this.opts.label}: ${this.aborted ? 'interrupted' : 'already ended'}, so ${path} was not written`);
    const op = (async () => {
      await this.track(path);
      await this.mkdirs(dirname(resolve(path)));
      await writeFileAtomic(path, data);
    })();
    this.pending.add(op);
    try {
      await op;
    } finally {
      this.pending.delete(op);
    }
  }

  private async mkdirs(dir: string): Promise<void> {
    const first = await mkdir(dir, { recursive: true });
    if (first === undefined) return;
    // Every folder from the first one created down to `dir`, removed (deepest first) if this is undone.
    for (let d = dir; ; d = dirname(d)) {
      this.createdDirs.push(d);
      if (d === first || dirname(d) === d) break;
    }
  }

  get undone(): boolean {
    return this.undoing !== undefined;
  }

  files(): string[] {
    return [...this.snapshots.keys()];
  }

  /** Restore every file; once, however many callers (the failure path and a signal handler) ask. */
  restore(): Promise<void> {
    this.undoing ??= (async () => {
      await Promise.allSettled([...this.pending]);
      const failed: string[] = [];
      for (const [p, bytes] of this.snapshots) {
        try {
          const now = await readFile(p).catch(() => null);
          if (bytes === null) {
            if (now !== null) await unlink(p);
          } else if (!now?.equals(bytes)) {
            await mkdir(dirname(p), { recursive: true });
            await writeFileAtomic(p, bytes);
            if (!(await readFile(p)).equals(bytes)) failed.push(p);
          }
        } catch {
          failed.push(p);
        }
      }
      for (const d of [...this.createdDirs].sort((a, b) => b.length - a.length)) await rmdir(d).catch(() => {});
      this.ended = true;
      if (failed.length) {
        throw new GuardError('install-failed', `${this.opts.label}: could not restore ${failed.map((f) => this.show(f)).join(', ')}`, {
          remedy: 'restore them from version control (git checkout -- <file>)',
        });
      }
    })();
    return this.undoing;
  }

  async rollback(): Promise<string[]> {
    await this.restore();
    return this.files().map((f) => this.show(f));
  }

  show(p: string): string {
    const base = this.opts.relativeTo ? resolve(this.opts.relativeTo) : process.cwd();
    const rel = relative(base, p);
    return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : p;
  }

  describeFiles(): string {
    const names = this.files().map((f) => this.show(f));
    return names.length <= 1 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
  }
}

const current = new AsyncLocalStorage<Txn>();
const active = new Set<Txn>();
let interrupting: NodeJS.Signals | undefined;

function quietWrite(s: string): void {
  try {
    process.stderr.write(s);
  } catch {
    // the terminal may be gone (SIGHUP)
  }
}

async function onSignal(signal: NodeJS.Signals): Promise<void> {
  if (interrupting) return; // already undoing: a second Ctrl-C does not cut the restore short
  interrupting = signal;
  // Output to a closed terminal must not end the process before the files are back.
  for (const s of [process.stdout, process.stderr]) s.on('error', () => {});
  for (const t of active) t.aborted = true;
  let code = 128 + (constants.signals[signal] ?? 1);
  await stopRunning().catch(() => {});
  for (const t of active) {
    try {
      await t.restore();
      quietWrite(`\nInterrupted (${signal}): ${t.opts.label} undone; ${t.describeFiles() || 'no file'} ${t.files().length === 1 ? 'is' : 'are'} as before, byte for byte.\n`);
    } catch (err) {
      quietWrite(`\nInterrupted (${signal}): ${(err as Error).message}\n`);
      code = 2;
    }
  }
  process.exit(code); // locks are removed by their exit hook
}

const handler = (signal: NodeJS.Signals) => void onSignal(signal);

function activate(t: Txn): void {
  if (!active.size) {
    for (const s of SIGNALS) process.on(s, handler);
    setOwnProcessGroups(true);
  }
  active.add(t);
}

function deactivate(t: Txn): void {
  active.delete(t);
  if (!active.size && !interrupting) {
    for (const s of SIGNALS) process.removeListener(s, handler);
    setOwnProcessGroups(false);
  }
}

/** Never settles: once an interrupt is undoing the transaction, the signal handler ends the process. */
const forever = () => new Promise<never>(() => {});

/**
 * Run `fn` as a transaction. It commits when `fn` returns (unless it called rollback); on a throw every tracked
 * file is restored and the error is passed on (an unexpected one as a GuardError naming the command).
 */
export async function transaction<T>(opts: TransactionOptions, fn: (t: Transaction) => Promise<T>): Promise<T> {
  const outer = current.getStore();
  if (outer && !outer.ended) {
    // Joins the running transaction: its files are restored with the outer one's.
    return withLocks(
      opts.locks ?? [],
      async () => {
        await outer.track(...(opts.files ?? []));
        return fn(outer);
      },
      opts.lockOptions,
    );
  }
  return withLocks(
    opts.locks ?? [],
    async () => {
      const t = new Txn(opts);
      activate(t);
      try {
        await t.track(...(opts.files ?? []));
        const value = await current.run(t, () => fn(t));
        if (t.aborted) return await forever();
        t.ended = true;
        return value;
      } catch (err) {
        if (t.aborted) return await forever();
        const told = t.undone; // the command already undid it (and said so)
        await t.restore();
        // A known file-system failure (a file where a folder goes, a dangling link, a full disk) says which file.
        const known = classifyError(err);
        if (known) {
          if (t.files().length && !told) quietWrite(`safe-install ${opts.label} did not complete: ${t.describeFiles()} ${t.files().length === 1 ? 'is' : 'are'} as before, byte for byte.\n`);
          throw known;
        }
        throw new GuardError('bad-config', `${opts.label} did not complete: ${(err as Error).message}`, {
          remedy: `nothing was changed (${t.describeFiles() || 'no file'} as before); fix the cause and run it again`,
          cause: err,
        });
      } finally {
        deactivate(t);
      }
    },
    opts.lockOptions,
  );
}
