// SARIF 2.1.0 for code scanning: one rule per finding code (with what it means and what to do), one result per
// finding the policy acts on (warn, quarantine, block), located at the package's line in the lockfile. Run-level
// errors (the check could not complete) are tool execution notifications with executionSuccessful: false.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, parse, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Log, Notification, ReportingConfiguration, ReportingDescriptor, Result, Run } from 'sarif';
import type { CheckResult } from '../pipeline.js';
import type { GuardErrorCode } from '../errors.js';
import type { Action, CheckId, Finding, FindingCode, LockedPackage } from '../types.js';
import { SAID_ONCE, sharedFindings, summarize } from './summary.js';
import { shown } from './shown.js';

export const SARIF_SCHEMA = 'https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json';
/** The key of our own entry in `partialFingerprints`. */
export const FINGERPRINT_KEY = 'safeInstallPackageFinding/v1';

export interface RuleText {
  check: CheckId;
  /** The default action as the README's findings table states it. */
  defaultAction: string;
  /** One line. */
  short: string;
  /** What it means. */
  meaning: string;
  /** What to do about it. */
  todo: string;
}

/** Every finding code with its help text: a new code without help text does not typecheck. */
export const RULES: Record<FindingCode, RuleText> = {
  'too-young': {
    check: 'release-age',
    defaultAction: 'quarantine',
    short: 'Version younger than the minimum release age',
    meaning:
      'The locked version was published less than the minimum release age ago (7 days unless the policy or npm\'s min-release-age says otherwise). Most malicious versions are found and unpublished within days, so a fresh version is held.',
    todo: 'Use the named fallback version (`safe-install fix` writes it), wait until the eligible date, or approve an urgent patch with a reason (`safe-install approve <name>@<version> --reason "..."`), which adds an expiring policy exception.',
  },
  'no-publish-time': {
    check: 'release-age',
    defaultAction: 'block',
    short: 'The registry gives no publish time',
    meaning: 'The registry gives no publish time for the locked version, so its age is unknown.',
    todo: 'Check the registry (a mirror that drops publish times?), or add a policy exception with a reason.',
  },
  'integrity-mismatch': {
    check: 'integrity',
    defaultAction: 'block',
    short: 'Lockfile integrity differs from the registry',
    meaning: "The lockfile's integrity hash differs from the registry's: the lockfile or the registry content changed.",
    todo: 'Do not install. Find out why (the lockfile history in version control, the registry, the upstream registry). No exception waives it by default.',
  },
  'version-not-in-registry': {
    check: 'integrity',
    defaultAction: 'block',
    short: 'The locked version is not in the registry',
    meaning: 'The locked version is gone from the registry (often an unpublished malicious version), or the mirror lacks it.',
    todo: 'Update the dependency to a version the registry serves.',
  },
  'package-not-in-registry': {
    check: 'integrity',
    defaultAction: 'block',
    short: 'The package is not in the registry',
    meaning: 'The registry has no such package: unpublished, a removed typo-squat, or a private mirror lacks it.',
    todo: 'Remove or replace the dependency; check the name and the registry configuration.',
  },
  'no-lockfile-integrity': {
    check: 'integrity',
    defaultAction: 'warn',
    short: 'The lockfile records no integrity hash',
    meaning: 'The lockfile records no integrity hash for this package, so the downloaded bytes are not pinned.',
    todo: 'Regenerate the lockfile with a current npm.',
  },
  'integrity-uncomparable': {
    check: 'integrity',
    defaultAction: 'block',
    short: 'Lockfile integrity cannot be compared with the registry',
    meaning:
      "The lockfile pins no bytes the registry vouches for: no integrity beside a download URL, only md5 or unreadable digests, a digest in an algorithm the registry publishes none of, or no hash from the registry.",
    todo: 'Regenerate the lockfile from package.json with a current package manager (sha512); find out why the entry lost its integrity.',
  },
  'metadata-unavailable': {
    check: 'registry',
    defaultAction: 'block, exit 2',
    short: 'Package metadata could not be fetched',
    meaning:
      'The metadata could not be fetched (registry error, timeout, malformed metadata): the check is incomplete and nothing is allowed.',
    todo: 'Fix what the message names (network, authentication, the mirror), then run the check again.',
  },
  'signature-missing': {
    check: 'signature',
    defaultAction: 'block',
    short: 'Registry signature missing',
    meaning: 'The registry signs packages but not this one: the metadata was altered on the way.',
    todo: 'Do not install; check for a proxy or mirror that rewrites metadata.',
  },
  'signature-invalid': {
    check: 'signature',
    defaultAction: 'block',
    short: 'Registry signature does not verify',
    meaning: 'The registry signature does not verify: the name, version or integrity was altered.',
    todo: 'Do not install; report it to the registry. No exception waives it by default.',
  },
  'signature-unknown-key': {
    check: 'signature',
    defaultAction: 'block',
    short: 'Signed by a key that is not among the trusted keys',
    meaning: 'The version is signed by a key that is not among the keys trusted for its registry (served by it, pinned in the policy, or the npm keys shipped with safe-install): rotated keys, or a forged signature.',
    todo: 'If the registry rotated its keys, re-check with `--cache-ttl 0` (for the npm registry and its mirrors: `safe-install trust refresh`, or a newer safe-install); otherwise treat it as forged and do not install.',
  },
  'signature-expired-key': {
    check: 'signature',
    defaultAction: 'block',
    short: 'Signed by an expired key',
    meaning: 'The version is signed by a key that had expired before this version was published.',
    todo: 'Do not install; report it to the registry.',
  },
  'signature-unverifiable': {
    check: 'signature',
    defaultAction: 'block',
    short: 'Signed, but no trusted key to verify it',
    meaning:
      'The version carries a registry signature, but the registry serves no signing keys (404 or an empty list) and none are trusted for it: a proxy that altered the metadata would hide the keys exactly so.',
    todo: 'If the registry mirrors the public npm registry, declare it in the policy (`registryMirrorOf`) and its signatures are verified offline with the npm keys shipped with safe-install; for another registry pin its keys (`registryKeys`). Otherwise do not install.',
  },
  'registry-no-keys': {
    check: 'signature',
    defaultAction: 'warn',
    short: 'Unsigned versions from a registry that serves no signing keys',
    meaning: 'The registry serves no signing keys (`/-/npm/v1/keys`; usually a mirror) and serves these versions without a registry signature, so they cannot be checked. (A version that does carry a signature there is verified with trusted keys, or blocked as `signature-unverifiable`.)',
    todo: 'Use a mirror that passes `dist.signatures` through and declare it (`registryMirrorOf`), pin the upstream keys (`registryKeys`: an unsigned version then blocks), or decide by policy (`actions["registry-no-keys"]`).',
  },
  'provenance-verified': {
    check: 'provenance',
    defaultAction: 'allow',
    short: 'Provenance verified',
    meaning: "The version's Sigstore provenance verified offline; the builder identity is in the JSON report's `data`.",
    todo: 'Nothing to do.',
  },
  'provenance-invalid': {
    check: 'provenance',
    defaultAction: 'block',
    short: 'Provenance attestation does not verify',
    meaning: 'The SLSA provenance attestation does not verify against the trusted root.',
    todo: 'Do not install; report it to the maintainers and the registry.',
  },
  'provenance-subject-mismatch': {
    check: 'provenance',
    defaultAction: 'block',
    short: 'Attestation is for other bytes or another package',
    meaning: 'The attestation is for other bytes or another package (a swapped bundle).',
    todo: 'Do not install; report it to the registry.',
  },
  'publish-attestation-invalid': {
    check: 'provenance',
    defaultAction: 'block',
    short: 'Publish attestation does not verify',
    meaning: "The registry's publish attestation does not verify.",
    todo: 'Do not install; report it to the registry.',
  },
  'attestations-malformed': {
    check: 'provenance',
    defaultAction: 'block',
    short: 'Attestations are malformed',
    meaning: 'The attestations served for this version are malformed.',
    todo: 'Do not install; report it to the registry (or the mirror).',
  },
  'attestations-unavailable': {
    check: 'provenance',
    defaultAction: 'warn (block when provenance is required)',
    short: 'Advertised attestations are not served',
    meaning: 'The version advertises attestations but the registry does not serve them.',
    todo: 'Retry; check that the registry or mirror serves `/-/npm/v1/attestations`.',
  },
  'provenance-missing': {
    check: 'provenance',
    defaultAction: 'warn (block when provenance is required)',
    short: 'Advertised provenance is absent',
    meaning: 'The version advertises provenance but no provenance attestation is present.',
    todo: "Ask the maintainers about their publish process; with `requireProvenance` it blocks.",
  },
  'provenance-required': {
    check: 'provenance',
    defaultAction: 'block',
    short: 'Provenance required but absent',
    meaning: 'The policy\'s `requireProvenance` matches this package and the version has no provenance.',
    todo: 'Use a version published with provenance, ask the maintainers to publish with provenance, or narrow `requireProvenance`.',
  },
  'provenance-repository-mismatch': {
    check: 'provenance',
    defaultAction: 'warn (block with expectedRepository)',
    short: 'Built from another repository than expected',
    meaning: "The provenance names another source repository than the package's `repository` field or the policy's `expectedRepository`.",
    todo: 'Check who built it; if the repository moved legitimately, update `expectedRepository`.',
  },
  'trust-downgrade': {
    check: 'trust-downgrade',
    defaultAction: 'quarantine',
    short: 'Weaker trust evidence than earlier versions',
    meaning:
      'The version was published with weaker trust evidence (provenance, trusted publisher, approved staged publish) than an earlier version: a possible account takeover or stolen publish token.',
    todo: 'Stay on the earlier version; ask the maintainers.',
  },
  'trust-undecidable': {
    check: 'trust-downgrade',
    defaultAction: 'warn',
    short: 'Trust downgrade cannot be decided',
    meaning: 'The registry serves no publisher (`_npmUser`) or attestation data, so a trust downgrade cannot be decided.',
    todo: 'Check against the upstream registry: a mirror that strips this data hides stolen-token publishes.',
  },
  'git-source': {
    check: 'source',
    defaultAction: 'direct: allow, transitive: block',
    short: 'Installed from a git repository',
    meaning: 'The package comes from a git repository: no registry age, integrity or signature applies.',
    todo: 'Prefer a registry release; allow it with the policy\'s `sources` if it is intended.',
  },
  'tarball-source': {
    check: 'source',
    defaultAction: 'direct: allow, transitive: block',
    short: 'Installed from a remote tarball',
    meaning: 'The package comes from a remote tarball URL: no registry age, integrity or signature applies.',
    todo: 'Prefer a registry release; allow it with the policy\'s `sources` if it is intended.',
  },
  'local-source': {
    check: 'source',
    defaultAction: 'direct: allow, transitive: block',
    short: 'Installed from a local path',
    meaning: 'The package comes from a local path: no registry age, integrity or signature applies.',
    todo: 'Prefer a registry release; allow it with the policy\'s `sources` if it is intended.',
  },
  'source-mismatch': {
    check: 'source',
    defaultAction: 'block',
    short: 'The lockfile swaps a registry dependency for another source',
    meaning:
      "A direct dependency resolves to git, a remote tarball or a local path in the lockfile, but the project's package.json asks for a registry version (lockfile injection).",
    todo: 'Restore the lockfile from version control or regenerate it from package.json, and review the diff.',
  },
  'resolved-off-registry': {
    check: 'source',
    defaultAction: 'block',
    short: "The lockfile downloads a registry package from another host",
    meaning:
      "The lockfile's resolved URL (after npm's replace-registry-host) is not on the registry the package was checked against, so the install would fetch bytes from a host that can serve anything under that name and version.",
    todo: 'If the host is a mirror of your registry, configure the same registry for the check and the install (registry=, replace-registry-host=); otherwise restore or regenerate the lockfile.',
  },
  'workspace-link': {
    check: 'source',
    defaultAction: 'allow',
    short: 'Workspace or file: link',
    meaning: 'A workspace or `file:` link: part of this project. Reported only.',
    todo: 'Nothing to do.',
  },
  bundled: {
    check: 'source',
    defaultAction: 'allow',
    short: "Bundled inside a dependency's tarball",
    meaning: "The package is inside a dependency's tarball: checked with it, never fetched. Reported only.",
    todo: 'Nothing to do.',
  },
  'install-script-allowed': {
    check: 'scripts',
    defaultAction: 'allow',
    short: 'Install scripts allowed by the policy',
    meaning: 'The package has install scripts and the allowlist allows them. Reported only.',
    todo: 'Nothing to do.',
  },
  'install-script-denied': {
    check: 'scripts',
    defaultAction: 'allow',
    short: 'Install scripts denied by the policy',
    meaning: 'The package has install scripts and the policy denies them: it is installed without running them. Reported only.',
    todo: 'Nothing to do.',
  },
  'install-script-unlisted': {
    check: 'scripts',
    defaultAction: 'warn (block in strict mode)',
    short: 'Install scripts not in the allowlist',
    meaning:
      'The package has install scripts (preinstall, install, postinstall, or an implicit node-gyp rebuild) that are neither allowed nor denied: it is installed without running them, or refused with `scripts.unlisted: "block"`.',
    todo: 'Review the script, then `safe-install scripts allow <name>` or `safe-install scripts deny <name>`.',
  },
  'bundled-install-script': {
    check: 'scripts',
    defaultAction: 'allow',
    short: 'Bundled package with install scripts',
    meaning: "No longer reported: a package bundled in a dependency's tarball is reported with the install-script codes and follows the allowlist like any other package (npm runs bundled packages' scripts when it builds their parent).",
    todo: 'Nothing to do.',
  },
  'manifest-scripts-mismatch': {
    check: 'scripts',
    defaultAction: 'block',
    short: 'Tarball scripts differ from the registry manifest',
    meaning: "(install only) The tarball's scripts differ from the registry manifest: manifest confusion. Its scripts never run.",
    todo: 'Do not allow it; report it to the registry.',
  },
  'bin-shadows-command': {
    check: 'bins',
    defaultAction: 'block',
    short: 'A dependency bin shadows a command',
    meaning:
      "The package links a bin named like a command scripts and people rely on (node, npm, npx, pnpm, yarn, sh, bash, git, python, make, cc, env...) or like a command on the PATH the guard ran with. node_modules/.bin comes first on every script's PATH, so it would run in place of that command, in allowed install scripts and the project's own scripts alike. Decided from the registry manifest and the lockfile before download, and from the installed package.json files and node_modules/.bin folders after extraction.",
    todo: 'Do not install it. If you trust the package to replace that command (a project that depends on the npm package, say), add it to the policy\'s `bins.allow`.',
  },
  'bin-name-conflict': {
    check: 'bins',
    defaultAction: 'warn',
    short: 'Two packages link the same bin name',
    meaning: 'Two different packages link a bin of the same name into the same node_modules/.bin folder: only one of them runs when a script calls it, and the package manager picks which.',
    todo: 'Check that the one you expect is the one that runs; remove the dependency you do not need.',
  },
  'advisory-malware': {
    check: 'advisories',
    defaultAction: 'block',
    short: 'The locked version is named by a malware advisory',
    meaning:
      'An advisory source (the OSV API, the registry\'s bulk advisories, or an offline OSV database) names this exact version as malware: an OSV MAL- id, or a GitHub advisory with CWE-506 or a title "Malware in …". It is blocked whatever its age; exceptions for other checks do not apply.',
    todo: 'Use the version the finding names (the newest within every dependent\'s range that no advisory names). If it was ever installed, treat that machine as compromised and rotate its secrets from another machine. Only an exception naming the exact advisory id (`advisories: ["MAL-…"]`, with a reason and an expiry within `overrides.maxExpiry`) lets it through, for a false positive.',
  },
  'advisory-vulnerability': {
    check: 'advisories',
    defaultAction: 'warn',
    short: 'The locked version has a known vulnerability',
    meaning: 'An advisory (not malware) names this version, with its severity and fixed versions. It blocks only at or above the policy\'s `advisories.block` severity.',
    todo: 'Update to the fixed version the finding names; or add an exception naming the advisory id with a reason and an expiry.',
  },
  'advisories-unavailable': {
    check: 'advisories',
    defaultAction: 'warn',
    short: 'No advisory source answered',
    meaning: 'Neither the OSV API nor the registry\'s bulk advisory endpoint (nor an offline database) answered, so versions named by malware advisories cannot be recognised in this run. Said once for all packages.',
    todo: 'Check the network to the OSV API and the registry, or use an offline database (`--advisories-db`, `safe-install advisories update`); make it a block with `actions["advisories-unavailable"]: "block"`.',
  },
  'exception-applied': {
    check: 'policy',
    defaultAction: 'allow',
    short: 'A policy exception waived a finding',
    meaning: 'A policy exception (or an approval) waived a finding for this package until it expires.',
    todo: 'Nothing to do; remove the exception once it is no longer needed.',
  },
  'exception-expired': {
    check: 'policy',
    defaultAction: 'warn',
    short: 'A policy exception has expired',
    meaning: 'A policy exception for this package has expired and no longer applies.',
    todo: 'Renew it with a new expiry and reason if it is still needed, or remove it.',
  },
};

