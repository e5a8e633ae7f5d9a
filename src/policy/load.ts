// Policy = shipped default, overridden field by field by the project's policy file, plus the settings the
// project's package manager already has (npm min-release-age...): for those the stricter side wins and the
// report names where each rule came from. A malformed policy is an error naming the field, never ignored.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { toolDir } from '../util/tool-dir.js';
import { basename, dirname, join, resolve } from 'node:path';
import { describeFsFailure, GuardError } from '../errors.js';
import type { Action, CheckId, FindingCode, RegistryKey, Severity } from '../types.js';
import { type NpmSettings, NPM_REGISTRY, isNpmRegistry } from '../project/npm-config.js';
import type { ProjectInputs } from '../project/inputs.js';
import { parseDuration } from '../util/duration.js';
import { parsePattern, type PackagePattern } from './pattern.js';
import { once } from '../util/lazy.js';

const require = createRequire(import.meta.url);

export const POLICY_FILE = 'safe-install.policy.json';
// The shipped policies/ folder, beside the package.json of the tool (src/, dist/ and the one-file bundle alike).
const policiesDir = () => join(toolDir(), 'policies');

/** The policy file as written (after merging with the default). */
export interface PolicyDocument {
  $schema?: string;
  minimumReleaseAge?: string | number;
  minimumReleaseAgeExclude?: string[];
  actions?: Partial<Record<CheckId | FindingCode, Action>>;
  sources?: { direct?: Action; transitive?: Action };
  scripts?: { allow?: string[]; deny?: string[]; unlisted?: 'skip' | 'block'; rootScripts?: boolean };
  bins?: { allow?: string[] };
  exceptions?: ExceptionEntry[];
  registryKeys?: Record<string, RegistryKey[]>;
  registryMirrorOf?: Record<string, string>;
  requireProvenance?: string[];
  expectedRepository?: Record<string, string>;
  trustPolicy?: 'no-downgrade' | 'off';
  trustPolicyExclude?: string[];
  trustPolicyIgnoreAfter?: string | number;
  overrides?: { defaultExpiry?: string | number; maxExpiry?: string | number; nonOverridable?: string[] };
  advisories?: AdvisoriesDocument;
}

/** The advisories check's settings as written. */
export interface AdvisoriesDocument {
  /** Vulnerabilities of this severity or higher block ("none": never; the default). */
  block?: Severity | 'none';
  /** The OSV API's base URL (default https://api.osv.dev); --osv-url wins. */
  osvUrl?: string;
  /** Which network sources to ask (default both). */
  sources?: ('osv' | 'registry')[];
  /** An offline OSV database to use instead of the network (a folder or OSV's zip export); --advisories-db wins. */
  db?: string;
  /** The cached database (`safe-install advisories update`) is used while younger than this (default 24h). */
  maxAge?: string | number;
}

export interface ExceptionEntry {
  package: string;
  checks: (CheckId | '*')[];
  /** Advisory ids (MAL-…, GHSA-…, CVE-…): the exception covers only advisory findings naming one of them. */
  advisories?: string[];
  reason: string;
  expires: string;
  approvedBy?: string;
  approvedAt?: string;
}

/** One source of a minimum release age; a package gets the largest age among the sources that apply to it. */
export interface AgeRule {
  ms: number;
  exclude: PackagePattern[];
  source: string;
}

/** An allow or deny entry for install scripts, with where it came from. */
export interface ScriptRule {
  pattern: PackagePattern;
  source: string;
}

export interface Policy {
  /** Where the project policy came from, or undefined when only the default applies. */
  file?: string;
  ageRules: AgeRule[];
  actions: Partial<Record<CheckId | FindingCode, Action>>;
  sources: { direct: Action; transitive: Action };
  scripts: { allow: ScriptRule[]; deny: ScriptRule[]; unlisted: 'skip' | 'block'; rootScripts: boolean; unlistedSource?: string };
  /** Packages allowed to link a bin that shadows a command (`bin-shadows-command`). */
  bins: { allow: ScriptRule[] };
  exceptions: (ExceptionEntry & { pattern: PackagePattern })[];
  /** Keys pinned per registry URL (normalised by registryUrlKey). */
  registryKeys: Record<string, RegistryKey[]>;
  /**
   * Mirror registry URL -> the registry it mirrors (both normalised, with a trailing slash): the mirror's signatures
   * are verified with the upstream's trusted keys (npm's shipped keys for the npm registry, else keys pinned for it).
   */
  registryMirrorOf: Record<string, string>;
  provenance: { require: PackagePattern[]; expectedRepository: { pattern: PackagePattern; repository: string }[] };
  trust: { mode: 'no-downgrade' | 'off'; exclude: PackagePattern[]; ignoreAfterMs?: number; source: string };
  /** Settings read from the project's package managers, one line each, for the report. */
  inputs: string[];
  overrides: { defaultExpiryMs: number; maxExpiryMs: number; nonOverridable: string[] };
  advisories: {
    block?: Severity;
    osvUrl: string;
    sources: { osv: boolean; registry: boolean };
    /** Resolved against the policy file's folder (or the project's, for the default). */
    db?: string;
    maxAgeMs: number;
  };
}

