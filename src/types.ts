// The shared vocabulary: the names every stage uses (package managers, lockfile formats, checks, finding codes,
// actions) and the types more than one stage makes (a finding, a registry key). A type one stage makes lives in that
// stage (lockfile/types.ts, facts.ts, verify/types.ts, checks/types.ts...); see docs/architecture.md.

/** The package managers whose lockfiles are read and which install them. */
export type PackageManager = 'npm' | 'pnpm' | 'yarn';

export type LockfileFormat = 'npm-v1' | 'npm-v2' | 'npm-v3' | 'pnpm-v5' | 'pnpm-v6' | 'pnpm-v9' | 'yarn-v1' | 'yarn-berry';

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

/** A registry's signing key, as the registry serves it (`/-/npm/v1/keys`), npm ships it, or a policy pins it. */
export interface RegistryKey {
  keyid: string;
  /** base64 SPKI DER */
  key: string;
  expires: string | null;
}
