// Fetches package metadata the way npm does (npm-registry-fetch with the user's npm settings: auth per
// registry, scoped registries, TLS, proxies), with bounded concurrency, retries, a per-request timeout,
// and the slim on-disk cache revalidated by ETag/Last-Modified or, when the server sends neither, a TTL.
import type npmFetchType from 'npm-registry-fetch';

// npm-registry-fetch (and its HTTP stack) loads on the first request: a warm run served from the cache needs none.
let fetchModule: Promise<typeof npmFetchType> | undefined;
const npmFetch = async (url: string, opts: npmFetchType.Options) => {
  fetchModule ??= import('npm-registry-fetch').then((m) => m.default);
  return (await fetchModule)(url, opts);
};
import { GuardError, redact } from '../errors.js';
import type { PackageFacts } from '../types.js';
import { registryFor, type NpmSettings } from '../project/npm-config.js';
import { FactsCache, type CacheEntry } from './cache.js';
import { MalformedPackumentError, slimPackument } from './facts.js';
import { limiter } from './limit.js';
import type { RegistryKey } from '../checks/types.js';

const KEYS_TTL_MS = 24 * 3_600_000;

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
}

/** Outcome per package name: facts, `missing` (404: no such package), or the error that stopped it. */
export type FactsResult =
  | { kind: 'facts'; facts: PackageFacts; from: 'network' | 'cache' | 'revalidated' }
  | { kind: 'missing'; registry: string }
  | { kind: 'error'; error: GuardError };

export interface FetchStats {
  network: number;
  revalidated: number;
  cache: number;
  bytes: number;
}

export class RegistryClient {
  private readonly cache: FactsCache;
  private readonly limit: ReturnType<typeof limiter>;
  readonly stats: FetchStats = { network: 0, revalidated: 0, cache: 0, bytes: 0 };

  /** The npm options npm-registry-fetch reads, built once (npm's flat config has ~130 keys and the CA bundle). */
  private readonly fetchOptions: Record<string, unknown>;

  constructor(private readonly opts: RegistryClientOptions) {
    this.cache = new FactsCache(opts.cacheDir);
    this.limit = limiter(opts.concurrency);
    this.fetchOptions = fetchOptionsFrom(opts.settings.flat, opts.concurrency);
  }

  /**
   * Facts for `name`. `needVersions` are the versions the caller must find: a fresh cache entry that
   * lacks one of them is refetched (a version published since the entry was written).
   */
  facts(name: string, needVersions: string[] = []): Promise<FactsResult> {
    return this.limit(() => this.load(name, needVersions));
  }

  /** The registry's signing keys (`/-/npm/v1/keys`), cached for a day; null when it publishes none (404). */
  async keys(registry: string): Promise<RegistryKey[] | null> {
    const cached = await this.cache.getDoc<{ keys: RegistryKey[] | null }>('keys', registry);
    if (cached && (this.opts.offline || Date.now() - Date.parse(cached.checkedAt) < KEYS_TTL_MS)) return cached.value.keys;
    if (this.opts.offline) {
      throw new GuardError('cache-miss', `no cached signing keys for ${redact(registry)} (--offline)`, { remedy: 'run once without --offline to fill the cache' });
    }
    const doc = await this.limit(() => getJson(`${registry}-/npm/v1/keys`, this.requestOptions(), 'the registry signing keys', registry));
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
    return this.limit(() => getJson(`${registry}${path}`, this.requestOptions(), `attestations of ${name}@${version}`, registry));
  }

  private requestOptions(): Record<string, unknown> {
    return {
      ...this.fetchOptions,
      timeout: this.opts.timeoutMs,
      retry: { retries: this.opts.retries, factor: 2, minTimeout: 300, maxTimeout: 3000, randomize: true },
    };
  }