type Validator = ((doc: unknown) => boolean) & { errors?: { instancePath: string; message?: string; params?: Record<string, unknown> }[] | null };

/** The validator `npm run build` generates from the schema (scripts/compile-policy-schema.cjs): no compile at start-up. */
function prebuiltValidator(): Validator | undefined {
  try {
    return require('./policy-validator.cjs');
  } catch {
    return undefined; // running from src/ (tests): compile instead
  }
}

export function compileValidator(): Validator {
  const Ajv = require('ajv');
  const addFormats = require('ajv-formats');
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);
  return ajv.compile(JSON.parse(readFileSync(join(policiesDir(), 'policy.schema.json'), 'utf8')));
}

const policyValidator = once(() => prebuiltValidator() ?? compileValidator());

function validate(doc: unknown, file: string): void {
  const validator = policyValidator();
  if (validator(doc)) return;
  const problems = (validator.errors ?? []).map((e) => {
    const field = e.instancePath ? e.instancePath.slice(1).replace(/\//g, '.') : '(top level)';
    const extra = e.params?.additionalProperty ? ` "${e.params.additionalProperty}"` : e.params?.allowedValues ? ` (${(e.params.allowedValues as string[]).join(', ')})` : '';
    return `${field}: ${e.message}${extra}`;
  });
  throw new GuardError('bad-policy', `invalid policy ${file}:\n  ${[...new Set(problems)].join('\n  ')}`, {
    remedy: 'fix the fields named above; the schema is policies/policy.schema.json',
  });
}

export function defaultPolicyDocument(): PolicyDocument {
  return JSON.parse(readFileSync(join(policiesDir(), 'default.json'), 'utf8'));
}

/** Find the project's policy: an explicit --policy path, else safe-install.policy.json in the project root. */
export async function loadPolicy(projectDir: string, explicit: string | undefined, npm: NpmSettings | undefined, inputs: ProjectInputs = {}): Promise<Policy> {
  const base = defaultPolicyDocument();
  let file: string | undefined;
  let project: PolicyDocument = {};
  const path = explicit ? resolve(explicit) : join(projectDir, POLICY_FILE);
  let text: string | undefined;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (explicit || (err as NodeJS.ErrnoException).code !== 'ENOENT') {
      const known = describeFsFailure(err, { path });
      throw new GuardError('bad-policy', `cannot read the policy ${path}: ${known ? known.what : (err as Error).message}`, {
        remedy: known?.remedy ?? (explicit ? 'check the --policy path' : 'check the file permissions'),
      });
    }
  }
  if (text !== undefined) {
    file = path;
    try {
      project = JSON.parse(text);
    } catch (err) {
      throw new GuardError('bad-policy', `the policy ${path} is not valid JSON: ${(err as Error).message}`, {
        remedy: 'fix the JSON syntax',
      });
    }
    validate(project, path);
  }
  const doc = mergePolicy(base, project);
  validate(doc, file ?? 'default');
  return compilePolicy(doc, file, npm, inputs, project);
}

export function mergePolicy(base: PolicyDocument, over: PolicyDocument): PolicyDocument {
  return {
    ...base,
    ...over,
    actions: { ...base.actions, ...over.actions },
    sources: { ...base.sources, ...over.sources },
    scripts: { ...base.scripts, ...over.scripts },
    bins: { ...base.bins, ...over.bins },
    exceptions: over.exceptions ?? base.exceptions ?? [],
    expectedRepository: { ...base.expectedRepository, ...over.expectedRepository },
    registryKeys: { ...base.registryKeys, ...over.registryKeys },
    registryMirrorOf: { ...base.registryMirrorOf, ...over.registryMirrorOf },
    overrides: { ...base.overrides, ...over.overrides },
    advisories: { ...base.advisories, ...over.advisories },
  };
}

function field<T>(name: string, file: string | undefined, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw new GuardError('bad-policy', `invalid policy ${file ?? 'default'}: ${name}: ${(err as Error).message}`, {
      remedy: 'fix the field named above',
    });
  }
}

