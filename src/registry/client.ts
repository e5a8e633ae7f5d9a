// Fetches package metadata the way npm does (the user's npm settings: auth per registry, scoped registries,
// TLS, proxies; see http.ts), with bounded concurrency, retries, a per-request timeout, and the slim on-disk
// cache revalidated by ETag/Last-Modified or, when the server sends neither, a TTL.
import { GuardError, redact } from '../errors.js';
import { type PackageFacts, fullVersions } from '../facts.js';
import { registryFor, type NpmSettings } from '../project/npm-config.js';
import { FactsCache, type CacheEntry } from './cache.js';
import { MalformedPackumentError, PackumentTooLargeError, slimPackument } from './facts.js';
import { packumentStream } from './stream-packument.js';
import { limiter } from './limit.js';
import { BodyTooLargeError, countByte, formatBytes, readBody, type BodyLimits } from './body.js';
import { asFetchError, createTransport, type Transport } from './http.js';
import type { RegistryKey } from '../types.js';
import { HostDownError, HostHealth, hostOf } from './health.js';

const KEYS_TTL_MS = 24 * 3_600_000;
/**
 * A 304 renews a cached entry without its body; facts last read from a registry body longer ago than this are
 * fetched in full again, so no cached fact (a poisoned one included) lives on through revalidations alone.
 */
const FULL_FETCH_MS = 24 * 3_600_000;
/**
 * A packument over 1 MiB (typescript's is 10 MB, @types/node's 9 MB) waits for one of two slots before it is read
 * on and parsed: cold, 16 of them in flight at once made the peak memory.
 */
const LARGE_BODY = 1 << 20;
const LARGE_BODIES = 2;
const SMALL_ONLY = limiter(1);
/**
 * A body over 16 MiB (next's packument is 30 MB, vite's 39 MB, prisma's 43 MB) also waits for the one huge-body
 * slot: one such document read and parsed at a time.
 */
const HUGE_BODY = 16 << 20;
/**
 * The default most bytes read from one registry answer, after decompression. npm's registry refuses to store a
 * packument over 100 MB; a body past this is refused (exit 2, naming the package and the way to raise it)
 * instead of buffered until the process runs out of memory. Raised with --max-body-size or
 * SAFE_INSTALL_MAX_BODY_SIZE.
 */
export const DEFAULT_MAX_BODY = 128 << 20;
export const MAX_BODY_FLAG = '--max-body-size';
export const MAX_BODY_ENV = 'SAFE_INSTALL_MAX_BODY_SIZE';

export interface RegistryClientOptions {
  settings: NpmSettings;
  cacheDir: string;
  concurrency: number;
  /** Per-request timeout in ms. */
  timeoutMs: number;
  retries: number;
  /** Cache only; a miss is an error. */
  offline: boolean;
  /** How long a cached entry is used without asking the registry (ms). */
  ttlMs: number;
  /** The most bytes read from one registry answer (after decompression); default DEFAULT_MAX_BODY. */
  maxBodyBytes?: number;
}

/** Outcome per package name: facts, `missing` (404: no such package), or the error that stopped it. */
export type FactsResult = { kind: 'facts'; facts: PackageFacts; from: 'network' | 'cache' | 'revalidated' } | { kind: 'missing'; registry: string } | { kind: 'error'; error: GuardError };

export interface FetchStats {
  network: number;
  revalidated: number;
  cache: number;
  bytes: number;
}

export class RegistryClient {
  private readonly cache: FactsCache;
  private readonly limit: ReturnType<typeof limiter>;
  /** Large packuments read and parsed at once (see body.ts). */
  private readonly largeSlots = limiter(LARGE_BODIES);
  private readonly hugeSlots = limiter(1);
  readonly stats: FetchStats = { network: 0, revalidated: 0, cache: 0, bytes: 0 };

  /** HTTP GETs with npm's settings (http.ts); the options are built once (npm's flat config has ~130 keys and the CA bundle). */
  private readonly transport: Transport;
  /** Attempts per registry host: a host clearly down, or the deadline (stop), fails every request to it at once. */
  private readonly health: HostHealth;
  /** Names whose metadata is being fetched from the network now, by host: what the run is waiting for. */
  private readonly inFlight = new Map<string, Set<string>>();

