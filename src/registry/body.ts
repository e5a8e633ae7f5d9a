// Reads a response body, holding at most a few large ones at once: the cold check's peak memory came from
// several multi-MB packuments read and parsed together (16 requests in flight). A body that grows past
// `large` bytes stops being read (the socket applies backpressure) until a large-body slot is free, and keeps
// the slot while it is parsed, so only that many large documents and their parse trees are alive at once.
// A body past `huge` bytes also waits for the one huge-body slot, so at most one body of that size is held at
// a time; and no body is read past `maxBytes` (counted after decompression, so a gzip bomb stops there too):
// the transfer is stopped and BodyTooLargeError thrown, whatever the server sends.
import type { limiter } from './limit.js';
import { formatBytes } from '../util/size.js';

export interface BodyLimits {
  /** Bytes after which a body counts as large. */
  large: number;
  /** Runs the rest of a large body's reading and its `consume`; created with limiter(n). */
  largeSlots: ReturnType<typeof limiter>;
  /** Bytes after which a large body also needs a slot of `hugeSlots` (default: never). */
  huge?: number;
  hugeSlots?: ReturnType<typeof limiter>;
  /** The most bytes read from one body (after decompression); past it the read fails with BodyTooLargeError. */
  maxBytes: number;
  /** Time allowed for reading the body (waiting for a slot does not count). */
  timeoutMs: number;
}

/** The body went past BodyLimits.maxBytes; `limit` is that limit in bytes. */
export { formatBytes };

export class BodyTooLargeError extends Error {
  readonly type = 'body-too-large';
  constructor(
    readonly limit: number,
    what: string,
  ) {
    super(`${what} is larger than ${formatBytes(limit)}`);
  }
}

export class BodyTimeoutError extends Error {
  readonly type = 'body-timeout';
}

/** Takes a body's bytes as they come instead of having them held whole; `end` gives the result. */
export interface BodySink<T> {
  write(chunk: Buffer): void;
  end(): T;
}

/**
 * Read `body` whole, then `consume` its text (decoded as UTF-8). With `stream`, a body past `huge` bytes is
 * instead given chunk by chunk (those read so far, then each as it comes) to the sink `stream()` makes, in its
 * huge-body slot, and never held whole: `consume` is not called for it. A smaller body goes to the sink too
 * (once read whole) when `dense(chunks)` says so: one whose text would parse into too many values.
 */
export async function readBody<T>(
  body: AsyncIterable<Buffer | string>,
  limits: BodyLimits,
  consume: (text: string) => T,
  what: string,
  stream?: () => BodySink<T>,
  dense?: (chunks: readonly Buffer[]) => boolean,
): Promise<T> {
  const it = body[Symbol.asyncIterator]();
  const chunks: Buffer[] = [];
  let size = 0;
  let sink: BodySink<T> | undefined;
  let budget = limits.timeoutMs;

  /** Stops the transfer. Some streams (undici's) emit an error when destroyed early: nobody is listening now. */
  const stop = () => {
    const s = body as { on?: (e: string, f: () => void) => void; destroy?: () => void };
    s.on?.('error', () => {});
    s.destroy?.();
  };
  /** Reads until more than `until` bytes are in or the body ends; true when it ended. */
  const readUntil = async (until: number): Promise<boolean> => {
    const started = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new BodyTimeoutError(`timed out reading ${what} (over ${limits.timeoutMs}ms)`)), budget);
    });
    try {
      while (size <= until) {
        const r = await Promise.race([it.next(), timeout]);
        if (r.done) return true;
        const buf = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
        size += buf.length;
        if (size > limits.maxBytes) {
          chunks.length = 0;
          throw new BodyTooLargeError(limits.maxBytes, what);
        }
        if (sink) sink.write(buf);
        else chunks.push(buf);
      }
      return false;
    } catch (err) {
      stop();
      throw err;
    } finally {
      clearTimeout(timer);
      budget = Math.max(0, budget - (Date.now() - started));
    }
  };
  const text = () => {
    const t = Buffer.concat(chunks, size).toString('utf8');
    chunks.length = 0; // the chunks are garbage while the text is parsed
    return t;
  };
  /** A whole body: parsed from its text, or given to the sink when `dense` says so. */
  const finish = (): T => {
    if (!stream || !dense?.(chunks)) return consume(text());
    const s = stream();
    while (chunks.length) s.write(chunks.shift() as Buffer);
    return s.end();
  };

  if (await readUntil(limits.large)) return finish();
  return limits.largeSlots(async () => {
    const { huge, hugeSlots } = limits;
    if (huge === undefined || !hugeSlots || (await readUntil(huge))) {
      await readUntil(Infinity);
      return finish();
    }
    return hugeSlots(async () => {
      if (stream) {
        const s = stream();
        // Handed over one by one: each is garbage once the sink has read it.
        try {
          while (chunks.length) s.write(chunks.shift() as Buffer);
        } catch (err) {
          chunks.length = 0;
          stop();
          throw err;
        }
        sink = s;
        await readUntil(Infinity);
        return s.end();
      }
      await readUntil(Infinity);
      return consume(text());
    });
  });
}

/** How many times `byte` occurs in `chunks`. */
export function countByte(chunks: readonly Buffer[], byte: number): number {
  let n = 0;
  for (const c of chunks) for (let i = c.indexOf(byte); i !== -1; i = c.indexOf(byte, i + 1)) n++;
  return n;
}
