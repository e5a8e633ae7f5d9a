// A packument parsed as it streams in, keeping only the fields slimPackument reads (facts.ts): used for
// bodies over 16 MiB, where JSON.parse of the whole text cost about 3x the body in memory (a 100 MB packument
// peaked at ~400 MB). The bytes are fed to jsonparse (the tokenizer under npm's own JSONStream) chunk by chunk
// and never held whole; a dropped value (a readme, a licenseText per version, any field not listed in KEEP) is
// never built, and a dropped string's characters are not even collected. What is kept goes to slimPackument
// unchanged, so the facts are the same as JSON.parse's (test/unit/registry-stream.test.ts compares them).
//
// Bounds, whatever the registry sends: no kept string longer than MAX_KEPT_STRING, no more than MAX_VERSIONS
// versions (facts.ts checks the same on the JSON.parse path), no more than MAX_KEPT_VALUES values and
// MAX_KEPT_CHARS characters kept in all, no number or key longer than MAX_TOKEN, no deeper than MAX_DEPTH; past one, PackumentTooLargeError (a registry-too-large error).
import { createRequire } from 'node:module';
import { MalformedPackumentError, MAX_VERSIONS, PackumentTooLargeError } from './facts.js';

const require = createRequire(import.meta.url);

interface JsonParser {
  tState: number;
  string: string | undefined;
  stringBufferOffset: number;
  write(buf: Buffer): void;
  onToken(token: number, value: unknown): void;
  onError(err: Error): void;
  appendStringChar(char: number): void;
  appendStringBuf(buf: Buffer, start?: number, end?: number): void;
}
const Parser = require('jsonparse') as { new (): JsonParser; C: Record<string, number> };
const C = Parser.C;

/** A kept subtree: `true` keeps the value whole; an object keeps its listed members ('*': any member or element). */
type Spec = true | { readonly [key: string]: Spec };

const KEEP_WHOLE = true;
const SIGNATURE: Spec = { keyid: KEEP_WHOLE, sig: KEEP_WHOLE };
/**
 * What facts.ts reads of a version's manifest (summaryOf, addShared, binNamesOf); for the versions asked for in
 * full, also what fullVersionOf reads (integrity, shasum, tarball, signatures, repository).
 */
const SUMMARY: Spec = {
  name: KEEP_WHOLE,
  bin: KEEP_WHOLE,
  gypfile: KEEP_WHOLE,
  deprecated: KEEP_WHOLE,
  scripts: { preinstall: KEEP_WHOLE, install: KEEP_WHOLE, postinstall: KEEP_WHOLE },
  _npmUser: { name: KEEP_WHOLE, trustedPublisher: KEEP_WHOLE, approver: KEEP_WHOLE },
  dist: { attestations: { url: KEEP_WHOLE, provenance: { predicateType: KEEP_WHOLE } } },
};
const FULL: Spec = {
  ...SUMMARY,
  repository: { url: KEEP_WHOLE },
  dist: {
    integrity: KEEP_WHOLE,
    shasum: KEEP_WHOLE,
    tarball: KEEP_WHOLE,
    signatures: { '*': SIGNATURE },
    attestations: { url: KEEP_WHOLE, provenance: { predicateType: KEEP_WHOLE } },
  },
};
/** A version's spec depends on its key: FULL or SUMMARY (see childSpec). */
const VERSIONS: Spec = { '*': SUMMARY };
/** publishTime reads strings only; an object or array here counts as no time, kept as an empty one. */
const TIME: Spec = { '*': {} };
const ROOT: Spec = { name: KEEP_WHOLE, 'dist-tags': KEEP_WHOLE, time: TIME, versions: VERSIONS };

/** The longest kept string (a tarball URL, a script, a deprecation message, a publisher's name). */
export const MAX_KEPT_STRING = 1 << 20;
/**
 * The most values kept in all (versions times the few fields a summary reads, and their publish times: a real
 * 40 MB packument keeps ~30k; 100,000 versions with a publish time and a publisher keep 400k).
 */
export const MAX_KEPT_VALUES = 500_000;
/**
 * The most characters kept in all, kept values' keys included: a real 40 MB packument keeps under 1 MB (a
 * summary is a few short fields); every kept MB costs several in the parse tree and the facts.
 */
