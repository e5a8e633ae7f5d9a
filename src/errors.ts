// One error class for everything that stops a run. The CLI entry maps every one of them to exit 2:
// the guard fails closed, so "could not check" is never "allowed".

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
  | 'cache-miss'
  | 'install-failed';

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
export { redact } from './util/safe-text.js';
