// One error class for everything that stops a run. The CLI entry maps every one of them to exit 2:
// the guard fails closed, so "could not check" is never "allowed".
import { existsSync, lstatSync, readlinkSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';

export type GuardErrorCode =
  | 'no-lockfile'
  | 'bad-lockfile'
  | 'bad-policy'
  | 'bad-config'
  | 'bad-usage'
  | 'registry-unreachable'
  | 'registry-error'
  | 'registry-timeout'
  | 'registry-malformed'
  | 'registry-too-large'
  | 'registry-down'
  | 'deadline'
  | 'cache-miss'
  | 'install-failed'
  | 'wrong-package-manager'
  | 'bad-ledger'
  | 'too-large'
  | 'file-system';

export class GuardError extends Error {
  readonly code: GuardErrorCode;
  /** What the user can do about it. */
  readonly remedy?: string;
  /** The package it concerns, when it concerns one. */
  readonly pkg?: string;

  constructor(code: GuardErrorCode, message: string, opts: { remedy?: string; pkg?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'GuardError';
    this.code = code;
    this.remedy = opts.remedy;
    this.pkg = opts.pkg;
  }
}

/** Credentials masked in a string about to be printed or written (see src/util/safe-text.ts). */
import { redact } from './util/safe-text.js';
export { redact };

/** What a file-system failure means, in plain words, and what the person can do (by Node's error code). */
const FS_FAILURES: Record<string, { what: string; todo: (path: string) => string }> = {
  ENOTDIR: {
    what: 'a part of this path is a file where a folder is expected',
    todo: (p) => `move or remove the file that stands where a folder of ${p} should be`,
  },
  EISDIR: { what: 'this is a folder where a file is expected', todo: (p) => `remove or rename the folder ${p}` },
  ENOENT: {
    what: 'it, or a folder on its way, does not exist (a dangling symbolic link?)',
    todo: (p) => `check the path; if ${p} or a folder on its way is a symbolic link, make it point to something that exists, or remove it`,
  },
  ELOOP: { what: 'too many levels of symbolic links (a link loop)', todo: (p) => `fix or remove the symbolic links on the way to ${p}` },
  EACCES: { what: 'permission denied', todo: (p) => `check the owner and permissions of ${p} and the folders on its way` },
  EPERM: { what: 'operation not permitted', todo: (p) => `check the owner, permissions and attributes (immutable?) of ${p}` },
  ENOSPC: { what: 'no space left on the device', todo: () => 'free some disk space (or point TMPDIR / XDG_CACHE_HOME elsewhere) and run again' },
  EDQUOT: { what: 'the disk quota is exhausted', todo: () => 'free some space within your quota and run again' },
  EFBIG: { what: 'the file is larger than this process may write (ulimit -f?)', todo: () => 'raise the file-size limit (ulimit -f), or free the space, and run again' },
  EROFS: { what: 'the file system is read-only', todo: (p) => `run where ${p} is writable` },
  EEXIST: { what: 'something already exists there', todo: (p) => `move ${p} out of the way (a dangling symbolic link counts)` },
  ENAMETOOLONG: { what: 'the path is too long', todo: () => 'use a shorter path' },
  EMFILE: { what: 'too many open files', todo: () => 'raise the open-files limit (ulimit -n) or close other programs, and run again' },
  ENFILE: { what: 'too many open files on the system', todo: () => 'close other programs and run again' },
  EBUSY: { what: 'the file is busy (in use)', todo: (p) => `close whatever holds ${p} and run again` },
  ETXTBSY: { what: 'the file is busy (being executed)', todo: (p) => `close whatever runs ${p} and run again` },
  EIO: { what: 'an input/output error from the device', todo: () => 'check the disk or network file system, and run again' },
  ERR_FS_FILE_TOO_LARGE: { what: 'the file is too large to read (over 2 GB)', todo: (p) => `check ${p}: it should not be this large` },
};

/** The verb for a Node fs syscall, as a person would say it. */
function verbOf(syscall: string | undefined): string {
  if (syscall?.startsWith('spawn')) return 'run';
  switch (syscall) {
    case 'open':
      return 'open';
    case 'read':
    case 'readdir':
    case 'scandir':
    case 'stat':
    case 'lstat':
    case 'readlink':
    case 'realpath':
    case 'access':
      return 'read';
    case 'mkdir':
      return 'create the folder';
    case 'rename':
    case 'write':
    case 'copyfile':
    case 'symlink':
    case 'link':
    case 'chmod':
    case 'utime':
    case 'futime':
      return 'write';
    case 'unlink':
    case 'rmdir':
    case 'rm':
      return 'remove';
    default:
      return 'use';
  }
}

/**
 * Known environmental failures (a file where a folder should be, a dangling link, no space, a read-only disk, ...)
 * as a GuardError naming the file and saying what to do; undefined for anything else (a genuine bug).
 * The CLI entry uses this once for every command, so no call site has to.
 */
export function classifyError(err: unknown, hint: { path?: string } = {}): GuardError | undefined {
  if (err instanceof GuardError) return err;
  if (!err || typeof err !== 'object') return undefined;
  const e = err as NodeJS.ErrnoException & { dest?: string };
  const failure = describeFsFailure(err, hint);
  if (!failure) {
    // An error wrapping an fs failure (`cause`) is classified by its cause.
    const cause = (e as { cause?: unknown }).cause;
    return cause && cause !== err ? classifyError(cause, hint) : undefined;
  }
  const where = failure.path ? `could not ${verbOf(e.syscall)} ${failure.path}` : `a file could not be ${e.syscall === 'read' ? 'read' : 'used'} (Node did not say which)`;
  return new GuardError('file-system', redact(`${where}: ${failure.what}`), { remedy: redact(failure.remedy), cause: err });
}

/**
 * A known fs failure in plain words: what went wrong (with its code, and the part of the path in the way) and
 * what to do; `hint.path` names the file when Node's error does not (a read of a folder says no path).
 */
export function describeFsFailure(err: unknown, hint: { path?: string } = {}): { path?: string; what: string; remedy: string } | undefined {
  if (!err || typeof err !== 'object') return undefined;
  const e = err as NodeJS.ErrnoException & { dest?: string };
  const known = typeof e.code === 'string' ? FS_FAILURES[e.code] : undefined;
  if (!known) return undefined;
  // writeFileAtomic's temporary name (`file.<pid>.<hex>.tmp`) is not the file the person knows.
  const clean = (p: string) => p.replace(/\.\d+\.[0-9a-f]{8}\.tmp$/, '');
  const path = typeof e.path === 'string' ? clean(e.path) : hint.path;
  const dest = typeof e.dest === 'string' ? clean(e.dest) : undefined;
  const target = dest && e.syscall === 'rename' ? dest : path;
  const culprit = target && (e.code === 'ENOTDIR' || e.code === 'ENOENT' || e.code === 'EEXIST' || e.code === 'ELOOP') ? blockingAncestor(target) : undefined;
  return {
    ...(target ? { path: target } : {}),
    what: `${known.what} (${e.code})${culprit ? `: ${culprit.what}` : ''}`,
    remedy: culprit ? culprit.todo : known.todo(target ?? 'the file'),
  };
}

/** The first part of `path` that stands in the way: a file where a folder is expected, or a dangling link. */
function blockingAncestor(path: string): { what: string; todo: string } | undefined {
  const parts: string[] = [];
  for (let p = resolve(path); ; p = dirname(p)) {
    parts.unshift(p);
    if (dirname(p) === p) break;
  }
  for (const p of parts) {
    let st: Stats;
    try {
      st = lstatSync(p);
    } catch {
      return undefined; // simply missing: the message already says so
    }
    if (st.isSymbolicLink()) {
      let target: string;
      try {
        target = readlinkSync(p);
      } catch {
        continue;
      }
      if (!existsSync(p)) return { what: `${p} is a symbolic link to ${target}, which does not exist`, todo: `remove the link ${p} or make it point to a folder that exists` };
      continue;
    }
    if (p !== resolve(path) && !st.isDirectory()) return { what: `${p} is a file, not a folder`, todo: `move or remove the file ${p} (a folder is expected there)` };
  }
  return undefined;
}

/** Print the stack of an internal error: only with --debug or SAFE_INSTALL_DEBUG=1. */
export function debugWanted(argv: readonly string[] = process.argv): boolean {
  return argv.includes('--debug') || /^(1|true|yes)$/i.test(process.env.SAFE_INSTALL_DEBUG ?? '');
}