export const MAX_KEPT_CHARS = 8 << 20;
/** The deepest nesting read (a real packument nests about 6 levels). */
export const MAX_DEPTH = 512;
/** The longest number or object key read (kept or not). */
const MAX_TOKEN = 64 << 10;
/** Chunks are fed in slices of this size, so a number or key is checked against MAX_TOKEN at least this often. */
const SLICE = 64 << 10;

interface Frame {
  /** null: the container is dropped (its members are read and forgotten). */
  container: Record<string, unknown> | unknown[] | null;
  spec: Spec | null;
  array: boolean;
  key: string | undefined;
  empty: boolean;
}

export interface PackumentStream {
  write(chunk: Buffer): void;
  /** The document with only the kept fields; throws when it is incomplete. */
  end(): unknown;
  /** Bytes written. */
  readonly bytes: number;
}

function childSpec(frame: Frame, full: ReadonlySet<string>): Spec | null {
  const spec = frame.spec;
  if (spec === null || spec === KEEP_WHOLE) return spec;
  if (spec === VERSIONS) return frame.key !== undefined && full.has(frame.key) ? FULL : SUMMARY;
  if (!frame.array && frame.key !== undefined && Object.hasOwn(spec, frame.key)) return spec[frame.key] ?? null;
  return spec['*'] ?? null;
}

/**
 * A new parser for one packument; `full` are the versions slimPackument will be asked full facts for (the
 * others keep only what a summary reads).
 */