  private async load(name: string, needVersions: string[]): Promise<FactsResult> {
    const registry = registryFor(name, this.opts.settings);
    const cached = await this.cache.get(registry, name);
    const hasAll = cached && needVersions.every((v) => v in cached.facts.versions);
    if (this.opts.offline) {
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
    if (cached && hasAll && Date.now() - Date.parse(cached.checkedAt) < this.opts.ttlMs) {
      this.stats.cache++;
      return { kind: 'facts', facts: cached.facts, from: 'cache' };
    }
    try {
      return await this.fetchFromRegistry(name, registry, cached && hasAll ? cached : undefined);
    } catch (err) {
      return { kind: 'error', error: toGuardError(err, name, registry) };
    }
  }

  private async fetchFromRegistry(name: string, registry: string, cached?: CacheEntry): Promise<FactsResult> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (cached?.etag) headers['if-none-match'] = cached.etag;
    if (cached?.lastModified) headers['if-modified-since'] = cached.lastModified;
    const res = await npmFetch(`/${escapeName(name)}`, {
      ...this.fetchOptions,
      registry,
      headers,
      // npm-registry-fetch's own HTTP cache would store whole packuments; ours stores slim facts.
      cache: undefined,
      preferOnline: true,
      timeout: this.opts.timeoutMs,
      retry: { retries: this.opts.retries, factor: 2, minTimeout: 300, maxTimeout: 3000, randomize: true },
    } as npmFetchType.Options).catch((err: { statusCode?: number }) => {
      if (err.statusCode === 404) return null;
      throw err;
    });
    const now = new Date();
    if (res === null) return { kind: 'missing', registry };
    if (res.status === 304 && cached) {
      this.stats.revalidated++;
      const entry: CacheEntry = { ...cached, checkedAt: now.toISOString() };
      await this.cache.put(registry, name, entry).catch(() => {});
      return { kind: 'facts', facts: cached.facts, from: 'revalidated' };
    }
    const text = await res.text();
    this.stats.network++;
    this.stats.bytes += text.length;
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      throw new MalformedPackumentError(`the registry answered ${res.status} with a body that is not JSON (${text.length} bytes)`);
    }
    const facts = slimPackument(doc, registry, now);
    if (facts.name !== name) throw new MalformedPackumentError(`the packument is for "${facts.name}", not "${name}"`);
    const entry: CacheEntry = {
      checkedAt: now.toISOString(),
      etag: res.headers.get('etag') ?? undefined,
      lastModified: res.headers.get('last-modified') ?? undefined,
      facts,
    };
    // A cache that cannot be written slows the next run; it does not make this one wrong.
    await this.cache.put(registry, name, entry).catch(() => {});
    return { kind: 'facts', facts, from: 'network' };
  }
}

/** Keys of npm's flat options that concern fetching: TLS, proxies, identity, and per-registry auth. */
const FETCH_KEYS = ['_auth', 'ca', 'cert', 'key', 'strictSSL', 'httpsProxy', 'proxy', 'noProxy', 'localAddress', 'maxSockets', 'userAgent', 'otp'];

function fetchOptionsFrom(flat: Record<string, unknown>, concurrency: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(flat)) {
    // `//host/:_authToken` and friends (auth per registry), `@scope:registry`.
    if (FETCH_KEYS.includes(k) || k.startsWith('//') || /^@.*:registry$/.test(k)) out[k] = v;
  }
  // npm's default of 15 sockets per host would cap our concurrency.
  out.maxSockets = Math.max(Number(flat.maxSockets) || 0, concurrency);
  return out;
}

/** GET a JSON document from a registry; null for 404. Errors become GuardErrors naming `what`. */
async function getJson(url: string, options: Record<string, unknown>, what: string, registry: string): Promise<unknown | null> {
  try {
    const res = await npmFetch(url, { ...options, registry, cache: undefined, preferOnline: true } as npmFetchType.Options).catch((err: { statusCode?: number }) => {
      if (err.statusCode === 404) return null;
      throw err;
    });
    if (res === null) return null;
    const text = await res.text();
    try {
      return JSON.parse(text);
    } catch {
      throw new MalformedPackumentError(`the registry answered with a body that is not JSON (${text.length} bytes)`);
    }
  } catch (err) {
    throw toGuardError(err, what, registry);
  }
}

export function escapeName(name: string): string {
  return name.startsWith('@') ? `@${encodeURIComponent(name.slice(1))}` : encodeURIComponent(name);
}

function toGuardError(err: unknown, name: string, registry: string): GuardError {
  const e = err as { code?: string; type?: string; statusCode?: number; message?: string };
  const where = `${name} from ${redact(registry)}`;
  const msg = redact(e.message ?? String(err));
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