/** Run-level errors (the check could not complete), as SARIF notification descriptors. */
const NOTIFICATIONS: Record<GuardErrorCode, string> = {
  'no-lockfile': 'No lockfile was found.',
  'bad-lockfile': 'The lockfile could not be read.',
  'bad-policy': 'The policy is malformed.',
  'bad-config': 'The configuration is malformed.',
  'bad-usage': 'Bad flags or arguments.',
  'registry-unreachable': 'The registry could not be reached.',
  'registry-error': 'The registry answered with an error.',
  'registry-timeout': 'A registry request timed out.',
  'registry-malformed': 'The registry sent malformed data.',
  'registry-too-large': 'A registry answer was larger than the size limit (--max-body-size), or held more than the guard reads (over 30,000 versions, a field it reads over 1 MiB).',
  'registry-down': 'A registry host did not answer several requests in a row (timeouts or refused connections); the check stopped.',
  'deadline': 'The check did not finish within its deadline (--deadline); it stopped.',
  'cache-miss': 'Offline, and the metadata cache has no entry.',
  'install-failed': 'The package manager failed.',
  'wrong-package-manager': 'The package manager that would run cannot install this lockfile, or is not the version package.json declares.',
  'bad-ledger': 'The quarantine ledger is malformed.',
  'too-large': 'A package or file is larger than the limit.',
  'file-system': 'A file or folder could not be read or written.',
};