  constructor(private readonly opts: RegistryClientOptions) {
    this.cache = new FactsCache(opts.cacheDir);
    this.limit = limiter(opts.concurrency);
    const t = this.timeoutMs;
    this.health = new HostHealth(`each request waits up to ${t % 1000 ? `${t}ms` : `${t / 1000}s`} for an answer and is tried ${opts.retries + 1} time${opts.retries ? 's' : ''}`);
    this.transport = createTransport({ fetchOptions: fetchOptionsFrom(opts.settings.flat, opts.concurrency), timeoutMs: this.timeoutMs, retries: opts.retries, health: this.health });
  }

  /**
   * End every request now, in flight or to come, with `message` (the deadline passed): each fails with one
   * shared error (code `deadline`), so the check ends at once with exit 2 and says it once.
   */
  stop(message: string, remedy: string): void {
    this.health.stopAll(new HostDownError(message, remedy, 'deadline'));
  }

  /** When a registry last answered anything (Date.now()), if one has. */
  get lastAnswerAt(): number | undefined {
    return this.health.lastAnswerAt;
  }

  /** What is being fetched now: per registry host, the names waited for. */
  waitingFor(): { host: string; names: string[] }[] {
    return [...this.inFlight].filter(([, names]) => names.size).map(([host, names]) => ({ host, names: [...names] }));
  }

  /** npm-registry-fetch's reading of a timeout: 0 means its default, 30 s. */
  private get timeoutMs(): number {
    return this.opts.timeoutMs || 30_000;
  }

  /** How bodies are read: every answer from a registry is bounded in size and held a few at a time. */
  private get limits(): BodyLimits {
    return {
      large: LARGE_BODY,
      largeSlots: this.largeSlots,
      huge: HUGE_BODY,
      hugeSlots: this.hugeSlots,
      maxBytes: this.opts.maxBodyBytes ?? DEFAULT_MAX_BODY,
      timeoutMs: this.timeoutMs,
    };
  }

  /**
   * Facts for `name`. `needVersions` are the versions the caller needs full facts for (the locked ones); the
   * others come as summaries. A fresh cache entry that lacks full facts for one of them is refetched (a
   * version published since the entry was written, or one another lockfile locked).
   */
  facts(name: string, needVersions: string[] = []): Promise<FactsResult> {
    return this.limit(() => this.load(name, needVersions));
  }

  /** The registry's signing keys (`/-/npm/v1/keys`), cached for a day; null when it publishes none (404). */
  async keys(registry: string): Promise<RegistryKey[] | null> {
    const cached = await this.cache.getDoc('keys', registry, isKeysDoc);
    // --cache-ttl 0 asks the registry again (rotated keys); otherwise keys are kept a day.
    if (cached && (this.opts.offline || (this.opts.ttlMs > 0 && fresh(cached.checkedAt, KEYS_TTL_MS)))) return cached.value.keys;
    if (this.opts.offline) {
      throw new GuardError('cache-miss', `no cached signing keys for ${redact(registry)} (--offline)`, { remedy: 'run once without --offline to fill the cache' });
    }
    const doc = await this.limit(() => getJson(this.transport, `${registry}-/npm/v1/keys`, 'the registry signing keys', registry, this.limits, undefined, this.health));
    let keys: RegistryKey[] | null = null;
    if (doc !== null) {
      const list = (doc as { keys?: unknown }).keys;
      if (!Array.isArray(list) || !list.every((k) => k && typeof k.keyid === 'string' && typeof k.key === 'string')) {
        throw new GuardError('registry-malformed', `malformed signing keys from ${redact(registry)}-/npm/v1/keys`, { remedy: 'check the registry (or a proxy in between)' });
      }
      keys = list.map((k) => ({ keyid: k.keyid, key: k.key, expires: typeof k.expires === 'string' ? k.expires : null }));
    }
    await this.cache.putDoc('keys', registry, { keys }).catch(() => {});
    return keys;
  }

