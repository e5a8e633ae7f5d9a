// An OSV record (https://ossf.github.io/osv-schema/), as far as the advisories check reads it: validated field by
// field from untrusted JSON (the OSV API, a database on disk, the cache), with bounds on its size, so a hostile or
// broken record is dropped (and counted) rather than crashing the check or growing without limit.
import { isObject } from '../util/is-object.js';

export interface OsvEvent {
  introduced?: string;
  fixed?: string;
  last_affected?: string;
  limit?: string;
}

export interface OsvRange {
  type: string;
  events: OsvEvent[];
}

export interface OsvAffected {
  ecosystem: string;
  name: string;
  versions: string[];
  ranges: OsvRange[];
  /** CWE ids named in `database_specific.cwes` (the OpenSSF malicious-packages layout). */
  cwes: string[];
}

export interface OsvRecord {
  id: string;
  modified: string;
  published?: string;
  withdrawn?: string;
  aliases: string[];
  summary?: string;
  details?: string;
  /** GitHub's `database_specific.severity` (LOW, MODERATE, HIGH, CRITICAL), lower-cased. */
  severity?: string;
  /** `database_specific.cwe_ids` (GitHub) plus the CWEs of every affected entry. */
  cwes: string[];
  affected: OsvAffected[];
  references: { type: string; url: string }[];
}

/** The most bytes one record may take as JSON (the largest real npm records are tens of KB). */
export const MAX_RECORD_BYTES = 1 << 20;
const MAX_LIST = 10_000;
const MAX_TEXT = 64 * 1024;

const str = (v: unknown, max = 1024): string | undefined => (typeof v === 'string' && v.length > 0 && v.length <= max ? v : undefined);
const strList = (v: unknown, max = MAX_LIST): string[] | undefined => {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.length > max) return undefined;
  const out: string[] = [];
  for (const s of v) {
    const t = str(s);
    if (t === undefined) return undefined;
    out.push(t);
  }
  return out;
};

function cwesOf(v: unknown): string[] {
  if (!isObject(v)) return [];
  const out: string[] = [];
  if (Array.isArray(v.cwe_ids)) for (const c of v.cwe_ids.slice(0, 100)) if (typeof c === 'string') out.push(c);
  if (Array.isArray(v.cwes)) for (const c of v.cwes.slice(0, 100)) if (isObject(c) && typeof c.cweId === 'string') out.push(c.cweId);
  return out;
}

function parseAffected(v: unknown): OsvAffected | undefined {
  if (!isObject(v) || !isObject(v.package)) return undefined;
  const ecosystem = str(v.package.ecosystem);
  const name = str(v.package.name, 214);
  if (!ecosystem || !name) return undefined;
  const versions = strList(v.versions);
  if (!versions) return undefined;
  const ranges: OsvRange[] = [];
  if (v.ranges !== undefined) {
    if (!Array.isArray(v.ranges) || v.ranges.length > 1000) return undefined;
    for (const r of v.ranges) {
      if (!isObject(r) || !str(r.type) || !Array.isArray(r.events) || r.events.length > MAX_LIST) return undefined;
      const events: OsvEvent[] = [];
      for (const e of r.events) {
        if (!isObject(e)) return undefined;
        const ev: OsvEvent = {};
        for (const k of ['introduced', 'fixed', 'last_affected', 'limit'] as const) {
          if (e[k] === undefined) continue;
          const s = str(e[k]);
          if (s === undefined) return undefined;
          ev[k] = s;
        }
        events.push(ev);
      }
      ranges.push({ type: r.type as string, events });
    }
  }
  return { ecosystem, name, versions, ranges, cwes: cwesOf(v.database_specific) };
}

/** The record, or undefined when it is not one (a wrong type, a missing id or modified time, too large a list). */
export function parseOsvRecord(v: unknown): OsvRecord | undefined {
  if (!isObject(v)) return undefined;
  const id = str(v.id, 200);
  const modified = str(v.modified, 100);
  if (!id || !modified) return undefined;
  const aliases = strList(v.aliases, 1000);
  if (!aliases || !Array.isArray(v.affected ?? []) || ((v.affected ?? []) as unknown[]).length > MAX_LIST) return undefined;
  const affected: OsvAffected[] = [];
  for (const a of (v.affected ?? []) as unknown[]) {
    const p = parseAffected(a);
    if (!p) return undefined;
    affected.push(p);
  }
  const references: OsvRecord['references'] = [];
  if (Array.isArray(v.references)) {
    for (const r of v.references.slice(0, 200)) {
      const url = isObject(r) ? str(r.url, 2048) : undefined;
      if (isObject(r) && url) references.push({ type: str(r.type) ?? 'WEB', url });
    }
  }
  const db = isObject(v.database_specific) ? v.database_specific : {};
  const severity = str(db.severity, 20)?.toLowerCase();
  return {
    id,
    modified,
    ...(str(v.published, 100) ? { published: v.published as string } : {}),
    ...(str(v.withdrawn, 100) ? { withdrawn: v.withdrawn as string } : {}),
    aliases,
    ...(str(v.summary, MAX_TEXT) ? { summary: v.summary as string } : {}),
    ...(str(v.details, MAX_TEXT) ? { details: v.details as string } : {}),
    ...(severity ? { severity } : {}),
    cwes: [...new Set([...cwesOf(db), ...affected.flatMap((a) => a.cwes)])],
    affected,
    references,
  };
}
