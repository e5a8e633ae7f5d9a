// The advisories of every locked registry version, from the sources in use, merged by alias: an offline database
// when one is in use (then nothing leaves the machine), else the OSV API and the registry's bulk endpoint side by
// side. A source that does not answer is said in the report; a name no source answered for is "unavailable".
import { registryFor, type NpmSettings } from '../project/npm-config.js';
import { FactsCache } from '../registry/cache.js';
import { formatDuration } from '../util/duration.js';
import { redact } from '../util/safe-text.js';
import { fromBulk, fromOsv, mergeAdvisories, type Advisory } from './advisory.js';
import type { OfflineAdvisoryDb } from './db.js';
import type { HttpBounds } from './http.js';
import { parseOsvRecord, type OsvRecord } from './osv.js';
import { queryOsv } from './osv-api.js';
import { queryBulk } from './registry-bulk.js';

export interface AdvisorySourceStatus {
  source: 'osv' | 'registry' | 'db';
  /** The source in words ("the OSV API at https://api.osv.dev"). */
  label: string;
  answered: boolean;
  /** How it answered, and how fresh the data is (or why it did not answer). */
  detail: string;
}

export interface AdvisoryLookup {
  sources: AdvisorySourceStatus[];
  /** The merged advisories known for a name (each says which versions it names). */
  forName(name: string): Advisory[];
  /** Whether some source answered for this name. */
  covered(name: string): boolean;
}

export interface LookupOptions {
  npm: NpmSettings;
  fetchOptions: Record<string, unknown>;
  osvUrl: string;
  sources: { osv: boolean; registry: boolean };
  cacheDir: string;
  ttlMs: number;
  offline: boolean;
  bounds: HttpBounds;
  /** An offline database in use: the only source, no request leaves the machine. */
  db?: OfflineAdvisoryDb;
  now: Date;
}

function ago(iso: string | undefined, now: Date): string {
  if (!iso) return 'just now';
  const ms = now.getTime() - Date.parse(iso);
  return ms < 60_000 ? 'just now' : `${formatDuration(ms)} ago`;
}

export async function lookupAdvisories(pkgs: { name: string; version: string }[], opts: LookupOptions): Promise<AdvisoryLookup> {
  const lists = new Map<string, Advisory[]>();
  const add = (name: string, a: Advisory) => {
    const l = lists.get(name) ?? [];
    l.push(a);
    lists.set(name, l);
  };
  const sources: AdvisorySourceStatus[] = [];
  const covered = new Set<string>();
  let all = false;

  if (opts.db) {
    const db = opts.db;
    const label = `the offline advisory database ${db.path}`;
    let dropped = 0;
    try {
      const names = [...new Set(pkgs.map((p) => p.name))];
      for (const name of names) {
        for (const raw of await db.recordsFor(name)) {
          const r = parseOsvRecord(raw);
          if (!r) {
            dropped++;
            continue;
          }
          add(name, fromOsv(r, name, 'db'));
        }
      }
      all = true;
      const built = db.builtAt ? `built ${db.builtAt.toISOString()} (${ago(db.builtAt.toISOString(), opts.now)})` : 'build time unknown';
      sources.push({
        source: 'db',
        label,
        answered: true,
        detail: `${db.kind}, ${built}${dropped ? `; ${dropped} malformed record${dropped === 1 ? '' : 's'} skipped` : ''}; no advisory request left the machine`,
      });
    } catch (err) {
      sources.push({ source: 'db', label, answered: false, detail: redact((err as Error).message) });
    } finally {
      await db.close().catch(() => {});
    }
  } else {
    const cache = new FactsCache(opts.cacheDir);
    const jobs: Promise<void>[] = [];
    if (opts.sources.osv) {
      const label = `the OSV API at ${redact(opts.osvUrl)}`;
      jobs.push(
        queryOsv(pkgs, { url: opts.osvUrl, cache, ttlMs: opts.ttlMs, offline: opts.offline, bounds: opts.bounds }).then(
          (answer) => {
            // The versions OSV said each record names: named whatever this code's own matching says (a range
            // type it does not read, say); other versions are matched by the record's ranges.
            const said = new Map<string, Map<string, { record: OsvRecord; versions: Set<string> }>>();
            for (const p of pkgs) {
              for (const r of answer.records.get(`${p.name}@${p.version}`) ?? []) {
                const byRecord = said.get(p.name) ?? new Map<string, { record: OsvRecord; versions: Set<string> }>();
                said.set(p.name, byRecord);
                const k = `${r.id}\0${r.modified}`;
                const entry = byRecord.get(k) ?? { record: r, versions: new Set<string>() };
                entry.versions.add(p.version);
                byRecord.set(k, entry);
              }
            }
            for (const [name, byRecord] of said) {
              for (const { record, versions } of byRecord.values()) {
                if (record.withdrawn) continue;
                const a = fromOsv(record, name, 'osv');
                const own = a.affects;
                add(name, { ...a, affects: (v) => versions.has(v) || own(v) });
              }
            }
            all = true;
            const freshness = answer.cached ? `${answer.fetched} queried now, ${answer.cached} from the cache (oldest ${ago(answer.oldest, opts.now)})` : `${answer.fetched} queried now`;
            sources.push({ source: 'osv', label, answered: true, detail: `${pkgs.length} version${pkgs.length === 1 ? '' : 's'}: ${freshness}` });
          },
          (err: unknown) => {
            sources.push({ source: 'osv', label, answered: false, detail: redact((err as Error).message ?? String(err)) });
          },
        ),
      );
    }
    if (opts.sources.registry) {
      jobs.push(
        queryBulk(pkgs, { npm: opts.npm, fetchOptions: opts.fetchOptions, cache, ttlMs: opts.ttlMs, offline: opts.offline, bounds: opts.bounds }).then((answers) => {
          for (const a of answers) {
            const label = `the registry ${redact(a.registry)} (bulk advisories, as npm audit asks)`;
            if (a.unavailable) {
              sources.push({ source: 'registry', label, answered: false, detail: a.unavailable });
              continue;
            }
            for (const p of pkgs) if (registryFor(p.name, opts.npm) === a.registry) covered.add(p.name);
            for (const [name, entries] of a.entries) for (const e of entries) add(name, fromBulk(e));
            sources.push({ source: 'registry', label, answered: true, detail: a.from === 'cache' ? `from the cache (${ago(a.checkedAt, opts.now)})` : 'asked now' });
          }
        }),
      );
    }
    await Promise.all(jobs);
    // Cut short by the check's deadline: say that, not the abort error of whichever request was running.
    if (opts.bounds.signal?.aborted) for (const s of sources) if (!s.answered) s.detail = "stopped at the check's deadline (--deadline)";
  }
  const merged = new Map<string, Advisory[]>();
  return {
    sources,
    forName(name) {
      let m = merged.get(name);
      if (!m) merged.set(name, (m = mergeAdvisories(lists.get(name) ?? [])));
      return m;
    },
    covered: (name) => all || covered.has(name),
  };
}