  /** The attestations document of one version, from the package's registry; null for 404. */
  attestations(name: string, version: string, advertisedUrl: string): Promise<unknown | null> {
    const registry = registryFor(name, this.opts.settings);
    // Served from the configured registry, as npm's replace-registry-host does for tarballs.
    let path = `-/npm/v1/attestations/${escapeName(name)}@${version}`;
    try {
      path = new URL(advertisedUrl).pathname.replace(/^\//, '');
    } catch {
      // keep the standard path
    }
    return this.limit(() => getJson(this.transport, `${registry}${path}`, `attestations of ${name}@${version}`, registry, this.limits, undefined, this.health));
  }

  private async load(name: string, needVersions: string[]): Promise<FactsResult> {
    const registry = registryFor(name, this.opts.settings);
    const cached = await this.cache.get(registry, name);
    const hasAll = cached && needVersions.every((v) => cached.facts.versions[v]?.full === true);
    if (this.opts.offline) {
      // A version the entry knows only as a summary cannot be checked from the cache. (One it does not know
      // at all is served as before: the integrity check reports it missing from the registry.)
      const summaryOnly =
        cached &&
        needVersions.find((v) => {
          const known = cached.facts.versions[v];
          return known !== undefined && !known.full;
        });
      if (summaryOnly) {
        return {
          kind: 'error',
          error: new GuardError('cache-miss', `the cached metadata for ${name} lacks the full facts of ${name}@${summaryOnly} (--offline)`, {
            pkg: name,
            remedy: 'run once without --offline to fill the cache',
          }),
        };
      }
      if (cached) {
        this.stats.cache++;
        return { kind: 'facts', facts: cached.facts, from: 'cache' };
      }
      return {
        kind: 'error',
        error: new GuardError('cache-miss', `no cached metadata for ${name} (--offline)`, {
          pkg: name,
          remedy: 'run once without --offline to fill the cache',
        }),
      };
    }
    // Fresh: confirmed less than the TTL ago (never with --cache-ttl 0; the cache read already refused a time
    // in the future, which would otherwise be fresh forever).
    if (cached && hasAll && fresh(cached.checkedAt, this.opts.ttlMs)) {
      this.stats.cache++;
      return { kind: 'facts', facts: cached.facts, from: 'cache' };
    }
    // Full facts are kept for the versions asked for now and those a previous run asked for (another project
    // sharing the cache may lock them), so two lockfiles do not refetch each other's versions forever.
    const full = new Set(needVersions);
    if (cached) for (const v of fullVersions(cached.facts)) full.add(v);
    try {
      // Revalidated (ETag/Last-Modified) only while its facts were read from a registry body within a day.
      const revalidate = cached && hasAll && fresh(cached.facts.fetchedAt, FULL_FETCH_MS) ? cached : undefined;
      return await this.fetchFromRegistry(name, registry, full, revalidate);
    } catch (err) {
      return { kind: 'error', error: toGuardError(err, name, registry, this.health) };
    }
  }

  /** `cached` (revalidated by ETag/Last-Modified) is given only when it has full facts for every version asked for. */
  private async fetchFromRegistry(name: string, registry: string, full: ReadonlySet<string>, cached?: CacheEntry): Promise<FactsResult> {
    const host = hostOf(registry);
    const waiting = this.inFlight.get(host) ?? new Set<string>();
    this.inFlight.set(host, waiting);
    waiting.add(name);
    try {
      return await this.fetchPackument(name, registry, full, cached);
    } finally {
      waiting.delete(name);
    }
  }

  private async fetchPackument(name: string, registry: string, full: ReadonlySet<string>, cached?: CacheEntry): Promise<FactsResult> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (cached?.etag) headers['if-none-match'] = cached.etag;
    if (cached?.lastModified) headers['if-modified-since'] = cached.lastModified;
    // Joined as npm-registry-fetch joins a registry and a path.
    const res = await this.transport.get(`${registry.trim().replace(/\/?$/, '')}/${escapeName(name)}`, { registry, headers });
    const now = new Date();
    if (res === null) return { kind: 'missing', registry };
    if (res.status === 304 && cached) {
      res.discard();
      this.stats.revalidated++;
      const entry: CacheEntry = { ...cached, checkedAt: now.toISOString() };
      await this.cache.put(registry, name, entry).catch(() => {});
      return { kind: 'facts', facts: cached.facts, from: 'revalidated' };
    }
    const limits = this.limits;
    // Named, so profiles (bench/lib/profile.mjs) can tell the parse apart.
    const parsePackument = (text: string) => {
      this.stats.network++;
      this.stats.bytes += text.length;
      let doc: unknown;
      try {
        doc = JSON.parse(text);
      } catch {
        throw new MalformedPackumentError(`the registry answered ${res.status} with a body that is not JSON (${text.length} bytes)`);
      }
      return slimPackument(doc, registry, now, full);
    };
    // A huge one (over HUGE_BODY) is parsed as it streams in, keeping only what slimPackument reads: JSON.parse
    // of a 100 MB text peaked near 400 MB (bench/RESULTS.md, hostile rows).
    const streamPackument = () => {
      const parser = packumentStream(full);
      return {
        write: (chunk: Buffer) => parser.write(chunk),
        end: () => {
          this.stats.network++;
          this.stats.bytes += parser.bytes;
          return slimPackument(parser.end(), registry, now, full);
        },
      };
    };
    const facts = await bodyOf(this.health, registry, readBody(res.body, limits, parsePackument, `the metadata of ${name}`, streamPackument, denseBody));
    if (facts.name !== name) throw new MalformedPackumentError(`the packument is for "${facts.name}", not "${name}"`);
    const entry: CacheEntry = {
      checkedAt: now.toISOString(),
      etag: res.header('etag'),
      lastModified: res.header('last-modified'),
      facts,
    };
    // A cache that cannot be written slows the next run; it does not make this one wrong.
    await this.cache.put(registry, name, entry).catch(() => {});
    return { kind: 'facts', facts, from: 'network' };
  }
}

