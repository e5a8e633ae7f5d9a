// GET requests to registries. npm-registry-fetch (make-fetch-happen, minipass-fetch, @npmcli/agent) costs
// 0.5-0.85 ms of CPU per request, more than parsing the documents (bench/RESULTS.md); undici with one
// keep-alive pool per registry costs a fraction of that. npm's semantics are kept: the auth header comes from
// npm-registry-fetch's own resolution (lib/auth.js) per request, TLS options (ca, cert, key, strict-ssl,
// per-registry certfile/keyfile) go to the pool, retries and their backoff are make-fetch-happen's. What undici
// is not given (proxies, local-address, credentials in the URL) and what it does not do here (redirects) goes through
// npm-registry-fetch itself.
import { lazy } from '../util/lazy.js';
import { createBrotliDecompress, createUnzip } from 'node:zlib';
import { pipeline, type Readable } from 'node:stream';
import type npmFetchType from 'npm-registry-fetch';
import type { Pool } from 'undici';
import type { HostHealth } from './health.js';
import { createRequire } from 'node:module';

// A plain require of a literal name, so the bundler (scripts/bundle.mjs) sees and includes each library.
const require = createRequire(import.meta.url);

export interface HttpResponse {
  status: number;
  header(name: string): string | undefined;
  body: AsyncIterable<Buffer> & { destroy?: () => void };
  /** Throw the body away (a 304's, say), freeing the connection. */
  discard(): void;
}

export interface GetOptions {
  /** The registry the URL belongs to (auth is looked up for it, as npm-registry-fetch does). */
  registry: string;
  headers: Record<string, string>;
}

export interface Transport {
  /** The response, or null for a 404. Other statuses >= 400 (after retries) throw an error with `statusCode`. */
  get(url: string, opts: GetOptions): Promise<HttpResponse | null>;
}

export interface TransportOptions {
  /** npm's flat options that concern fetching (client.ts FETCH_KEYS, `//host/:` auth keys, scoped registries). */
  fetchOptions: Record<string, unknown>;
  timeoutMs: number;
  retries: number;
  /** Records each attempt per host; a host marked down (or a passed deadline) fails every request to it at once. */
  health?: HostHealth;
}

const RETRY = { factor: 2, minTimeout: 300, maxTimeout: 3000, randomize: true };

/** Proxies (npm settings or the environment @npmcli/agent reads) and local-address stay with npm's agent. */
export function needsNpmAgent(fetchOptions: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): boolean {
  if (fetchOptions.proxy || fetchOptions.httpsProxy || fetchOptions.localAddress) return true;
  return Object.keys(env).some((k) => ['https_proxy', 'http_proxy', 'proxy'].includes(k.toLowerCase()) && env[k]);
}

export function createTransport(opts: TransportOptions): Transport {
  return needsNpmAgent(opts.fetchOptions) ? new NpmFetchTransport(opts) : new UndiciTransport(opts);
}

// npm-registry-fetch (and its HTTP stack) loads on first use: with undici it is needed only for a redirect.
const npmFetchModule = lazy<typeof npmFetchType>(() => require('npm-registry-fetch'));
const npmFetch = async (url: string, opts: npmFetchType.Options) => npmFetchModule()(url, opts);

export class NpmFetchTransport implements Transport {
  constructor(private readonly opts: TransportOptions) {}