const LEVEL: Record<Exclude<Action, 'allow'>, Result.level> = { block: 'error', quarantine: 'error', warn: 'warning' };

/** The actions a report shows: allowed findings are omitted. */
export function reported(f: Finding): f is Finding & { action: Exclude<Action, 'allow'> } {
  return f.action !== 'allow';
}

/** `too-young` -> `TooYoung`. */
export function ruleName(code: string): string {
  return code
    .split('-')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');
}

/** `name@version`, with the install names of an alias. */
export function packageLabel(pkg: LockedPackage): string {
  const base = pkg.source === 'registry' || pkg.source === 'bundled' ? `${pkg.name}@${pkg.version}` : pkg.id;
  return pkg.aliases.length ? `${base} (as ${pkg.aliases.join(', ')})` : base;
}

let toolInfo: { name: string; version: string; informationUri: string } | undefined;
/** This tool's name, version and home, from its own package.json. */
export function toolMetadata(): { name: string; version: string; informationUri: string } {
  if (toolInfo) return toolInfo;
  // src/report/sarif.ts and dist/report/sarif.js are both two folders below the package root.
  const manifest = JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'package.json'), 'utf8')) as {
    name?: string;
    version?: string;
    homepage?: string;
    repository?: string | { url?: string };
  };
  const name = manifest.name ?? 'safe-install';
  const repo = typeof manifest.repository === 'string' ? manifest.repository : manifest.repository?.url;
  const repoUrl = repo?.replace(/^git\+/, '').replace(/\.git$/, '');
  const informationUri = [manifest.homepage, repoUrl].find((u) => u && /^https?:\/\//.test(u)) ?? `https://www.npmjs.com/package/${name}`;
  toolInfo = { name: 'safe-install', version: manifest.version ?? '0.0.0', informationUri };
  return toolInfo;
}