export function compilePolicy(
  doc: PolicyDocument,
  file: string | undefined,
  npm?: NpmSettings,
  inputs: ProjectInputs = {},
  /** The project's own policy document, to say which rules it set (the rest come from the default). */
  project: PolicyDocument = doc,
): Policy {
  const patterns = (name: string, list: string[] = []) => list.map((p, i) => field(`${name}[${i}]`, file, () => parsePattern(p)));
  const policyName = file ? `policy ${basename(file)}` : 'default policy';
  const rules = (name: string, list: string[] = []): ScriptRule[] => patterns(name, list).map((pattern) => ({ pattern, source: policyName }));
  const ageRules: AgeRule[] = [
    {
      ms: field('minimumReleaseAge', file, () => parseDuration(doc.minimumReleaseAge ?? '7d')),
      exclude: patterns('minimumReleaseAgeExclude', doc.minimumReleaseAgeExclude),
      source: file && project.minimumReleaseAge !== undefined ? `policy ${basename(file)}` : 'default policy',
    },
  ];
  const lenient = (list: string[]) =>
    list.flatMap((p) => {
      try {
        return [parsePattern(p)];
      } catch {
        return []; // the package manager would reject it too; an unusable exclusion excludes nothing (stricter)
      }
    });
  if (npm?.minReleaseAge && Number.isFinite(npm.minReleaseAge.days) && npm.minReleaseAge.days > 0) {
    ageRules.push({ ms: npm.minReleaseAge.days * 86_400_000, exclude: lenient(npm.minReleaseAgeExclude?.patterns ?? []), source: npm.minReleaseAge.source });
  }
  for (const gate of inputs.ageGates ?? []) ageRules.push({ ms: gate.ms, exclude: lenient(gate.exclude), source: gate.source });
  const exceptions = (doc.exceptions ?? []).map((e, i) => {
    const pattern = field(`exceptions[${i}].package`, file, () => parsePattern(e.package));
    field(`exceptions[${i}].expires`, file, () => {
      if (Number.isNaN(Date.parse(e.expires))) throw new Error(`"${e.expires}" is not a date`);
    });
    return { ...e, pattern };
  });
  const registryKeys: Policy['registryKeys'] = Object.fromEntries(
    Object.entries(doc.registryKeys ?? {}).map(([url, keys]) => [
      field(`registryKeys["${url}"]`, file, () => registryUrlKey(url)),
      keys.map((k) => ({ keyid: k.keyid, key: k.key, expires: k.expires ?? null })),
    ]),
  );
  return {
    file,
    ageRules,
    actions: doc.actions ?? {},
    // blockExoticSubdeps can only make transitive git/tarball sources stricter, never looser.
    sources: { direct: doc.sources?.direct ?? 'allow', transitive: inputs.blockExoticSubdeps ? 'block' : (doc.sources?.transitive ?? 'block') },
    scripts: {
      allow: [...rules('scripts.allow', doc.scripts?.allow), ...allowScriptsRules(inputs.allowScripts, true), ...(inputs.builds ?? []).flatMap((b) => buildRules(b, 'allow'))],
      deny: [...rules('scripts.deny', doc.scripts?.deny), ...allowScriptsRules(inputs.allowScripts, false), ...(inputs.builds ?? []).flatMap((b) => buildRules(b, 'deny'))],
      unlisted: inputs.strictBuilds ? 'block' : (doc.scripts?.unlisted ?? 'skip'),
      rootScripts: doc.scripts?.rootScripts ?? true,
      ...(inputs.strictBuilds && doc.scripts?.unlisted !== 'block' && { unlistedSource: inputs.strictBuilds }),
    },
    bins: { allow: rules('bins.allow', doc.bins?.allow) },
    inputs: inputs.settings ?? [],
    exceptions,
    registryKeys,
    registryMirrorOf: mirrorsOf(doc, file, registryKeys),
    provenance: {
      require: patterns('requireProvenance', doc.requireProvenance),
      expectedRepository: Object.entries(doc.expectedRepository ?? {}).map(([p, repository]) => ({
        pattern: field(`expectedRepository["${p}"]`, file, () => parsePattern(p)),
        repository,
      })),
    },
    overrides: {
      defaultExpiryMs: field('overrides.defaultExpiry', file, () => parseDuration(doc.overrides?.defaultExpiry ?? '72h')),
      maxExpiryMs: field('overrides.maxExpiry', file, () => parseDuration(doc.overrides?.maxExpiry ?? '14d')),
      nonOverridable: doc.overrides?.nonOverridable ?? ['integrity-mismatch', 'signature-invalid', 'source-mismatch', 'resolved-off-registry'],
    },
    trust: trustRule(doc, file, project, inputs.trust, patterns),
    advisories: advisoriesRule(doc, file),
  };
}