  async get(url: string, { registry, headers }: GetOptions): Promise<HttpResponse | null> {
    const health = this.opts.health;
    const origin = new URL(url).origin;
    health?.check(origin);
    health?.attempt(origin);
    const stopped = new AbortController();
    const hostDown = health?.signal(origin);
    const res = await npmFetch(url, {
      ...this.opts.fetchOptions,
      registry,
      headers,
      // npm-registry-fetch's own HTTP cache would store whole packuments; ours stores slim facts.
      cache: undefined,
      preferOnline: true,
      timeout: this.opts.timeoutMs,
      retry: { retries: this.opts.retries, ...RETRY },
      signal: hostDown ? AbortSignal.any([hostDown, stopped.signal]) : stopped.signal,
    } as npmFetchType.Options).catch((err: { statusCode?: number }) => {
      if (err.statusCode === 404) return null;
      // Its retries are its own: the request as a whole counts once.
      if (err.statusCode === undefined) health?.failed(origin, err);
      health?.check(origin);
      throw err;
    });
    health?.answered(origin);
    if (res === null) return null;
    const body = res.body as unknown as HttpResponse['body'] & { resume(): void; destroy(err?: Error): void };
    // A body stopped early (past --max-body-size) is a decompressor the socket still writes into: destroyed alone,
    // the next chunk hits its closed zlib handle ("zlib binding closed", thrown where nobody catches it). The
    // request is aborted first, so nothing more arrives.
    const destroy = body.destroy.bind(body);
    body.destroy = (err?: Error) => {
      stopped.abort();
      destroy(err);
    };
    return { status: res.status, header: (n) => res.headers.get(n) ?? undefined, body, discard: () => body.resume() };
  }
}

interface Auth {
  token: string | null;
  auth: string | null;
  cert: string | null;
  key: string | null;
}
type GetAuth = (uri: string, opts: Record<string, unknown>) => Auth;

const undici = lazy<typeof import('undici')>(() => require('undici'));
const getAuth = lazy<GetAuth>(() => require('npm-registry-fetch/lib/auth.js'));
const defaultOpts = lazy<{ userAgent: string }>(() => require('npm-registry-fetch/lib/default-opts.js'));

/** Statuses make-fetch-happen retries. */
const retriable = (status: number) => [408, 420, 429].includes(status) || status >= 500;
const REDIRECTS = [301, 302, 303, 307, 308];

export class UndiciTransport implements Transport {
  private readonly pools = new Map<string, Pool>();
  private fallback?: NpmFetchTransport;

  constructor(private readonly opts: TransportOptions) {}

  async get(url: string, { registry, headers }: GetOptions): Promise<HttpResponse | null> {
    const f = this.opts.fetchOptions;
    const target = new URL(url);
    // Credentials in the registry URL: minipass-fetch sends them as basic auth; leave that to it.
    if (target.username || target.password) return (this.fallback ??= new NpmFetchTransport(this.opts)).get(url, { registry, headers });
    const auth = getAuth()(url, { ...f, registry });
    // The headers npm-registry-fetch sends for a GET with these options (getHeaders in its lib/index.js).
    const all: Record<string, string> = { 'user-agent': typeof f.userAgent === 'string' ? f.userAgent : defaultOpts().userAgent, ...headers };
    if (auth.token) all.authorization = `Bearer ${auth.token}`;
    else if (auth.auth) all.authorization = `Basic ${auth.auth}`;
    if (typeof f.otp === 'string' && f.otp) all['npm-otp'] = f.otp;
    all['accept-encoding'] = 'gzip';
    const pool = this.pool(target.origin, auth);
    const path = `${target.pathname}${target.search}`;

    const health = this.opts.health;
    for (let attempt = 0; ; attempt++) {
      const last = attempt >= this.opts.retries;
      let res: Awaited<ReturnType<Pool['request']>>;
      health?.check(target.origin);
      health?.attempt(target.origin);
      try {
        res = await pool.request({ method: 'GET', path, headers: all, signal: health?.signal(target.origin) });
      } catch (err) {
        health?.failed(target.origin, asFetchError(err));
        // Marked down (by this failure or another request's), or the deadline passed: the shared error, now.
        health?.check(target.origin);
        if (last) throw asFetchError(err);
        await backoff(attempt, health?.signal(target.origin));
        continue;
      }
      health?.answered(target.origin);
      const status = res.statusCode;
      if (status === 404 || status >= 400 || REDIRECTS.includes(status)) {
        await res.body.dump().catch(() => {});
        if (status === 404) return null;
        // Redirects (rare for registries) follow npm's rules, e.g. no credentials to another host.
        if (REDIRECTS.includes(status)) return (this.fallback ??= new NpmFetchTransport(this.opts)).get(url, { registry, headers });
        if (retriable(status) && !last) {
          await backoff(attempt);
          continue;
        }
        throw Object.assign(new Error(`${status} for ${target.origin}${target.pathname}`), { statusCode: status });
      }
      const h = res.headers;
      const header = (n: string) => {
        const v = h[n.toLowerCase()];
        return Array.isArray(v) ? v.join(', ') : v;
      };
      const raw = res.body;
      return { status, header, body: decoded(raw as unknown as Readable, header('content-encoding')), discard: () => void raw.dump().catch(() => {}) };
    }
  }

