// Packument -> slim facts: a small summary of every version (what release age, its fallback and trust
// downgrade read across versions) and full facts only for the versions asked for (the locked ones), so the
// cache stays small and a 10 MB packument is dropped as soon as it has been read.
import { binNamesOf } from '../util/bin-names.js';
import { isObject, type Json } from '../util/is-object.js';
import type { PackageFacts, VersionFacts, VersionSummary } from '../facts.js';

const INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall'] as const;

const ISO_8601 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:Z|[+-](\d{2}):(\d{2}))$/;

/**
 * A packument's `time[version]` when it is an ISO 8601 timestamp with a time zone, as registries write them
 * (`2024-01-01T00:00:00.000Z`); anything else is no publish time (`no-publish-time`). V8's Date.parse alone is
 * too lenient: it reads `"1"` as the year 2001, `"2024-02-30..."` as March 1st, and legacy forms with trailing
 * text, and such a string is registry text that would be printed.
 */
export function publishTime(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length > 40) return undefined;
  const m = ISO_8601.exec(value);
  if (!m) return undefined;
  const [y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, oh = 0, om = 0] = m.slice(1).map((x) => (x === undefined ? 0 : Number(x)));
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59 || oh > 23 || om > 59) return undefined;
  // The day exists in that month (Date.UTC rolls 02-30 over to March).
  if (new Date(Date.UTC(y, mo - 1, d)).getUTCDate() !== d) return undefined;
  return Number.isFinite(Date.parse(value)) ? value : undefined;
}

/** Thrown when a packument is not shaped like one; the client turns it into a GuardError for the package. */
export class MalformedPackumentError extends Error {}

/**
 * Thrown when a packument, whatever its size in bytes, holds more than the guard keeps (more than MAX_VERSIONS
 * versions, a field it reads longer than 1 MiB): the client turns it into a registry-too-large error.
 */
export class PackumentTooLargeError extends Error {}

/**
 * The most versions a packument may list. The largest real ones list a few thousand (typescript ~3,500, next
 * ~3,000), the very largest over ten thousand; each kept version costs memory whatever the body's size (a
 * check reading 30,000 tiny versions peaks near 230 MB, bench/RESULTS.md), and 128 MiB of `"1.0.N":{},` is ten
 * million of them.
 */
export const MAX_VERSIONS = 30_000;

/** `full`: the versions that get full facts (those that exist; the others are simply absent). */
export function slimPackument(doc: unknown, registry: string, fetchedAt: Date, full: ReadonlySet<string> = new Set()): PackageFacts {
  if (!isObject(doc)) throw new MalformedPackumentError('the packument is not a JSON object');
  const name = doc.name;
  if (typeof name !== 'string') throw new MalformedPackumentError('the packument has no "name"');
  const versions = doc.versions;
  // A fully unpublished package has `time.unpublished` and no versions; that is data, not malformation.
  if (versions !== undefined && !isObject(versions)) throw new MalformedPackumentError('"versions" is not an object');
  const time = isObject(doc.time) ? doc.time : {};
  const distTags = isObject(doc['dist-tags']) ? (doc['dist-tags'] as Record<string, string>) : {};
  const out: Record<string, VersionFacts | VersionSummary> = {};
  let hasPublisherData = false;
  const entries = Object.entries(versions ?? {});
  if (entries.length > MAX_VERSIONS) throw new PackumentTooLargeError(`the packument lists more than ${MAX_VERSIONS} versions (${entries.length})`);
  for (const [version, manifest] of entries) {
    if (!isObject(manifest)) throw new MalformedPackumentError(`version ${version} is not an object`);
    const publishedAt = publishTime(time[version]);
    out[version] = full.has(version) ? fullVersionOf(manifest, publishedAt) : summaryOf(manifest, publishedAt);
    if (isObject(manifest._npmUser)) hasPublisherData = true;
  }
  return { name, registry, fetchedAt: fetchedAt.toISOString(), distTags, versions: out, hasPublisherData };
}

function summaryOf(manifest: Json, publishedAt: string | undefined): VersionSummary {
  const v: VersionSummary = {};
  if (publishedAt !== undefined) v.publishedAt = publishedAt;
  const scripts = installScriptsOf(manifest);
  if (Object.keys(scripts).length) v.installScripts = scripts;
  addShared(v, manifest);
  return v;
}

function fullVersionOf(manifest: Json, publishedAt: string | undefined): VersionFacts {
  const dist = isObject(manifest.dist) ? manifest.dist : {};
  const facts: VersionFacts = {
    full: true,
    publishedAt,
    integrity: typeof dist.integrity === 'string' ? dist.integrity : undefined,
    shasum: typeof dist.shasum === 'string' ? dist.shasum : undefined,
    tarball: typeof dist.tarball === 'string' ? dist.tarball : undefined,
    signatures: Array.isArray(dist.signatures) ? dist.signatures.filter(isObject).map((s) => ({ keyid: String(s.keyid), sig: String(s.sig) })) : [],
    installScripts: installScriptsOf(manifest),
  };
  const repo = manifest.repository;
  if (typeof repo === 'string') facts.repository = repo;
  else if (isObject(repo) && typeof repo.url === 'string') facts.repository = repo.url;
  addShared(facts, manifest);
  return facts;
}

function installScriptsOf(manifest: Json): Record<string, string> {
  const scripts = isObject(manifest.scripts) ? manifest.scripts : {};
  const out: Record<string, string> = {};
  for (const s of INSTALL_SCRIPTS) if (typeof scripts[s] === 'string') out[s] = scripts[s] as string;
  return out;
}

/** The fields a summary and full facts share (besides time and scripts). */
function addShared(v: VersionSummary | VersionFacts, manifest: Json): void {
  const dist = isObject(manifest.dist) ? manifest.dist : {};
  if (manifest.gypfile === true) v.gypfile = true;
  const bins = binNamesOf(manifest);
  if (bins.length) v.bins = bins;
  if (isObject(dist.attestations) && typeof dist.attestations.url === 'string') {
    v.attestationsUrl = dist.attestations.url;
    const prov = dist.attestations.provenance;
    if (isObject(prov) && typeof prov.predicateType === 'string') v.provenancePredicate = prov.predicateType;
  }
  const user = manifest._npmUser;
  if (isObject(user)) {
    if (typeof user.name === 'string') v.publisher = user.name;
    if (user.trustedPublisher) v.trustedPublisher = true;
    if (user.approver) v.approved = true;
  }
  if (typeof manifest.deprecated === 'string') v.deprecated = manifest.deprecated;
}