export function packumentStream(full: ReadonlySet<string> = new Set()): PackumentStream {
  const p = new Parser();
  const stack: Frame[] = [];
  let state: 'value' | 'key' | 'colon' | 'comma' = 'value';
  let root: unknown;
  let done = false;
  let bytes = 0;
  let kept = 0;
  let versions = 0;
  /** The string being tokenized is dropped: its characters are not collected. */
  let skip = false;
  /** Characters collected of the current string (kept ones only), and of all kept strings. */
  let stringChars = 0;
  let keptChars = 0;

  const fail = (msg: string): never => {
    throw new MalformedPackumentError(msg);
  };
  const top = () => stack[stack.length - 1];
  const updateSkip = () => {
    const f = top();
    if (!f) skip = false;
    else if (state === 'key') skip = f.spec === null;
    else skip = state === 'value' ? childSpec(f, full) === null : true;
  };

  const addKept = (n: number) => {
    keptChars += n;
    if (keptChars > MAX_KEPT_CHARS) throw new PackumentTooLargeError(`the packument holds more than ${MAX_KEPT_CHARS >> 20} MiB of text in the fields the guard reads`);
  };
  const keep = (f: Frame, value: unknown) => {
    const c = f.container;
    if (c === null) return;
    if (!f.array) addKept((f.key as string).length);
    if (++kept > MAX_KEPT_VALUES) throw new PackumentTooLargeError(`the packument holds more than ${MAX_KEPT_VALUES} values of the fields the guard reads`);
    if (f.spec === VERSIONS && ++versions > MAX_VERSIONS) throw new PackumentTooLargeError(`the packument lists more than ${MAX_VERSIONS} versions`);
    if (Array.isArray(c)) c.push(value);
    else if (f.key === '__proto__') Object.defineProperty(c, '__proto__', { value, enumerable: true, writable: true, configurable: true });
    else c[f.key as string] = value;
  };
  /** A value has ended: it is the document, or its container waits for a comma or its end. */
  const ended = (value: unknown) => {
    const f = top();
    if (!f) {
      root = value;
      done = true;
      return;
    }
    f.empty = false;
    state = 'comma';
  };
  const open = (array: boolean) => {
    // Each open container costs a frame, dropped or not: `[[[[…` of 100 MB would be 100 million.
    if (stack.length >= MAX_DEPTH) throw new PackumentTooLargeError(`the packument nests values deeper than ${MAX_DEPTH} levels`);
    const f = top();
    const spec = f ? childSpec(f, full) : ROOT;
    const container = spec === null ? null : array ? [] : {};
    if (f && container !== null) keep(f, container);
    stack.push({ container, spec, array, key: undefined, empty: true });
    state = array ? 'value' : 'key';
  };
  const close = () => {
    const f = stack.pop() as Frame;
    ended(f.container);
  };

  p.onError = (err: Error) => {
    throw err instanceof MalformedPackumentError || err instanceof PackumentTooLargeError ? err : new MalformedPackumentError(`the packument is not valid JSON (${err.message})`);
  };
  p.onToken = (token: number, value: unknown) => {
    if (done) fail(`the packument has more data after its JSON document`);
    const f = top();
    const primitive = token === C.STRING || token === C.NUMBER || token === C.TRUE || token === C.FALSE || token === C.NULL;
    if (state === 'value') {
      if (primitive) {
        if (f && childSpec(f, full) !== null) keep(f, value);
        ended(value);
      } else if (token === C.LEFT_BRACE) open(false);
      else if (token === C.LEFT_BRACKET) open(true);
      else if (token === C.RIGHT_BRACKET && f?.array && f.empty) close();
      else fail(`the packument is not valid JSON (unexpected ${JSON.stringify(value)})`);
    } else if (!f) {
      // Only a value is read outside a container (the document itself); a key, colon or comma sits in one.
      return fail(`the packument is not valid JSON (unexpected ${JSON.stringify(value)})`);
    } else if (state === 'key') {
      if (token === C.STRING) {
        f.key = value as string;
        state = 'colon';
      } else if (token === C.RIGHT_BRACE && f.empty) close();
      else fail(`the packument is not valid JSON (unexpected ${JSON.stringify(value)} where a key belongs)`);
    } else if (state === 'colon') {
      if (token === C.COLON) state = 'value';
      else fail(`the packument is not valid JSON (a key without ":")`);
    } else if (token === C.COMMA) {
      state = f.array ? 'value' : 'key';
    } else if ((token === C.RIGHT_BRACKET && f.array) || (token === C.RIGHT_BRACE && !f.array)) close();
    else fail(`the packument is not valid JSON (unexpected ${JSON.stringify(value)})`);
    updateSkip();
    stringChars = 0;
  };

  // A dropped string's characters are not collected; a kept one is bounded.
  const appendChar = p.appendStringChar;
  const appendBuf = p.appendStringBuf;
  const grow = (n: number) => {
    stringChars += n;
    // A key counts once its value is kept (keep()): most keys of a version are those of dropped fields.
    if (state !== 'key') addKept(n);
    if (state === 'key' ? stringChars > MAX_TOKEN : stringChars > MAX_KEPT_STRING) {
      throw new PackumentTooLargeError(`the packument has a ${state === 'key' ? 'key' : 'value the guard reads'} longer than ${state === 'key' ? MAX_TOKEN : MAX_KEPT_STRING} bytes`);
    }
  };
  p.appendStringChar = function (char: number) {
    if (skip) return;
    grow(1);
    appendChar.call(this, char);
  };
  p.appendStringBuf = function (buf: Buffer, start?: number, end?: number) {
    if (skip) return;
    grow((end ?? buf.length) - (start ?? 0));
    appendBuf.call(this, buf, start, end);
  };

  const NUMBER1 = C.NUMBER1;
  const NUMBER3 = C.NUMBER3;
  return {
    get bytes() {
      return bytes;
    },
    write(chunk: Buffer) {
      bytes += chunk.length;
      for (let i = 0; i < chunk.length; i += SLICE) {
        p.write(chunk.subarray(i, i + SLICE));
        // A number is collected character by character whether kept or not: bound it.
        if ((p.tState === NUMBER1 || p.tState === NUMBER3) && (p.string?.length ?? 0) > MAX_TOKEN) {
          throw new PackumentTooLargeError(`the packument has a number longer than ${MAX_TOKEN} characters`);
        }
      }
    },
    end() {
      // A number at the very end is only complete once something follows it.
      if (p.tState === NUMBER1 || p.tState === NUMBER3) p.write(Buffer.from(' '));
      if (!done) fail(`the packument is not valid JSON (it ends before the document does, after ${bytes} bytes)`);
      return root;
    },
  };
}