function advisoriesRule(doc: PolicyDocument, file: string | undefined): Policy['advisories'] {
  const a = doc.advisories ?? {};
  // Malware is always blocked: a weaker action would turn a known-malicious version into a warning.
  const malware = doc.actions?.['advisory-malware'];
  if (malware !== undefined && malware !== 'block') {
    field('actions["advisory-malware"]', file, () => {
      throw new Error('malware is always blocked; to let one version through for a false positive, add an exception naming the advisory id (advisories: ["MAL-…"]) with a reason and an expiry');
    });
  }
  const osvUrl = field('advisories.osvUrl', file, () => {
    const u = new URL(a.osvUrl ?? 'https://api.osv.dev');
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error(`"${a.osvUrl}" is not an http(s) URL`);
    return u.href.replace(/\/+$/, '');
  });
  const sources = a.sources ?? ['osv', 'registry'];
  return {
    ...(a.block && a.block !== 'none' ? { block: a.block } : {}),
    osvUrl,
    sources: { osv: sources.includes('osv'), registry: sources.includes('registry') },
    ...(a.db ? { db: resolve(file ? dirname(file) : '.', a.db) } : {}),
    maxAgeMs: field('advisories.maxAge', file, () => parseDuration(a.maxAge ?? '24h')),
  };
}

/** A registry URL as the policy and the checks compare it: parsed (lower-case host, default port dropped), with a trailing slash. */
export function registryUrlKey(url: string): string {
  const href = new URL(url).href;
  return href.endsWith('/') ? href : `${href}/`;
}

/**
 * `registryMirrorOf`, normalised; an upstream without trusted keys (neither the npm registry, whose keys ship with
 * the tool, nor a registry with keys pinned in `registryKeys`) is an error: the declaration would verify nothing.
 */
function mirrorsOf(doc: PolicyDocument, file: string | undefined, registryKeys: Policy['registryKeys']): Policy['registryMirrorOf'] {
  const pinned = new Set(Object.keys(registryKeys));
  return Object.fromEntries(
    Object.entries(doc.registryMirrorOf ?? {}).map(([mirror, upstream]) =>
      field(`registryMirrorOf["${mirror}"]`, file, () => {
        const m = registryUrlKey(mirror);
        const u = registryUrlKey(upstream);
        if (m === u) throw new Error('a registry is not a mirror of itself');
        if (!isNpmRegistry(u) && !pinned.has(u)) {
          throw new Error(`no keys are trusted for ${u}: only ${NPM_REGISTRY} (its keys ship with safe-install) or a registry whose keys are pinned in registryKeys can be mirrored`);
        }
        return [m, u];
      }),
    ),
  );
}

/** The policy's trust rule, unless it is off and pnpm's trustPolicy is on: then pnpm's, with its exclusions. */
function trustRule(
  doc: PolicyDocument,
  file: string | undefined,
  project: PolicyDocument,
  input: ProjectInputs['trust'],
  patterns: (name: string, list?: string[]) => PackagePattern[],
): Policy['trust'] {
  const mode = doc.trustPolicy ?? 'no-downgrade';
  if (mode === 'off' && input?.mode === 'no-downgrade') {
    return { mode: 'no-downgrade', exclude: patterns(`${input.source} exclude`, input.exclude), ignoreAfterMs: input.ignoreAfterMs, source: input.source };
  }
  return {
    mode,
    exclude: patterns('trustPolicyExclude', doc.trustPolicyExclude),
    ignoreAfterMs: doc.trustPolicyIgnoreAfter === undefined ? undefined : field('trustPolicyIgnoreAfter', file, () => parseDuration(doc.trustPolicyIgnoreAfter!)),
    source: file && project.trustPolicy !== undefined ? `policy ${basename(file)}` : 'default policy',
  };
}

/** package.json `allowScripts` entries with the given value, as rules; an entry npm itself would reject is an error. */
function allowScriptsRules(map: Record<string, boolean> | undefined, value: boolean): ScriptRule[] {
  if (!map) return [];
  return Object.entries(map)
    .filter(([, v]) => v === value)
    .map(([key]) => ({
      pattern: field(`package.json allowScripts "${key}"`, 'package.json', () => parsePattern(key)),
      source: 'package.json allowScripts',
    }));
}

function buildRules(builds: NonNullable<ProjectInputs['builds']>[number], kind: 'allow' | 'deny'): ScriptRule[] {
  return builds[kind].map((key) => ({
    pattern: field(`${builds.source} "${key}"`, builds.source, () => parsePattern(key)),
    source: builds.source,
  }));
}

/** The action for a finding: by code, else by check, else the check's own default. */
export function actionFor(policy: Policy, check: CheckId, code: FindingCode, fallback: Action): Action {
  return policy.actions[code] ?? policy.actions[check] ?? fallback;
}
