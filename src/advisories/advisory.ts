// One advisory as the check reads it, from any source: OSV records (the OSV API, an offline database) and the
// registry's bulk answers (npm audit's source). Matching follows each source's own semantics: OSV's `versions`
// lists and SEMVER/ECOSYSTEM ranges (introduced/fixed/last_affected, events ordered by version; ranges OR'ed;
// withdrawn records ignored), and npm's `vulnerable_versions` ranges (semver, loose, prereleases included, as
// @npmcli/metavuln-calculator reads them). Advisories from several sources that share an id or alias are merged.
import semver from 'semver';
import type { OsvEvent, OsvRecord } from './osv.js';

export type AdvisorySource = 'osv' | 'registry' | 'db';
import type { Severity } from '../types.js';

export type { Severity };
export const SEVERITY_RANK: Record<Severity, number> = { low: 1, moderate: 2, high: 3, critical: 4 };

export interface Advisory {
  /** The id shown first: a MAL- id for malware, else a GHSA id, else the record's own id. */
  id: string;
  /** Every id and alias it is known by (MAL-…, GHSA-…, CVE-…). */
  ids: string[];
  kind: 'malware' | 'vulnerability';
  summary: string;
  url: string;
  severity?: Severity;
  /** Versions that fix it (OSV `fixed` events), lowest first. */
  fixed: string[];
  /** For malware: what the advisory says to do (its details), shortened. */
  advice?: string;
  sources: AdvisorySource[];
  /** Whether it names this version of the package. */
  affects(version: string): boolean;
}

const SEMVER_OPTS = { loose: true, includePrerelease: true } as const;
const MALWARE_CWE = 'CWE-506';

function severityOf(s: unknown): Severity | undefined {
  const v = typeof s === 'string' ? s.toLowerCase() : '';
  if (v === 'medium') return 'moderate';
  return v === 'low' || v === 'moderate' || v === 'high' || v === 'critical' ? v : undefined;
}

/** OSV's rule: malware is an OSV MAL- id, or a GitHub advisory with CWE-506 or a title "Malware in …". */
export function isMalware(ids: string[], cwes: string[], title: string | undefined): boolean {
  return ids.some((i) => i.startsWith('MAL-')) || cwes.includes(MALWARE_CWE) || /^Malware in /.test(title ?? '');
}

/** A version as OSV's npm ranges write it ("0" is the lowest of all), or undefined when it is not semver. */
function parseVersion(v: string): semver.SemVer | 'zero' | undefined {
  if (v === '0') return 'zero';
  return semver.parse(v, { loose: true }) ?? undefined;
}

function cmp(a: semver.SemVer | 'zero', b: semver.SemVer | 'zero'): number {
  if (a === 'zero') return b === 'zero' ? 0 : -1;
  if (b === 'zero') return 1;
  return semver.compare(a, b);
}

/** OSV's IncludedInRange: events sorted by version; introduced opens, fixed closes at, last_affected closes after. */
export function inOsvRange(version: string, events: OsvEvent[]): boolean {
  const v = parseVersion(version);
  if (!v || v === 'zero') return false;
  const sorted = events
    .map((e) => ({ e, at: parseVersion(e.introduced ?? e.fixed ?? e.last_affected ?? e.limit ?? '') }))
    .filter((x): x is { e: OsvEvent; at: semver.SemVer | 'zero' } => x.at !== undefined)
    .sort((a, b) => cmp(a.at, b.at));
  let affected = false;
  for (const { e, at } of sorted) {
    if (e.introduced !== undefined && cmp(v, at) >= 0) affected = true;
    else if (e.fixed !== undefined && cmp(v, at) >= 0) affected = false;
    else if (e.last_affected !== undefined && cmp(v, at) > 0) affected = false;
  }
  return affected;
}

/** Whether the OSV record names name@version (npm entries only; a withdrawn record names nothing). */
export function osvAffects(record: OsvRecord, name: string, version: string): boolean {
  if (record.withdrawn) return false;
  for (const a of record.affected) {
    if (a.ecosystem !== 'npm' || a.name !== name) continue;
    if (a.versions.includes(version)) return true;
    for (const r of a.ranges) if ((r.type === 'SEMVER' || r.type === 'ECOSYSTEM') && inOsvRange(version, r.events)) return true;
  }
  return false;
}

function firstLine(text: string, max: number): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

