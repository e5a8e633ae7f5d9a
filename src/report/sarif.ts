// SARIF 2.1.0 for code scanning: one rule per finding code (with what it means and what to do), one result per
// finding the policy acts on (warn, quarantine, block), located at the package's line in the lockfile. Run-level
// errors (the check could not complete) are tool execution notifications with executionSuccessful: false.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { toolDir } from '../util/tool-dir.js';
import { join, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Log, Notification, ReportingConfiguration, ReportingDescriptor, Result, Run } from 'sarif';
import type { CheckResult } from '../pipeline.js';
import type { GuardErrorCode } from '../errors.js';
import type { Action, FindingCode } from '../types.js';
import type { LockedPackage } from '../lockfile/types.js';
import { SAID_ONCE, sharedFindings, summarize } from './summary.js';
import { shown } from './shown.js';
import { CATALOG, FINDING_CODES, statedDefault } from '../checks/catalog.js';
import { packageLabel, relativeToRoot, repositoryRoot, reported } from './location.js';

export const SARIF_SCHEMA = 'https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json';
/** The key of our own entry in `partialFingerprints`. */
export const FINGERPRINT_KEY = 'safeInstallPackageFinding/v1';

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
  deadline: 'The check did not finish within its deadline (--deadline); it stopped.',
  'cache-miss': 'Offline, and the metadata cache has no entry.',
  'install-failed': 'The package manager failed.',
  'wrong-package-manager': 'The package manager that would run cannot install this lockfile, or is not the version package.json declares.',
  'bad-ledger': 'The quarantine ledger is malformed.',
  'too-large': 'A package or file is larger than the limit.',
  'file-system': 'A file or folder could not be read or written.',
};

const LEVEL: Record<Exclude<Action, 'allow'>, Result.level> = { block: 'error', quarantine: 'error', warn: 'warning' };

/** `too-young` -> `TooYoung`. */
export function ruleName(code: string): string {
  return code
    .split('-')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');
}

let toolInfo: { name: string; version: string; informationUri: string } | undefined;
/** This tool's name, version and home, from its own package.json. */
export function toolMetadata(): { name: string; version: string; informationUri: string } {
  if (toolInfo) return toolInfo;
  const manifest = JSON.parse(readFileSync(join(toolDir(), 'package.json'), 'utf8')) as {
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
  const artifactLocation = rel ? { uri: rel.split('/').map(encodeURIComponent).join('/'), uriBaseId: '%SRCROOT%' } : { uri: pathToFileURL(resolve(result.tree.lockfilePath)).href };

  const codes = FINDING_CODES;
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
  const r = CATALOG[code];
  const stated = statedDefault(code);
  const text = `${r.meaning} What to do: ${r.todo} (check: ${r.check}; default action: ${stated})`;
  const markdown = [
    `**${code}** (check \`${r.check}\`, default action: ${stated})`,
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
    defaultConfiguration: { level: levelOf(r.action) },
    properties: { tags: ['security', 'supply-chain', r.check], check: r.check, defaultAction: stated },
  };
}

/** A rule's level is its default action's (a source code's is the transitive one: that is where it matters). */
function levelOf(action: Action): ReportingConfiguration.level {
  return action === 'block' || action === 'quarantine' ? 'error' : action === 'warn' ? 'warning' : 'note';
}

/** Stable across runs for one package (name@version or source spec) and one finding code. */
function fingerprint(pkg: LockedPackage, code: FindingCode, occurrence: number): string {
  return createHash('sha256')
    .update(`${pkg.id}\0${code}${occurrence > 1 ? `\0${occurrence}` : ''}`)
    .digest('hex');
}
