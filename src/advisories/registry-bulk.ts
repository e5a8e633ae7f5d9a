// The registry's bulk advisory endpoint, what `npm audit` asks: POST {registry}/-/npm/v1/security/advisories/bulk
// with {"name": ["version", …]}, answered with {"name": [{id, url, title, severity, vulnerable_versions, cwe,
// cvss}]}. Sent with npm's own fetch (npm-registry-fetch: the user's auth for that registry, TLS, proxies), one
// request per registry the names resolve to (scoped registries). A registry that answers 404 or 405 (mirrors
// often do) has no such endpoint: that source did not answer, which is not an error. Answers are cached per
// (registry, name@versions) for the check's TTL.
import type npmFetchType from 'npm-registry-fetch';
import { registryFor, type NpmSettings } from '../project/npm-config.js';
import type { FactsCache } from '../registry/cache.js';
import { isObject } from '../util/is-object.js';
import { readBody } from '../registry/body.js';
import { limiter } from '../registry/limit.js';
import { redact } from '../util/safe-text.js';
import type { BulkEntry } from './advisory.js';
import type { HttpBounds } from './http.js';

export const BULK_PATH = '-/npm/v1/security/advisories/bulk';

export interface BulkOptions {
  npm: NpmSettings;
  /** npm's flat options that concern fetching (client.ts fetchOptionsFrom). */
  fetchOptions: Record<string, unknown>;
  cache: FactsCache;
  ttlMs: number;
  offline: boolean;
  bounds: HttpBounds;
}

export interface BulkRegistryAnswer {
  registry: string;
  /** Entries per name (only names with some). */
  entries: Map<string, BulkEntry[]>;
  from: 'network' | 'cache';
  /** Set when this registry did not answer: why, in words (404/405: it has no bulk endpoint). */
  unavailable?: string;
  checkedAt?: string;
}

function parseEntry(v: unknown): BulkEntry | undefined {
  if (!isObject(v)) return undefined;
  const { id, url, title, severity, vulnerable_versions: range, cwe } = v;
  if (!(typeof id === 'string' || typeof id === 'number') || typeof url !== 'string' || typeof range !== 'string') return undefined;
  if (url.length > 2048 || range.length > 4096) return undefined;
  const cwes = Array.isArray(cwe) ? cwe.filter((c): c is string => typeof c === 'string').slice(0, 100) : typeof cwe === 'string' ? [cwe] : [];
  return {
    id,
    url,
    title: typeof title === 'string' ? title.slice(0, 1024) : String(id),
    ...(typeof severity === 'string' ? { severity } : {}),
    vulnerable_versions: range,
    cwe: cwes,
  };
}

const isEntryDoc = (v: unknown): v is { entries: Record<string, BulkEntry[]> } =>
  isObject(v) && isObject(v.entries) && Object.values(v.entries).every((l) => Array.isArray(l) && l.every((e) => parseEntry(e) !== undefined));

let fetchModule: Promise<typeof npmFetchType> | undefined;

async function postBulk(registry: string, body: Record<string, string[]>, opts: BulkOptions): Promise<Map<string, BulkEntry[]> | { status: number }> {
  fetchModule ??= import('npm-registry-fetch').then((m) => m.default);
  const npmFetch = await fetchModule;
  let res: Awaited<ReturnType<typeof npmFetch>>;
  try {
    res = await npmFetch(BULK_PATH, {
      ...opts.fetchOptions,
      registry,
      method: 'POST',
      gzip: true,
      body,
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      cache: undefined,
      preferOnline: true,
      timeout: opts.bounds.timeoutMs,
      retry: { retries: opts.bounds.retries, factor: 2, minTimeout: 300, maxTimeout: 3000, randomize: true },
      signal: opts.bounds.signal,
    } as npmFetchType.Options);
  } catch (err) {
    const status = (err as { statusCode?: unknown }).statusCode;
    if (typeof status === 'number') return { status };
    throw new Error(redact((err as Error).message ?? String(err)));
  }
  const text = await readBody(
    res.body as unknown as AsyncIterable<Buffer>,
    { large: Infinity, largeSlots: limiter(1), maxBytes: opts.bounds.maxBytes, timeoutMs: opts.bounds.timeoutMs },
    (t) => t,
    'the bulk advisory answer',
  );
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new Error(`the answer is not JSON (${text.length} bytes)`);
  }
  if (!isObject(doc)) throw new Error('the answer is not a JSON object');
  const out = new Map<string, BulkEntry[]>();
  for (const [name, list] of Object.entries(doc)) {
    if (!(name in body)) continue; // only what was asked about
    if (!Array.isArray(list)) throw new Error(`the answer for ${name} is not a list`);
    const entries = list.map(parseEntry);
    if (entries.some((e) => e === undefined)) throw new Error(`the answer for ${name} holds a malformed advisory`);
    if (entries.length) out.set(name, entries as BulkEntry[]);
  }
  return out;
}

function fresh(at: string, ttlMs: number): boolean {
  const age = Date.now() - Date.parse(at);
  return age >= 0 && age < ttlMs;
}

/** Ask each registry the names resolve to about their locked versions. */
export async function queryBulk(pkgs: { name: string; version: string }[], opts: BulkOptions): Promise<BulkRegistryAnswer[]> {
  const byRegistry = new Map<string, Record<string, string[]>>();
  for (const p of pkgs) {
    const reg = registryFor(p.name, opts.npm);
    const body = byRegistry.get(reg) ?? {};
    (body[p.name] ??= []).includes(p.version) || body[p.name]!.push(p.version);
    byRegistry.set(reg, body);
  }
  return Promise.all(
    [...byRegistry].map(async ([registry, body]): Promise<BulkRegistryAnswer> => {
      for (const list of Object.values(body)) list.sort();
      const key = `${registry}\0${JSON.stringify(Object.entries(body).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))}`;
      const hit = await opts.cache.getDoc('advisories-bulk', key, isEntryDoc);
      if (hit && (opts.offline || fresh(hit.checkedAt, opts.ttlMs))) {
        return { registry, entries: new Map(Object.entries(hit.value.entries)), from: 'cache', checkedAt: hit.checkedAt };
      }
      const shown = redact(registry);
      if (opts.offline) return { registry, entries: new Map(), from: 'cache', unavailable: `no cached bulk advisory answer from ${shown} (--offline)` };
      try {
        const answer = await postBulk(registry, body, opts);
        if (!(answer instanceof Map)) {
          const none = answer.status === 404 || answer.status === 405;
          return {
            registry,
            entries: new Map(),
            from: 'network',
            unavailable: none ? `${shown} has no bulk advisory endpoint (${answer.status})` : `${shown} answered ${answer.status} to the bulk advisory request`,
          };
        }
        const checkedAt = new Date().toISOString();
        await opts.cache.putDoc('advisories-bulk', key, { entries: Object.fromEntries(answer) }).catch(() => {});
        return { registry, entries: answer, from: 'network', checkedAt };
      } catch (err) {
        return { registry, entries: new Map(), from: 'network', unavailable: `the bulk advisory request to ${shown} failed: ${redact((err as Error).message)}` };
      }
    }),
  );
}