/**
 * A body under HUGE_BODY whose JSON.parse would build too many values goes to the streaming parser too, which
 * bounds them: a 15 MB body of a million `"0.0.N":{}` versions made JSON.parse and the summaries take ~350 MB
 * and 6 s. Commas and opening brackets count the values (within strings too: an overestimate); a real dense
 * packument of 10 MB (typescript's) has 370,000, and is parsed whole as before.
 */
const DENSE_VALUES = 500_000;
function denseBody(chunks: readonly Buffer[]): boolean {
  return countByte(chunks, 0x2c) + countByte(chunks, 0x7b) + countByte(chunks, 0x5b) > DENSE_VALUES;
}

/** `at` (an ISO time) lies less than `ttlMs` in the past: not in the future, and never when ttlMs is 0. */
function fresh(at: string, ttlMs: number): boolean {
  const age = Date.now() - Date.parse(at);
  return age >= 0 && age < ttlMs;
}

/** The keys document as keys() writes it. */
function isKeysDoc(v: unknown): v is { keys: RegistryKey[] | null } {
  if (!v || typeof v !== 'object') return false;
  const keys = (v as { keys?: unknown }).keys;
  return (
    keys === null ||
    (Array.isArray(keys) && keys.every((k) => k && typeof k === 'object' && typeof k.keyid === 'string' && typeof k.key === 'string' && (k.expires === null || typeof k.expires === 'string')))
  );
}

/** Keys of npm's flat options that concern fetching: TLS, proxies, identity, and per-registry auth. */
const FETCH_KEYS = ['_auth', 'ca', 'cert', 'key', 'strictSSL', 'httpsProxy', 'proxy', 'noProxy', 'localAddress', 'maxSockets', 'userAgent', 'otp'];

export function fetchOptionsFrom(flat: Record<string, unknown>, concurrency: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(flat)) {
    // `//host/:_authToken` and friends (auth per registry), `@scope:registry`.
    if (FETCH_KEYS.includes(k) || k.startsWith('//') || /^@.*:registry$/.test(k)) out[k] = v;
  }
  // npm's default of 15 sockets per host would cap our concurrency.
  out.maxSockets = Math.max(Number(flat.maxSockets) || 0, concurrency);
  return out;
}

/**
 * One JSON document (a full packument, say) read under the same bounds as the check's: at most `maxBodyBytes`
 * (default DEFAULT_MAX_BODY) after decompression, in `timeoutMs`; null for 404. Errors become GuardErrors naming
 * `what` (a package name) and, for a body too large, the flag that raises the limit.
 */
export async function fetchBoundedJson(settings: NpmSettings, url: string, what: string, opts: { timeoutMs?: number; retries?: number; maxBodyBytes?: number } = {}): Promise<unknown | null> {
  const registry = registryFor(what, settings);
  const timeoutMs = opts.timeoutMs || 30_000;
  const transport = createTransport({ fetchOptions: fetchOptionsFrom(settings.flat, 1), timeoutMs, retries: opts.retries ?? 2 });
  const limits: BodyLimits = { large: Infinity, largeSlots: SMALL_ONLY, maxBytes: opts.maxBodyBytes ?? DEFAULT_MAX_BODY, timeoutMs };
  return getJson(transport, url, what, registry, limits, 'application/json');
}

/** GET a JSON document from a registry; null for 404. Errors become GuardErrors naming `what`. */
async function getJson(transport: Transport, url: string, what: string, registry: string, limits: BodyLimits, accept = '*/*', health?: HostHealth): Promise<unknown | null> {
  try {
    const res = await transport.get(url, { registry, headers: { accept } });
    if (res === null) return null;
    // Small documents normally; one that is not takes the large-body slots like a packument.
    const text = await bodyOf(
      health,
      registry,
      readBody(res.body, limits, (t) => t, what),
    );
    try {
      return JSON.parse(text);
    } catch {
      throw new MalformedPackumentError(`the registry answered with a body that is not JSON (${text.length} bytes)`);
    }
  } catch (err) {
    throw toGuardError(err, what, registry, health);
  }
}

