// The registry facts' model: what the registry stage (registry/facts.ts) makes of a packument and every later stage
// reads (trust evidence, checks, reports), with the accessors that read it. Neutral: it imports no stage, so a
// check can read facts without depending on the registry client or the packument parser.
import { GuardError } from './errors.js';

/**
 * What the checks read of every published version of a package: release age and its fallback (publish time,
 * deprecation), trust downgrade (time and trust evidence of every earlier version), change summaries
 * (publisher, install scripts, attestations of a replaced version). Kept for all versions, so it stays small.
 */
export interface VersionSummary {
  full?: false;
  /** ISO time from the packument's `time[version]`. */
  publishedAt?: string;
  attestationsUrl?: string;
  provenancePredicate?: string;
  /** preinstall/install/postinstall from the registry manifest (what the registry claims); absent when none. */
  installScripts?: Record<string, string>;
  /** The manifest says `gypfile: true` (an implicit `node-gyp rebuild`). */
  gypfile?: boolean;
  /** Bin names the registry manifest declares (normalized as npm links them); absent when none. */
  bins?: string[];
  publisher?: string;
  trustedPublisher?: boolean;
  /** `_npmUser.approver`: a staged publish approved by a maintainer (npm's `npm stage` flow). */
  approved?: boolean;
  deprecated?: string;
}

/**
 * Everything the checks need about a locked version: the summary plus hashes, tarball, signatures and
 * repository. Only versions the registry client was asked for carry it (`full: true`); read it through
 * `fullVersion()`, which fails closed on a summary.
 */
export interface VersionFacts extends Omit<VersionSummary, 'full' | 'installScripts'> {
  full: true;
  integrity?: string;
  shasum?: string;
  tarball?: string;
  signatures: { keyid: string; sig: string }[];
  installScripts: Record<string, string>;
  repository?: string;
}

/** Slim metadata of one package name on one registry. */
export interface PackageFacts {
  name: string;
  registry: string;
  /** When this was fetched from the registry (ISO). */
  fetchedAt: string;
  distTags: Record<string, string>;
  /** Every version: full facts for the versions asked for (the locked ones), a summary for the rest. */
  versions: Record<string, VersionFacts | VersionSummary>;
  /** Some version carries `_npmUser`: false means the registry strips it (a mirror), so publisher-based trust is undecidable. */
  hasPublisherData?: boolean;
}

/** The versions that carry full facts. */
export function fullVersions(facts: PackageFacts): string[] {
  return Object.entries(facts.versions)
    .filter(([, v]) => v.full)
    .map(([version]) => version);
}

/**
 * The full facts of a locked version; undefined when the registry has no such version. The client loads full
 * facts for every version it is asked for, so a summary here is a bug: it stops the package (fails closed)
 * rather than read as "no integrity" or "no signature".
 */
export function fullVersion(facts: PackageFacts, version: string): VersionFacts | undefined {
  const v = facts.versions[version];
  if (!v) return undefined;
  if (!v.full) {
    throw new GuardError('cache-miss', `only summary metadata was loaded for ${facts.name}@${version}, not its full facts`, {
      pkg: facts.name,
      remedy: 'retry; if it persists, remove the safe-install cache folder and report a bug',
    });
  }
  return v;
}