/**
 * The repository root paths are reported against: the nearest folder at or above the lockfile's folder that holds
 * `.git` (the git top level), else the current folder.
 */
export function repositoryRoot(lockfilePath: string): string {
  let dir = dirname(resolve(lockfilePath));
  const top = parse(dir).root;
  for (;;) {
    if (existsSync(join(dir, '.git'))) return dir;
    if (dir === top) return process.cwd();
    dir = dirname(dir);
  }
}

/** The lockfile's path relative to `root` with `/` separators, or undefined when it lies outside `root`. */
export function relativeToRoot(lockfilePath: string, root: string): string | undefined {
  const rel = relative(root, resolve(lockfilePath));
  if (rel === '' || rel === '..' || rel.startsWith('..' + sep) || isAbsolute(rel)) return undefined;
  return rel.split(sep).join('/');
}

export interface SarifOptions {
  /** The repository root locations are relative to (default: `repositoryRoot(lockfile)`). */
  root?: string;
}

export function toSarif(raw: CheckResult, opts: SarifOptions = {}): Log {
  const result = shown(raw);
  const tool = toolMetadata();
  const root = opts.root ?? repositoryRoot(result.tree.lockfilePath);
  const rel = relativeToRoot(result.tree.lockfilePath, root);
  // Inside the repository: relative to %SRCROOT%, as code scanning wants; outside it: an absolute file URI.
  const artifactLocation = rel
    ? { uri: rel.split('/').map(encodeURIComponent).join('/'), uriBaseId: '%SRCROOT%' }
    : { uri: pathToFileURL(resolve(result.tree.lockfilePath)).href };

  const codes = Object.keys(RULES) as FindingCode[];
  const ruleIndex = new Map(codes.map((c, i) => [c, i]));
  const rules: ReportingDescriptor[] = codes.map((code) => ruleOf(code, tool.informationUri));

  const results: Result[] = [];
  for (const { pkg, verdict, findings } of result.verdicts) {
    const seen = new Map<string, number>();
    for (const f of findings) {
      if (!reported(f) || SAID_ONCE.has(f.code)) continue;
      const n = (seen.get(f.code) ?? 0) + 1;
      seen.set(f.code, n);
      const label = packageLabel(pkg);
      results.push({
        ruleId: f.code,
        ruleIndex: ruleIndex.get(f.code),
        level: LEVEL[f.action],
        kind: 'fail',
        message: { text: `${label}: ${f.message}${f.remedy ? `. What to do: ${f.remedy}` : ''}` },
        locations: [
          {
            physicalLocation: {
              artifactLocation,
              ...(pkg.lockfileLine ? { region: { startLine: pkg.lockfileLine } } : {}),
            },
            logicalLocations: [{ name: pkg.name, fullyQualifiedName: pkg.id }],
          },
        ],
        partialFingerprints: { [FINGERPRINT_KEY]: fingerprint(pkg, f.code, n) },
        properties: {
          package: pkg.name,
          version: pkg.version,
          source: pkg.source,
          verdict,
          action: f.action,
          check: f.check,
          direct: pkg.direct,
          ...(f.remedy ? { remedy: f.remedy } : {}),
          ...(f.data ? { data: f.data } : {}),
        },
      });
    }
  }

  // A property of the registry or the lockfile is one result about it, not one per package: located at the
  // lockfile, with how many packages it concerns (and which) in its properties.
  for (const sf of sharedFindings(result)) {
    const n = sf.packages.length;
    results.push({
      ruleId: sf.code,
      ruleIndex: ruleIndex.get(sf.code as FindingCode),
      level: LEVEL[sf.action],
      kind: 'fail',
      message: { text: `${sf.message} (${n} package${n === 1 ? '' : 's'})${sf.remedy ? `. What to do: ${sf.remedy}` : ''}` },
      locations: [{ physicalLocation: { artifactLocation } }],
      partialFingerprints: { [FINGERPRINT_KEY]: createHash('sha256').update(`shared\0${sf.code}\0${sf.message}`).digest('hex') },
      properties: {
        scope: sf.code === 'no-lockfile-integrity' ? 'lockfile' : 'registry',
        packageCount: n,
        packages: sf.packages.map((v) => packageLabel(v.pkg)),
        action: sf.action,
        check: sf.check,
        ...(sf.remedy ? { remedy: sf.remedy } : {}),
      },
    });
  }

  const notifications: Notification[] = [
    ...result.errors.map((e): Notification => {
      const pkg = e.pkg === undefined ? undefined : result.tree.packages.find((p) => p.name === e.pkg || p.id === e.pkg);
      return {
        level: 'error',
        message: { text: `${e.message}${e.remedy ? `. What to do: ${e.remedy}` : ''}` },
        descriptor: { id: e.code },
        ...(pkg ? { locations: [{ physicalLocation: { artifactLocation, ...(pkg.lockfileLine ? { region: { startLine: pkg.lockfileLine } } : {}) } }] } : {}),
        properties: { code: e.code, ...(e.pkg ? { package: e.pkg } : {}), ...(e.remedy ? { remedy: e.remedy } : {}) },
      };
    }),
    ...result.notices.map((text): Notification => ({ level: 'note', message: { text } })),
  ];

  const summary = summarize(result);
  const run: Run = {
    tool: {
      driver: {
        name: tool.name,
        version: tool.version,
        semanticVersion: tool.version,
        informationUri: tool.informationUri,
        rules,
        notifications: (Object.keys(NOTIFICATIONS) as GuardErrorCode[]).map((id) => ({ id, shortDescription: { text: NOTIFICATIONS[id] } })),
      },
    },
    invocations: [
      {
        executionSuccessful: result.errors.length === 0,
        exitCode: summary.exitCode,
        ...(notifications.length ? { toolExecutionNotifications: notifications } : {}),
      },
    ],
    ...(rel ? { originalUriBaseIds: { '%SRCROOT%': { uri: pathToFileURL(root.endsWith(sep) ? root : root + sep).href } } } : {}),
    artifacts: [{ location: artifactLocation, roles: ['analysisTarget'], mimeType: 'application/json' }],
    columnKind: 'utf16CodeUnits',
    results,
    properties: {
      lockfileFormat: result.tree.format,
      registry: result.npm.registry,
      policy: result.policy.file ?? null,
      evaluatedAt: result.now.toISOString(),
      summary,
    },
  };
  return { $schema: SARIF_SCHEMA, version: '2.1.0', runs: [run] };
}

