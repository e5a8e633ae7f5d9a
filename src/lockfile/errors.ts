/** The lockfile could not be used. The guard fails closed on every one of these. */
export class LockfileError extends Error {
  readonly code: 'no-lockfile' | 'unreadable' | 'malformed' | 'unsupported-version';
  /** The lockfile (or, for `no-lockfile`, the project directory) it concerns. */
  readonly path: string;

  constructor(code: LockfileError['code'], path: string, message: string, opts: { cause?: unknown } = {}) {
    super(`${path}: ${message}`, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'LockfileError';
    this.code = code;
    this.path = path;
  }
}
