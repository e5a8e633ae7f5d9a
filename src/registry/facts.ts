// Packument -> slim facts: only what the checks need per version, so the cache stays small and a 10 MB
// packument is dropped as soon as it has been read.
import type { PackageFacts, VersionFacts } from '../types.js';

const INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall'] as const;

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Thrown when a packument is not shaped like one; the client turns it into a GuardError for the package. */
export class MalformedPackumentError extends Error {}

export function slimPackument(doc: unknown, registry: string, fetchedAt: Date): PackageFacts {
  if (!isObject(doc)) throw new MalformedPackumentError('the packument is not a JSON object');
  const name = doc.name;
  if (typeof name !== 'string') throw new MalformedPackumentError('the packument has no "name"');
  const versions = doc.versions;
  // A fully unpublished package has `time.unpublished` and no versions; that is data, not malformation.
  if (versions !== undefined && !isObject(versions)) throw new MalformedPackumentError('"versions" is not an object');
  const time = isObject(doc.time) ? doc.time : {};
  const distTags = isObject(doc['dist-tags']) ? (doc['dist-tags'] as Record<string, string>) : {};
  const out: Record<string, VersionFacts> = {};
  for (const [version, manifest] of Object.entries(versions ?? {})) {
    if (!isObject(manifest)) throw new MalformedPackumentError(`version ${version} is not an object`);
    out[version] = slimVersion(manifest, typeof time[version] === 'string' ? (time[version] as string) : undefined);
  }
  const hasPublisherData = Object.values(versions ?? {}).some((m) => isObject(m) && isObject(m._npmUser));
  return { name, registry, fetchedAt: fetchedAt.toISOString(), distTags, versions: out, hasPublisherData };
}

function slimVersion(manifest: Json, publishedAt: string | undefined): VersionFacts {
  const dist = isObject(manifest.dist) ? manifest.dist : {};
  const scripts = isObject(manifest.scripts) ? manifest.scripts : {};
  const installScripts: Record<string, string> = {};
  for (const s of INSTALL_SCRIPTS) if (typeof scripts[s] === 'string') installScripts[s] = scripts[s] as string;
  const facts: VersionFacts = {
    publishedAt,
    integrity: typeof dist.integrity === 'string' ? dist.integrity : undefined,
    shasum: typeof dist.shasum === 'string' ? dist.shasum : undefined,
    tarball: typeof dist.tarball === 'string' ? dist.tarball : undefined,
    signatures: Array.isArray(dist.signatures)
      ? dist.signatures.filter(isObject).map((s) => ({ keyid: String(s.keyid), sig: String(s.sig) }))
      : [],
    installScripts,
  };
  if (manifest.gypfile === true) facts.gypfile = true;
  if (isObject(dist.attestations) && typeof dist.attestations.url === 'string') {
    facts.attestationsUrl = dist.attestations.url;
    const prov = dist.attestations.provenance;
    if (isObject(prov) && typeof prov.predicateType === 'string') facts.provenancePredicate = prov.predicateType;
  }
  const repo = manifest.repository;
  if (typeof repo === 'string') facts.repository = repo;
  else if (isObject(repo) && typeof repo.url === 'string') facts.repository = repo.url;
  const user = manifest._npmUser;
  if (isObject(user)) {
    if (typeof user.name === 'string') facts.publisher = user.name;
    if (user.trustedPublisher) facts.trustedPublisher = true;
    if (user.approver) facts.approved = true;
  }
  if (typeof manifest.deprecated === 'string') facts.deprecated = manifest.deprecated;
  return facts;
}