/** The advice of a malware record: its details after OSV's per-source separator when there is one. */
function adviceOf(details: string | undefined): string | undefined {
  if (!details) return undefined;
  const parts = details.split(/^## Source: .*$/m);
  const last = (parts.length > 1 ? parts[parts.length - 1] : details.split(/^---$/m)[0]) ?? '';
  const text = (last.trim() || details.trim()).replace(/\s+/g, ' ');
  // Its first two sentences: what to do, not the whole essay.
  const sentences = text.match(/[^.!?]+[.!?]+/g) ?? [text];
  return text ? firstLine(sentences.slice(0, 2).join('').trim(), 400) : undefined;
}

function preferredId(ids: string[], malware: boolean): string {
  return (malware ? ids.find((i) => i.startsWith('MAL-')) : undefined) ?? ids.find((i) => i.startsWith('GHSA-')) ?? ids[0] ?? 'unknown';
}

/** GitHub's page for a GHSA id, else the record's GitHub advisory reference, else OSV's page for the id. */
function linkFor(id: string, refs: { type: string; url: string }[]): string {
  if (id.startsWith('GHSA-')) return `https://github.com/advisories/${id}`;
  const github = refs.find((r) => r.type === 'ADVISORY' && /^https:\/\/github\.com\/advisories\/GHSA-[\w-]+$/.test(r.url));
  return github ? github.url : `https://osv.dev/vulnerability/${encodeURIComponent(id)}`;
}

export function fromOsv(record: OsvRecord, name: string, source: AdvisorySource): Advisory {
  const ids = [...new Set([record.id, ...record.aliases])];
  const malware = isMalware(ids, record.cwes, record.summary);
  const fixed = record.affected
    .filter((a) => a.ecosystem === 'npm' && a.name === name)
    .flatMap((a) => a.ranges.flatMap((r) => r.events.map((e) => e.fixed).filter((f): f is string => f !== undefined)))
    .filter((f) => semver.valid(f, { loose: true }))
    .sort((a, b) => semver.compare(a, b, { loose: true }));
  const id = preferredId(ids, malware);
  return {
    id,
    ids,
    kind: malware ? 'malware' : 'vulnerability',
    summary: firstLine(record.summary ?? record.details ?? id, 200),
    url: linkFor(id, record.references),
    ...(severityOf(record.severity) ? { severity: severityOf(record.severity) } : {}),
    fixed: [...new Set(fixed)],
    ...(malware && adviceOf(record.details) ? { advice: adviceOf(record.details) } : {}),
    sources: [source],
    affects: (v) => osvAffects(record, name, v),
  };
}

/** One entry of the registry's bulk answer (`/-/npm/v1/security/advisories/bulk`). */
export interface BulkEntry {
  id: string | number;
  url: string;
  title: string;
  severity?: string;
  vulnerable_versions: string;
  cwe: string[];
}

export function fromBulk(entry: BulkEntry, source: AdvisorySource = 'registry'): Advisory {
  const ghsa = /\/(GHSA-[\w-]+)/.exec(entry.url)?.[1];
  const ids = [...new Set([...(ghsa ? [ghsa] : []), `npm:${entry.id}`])];
  const malware = isMalware(ids, entry.cwe, entry.title);
  const range = semver.validRange(entry.vulnerable_versions, SEMVER_OPTS);
  return {
    id: ghsa ?? `npm:${entry.id}`,
    ids,
    kind: malware ? 'malware' : 'vulnerability',
    summary: firstLine(entry.title, 200),
    url: entry.url,
    ...(severityOf(entry.severity) ? { severity: severityOf(entry.severity) } : {}),
    fixed: [],
    sources: [source],
    // An unreadable range names every version: the registry said this package is affected.
    affects: (v) => (range === null ? true : semver.satisfies(v, range, SEMVER_OPTS)),
  };
}

/**
 * Advisories that share an id or alias, merged into one: ids and sources united, malware if any part says so,
 * the highest severity, and naming a version when any part does.
 */
export function mergeAdvisories(list: Advisory[]): Advisory[] {
  const groups: Advisory[][] = [];
  const byId = new Map<string, Advisory[]>();
  for (const a of list) {
    const hits = [...new Set(a.ids.map((i) => byId.get(i)).filter((g): g is Advisory[] => g !== undefined))];
    let group: Advisory[];
    if (hits.length === 0) {
      group = [];
      groups.push(group);
    } else {
      group = hits[0]!;
      for (const other of hits.slice(1)) {
        group.push(...other);
        groups.splice(groups.indexOf(other), 1);
      }
    }
    group.push(a);
    for (const x of group) for (const i of x.ids) byId.set(i, group);
  }
  return groups.map((g) => {
    if (g.length === 1) return g[0]!;
    const ids = [...new Set(g.flatMap((a) => a.ids))];
    const malware = g.some((a) => a.kind === 'malware');
    const best = g.find((a) => a.kind === (malware ? 'malware' : 'vulnerability') && a.sources.includes('osv')) ?? g.find((a) => a.kind === (malware ? 'malware' : 'vulnerability')) ?? g[0]!;
    const severity = g
      .map((a) => a.severity)
      .filter((s): s is Severity => s !== undefined)
      .sort((a, b) => SEVERITY_RANK[b] - SEVERITY_RANK[a])[0];
    const id = preferredId(ids, malware);
    return {
      id,
      ids,
      kind: malware ? 'malware' : 'vulnerability',
      summary: best.summary,
      url: best.url,
      ...(severity ? { severity } : {}),
      fixed: [...new Set(g.flatMap((a) => a.fixed))],
      ...(g.find((a) => a.advice) ? { advice: g.find((a) => a.advice)!.advice } : {}),
      sources: [...new Set(g.flatMap((a) => a.sources))],
      affects: (v: string) => g.some((a) => a.affects(v)),
    };
  });
}