/**
 * A body read: a host that sends headers and then stalls (or drops the connection) mid-body fails there, not in
 * the transport; that counts toward marking it down too.
 */
async function bodyOf<T>(health: HostHealth | undefined, registry: string, reading: Promise<T>): Promise<T> {
  try {
    return await reading;
  } catch (err) {
    try {
      health?.failed(new URL(registry).origin, asFetchError(err));
    } catch {
      // not a URL: no host state
    }
    throw err;
  }
}

export function escapeName(name: string): string {
  return name.startsWith('@') ? `@${encodeURIComponent(name.slice(1))}` : encodeURIComponent(name);
}

/** One GuardError per HostDownError: every package it stopped reports the same error, said once. */
const stoppedErrors = new WeakMap<HostDownError, GuardError>();

function toGuardError(err: unknown, name: string, registry: string, health?: HostHealth): GuardError {
  // A request aborted because its host was marked down (or the deadline passed) fails with that shared cause,
  // whatever the abort looked like where it surfaced (a body read cut short, say).
  let stopped = err instanceof HostDownError ? err : undefined;
  const own = err instanceof BodyTooLargeError || err instanceof MalformedPackumentError || typeof (err as { statusCode?: unknown })?.statusCode === 'number';
  try {
    if (!own) stopped ??= health?.stoppedFor(new URL(registry).origin);
  } catch {
    // not a URL: no host state
  }
  if (stopped) {
    let g = stoppedErrors.get(stopped);
    if (!g) {
      g = new GuardError(stopped.code, stopped.message, { remedy: stopped.remedy });
      stoppedErrors.set(stopped, g);
    }
    return g;
  }
  err = asFetchError(err);
  const e = err as { code?: string; type?: string; statusCode?: number; message?: string };
  const where = `${name} from ${redact(registry)}`;
  const msg = redact(e.message ?? String(err));
  if (err instanceof BodyTooLargeError) {
    return new GuardError('registry-too-large', `the registry's answer for ${where} is larger than ${formatBytes(err.limit)}; it was not read further`, {
      pkg: name,
      remedy: `if this package's metadata really is that large, raise the limit with ${MAX_BODY_FLAG} <size> (e.g. ${MAX_BODY_FLAG} 512MiB) or ${MAX_BODY_ENV}; otherwise check the registry or a proxy in between`,
    });
  }
  if (err instanceof PackumentTooLargeError) {
    return new GuardError('registry-too-large', `the registry's answer for ${where} holds more than the guard reads: ${msg}`, {
      pkg: name,
      remedy: 'no real package has metadata like this: check the registry or a proxy in between (raising --max-body-size does not change this limit)',
    });
  }
  if (err instanceof MalformedPackumentError) {
    return new GuardError('registry-malformed', `malformed metadata for ${where}: ${msg}`, {
      pkg: name,
      remedy: 'the registry or a proxy in between sent a broken answer; try again, or check the registry',
    });
  }
  if (e.type === 'request-timeout' || e.code === 'ETIMEDOUT' || e.code === 'ERR_SOCKET_TIMEOUT' || /timed? ?out/i.test(msg)) {
    return new GuardError('registry-timeout', `timed out fetching ${where}`, {
      pkg: name,
      remedy: 'the registry is slow or unreachable; retry, or raise --timeout',
    });
  }
  if (typeof e.statusCode === 'number') {
    const auth = e.statusCode === 401 || e.statusCode === 403;
    return new GuardError('registry-error', `the registry answered ${e.statusCode} for ${where}`, {
      pkg: name,
      remedy: auth ? 'check the auth token for this registry in your .npmrc' : 'retry later, or check the registry',
    });
  }
  if (['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH'].includes(e.code ?? '')) {
    return new GuardError('registry-unreachable', `could not reach the registry for ${where} (${e.code})`, {
      pkg: name,
      remedy: 'check the network, proxy and registry settings (npm config get registry)',
    });
  }
  return new GuardError('registry-error', `could not fetch ${where}: ${msg}`, {
    pkg: name,
    remedy: 'retry; if it persists, check the registry and network settings',
  });
}
