// JSON over HTTP for the advisory sources, under the registry client's bounds: a per-request timeout, make-fetch-
// happen's retries and backoff for transient failures, at most `maxBytes` read from one answer (after
// decompression), and a signal that ends everything at the check's deadline. Errors are plain messages that name
// no credential (the caller turns them into "this source did not answer").
import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';
import { readBody } from '../registry/body.js';
import { backoff, decoded } from '../registry/http.js';
import { limiter } from '../registry/limit.js';
import { redact } from '../util/safe-text.js';

const require = createRequire(import.meta.url);

export interface HttpBounds {
  timeoutMs: number;
  retries: number;
  maxBytes: number;
  signal?: AbortSignal;
}

/** An answer that is not 2xx: `status` says which (404/405: the endpoint does not exist there). */
export class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    what: string,
  ) {
    super(`${what} answered ${status}`);
  }
}

const ONE = limiter(Number.MAX_SAFE_INTEGER);
const retriable = (status: number) => [408, 420, 429].includes(status) || status >= 500;

/**
 * Send a JSON request (undici, one keep-alive connection pool per origin) and parse the JSON answer. `what` names
 * the endpoint in errors (without credentials).
 */
export async function requestJson(url: string, what: string, bounds: HttpBounds, init: { method: 'GET' | 'POST'; body?: unknown; headers?: Record<string, string> }): Promise<unknown> {
  const undici = require('undici') as typeof import('undici');
  const body = init.body === undefined ? undefined : JSON.stringify(init.body);
  for (let attempt = 0; ; attempt++) {
    const last = attempt >= bounds.retries;
    if (bounds.signal?.aborted) throw new Error(`${what}: stopped (the check's deadline passed)`);
    let res: Awaited<ReturnType<typeof undici.request>>;
    try {
      res = await undici.request(url, {
        method: init.method,
        headers: { accept: 'application/json', 'accept-encoding': 'gzip', ...(body ? { 'content-type': 'application/json' } : {}), ...init.headers },
        body,
        headersTimeout: bounds.timeoutMs,
        bodyTimeout: bounds.timeoutMs,
        signal: bounds.signal,
      });
    } catch (err) {
      // A host name that does not resolve (or a host that refuses) will not answer a moment later: no retry.
      const code = (err as { code?: string }).code ?? (err as { cause?: { code?: string } }).cause?.code;
      if (last || bounds.signal?.aborted || code === 'ENOTFOUND' || code === 'ECONNREFUSED') throw new Error(`${what}: ${redact(code ?? (err as Error).message ?? String(err))}`);
      await backoff(attempt, bounds.signal);
      continue;
    }
    if (res.statusCode < 200 || res.statusCode >= 300) {
      await res.body.dump().catch(() => {});
      if (retriable(res.statusCode) && !last) {
        await backoff(attempt, bounds.signal);
        continue;
      }
      throw new HttpStatusError(res.statusCode, what);
    }
    const enc = res.headers['content-encoding'];
    let stream: AsyncIterable<Buffer>;
    try {
      stream = decoded(res.body as unknown as Readable, typeof enc === 'string' ? enc : undefined) as AsyncIterable<Buffer>;
    } catch (err) {
      throw new Error(`${what}: ${(err as Error).message}`);
    }
    const text = await readBody(stream, { large: Infinity, largeSlots: ONE, maxBytes: bounds.maxBytes, timeoutMs: bounds.timeoutMs }, (t) => t, what);
    try {
      return JSON.parse(text);
    } catch {
      throw new Error(`${what} answered with a body that is not JSON (${text.length} bytes)`);
    }
  }
}
