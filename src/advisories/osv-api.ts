// The OSV API (https://google.github.io/osv.dev/api/): POST /v1/querybatch with one query per locked
// name@version (at most 1000 per batch; its answer gives only ids and modified times, one result per query in
// order, with next_page_token for a query that has more), then GET /v1/vulns/{id} for each record not cached.
// Cached like packuments: the ids per (OSV URL, name@version) for the check's TTL, each record per (id, modified)
// for as long as it is not modified (a new modified time is a new key).
import type { FactsCache } from '../registry/cache.js';
import { isObject } from '../util/is-object.js';
import { limiter } from '../registry/limit.js';
import { requestJson, type HttpBounds } from './http.js';
import { MAX_RECORD_BYTES, parseOsvRecord, type OsvRecord } from './osv.js';

export const DEFAULT_OSV_URL = 'https://api.osv.dev';
/** OSV's cap on queries per batch. */
const BATCH = 1000;
/** Pages followed per query before giving up on it (a real package has a few dozen records at most). */
const MAX_PAGES = 50;
const RECORD_FETCHES = 8;

interface IdRef {
  id: string;
  modified: string;
}

const isIdRefs = (v: unknown): v is IdRef[] => Array.isArray(v) && v.every((x) => isObject(x) && typeof x.id === 'string' && typeof x.modified === 'string');
const isIdList = (v: unknown): v is { ids: IdRef[] } => isObject(v) && isIdRefs(v.ids);
/** The answers for a whole set of versions (one lockfile): one read for a warm check. */
const isIdSet = (v: unknown): v is { ids: Record<string, IdRef[]> } => isObject(v) && isObject(v.ids) && Object.values(v.ids).every(isIdRefs);

export interface OsvApiOptions {
  url: string;
  cache: FactsCache;
  ttlMs: number;
  offline: boolean;
  bounds: HttpBounds;
}

export interface OsvAnswer {
  /** Records naming each name@version (key `name@version`). */
  records: Map<string, OsvRecord[]>;
  /** Queries answered from the cache and from the network. */
  cached: number;
  fetched: number;
  /** When the oldest cached answer used was fetched (ISO), if any came from the cache. */
  oldest?: string;
}

function fresh(at: string, ttlMs: number): boolean {
  const age = Date.now() - Date.parse(at);
  return age >= 0 && age < ttlMs;
}

