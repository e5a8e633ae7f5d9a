// The few types every stage shares. Data flows one way:
// lockfile -> registry facts -> checks -> verdicts -> install/report.

/** Where a locked package comes from. */
export type SourceKind = 'registry' | 'git' | 'tarball' | 'file' | 'link' | 'bundled';

/** One locked package (one name@version from one source), with every place it is installed. */
export interface LockedPackage {
  /** Stable id inside the tree: `name@version` for registry packages, else `name@<source spec>`. */
  id: string;
  /** The registry name (for an alias `"node_modules/foo": {"name": "bar"}` this is `bar`). */
  name: string;
  /** Names it is installed under when that differs from `name` (npm aliases). */
  aliases: string[];
  version: string;
  /** SRI string as recorded in the lockfile, if any. */
  integrity?: string;
  /** `resolved` as recorded in the lockfile, if any. */
  resolved?: string;
  source: SourceKind;
  /** A dependency of the root project (or of a workspace) rather than of another package. */
  direct: boolean;
  dev: boolean;
  optional: boolean;
  /** The lockfile says the package has preinstall/install/postinstall (or binding.gyp). */
  hasInstallScript: boolean;
  /** Install locations, e.g. `node_modules/a/node_modules/b`. */
  paths: string[];
  /** Who depends on this copy, with the range they asked for. `name` is the dependent's name or `(root)`. */
  dependents: { name: string; range: string }[];
  /**
   * For a direct dependency from git, a remote tarball or a local path: the specs the project's own package.json
   * files (root and workspaces, overrides included) ask for under its names, as written. Set by `readLockfile`; a
   * direct exotic package is only what the project chose when one of them asks for that kind of source.
   */
  requested?: string[];
  /** For `source: 'bundled'`: the id of the package whose tarball carries it. */
  bundledIn?: string;
  /** Bin names the lockfile records for it (npm v2/v3 `bin`): what npm links into node_modules/.bin on `npm ci`. */
  bins?: string[];
  /** 1-based line of the package's first entry in the lockfile, for SARIF/annotations. */
  lockfileLine?: number;
}

/** The package managers whose lockfiles are read and which install them. */
export type PackageManager = 'npm' | 'pnpm' | 'yarn';

export type LockfileFormat = 'npm-v1' | 'npm-v2' | 'npm-v3' | 'pnpm-v5' | 'pnpm-v6' | 'pnpm-v9' | 'yarn-v1' | 'yarn-berry';

export interface LockedTree {
  lockfilePath: string;
  format: LockfileFormat;
  root: { name?: string; version?: string; dir: string };
  /** The project's workspace folders (relative to `root.dir`, `/`-separated), as the lockfile records them. */
  workspaces: string[];
  packages: LockedPackage[];
}

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

export type CheckId = 'release-age' | 'integrity' | 'signature' | 'provenance' | 'trust-downgrade' | 'source' | 'scripts' | 'bins' | 'advisories' | 'registry' | 'policy';

export type FindingCode =
  // release-age
  | 'too-young'
  | 'no-publish-time'
  // integrity
  | 'integrity-mismatch'
  | 'version-not-in-registry'
  | 'package-not-in-registry'
  | 'no-lockfile-integrity'
  | 'integrity-uncomparable'
  // registry: the metadata could not be had (the run exits 2)
  | 'metadata-unavailable'
  // signature
  | 'signature-missing'
  | 'signature-invalid'
  | 'signature-unknown-key'
  | 'signature-expired-key'
  | 'signature-unverifiable'
  | 'registry-no-keys'
  // provenance
  | 'provenance-verified'
  | 'provenance-invalid'
  | 'provenance-subject-mismatch'
  | 'publish-attestation-invalid'
  | 'attestations-malformed'
  | 'attestations-unavailable'
  | 'provenance-missing'
  | 'provenance-required'
  | 'provenance-repository-mismatch'
  // trust-downgrade
  | 'trust-downgrade'
  | 'trust-undecidable'
  // source
  | 'git-source'
  | 'tarball-source'
  | 'local-source'
  | 'workspace-link'
  | 'bundled'
  | 'source-mismatch'
  | 'resolved-off-registry'
  // scripts
  | 'install-script-allowed'
  | 'install-script-denied'
  | 'install-script-unlisted'
  /** No longer emitted (a bundled package's scripts follow the allowlist like any other's); kept so policies naming it stay valid. */
  | 'bundled-install-script'
  | 'manifest-scripts-mismatch'
  // bins
  | 'bin-shadows-command'
  | 'bin-name-conflict'
  // advisories
  | 'advisory-malware'
  | 'advisory-vulnerability'
  | 'advisories-unavailable'
  // policy
  | 'exception-applied'
  | 'exception-expired';

/** An advisory's severity (GitHub's and npm's scale), lowest to highest; the policy's advisories.block names one. */
export type Severity = 'low' | 'moderate' | 'high' | 'critical';

/** What the policy does with a finding, weakest to strongest. */
export type Action = 'allow' | 'warn' | 'quarantine' | 'block';
export const ACTION_RANK: Record<Action, number> = { allow: 0, warn: 1, quarantine: 2, block: 3 };

export interface Finding {
  check: CheckId;
  code: FindingCode;
  severity: 'info' | 'warn' | 'error';
  /** What the policy says to do about it (before exceptions). */
  action: Action;
  message: string;
  /** The next step for the user. */
  remedy?: string;
  /** Machine-readable details (ages, dates, the fallback version...). */
  data?: Record<string, unknown>;
}
