// What may reach a terminal, a CI log, a report or a cache file. Two rules, applied where text leaves the guard:
//
// - redact: no credential is ever written out. npm's own @npmcli/redact (passwords in URLs, npm tokens, UUID
//   tokens, Authorization values, JSON web tokens), plus what npm's config files hold and it does not catch:
//   a token as the user part of a URL (`https://TOKEN@host/`) and `_authToken=`/`_auth=`/`_password=`/
//   `npmAuthToken:` settings (an .npmrc or .yarnrc.yml line in a diff or an error).
// - neutralize: a string from a lockfile, a registry, a tarball or a policy is shown as data, never acted on by
//   the terminal or the CI runner: control characters (escape sequences, line breaks, carriage returns, tabs,
//   C1 controls), Unicode line separators and bidirectional overrides become visible escapes (`\n`, `\x1b`,
//   `\u202e`), and a string that starts with `::` (a GitHub workflow command, once at the start of a line) has
//   its first colon escaped.
//
// `displayText` does both; `mapStrings` applies one of them to every string in a report's data, so a reporter
// sanitizes its input once instead of at each interpolation.
import { redact as npmRedact } from '@npmcli/redact';
import { redact as npmRedactServer } from '@npmcli/redact/server';

const MASK = '***';

/** `https://TOKEN@host` (a token as the user part, no password): npm's redact only masks passwords. */
const URL_USER = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@:"'<>]+@/gi;
/** `https://user:password@host` that npm's redact could not parse as a URL (it masks only parseable ones). */
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^\s/@:"'<>]*:)(?!\*\*\*@)[^\s/@"'<>]+@/gi;
/** npm, pnpm and yarn auth settings: `//host/:_authToken=...`, `_auth = ...`, `"_password": "..."`, `npmAuthToken: ...`. */
const AUTH_SETTING = /((?:_authToken|_auth|_password|npmAuthToken|npmAuthIdent|npmPassword)["']?\s*[=:]\s*["']?)[^\s"']+/gi;

/** The exact credentials of this run's settings, longest first (see registerSecrets). */
let known: string[] = [];

/**
 * Credentials read from the user's settings (tokens, passwords, `_auth`): masked wherever they appear, whatever
 * surrounds them (a registry answer that echoes a token, an unusual URL form). Values shorter than 6 characters
 * are left to the patterns: masking them everywhere would mangle ordinary text.
 */
export function registerSecrets(values: Iterable<string>): void {
  const all = new Set(known);
  for (const v of values) {
    const s = v.trim();
    if (s.length < 6) continue;
    all.add(s);
    all.add(encodeURIComponent(s));
    try {
      all.add(decodeURIComponent(s));
    } catch {
      // not URL-encoded
    }
  }
  known = [...all].filter((s) => s.length >= 6).sort((a, b) => b.length - a.length);
  redacted.clear(); // what was redacted before may hold one of these
}

/**
 * What @npmcli/redact can act on: a URL, or one of its server matchers (npm tokens, Authorization values, JSON web
 * tokens, UUIDs), tested as npm writes them. It parses every word of a text as a URL, which cost a warm check of
 * 800 packages 0.25 s; a text none of these patterns can match is left to the cheap rules below.
 */
const NPM_REDACT_HINT =
  /:\/\/|\bnpms?_[a-z0-9]{36}|\b(?:basic|bearer)\s|\b[A-Za-z0-9-_]{10,}(?!\.\d+\.)\.[A-Za-z0-9-_]{3,}\.[A-Za-z0-9-_]{20,}\b|\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/i;

/** Texts already redacted in this run (a report prints the same names and messages in several places). */
const redacted = new Map<string, string>();
const REDACTED_KEPT = 50_000;

/** The text with every credential masked. Idempotent. */
export function redact(text: string): string {
  if (!text) return text;
  const seen = redacted.get(text);
  if (seen !== undefined) return seen;
  let out = NPM_REDACT_HINT.test(text) ? npmRedactServer(npmRedact(text)) : text;
  out = out.replace(URL_PASSWORD, `$1${MASK}@`).replace(URL_USER, `$1${MASK}@`).replace(AUTH_SETTING, `$1${MASK}`);
  for (const secret of known) if (out.includes(secret)) out = out.split(secret).join(MASK);
  if (redacted.size >= REDACTED_KEPT) redacted.clear();
  redacted.set(text, out);
  return out;
}

/** C0 and C1 controls, DEL, Unicode line/paragraph separators, bidirectional marks, embeddings, overrides and isolates. */
const UNSAFE = /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** The text as inert data: see the module comment. Idempotent. */
export function neutralize(text: string): string {
  if (!text) return text;
  const out = text.replace(UNSAFE, (c) => {
    const named = NAMED[c];
    if (named) return named;
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
  // A workflow command is `::name ...::` at the start of a line (after blanks); inside a line it is inert.
  return out.replace(/^(\s*):(?=:)/, '$1\\:');
}

/** What any attacker-controlled or credential-bearing string goes through before it is printed. */
export function displayText(text: string): string {
  return neutralize(redact(text));
}

/**
 * A copy of `value` with `fn` applied to every string in it, keys included: plain objects, arrays, Maps, Sets
 * and errors (their message and own fields) are copied; anything else (Dates, class instances, functions) is
 * kept as it is. Shared references stay shared; cycles are kept.
 */
export function mapStrings<T>(value: T, fn: (s: string) => string): T {
  const seen = new Map<object, unknown>();
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return fn(v);
    if (typeof v !== 'object' || v === null) return v;
    const done = seen.get(v);
    if (done !== undefined) return done;
    if (Array.isArray(v)) {
      const out: unknown[] = [];
      seen.set(v, out);
      for (const x of v) out.push(walk(x));
      return out;
    }
    if (v instanceof Map) {
      const out = new Map();
      seen.set(v, out);
      for (const [k, x] of v) out.set(walk(k), walk(x));
      return out;
    }
    if (v instanceof Set) {
      const out = new Set();
      seen.set(v, out);
      for (const x of v) out.add(walk(x));
      return out;
    }
    const proto = Object.getPrototypeOf(v);
    const isError = v instanceof Error;
    if (proto !== Object.prototype && proto !== null && !isError) return v;
    const out = Object.create(proto) as Record<string, unknown>;
    seen.set(v, out);
    for (const key of Object.keys(v)) out[fn(key)] = walk((v as Record<string, unknown>)[key]);
    if (isError) {
      // message is an own property of an error, but not enumerable.
      Object.defineProperty(out, 'message', { value: fn((v as Error).message), enumerable: false, writable: true, configurable: true });
      Object.defineProperty(out, 'stack', { value: undefined, enumerable: false, writable: true, configurable: true });
    }
    return out;
  };
  return walk(value) as T;
}