function ruleOf(code: FindingCode, informationUri: string): ReportingDescriptor {
  const r = RULES[code];
  const text = `${r.meaning} What to do: ${r.todo} (check: ${r.check}; default action: ${r.defaultAction})`;
  const markdown = [
    `**${code}** (check \`${r.check}\`, default action: ${r.defaultAction})`,
    '',
    r.meaning,
    '',
    `**What to do:** ${r.todo}`,
    '',
    'The policy (`safe-install.policy.json`) can change what is done with it: `actions`, `exceptions`.',
  ].join('\n');
  return {
    id: code,
    name: ruleName(code),
    shortDescription: { text: r.short },
    fullDescription: { text: r.meaning, markdown: r.meaning },
    help: { text, markdown },
    helpUri: informationUri,
    defaultConfiguration: { level: defaultLevel(r.defaultAction) },
    properties: { tags: ['security', 'supply-chain', r.check], check: r.check, defaultAction: r.defaultAction },
  };
}

function defaultLevel(defaultAction: string): ReportingConfiguration.level {
  // `direct: allow, transitive: block` counts as block: that is what it does where it matters.
  if (/^(block|quarantine)/.test(defaultAction) || (defaultAction.includes('block') && !/^warn/.test(defaultAction))) return 'error';
  if (/^warn/.test(defaultAction)) return 'warning';
  return 'note';
}

/** Stable across runs for one package (name@version or source spec) and one finding code. */
function fingerprint(pkg: LockedPackage, code: FindingCode, occurrence: number): string {
  return createHash('sha256')
    .update(`${pkg.id}\0${code}${occurrence > 1 ? `\0${occurrence}` : ''}`)
    .digest('hex');
}