  private pool(origin: string, auth: Auth): Pool {
    const f = this.opts.fetchOptions;
    // Client certificates can differ per registry path (certfile/keyfile), so they are part of the key.
    const cert = auth.cert ?? (typeof f.cert === 'string' ? f.cert : undefined);
    const key = auth.key ?? (typeof f.key === 'string' ? f.key : undefined);
    const id = `${origin}\0${cert ?? ''}\0${key ?? ''}`;
    let pool = this.pools.get(id);
    if (!pool) {
      const ca = f.ca as string | string[] | null | undefined;
      pool = new (undici().Pool)(origin, {
        connections: Number(f.maxSockets) || 16,
        headersTimeout: this.opts.timeoutMs,
        bodyTimeout: this.opts.timeoutMs,
        connect: {
          timeout: this.opts.timeoutMs,
          rejectUnauthorized: f.strictSSL !== false,
          ...(ca ? { ca } : {}),
          ...(cert && key ? { cert, key } : {}),
        },
      });
      this.pools.set(id, pool);
    }
    return pool;
  }
}

/** The body as sent, decompressed: gzip is asked for; anything else a server sends anyway is decoded or refused. */
export function decoded(body: Readable, encoding: string | undefined): HttpResponse['body'] {
  const enc = (encoding ?? '').trim().toLowerCase();
  if (!enc || enc === 'identity') return body;
  const decoder = enc === 'gzip' || enc === 'x-gzip' || enc === 'deflate' ? createUnzip() : enc === 'br' ? createBrotliDecompress() : undefined;
  if (!decoder) {
    body.on('error', () => {}); // destroyed unread: undici emits an abort error nobody waits for
    body.destroy();
    throw new Error(`the answer came with an unsupported content-encoding "${enc}"`);
  }
  // Errors of either stream end the pipeline and surface while reading the decoder.
  return pipeline(body, decoder, () => {});
}

/** make-fetch-happen's backoff (the `retry` package): min(max, min * factor^attempt * random[1, 2)). */
export function backoff(attempt: number, signal?: AbortSignal): Promise<void> {
  const ms = Math.min(RETRY.maxTimeout, RETRY.minTimeout * RETRY.factor ** attempt * (RETRY.randomize ? 1 + Math.random() : 1));
  // Cut short when the host is marked down or the deadline passes (the loop then throws the shared error).
  return new Promise((r) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      r();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** undici's errors with the codes and types npm's stack uses, so client.ts maps them the same way. */
export function asFetchError(err: unknown): unknown {
  const e = err as { code?: string; message?: string };
  if (e?.code === 'UND_ERR_HEADERS_TIMEOUT' || e?.code === 'UND_ERR_CONNECT_TIMEOUT' || e?.code === 'UND_ERR_BODY_TIMEOUT') {
    return Object.assign(new Error(`network timeout (${e.message})`), { type: 'request-timeout', code: 'ETIMEDOUT', cause: err });
  }
  if (e?.code === 'UND_ERR_SOCKET') return Object.assign(new Error(e.message ?? 'socket error'), { code: 'ECONNRESET', cause: err });
  return err;
}
