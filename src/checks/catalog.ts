// The one catalog of finding codes: for every code, the check that reports it, its default action, and the text
// that explains it (title, meaning, remedy). The checks take their default action from here (finding.ts), the SARIF
// rules their help text (report/sarif.ts), policies/default.json's `actions` must agree with it (a unit test holds
// them equal) and docs/reference/findings.md is generated from it (`npm run docs`). A new finding code without an
// entry here does not typecheck.
import type { Action, CheckId, FindingCode } from '../types.js';

export interface CatalogEntry {
  /** The check that reports it. */
  check: CheckId;
  /** The action when the policy says nothing (for a source code: a transitive dependency's). */
  action: Action;
  /** A stricter action the check takes by default in a named situation (strict mode, provenance required, ...). */
  stricter?: { action: Action; when: string };
  /** Source codes: the action for a direct dependency; the default policy's `sources` holds both (a test checks it). */
  direct?: Action;
  /** The run cannot complete: exit 2. */
  exit2?: true;
  /** policies/default.json's `actions` names it with `action` (a unit test holds the two equal). */
  inDefaultPolicy?: true;
  /** One line. */
  short: string;
  /** What it means. */
  meaning: string;
  /** What to do about it. */
  todo: string;
}

/** Every finding code. */
export const CATALOG: Record<FindingCode, CatalogEntry> = {
  'too-young': {
    inDefaultPolicy: true,
    check: 'release-age',
    action: 'quarantine',
    short: 'Version younger than the minimum release age',
    meaning:
      "The locked version was published less than the minimum release age ago (7 days unless the policy or npm's min-release-age says otherwise). Most malicious versions are found and unpublished within days, so a fresh version is held.",
    todo: 'Use the named fallback version (`safe-install fix` writes it), wait until the eligible date, or approve an urgent patch with a reason (`safe-install approve <name>@<version> --reason "..."`), which adds an expiring policy exception.',
  },
  'no-publish-time': {
    inDefaultPolicy: true,
    check: 'release-age',
    action: 'block',
    short: 'The registry gives no publish time',
    meaning: 'The registry gives no publish time for the locked version, or one that is not an ISO 8601 timestamp with a time zone (as registries write them), so its age is unknown.',
    todo: 'Check the registry (a mirror that drops publish times?), or add a policy exception with a reason.',
  },
  'integrity-mismatch': {
    inDefaultPolicy: true,
    check: 'integrity',
    action: 'block',
    short: 'Lockfile integrity differs from the registry',
    meaning:
      "The lockfile's integrity hash differs from the registry's, or lists a digest the registry does not publish for that version (`sha512-<registry's> sha512-<other>` is not a match): the lockfile or the registry content changed.",
    todo: 'Do not install. Find out why (the lockfile history in version control, the registry, the upstream registry). No exception waives it by default.',
  },
  'version-not-in-registry': {
    inDefaultPolicy: true,
    check: 'integrity',
    action: 'block',
    short: 'The locked version is not in the registry',
    meaning: 'The locked version is gone from the registry (often an unpublished malicious version), or the mirror lacks it.',
    todo: 'Update the dependency to a version the registry serves.',
  },
  'package-not-in-registry': {
    inDefaultPolicy: true,
    check: 'integrity',
    action: 'block',
    short: 'The package is not in the registry',
    meaning: 'The registry has no such package: unpublished, a removed typo-squat, or a private mirror lacks it.',
    todo: 'Remove or replace the dependency; check the name and the registry configuration.',
  },
  'no-lockfile-integrity': {
    inDefaultPolicy: true,
    check: 'integrity',
    action: 'warn',
    short: 'The lockfile records no integrity hash',
    meaning:
      "The lockfile records no hash and no download URL for this package (npm's `omit-lockfile-registry-resolved`, yarn berry, whose checksum hashes yarn's own archive): the package manager fetches `name@version` from the checked registry and verifies the registry's own hash, so the bytes are pinned by the registry, not by the lockfile.",
    todo: 'npm: regenerate the lockfile with a current npm; yarn berry: nothing to regenerate, keep `checksumBehavior: throw` and install with `--immutable`.',
  },
  'integrity-uncomparable': {
    inDefaultPolicy: true,
    check: 'integrity',
    action: 'block',
    short: 'Lockfile integrity cannot be compared with the registry',
    meaning:
      'The lockfile pins no bytes the registry vouches for: no integrity beside a download URL, only md5 or unreadable digests, a digest in an algorithm the registry publishes none of, or no hash from the registry.',
    todo: 'Regenerate the lockfile from package.json with a current package manager (sha512); find out why the entry lost its integrity.',
  },
  'metadata-unavailable': {
    check: 'registry',
    action: 'block',
    exit2: true,
    short: 'Package metadata could not be fetched',
    meaning: 'The metadata could not be fetched (registry error, timeout, malformed metadata): the check is incomplete and nothing is allowed.',
    todo: 'Fix what the message names (network, authentication, the mirror), then run the check again.',
  },
  'signature-missing': {
    inDefaultPolicy: true,
    check: 'signature',
    action: 'block',
    short: 'Registry signature missing',
    meaning: 'The registry signs packages but not this one: the metadata was altered on the way.',
    todo: 'Do not install; check for a proxy or mirror that rewrites metadata.',
  },
  'signature-invalid': {
    inDefaultPolicy: true,
    check: 'signature',
    action: 'block',
    short: 'Registry signature does not verify',
    meaning: 'The registry signature does not verify: the name, version or integrity was altered.',
    todo: 'Do not install; report it to the registry. No exception waives it by default.',
  },
  'signature-unknown-key': {
    inDefaultPolicy: true,
    check: 'signature',
    action: 'block',
    short: 'Signed by a key that is not among the trusted keys',
    meaning:
      'The version is signed by a key that is not among the keys trusted for its registry (served by it, pinned in the policy, or the npm keys shipped with safe-install): rotated keys, or a forged signature.',
    todo: 'If the registry rotated its keys, re-check with `--cache-ttl 0` (for the npm registry and its mirrors: `safe-install trust refresh`, or a newer safe-install); otherwise treat it as forged and do not install.',
  },
  'signature-expired-key': {
    inDefaultPolicy: true,
    check: 'signature',
    action: 'block',
    short: 'Signed by an expired key',
    meaning: 'The version is signed by a key that had expired before this version was published.',
    todo: 'Do not install; report it to the registry.',
  },
  'signature-unverifiable': {
    inDefaultPolicy: true,
    check: 'signature',
    action: 'block',
    short: 'Signed, but no trusted key to verify it',
    meaning:
      'The version carries a registry signature, but the registry serves no signing keys (404 or an empty list) and none are trusted for it: a proxy that altered the metadata would hide the keys exactly so.',
    todo: 'If the registry mirrors the public npm registry, declare it in the policy (`registryMirrorOf`) and its signatures are verified offline with the npm keys shipped with safe-install; for another registry pin its keys (`registryKeys`). Otherwise do not install.',
  },
  'registry-no-keys': {
    inDefaultPolicy: true,
    check: 'signature',
    action: 'warn',
    short: 'Unsigned versions from a registry that serves no signing keys',
    meaning:
      'The registry serves no signing keys (`/-/npm/v1/keys`; usually a mirror) and serves these versions without a registry signature, so they cannot be checked. (A version that does carry a signature there is verified with trusted keys, or blocked as `signature-unverifiable`.)',
    todo: 'Use a mirror that passes `dist.signatures` through and declare it (`registryMirrorOf`), pin the upstream keys (`registryKeys`: an unsigned version then blocks), or decide by policy (`actions["registry-no-keys"]`).',
  },
  'provenance-verified': {
    check: 'provenance',
    action: 'allow',
    short: 'Provenance verified',
    meaning: "The version's Sigstore provenance verified offline; the builder identity is in the JSON report's `data`.",
    todo: 'Nothing to do.',
  },
  'provenance-invalid': {
    inDefaultPolicy: true,
    check: 'provenance',
    action: 'block',
    short: 'Provenance attestation does not verify',
    meaning: 'The SLSA provenance attestation does not verify against the trusted root.',
    todo: 'Do not install; report it to the maintainers and the registry.',
  },
  'provenance-subject-mismatch': {
    inDefaultPolicy: true,
    check: 'provenance',
    action: 'block',
    short: 'Attestation is for other bytes or another package',
    meaning: 'The attestation is for other bytes or another package (a swapped bundle).',
    todo: 'Do not install; report it to the registry.',
  },
  'publish-attestation-invalid': {
    inDefaultPolicy: true,
    check: 'provenance',
    action: 'block',
    short: 'Publish attestation does not verify',
    meaning: "The registry's publish attestation does not verify.",
    todo: 'Do not install; report it to the registry.',
  },
  'attestations-malformed': {
    inDefaultPolicy: true,
    check: 'provenance',
    action: 'block',
    short: 'Attestations are malformed',
    meaning: 'The attestations served for this version are malformed.',
    todo: 'Do not install; report it to the registry (or the mirror).',
  },
  'attestations-unavailable': {
    check: 'provenance',
    action: 'warn',
    stricter: { action: 'block', when: 'when provenance is required' },
    short: 'Advertised attestations are not served',
    meaning: 'The version advertises attestations but the registry does not serve them.',
    todo: 'Retry; check that the registry or mirror serves `/-/npm/v1/attestations`.',
  },
  'provenance-missing': {
    check: 'provenance',
    action: 'warn',
    stricter: { action: 'block', when: 'when provenance is required' },
    short: 'Advertised provenance is absent',
    meaning: 'The version advertises provenance but no provenance attestation is present.',
    todo: 'Ask the maintainers about their publish process; with `requireProvenance` it blocks.',
  },
  'provenance-required': {
    check: 'provenance',
    action: 'block',
    short: 'Provenance required but absent',
    meaning: "The policy's `requireProvenance` matches this package and the version has no provenance.",
    todo: 'Use a version published with provenance, ask the maintainers to publish with provenance, or narrow `requireProvenance`.',
  },
  'provenance-repository-mismatch': {
    check: 'provenance',
    action: 'warn',
    stricter: { action: 'block', when: 'with expectedRepository' },
    short: 'Built from another repository than expected',
    meaning: "The provenance names another source repository than the package's `repository` field or the policy's `expectedRepository`.",
    todo: 'Check who built it; if the repository moved legitimately, update `expectedRepository`.',
  },
  'trust-downgrade': {
    inDefaultPolicy: true,
    check: 'trust-downgrade',
    action: 'quarantine',
    short: 'Weaker trust evidence than earlier versions',
    meaning:
      'The version was published with weaker trust evidence (provenance, trusted publisher, approved staged publish) than an earlier version: a possible account takeover or stolen publish token.',
    todo: 'Stay on the earlier version; ask the maintainers.',
  },
  'trust-undecidable': {
    inDefaultPolicy: true,
    check: 'trust-downgrade',
    action: 'warn',
    short: 'Trust downgrade cannot be decided',
    meaning: 'The registry serves no publisher (`_npmUser`) or attestation data, so a trust downgrade cannot be decided.',
    todo: 'Check against the upstream registry: a mirror that strips this data hides stolen-token publishes.',
  },
  'git-source': {
    check: 'source',
    action: 'block',
    direct: 'allow',
    short: 'Installed from a git repository',
    meaning: 'The package comes from a git repository: no registry age, integrity or signature applies. "Direct" means package.json itself asks for that source.',
    todo: "Prefer a registry release; allow it with the policy's `sources` if it is intended.",
  },
  'tarball-source': {
    check: 'source',
    action: 'block',
    direct: 'allow',
    short: 'Installed from a remote tarball',
    meaning: 'The package comes from a remote tarball URL: no registry age, integrity or signature applies. "Direct" means package.json itself asks for that source.',
    todo: "Prefer a registry release; allow it with the policy's `sources` if it is intended.",
  },
  'local-source': {
    check: 'source',
    action: 'block',
    direct: 'allow',
    short: 'Installed from a local path',
    meaning: 'The package comes from a local path: no registry age, integrity or signature applies. "Direct" means package.json itself asks for that source.',
    todo: "Prefer a registry release; allow it with the policy's `sources` if it is intended.",
  },
  'source-mismatch': {
    inDefaultPolicy: true,
    check: 'source',
    action: 'block',
    short: 'The lockfile swaps a registry dependency for another source',
    meaning:
      'The lockfile gives a direct dependency a source no package.json asks for (root, workspace, override or resolution; a `$name` override and a pnpm `catalog:` entry count as the spec they stand for): a range swapped to git, a remote tarball or a local path, a git dependency swapped to another repository or another commit than the one pinned, a tarball URL swapped to another URL, a `workspace:`/`link:` dependency resolved elsewhere (lockfile injection). npm refuses the URL and repository swaps itself; pnpm and yarn 1 install what the lockfile names.',
    todo: 'Restore the lockfile from version control or regenerate it from package.json, and review the diff.',
  },
  'resolved-off-registry': {
    inDefaultPolicy: true,
    check: 'source',
    action: 'block',
    short: 'The lockfile downloads a registry package from another host',
    meaning:
      "The lockfile's resolved URL (after npm's replace-registry-host and scoped registries) is not on the registry the package was checked against, so the install would fetch bytes from a host that can serve anything under that name and version.",
    todo: 'If the host is a mirror of your registry, configure the same registry for the check and the install (registry=, replace-registry-host=); otherwise restore or regenerate the lockfile.',
  },
  'workspace-link': {
    check: 'source',
    action: 'allow',
    short: 'Workspace or file: link',
    meaning: 'A workspace or `file:` link: part of this project. Reported only.',
    todo: 'Nothing to do.',
  },
  bundled: {
    check: 'source',
    action: 'allow',
    short: "Bundled inside a dependency's tarball",
    meaning: "The package is inside a dependency's tarball: checked with it, never fetched. Reported only.",
    todo: 'Nothing to do.',
  },
  'install-script-allowed': {
    check: 'scripts',
    action: 'allow',
    short: 'Install scripts allowed by the policy',
    meaning: 'The package has install scripts and the allowlist allows them (bundled packages too: they follow the allowlist). Reported only.',
    todo: 'Nothing to do.',
  },
  'install-script-denied': {
    check: 'scripts',
    action: 'allow',
    short: 'Install scripts denied by the policy',
    meaning: 'The package has install scripts and the policy denies them: it is installed without running them. Reported only.',
    todo: 'Nothing to do.',
  },
  'install-script-unlisted': {
    check: 'scripts',
    action: 'warn',
    stricter: { action: 'block', when: 'in strict mode' },
    short: 'Install scripts not in the allowlist',
    meaning:
      'The package has install scripts (preinstall, install, postinstall, or an implicit node-gyp rebuild) that are neither allowed nor denied: it is installed without running them, or refused with `scripts.unlisted: "block"`.',
    todo: 'Review the script, then `safe-install scripts allow <name>` or `safe-install scripts deny <name>`.',
  },
  'bundled-install-script': {
    check: 'scripts',
    action: 'allow',
    short: 'Bundled package with install scripts',
    meaning:
      "No longer reported: a package bundled in a dependency's tarball is reported with the install-script codes and follows the allowlist like any other package (npm runs bundled packages' scripts when it builds their parent).",
    todo: 'Nothing to do.',
  },
  'manifest-scripts-mismatch': {
    check: 'scripts',
    action: 'block',
    short: 'Tarball scripts differ from the registry manifest',
    meaning: "(install only) The tarball's scripts differ from the registry manifest: manifest confusion. Its scripts never run.",
    todo: 'Do not allow it; report it to the registry.',
  },
  'bin-shadows-command': {
    inDefaultPolicy: true,
    check: 'bins',
    action: 'block',
    short: 'A dependency bin shadows a command',
    meaning:
      "The package links a bin named like a command scripts and people rely on (node, npm, npx, pnpm, yarn, sh, bash, git, python, make, cc, env, node-gyp (only the node-gyp package may)...) or like a command on the PATH the guard ran with. node_modules/.bin comes first on every script's PATH, so it would run in place of that command, in allowed install scripts and the project's own scripts alike. Decided from the registry manifest and the lockfile before download, and from the installed package.json files and node_modules/.bin folders after extraction.",
    todo: "Do not install it. If you trust the package to replace that command (a project that depends on the npm package, say), add it to the policy's `bins.allow`.",
  },
  'bin-name-conflict': {
    inDefaultPolicy: true,
    check: 'bins',
    action: 'warn',
    short: 'Two packages link the same bin name',
    meaning: 'Two different packages link a bin of the same name into the same node_modules/.bin folder: only one of them runs when a script calls it, and the package manager picks which.',
    todo: 'Check that the one you expect is the one that runs; remove the dependency you do not need.',
  },
  'advisory-malware': {
    inDefaultPolicy: true,
    check: 'advisories',
    action: 'block',
    short: 'The locked version is named by a malware advisory',
    meaning:
      'An advisory source (the OSV API, the registry\'s bulk advisories, or an offline OSV database) names this exact version as malware: an OSV MAL- id, or a GitHub advisory with CWE-506 or a title "Malware in …". It is blocked whatever its age; exceptions for other checks do not apply.',
    todo: 'Use the version the finding names (the newest within every dependent\'s range that no advisory names). If it was ever installed, treat that machine as compromised and rotate its secrets from another machine. Only an exception naming the exact advisory id (`advisories: ["MAL-…"]`, with a reason and an expiry within `overrides.maxExpiry`) lets it through, for a false positive.',
  },
  'advisory-vulnerability': {
    inDefaultPolicy: true,
    check: 'advisories',
    action: 'warn',
    short: 'The locked version has a known vulnerability',
    meaning: "An advisory (not malware) names this version, with its severity and fixed versions. It blocks only at or above the policy's `advisories.block` severity.",
    todo: 'Update to the fixed version the finding names; or add an exception naming the advisory id with a reason and an expiry.',
  },
  'advisories-unavailable': {
    inDefaultPolicy: true,
    check: 'advisories',
    action: 'warn',
    short: 'No advisory source answered',
    meaning:
      "Neither the OSV API nor the registry's bulk advisory endpoint (nor an offline database) answered, so versions named by malware advisories cannot be recognised in this run. Said once for all packages.",
    todo: 'Check the network to the OSV API and the registry, or use an offline database (`--advisories-db`, `safe-install advisories update`); make it a block with `actions["advisories-unavailable"]: "block"`.',
  },
  'exception-applied': {
    check: 'policy',
    action: 'allow',
    short: 'A policy exception waived a finding',
    meaning: 'A policy exception (or an approval) waived a finding for this package until it expires.',
    todo: 'Nothing to do; remove the exception once it is no longer needed.',
  },
  'exception-expired': {
    check: 'policy',
    action: 'warn',
    short: 'A policy exception has expired',
    meaning: 'A policy exception for this package has expired and no longer applies.',
    todo: 'Renew it with a new expiry and reason if it is still needed, or remove it.',
  },
};

/** The finding codes, in the catalog's order (grouped by check). */
export const FINDING_CODES = Object.keys(CATALOG) as FindingCode[];

/** The default action as the docs and the SARIF rules state it: `warn (block in strict mode)`. */
export function statedDefault(code: FindingCode): string {
  const e = CATALOG[code];
  if (e.direct) return `direct: ${e.direct}, transitive: ${e.action}`;
  if (e.exit2) return `${e.action}, exit 2`;
  if (e.stricter) return `${e.action} (${e.stricter.action} ${e.stricter.when})`;
  return e.action;
}

/** The default action of a code: the stricter one when the check says its situation holds. */
export function defaultActionOf(code: FindingCode, stricter = false): Action {
  const e = CATALOG[code];
  return stricter && e.stricter ? e.stricter.action : e.action;
}