export async function queryOsv(pkgs: { name: string; version: string }[], opts: OsvApiOptions): Promise<OsvAnswer> {
  const base = opts.url.replace(/\/+$/, '');
  const idsFor = new Map<string, IdRef[]>();
  const todo: { name: string; version: string }[] = [];
  let oldest: string | undefined;
  const setKey = `${base}\0${JSON.stringify(pkgs.map((p) => `${p.name}@${p.version}`).sort())}`;
  const whole = await opts.cache.getDoc('osv-query-set', setKey, isIdSet);
  const wholeFresh = whole && (opts.offline || fresh(whole.checkedAt, opts.ttlMs)) && pkgs.every((p) => `${p.name}@${p.version}` in whole.value.ids);
  const hits = wholeFresh
    ? pkgs.map((p) => ({ checkedAt: whole.checkedAt, value: { ids: whole.value.ids[`${p.name}@${p.version}`]! } }))
    : await Promise.all(pkgs.map((p) => opts.cache.getDoc('osv-query', `${base}\0${p.name}@${p.version}`, isIdList)));
  pkgs.forEach((p, i) => {
    const hit = hits[i];
    if (hit && (opts.offline || fresh(hit.checkedAt, opts.ttlMs))) {
      idsFor.set(`${p.name}@${p.version}`, hit.value.ids);
      if (!oldest || hit.checkedAt < oldest) oldest = hit.checkedAt;
    } else todo.push(p);
  });
  if (todo.length && opts.offline) throw new Error(`${todo.length} package${todo.length === 1 ? ' has' : 's have'} no cached OSV answer (--offline)`);
  const cached = pkgs.length - todo.length;

  for (let i = 0; i < todo.length; i += BATCH) {
    let pending = todo.slice(i, i + BATCH).map((p) => ({ p, token: undefined as string | undefined, ids: [] as IdRef[], pages: 0 }));
    while (pending.length) {
      const answer = await requestJson(`${base}/v1/querybatch`, `${base}/v1/querybatch`, opts.bounds, {
        method: 'POST',
        body: { queries: pending.map((q) => ({ package: { ecosystem: 'npm', name: q.p.name }, version: q.p.version, ...(q.token ? { page_token: q.token } : {}) })) },
      });
      const results = isObject(answer) && Array.isArray(answer.results) ? answer.results : undefined;
      if (!results || results.length !== pending.length)
        throw new Error(`the OSV API answered querybatch with ${results ? `${results.length} results for ${pending.length} queries` : 'no results list'}`);
      const next: typeof pending = [];
      results.forEach((r, j) => {
        const q = pending[j]!;
        const vulns = isObject(r) && r.vulns !== undefined ? r.vulns : [];
        if (!Array.isArray(vulns)) throw new Error('the OSV API answered querybatch with a malformed result');
        for (const v of vulns) {
          if (!isObject(v) || typeof v.id !== 'string' || !/^[\w.:-]{1,200}$/.test(v.id)) throw new Error('the OSV API answered querybatch with a malformed vulnerability id');
          q.ids.push({ id: v.id, modified: typeof v.modified === 'string' ? v.modified : '' });
        }
        const token = isObject(r) && typeof r.next_page_token === 'string' && r.next_page_token ? r.next_page_token : undefined;
        if (token && ++q.pages < MAX_PAGES) next.push({ ...q, token });
        else if (token) throw new Error(`the OSV API kept paging for ${q.p.name}@${q.p.version} (over ${MAX_PAGES} pages)`);
      });
      for (const q of pending) if (!next.some((n) => n.p === q.p)) idsFor.set(`${q.p.name}@${q.p.version}`, q.ids);
      pending = next;
    }
  }
  if (todo.length) {
    await opts.cache.putDoc('osv-query-set', setKey, { ids: Object.fromEntries(idsFor) }).catch(() => {});
  }
  await Promise.all(todo.map((p) => opts.cache.putDoc('osv-query', `${base}\0${p.name}@${p.version}`, { ids: idsFor.get(`${p.name}@${p.version}`) ?? [] }).catch(() => {})));

  // The full records, each once.
  const wanted = new Map<string, IdRef>();
  for (const ids of idsFor.values()) for (const r of ids) wanted.set(`${r.id}\0${r.modified}`, r);
  const records = new Map<string, OsvRecord | undefined>();
  const limit = limiter(RECORD_FETCHES);
  await Promise.all(
    [...wanted].map(([k, ref]) =>
      limit(async () => {
        const hit = ref.modified ? await opts.cache.getDoc('osv-vuln', `${base}\0${k}`, (v): v is unknown => isObject(v)) : undefined;
        let record = hit ? parseOsvRecord(hit.value) : undefined;
        if (!record || record.id !== ref.id) {
          if (opts.offline) throw new Error(`the OSV record ${ref.id} is not cached (--offline)`);
          const raw = await requestJson(
            `${base}/v1/vulns/${encodeURIComponent(ref.id)}`,
            `${base}/v1/vulns/${ref.id}`,
            { ...opts.bounds, maxBytes: Math.min(opts.bounds.maxBytes, MAX_RECORD_BYTES) },
            { method: 'GET' },
          );
          record = parseOsvRecord(raw);
          if (!record || record.id !== ref.id) throw new Error(`the OSV API answered ${ref.id} with a malformed record`);
          await opts.cache.putDoc('osv-vuln', `${base}\0${ref.id}\0${record.modified}`, raw).catch(() => {});
          if (ref.modified && ref.modified !== record.modified) await opts.cache.putDoc('osv-vuln', `${base}\0${k}`, raw).catch(() => {});
        }
        records.set(k, record);
      }),
    ),
  );
  const out = new Map<string, OsvRecord[]>();
  for (const [key, ids] of idsFor)
    out.set(
      key,
      ids.map((r) => records.get(`${r.id}\0${r.modified}`)).filter((r): r is OsvRecord => r !== undefined),
    );
  return { records: out, cached, fetched: todo.length, ...(oldest ? { oldest } : {}) };
}
