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
  | 'registry-too-large'
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

/** Replace anything that looks like a credential in a string we are about to print. */
export function redact(text: string): string {
  return text
    .replace(/(_authToken|_auth|_password|token|password)(["'=:\s]+)[^\s"'&]+/gi, '$1$2***')
    .replace(/(\/\/)[^/@\s:]+:[^/@\s]+@/g, '$1***@')
    .replace(/\b(npm_[A-Za-z0-9]{20,})\b/g, '***')
    .replace(/(authorization:\s*(?:bearer|basic)\s+)\S+/gi, '$1***');
}
