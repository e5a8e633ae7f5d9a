// The check pipeline: lockfile -> registry facts -> checks -> verdicts. Each stage takes the previous one's
// output as plain data; `check` stops here and reports, `ci` goes on to install.
import { basename, resolve } from 'node:path';
import { GuardError } from './errors.js';
import type { Finding, PackageManager } from './types.js';
import type { PackageFacts } from './facts.js';
import type { LockedPackage, LockedTree } from './lockfile/types.js';
import { readLockfile } from './lockfile/index.js';
import { LockfileError } from './lockfile/errors.js';
import { isOnRegistry, loadNpmSettings, npmDownloadUrl, registryFor, type NpmSettings } from './project/npm-config.js';
import { loadPolicy, type Policy } from './policy/load.js';
import { mergeInputs, type ProjectInputs } from './project/inputs.js';
import { readProjectManifest, type ProjectManifest } from './project/package-json.js';
import { readPnpmInputs } from './project/pnpm-settings.js';
import { readProjectYarnrc, readYarnInputs, yarnRegistry } from './project/yarn-settings.js';
import { choosePackageManager, type PackageManagerInfo } from './project/package-manager.js';
import { ownGuards } from './install/own-guards.js';
import { RegistryClient, type FetchStats } from './registry/client.js';
import { describeWaiting, shortDuration } from './registry/health.js';
import { defaultCacheDir, FactsCache } from './registry/cache.js';
import { CHECKS } from './checks/index.js';
import { advisories as advisoriesCheck } from './checks/advisories.js';
import { binConflicts, declaredBins, defaultCommands } from './checks/bins.js';
import type { CheckInput, DownloadInput } from './checks/types.js';
import { EvidenceCollector } from './verify/evidence.js';
import { decide, type PackageVerdict } from './verdict/verdict.js';
import { severityOf } from './checks/finding.js';
import type { AdvisoriesInput } from './checks/types.js';
import { lookupAdvisories, type AdvisoryLookup, type AdvisorySourceStatus } from './advisories/lookup.js';
import { AdvisoryDbError, openAdvisoryDb, openCachedAdvisoryDb, type OfflineAdvisoryDb } from './advisories/db.js';
import { fetchOptionsFrom, DEFAULT_MAX_BODY } from './registry/client.js';
import { redact } from './util/safe-text.js';

export interface CheckOptions {
  cwd: string;
  lockfile?: string;
  policy?: string;
  registry?: string;
  now?: Date;
  cacheDir?: string;
  concurrency?: number;
  timeoutMs?: number;
  retries?: number;
  offline?: boolean;
  ttlMs?: number;
  /** --max-body-size / SAFE_INSTALL_MAX_BODY_SIZE: the most bytes read from one registry answer. */
  maxBodyBytes?: number;
  /** --pm: the package manager whose lockfile to read and install with. */
  pm?: PackageManager;
  /** --deadline: the longest the registry part of the check may take (ms; 0: none). Past it, the check stops (exit 2). */
  deadlineMs?: number;
  /** Told when fetching starts (with a way to read how far it is); the function it returns is called when it ends. */
  watch?: (status: () => CheckStatus) => () => void;
  /**
   * For commands that install: ask the package manager that would run for its version first, and stop (exit 2,
   * before any registry request) when it cannot install this lockfile or is not the declared one.
   */
  confirmPm?: boolean;
  /** --osv-url: the OSV API's base URL (else the policy's advisories.osvUrl, else https://api.osv.dev). */
  osvUrl?: string;
  /** --advisories-db: an offline OSV database used instead of the network (else the policy's advisories.db). */
  advisoriesDb?: string;
}

/** How far the registry part of a check is: names done of total, and what is being waited for now. */
export interface CheckStatus {
  done: number;
  total: number;
  /** Per registry host, the names whose metadata is being fetched now. */
  waiting: { host: string; names: string[] }[];
  /** How each request is bounded, and the deadline, in words (for a "still waiting" line). */
  bounds: string;
  /** When a registry last answered anything (Date.now()); undefined while none has. */
  lastAnswerAt?: number;
}

export interface CheckResult {
  tree: LockedTree;
  policy: Policy;
  npm: NpmSettings;
  /** The package manager that installs this tree, and what it guards itself (for the report). */
  packageManager: PackageManagerInfo & { guards: string[] };
  now: Date;
  /** Evaluated as of --now, not the real present: such a run records nothing in the quarantine ledger. */
  nowGiven?: boolean;
  verdicts: PackageVerdict[];
  /** Problems that kept the check from completing (exit 2). */
  errors: GuardError[];
  /** Things said once per run (a mirror, a host mapping...). */
  notices: string[];
  stats: FetchStats & { names: number; ms: number };
  /** The registry facts each registry package was checked with (for the install runner's disk comparison). */
  facts: Map<string, PackageFacts>;
  /** Which advisory sources were asked and how each answered (absent when the advisories check is off). */
  advisories?: AdvisorySourceStatus[];
}

export const DEFAULTS = { concurrency: 16, timeoutMs: 30_000, retries: 2, ttlMs: 10 * 60_000, deadlineMs: 5 * 60_000 };

export async function runCheck(opts: CheckOptions): Promise<CheckResult> {
  const started = Date.now();
  const cwd = resolve(opts.cwd);
  const now = opts.now ?? new Date();
  const tree = readTree(cwd, opts.lockfile, opts.pm);
  const manifest = await readProjectManifest(tree.root.dir);
  const chosen = choosePackageManager(tree.format, basename(tree.lockfilePath), manifest?.packageManager, { pm: opts.pm, lockfile: opts.lockfile !== undefined });
  const pmInfo = opts.confirmPm ? await (await import('./install/pm-version.js')).confirmPackageManager(chosen, tree.root.dir) : chosen;
  const yarnrc = pmInfo.pm === 'yarn' || tree.format === 'yarn-berry' ? await readProjectYarnrc(tree.root.dir) : undefined;
  // yarn berry keeps its registry in .yarnrc.yml, not .npmrc (yarn 1 reads .npmrc and .yarnrc); --registry still wins.
  const registry = opts.registry ?? (tree.format === 'yarn-berry' ? yarnRegistry(yarnrc) : undefined);
  const npm = await loadNpmSettings(tree.root.dir, { registry });
  const policy = await loadPolicy(tree.root.dir, opts.policy, npm, await projectInputs(tree.root.dir, pmInfo.pm, manifest, npm, yarnrc));
  const cacheDir = opts.cacheDir ?? defaultCacheDir();
  const cache = new FactsCache(cacheDir);
  const ttlMs = opts.ttlMs ?? DEFAULTS.ttlMs;
  const client = new RegistryClient({
    settings: npm,
    cacheDir,
    concurrency: opts.concurrency ?? DEFAULTS.concurrency,
    timeoutMs: opts.timeoutMs ?? DEFAULTS.timeoutMs,
    retries: opts.retries ?? DEFAULTS.retries,
    offline: opts.offline ?? false,
    ttlMs,
    maxBodyBytes: opts.maxBodyBytes,
  });

  // One request per name; each name's checks run as soon as its facts arrive.
  const byName = new Map<string, LockedPackage[]>();
  for (const pkg of tree.packages) {
    if (pkg.source !== 'registry') continue;
    const list = byName.get(pkg.name) ?? [];
    list.push(pkg);
    byName.set(pkg.name, list);
  }
  // Advisories for every locked registry version, asked while the metadata is fetched; each name's checks wait for them.
  // Bundled copies too: a tarball that carries debug@4.4.2 in its node_modules installs that code all the same.
  const advised = new Map<string, Set<string>>();
  for (const pkg of tree.packages) {
    if (pkg.source !== 'registry' && pkg.source !== 'bundled') continue;
    advised.set(pkg.name, (advised.get(pkg.name) ?? new Set<string>()).add(pkg.version));
  }
  const advisoryAbort = new AbortController();
  const advisoryLookup = (
    await startAdvisories(
      [...advised].flatMap(([name, versions]) => [...versions].map((version) => ({ name, version }))),
      { opts, policy, npm, cacheDir, ttlMs, now, signal: advisoryAbort.signal },
    )
  )?.lookup;
  const errors: GuardError[] = [];
  const factsByName = new Map<string, PackageFacts>();
  const verdicts = new Map<LockedPackage, PackageVerdict>();
  const ctx = { now, policy, commands: defaultCommands() };
  const raw = new Map<LockedPackage, { findings: Finding[]; bins: string[]; input: CheckInput }>();
  const judge = (pkg: LockedPackage, input: CheckInput) => {
    const findings = CHECKS.flatMap((c) => c.run(pkg, input, ctx));
    raw.set(pkg, { findings, bins: declaredBins(pkg, input.facts), input });
    verdicts.set(pkg, decide(pkg, findings, policy, now));
  };
  const evidence = new EvidenceCollector(client, cache, policy, cacheDir, ttlMs > 0);
  const fail = (pkgs: LockedPackage[], error: GuardError) => {
    if (!errors.includes(error)) errors.push(error);
    for (const pkg of pkgs) verdicts.set(pkg, unavailable(pkg, error));
  };
  // Where each package would be downloaded from: for its check, and once more for the notice about other hosts.
  const downloads = new Map<LockedPackage, DownloadInput>();
  const downloadFor = (pkg: LockedPackage, registry: string): DownloadInput => {
    let d = downloads.get(pkg);
    if (!d) downloads.set(pkg, (d = downloadOf(pkg, registry, npm, pmInfo.pm, tree.format)));
    return d;
  };
  // Bounded: past the deadline every request still running or to come fails at once with one error (exit 2)
  // that says what was still awaited.
  const deadlineMs = opts.deadlineMs ?? DEFAULTS.deadlineMs;
  const timeoutMs = opts.timeoutMs || DEFAULTS.timeoutMs;
  const retries = opts.retries ?? DEFAULTS.retries;
  let done = 0;
  const status = (): CheckStatus => ({
    done,
    total: byName.size,
    waiting: client.waitingFor(),
    lastAnswerAt: client.lastAnswerAt,
    bounds: `timeout ${shortDuration(timeoutMs)} per request, ${retries} ${retries === 1 ? 'retry' : 'retries'}${deadlineMs > 0 ? `, deadline ${shortDuration(deadlineMs)}` : ''}`,
  });
  const deadline =
    deadlineMs > 0
      ? setTimeout(() => {
          advisoryAbort.abort();
          const s = status();
          client.stop(
            `the check did not finish within its deadline of ${shortDuration(deadlineMs)} (--deadline): ${s.done} of ${s.total} names were checked; still waiting for ${describeWaiting(s.waiting)}`,
            'if the registry is just slow, allow more time with --deadline (e.g. --deadline 15m; 0 for none); otherwise check the registry and the network',
          );
        }, deadlineMs)
      : undefined;
  const unwatch = opts.watch?.(status);
  // The advisories are asked alongside (never failing: a source that fails did not answer) and applied once in.
  let lookup: AdvisoryLookup | undefined;
  try {
    await Promise.all([
      ...[...byName].map(async ([name, pkgs]) => {
        try {
          await checkName(name, pkgs);
        } finally {
          done++;
        }
      }),
      advisoryLookup?.then((l) => void (lookup = l)),
    ]);
  } finally {
    clearTimeout(deadline);
    unwatch?.();
    advisoryAbort.abort();
  }
  async function checkName(name: string, pkgs: LockedPackage[]): Promise<void> {
    const registry = registryFor(name, npm);
    const [result, keys] = await Promise.all([
      client.facts(
        name,
        pkgs.map((p) => p.version),
      ),
      evidence.keys(registry).catch((err: unknown) => {
        if (err instanceof GuardError) return err;
        throw err;
      }),
    ]);
    if (result.kind === 'error') return fail(pkgs, result.error);
    if (keys instanceof GuardError) return fail(pkgs, keys);
    const facts: PackageFacts | 'missing' = result.kind === 'facts' ? result.facts : 'missing';
    if (facts !== 'missing') factsByName.set(name, facts);
    for (const pkg of pkgs) {
      try {
        const provenance = facts === 'missing' ? undefined : await evidence.provenance(facts, pkg.version, keys);
        judge(pkg, { facts, keys, provenance, download: downloadFor(pkg, registry) });
      } catch (err) {
        if (!(err instanceof GuardError)) throw err;
        fail([pkg], err);
      }
    }
  }
  for (const pkg of tree.packages) if (!verdicts.has(pkg)) judge(pkg, { facts: undefined });
  // Advisories, for every registry package whose checks ran and every bundled one (first among its findings).
  if (lookup) {
    for (const [pkg, r] of raw) {
      if (pkg.source === 'bundled' ? false : pkg.source !== 'registry' || r.input.facts === undefined) continue;
      const found = advisoriesCheck.run(pkg, { ...r.input, advisories: advisoriesFor(lookup, pkg.name) }, ctx);
      if (!found.length) continue;
      r.findings = [...found, ...r.findings];
      verdicts.set(pkg, decide(pkg, r.findings, policy, now));
    }
  }
  // Bin names two packages link into the same .bin folder: known only once every package's facts are in.
  for (const [pkg, extra] of binConflicts(tree, (p) => raw.get(p)?.bins ?? [], policy)) {
    const r = raw.get(pkg);
    if (r) verdicts.set(pkg, decide(pkg, [...r.findings, ...extra], policy, now));
  }

  return {
    tree,
    policy,
    npm,
    packageManager: { ...pmInfo, guards: ownGuards(pmInfo, policy, tree) },
    now,
    nowGiven: opts.now !== undefined,
    verdicts: tree.packages.map((p) => verdicts.get(p)!),
    errors: errors.sort((a, b) => (a.pkg ?? '').localeCompare(b.pkg ?? '')),
    notices: [...mirrorNotices(tree, npm, pmInfo.pm, (pkg) => downloadFor(pkg, registryFor(pkg.name, npm))), ...(lookup?.sources ?? []).map(sourceNotice)],
    stats: { ...client.stats, names: byName.size, ms: Date.now() - started },
    facts: factsByName,
    ...(lookup ? { advisories: lookup.sources } : {}),
  };
}

/**
 * Start asking the advisory sources about `pkgs`: the offline database when one is in use (--advisories-db, the
 * policy's advisories.db, or the cached one while younger than advisories.maxAge), else the network sources the
 * policy names. Undefined when the check is off (no source) or there is nothing to ask about. An explicit database
 * that cannot be opened stops the run (exit 2); a cached one that cannot be read is skipped.
 */
async function startAdvisories(
  pkgs: { name: string; version: string }[],
  ctx: { opts: CheckOptions; policy: Policy; npm: NpmSettings; cacheDir: string; ttlMs: number; now: Date; signal: AbortSignal },
): Promise<{ lookup: Promise<AdvisoryLookup> } | undefined> {
  const { opts, policy } = ctx;
  if (!pkgs.length) return undefined;
  const explicit = opts.advisoriesDb ?? policy.advisories.db;
  let db: OfflineAdvisoryDb | undefined;
  if (explicit) {
    try {
      db = await openAdvisoryDb(resolve(opts.cwd, explicit));
    } catch (err) {
      throw new GuardError('bad-usage', `cannot use the advisory database ${explicit}: ${redact((err as Error).message)}`, {
        remedy: err instanceof AdvisoryDbError ? "check the path (a folder of OSV JSON records, or OSV's npm zip export)" : "give a folder of OSV JSON records or OSV's npm zip export",
      });
    }
  } else {
    db = await openCachedAdvisoryDb({ cacheDir: ctx.cacheDir, maxAgeMs: policy.advisories.maxAgeMs }).catch(() => undefined);
  }
  if (!db && !policy.advisories.sources.osv && !policy.advisories.sources.registry) return undefined;
  const timeoutMs = opts.timeoutMs || DEFAULTS.timeoutMs;
  const lookup = lookupAdvisories(pkgs, {
    npm: ctx.npm,
    fetchOptions: fetchOptionsFrom(ctx.npm.flat, opts.concurrency ?? DEFAULTS.concurrency),
    osvUrl: (opts.osvUrl ?? envOsvUrl() ?? policy.advisories.osvUrl).replace(/\/+$/, ''),
    sources: policy.advisories.sources,
    cacheDir: ctx.cacheDir,
    ttlMs: ctx.ttlMs,
    offline: opts.offline ?? false,
    bounds: { timeoutMs, retries: opts.retries ?? DEFAULTS.retries, maxBytes: opts.maxBodyBytes ?? DEFAULT_MAX_BODY, signal: ctx.signal },
    ...(db ? { db } : {}),
    now: ctx.now,
  });
  // Never a crash: a source that fails unexpectedly is a source that did not answer.
  const safe = lookup.catch(
    (err: unknown): AdvisoryLookup => ({
      sources: [{ source: 'osv', label: 'the advisory sources', answered: false, detail: redact((err as Error)?.message ?? String(err)) }],
      forName: () => [],
      covered: () => false,
    }),
  );
  return { lookup: safe };
}

/** SAFE_INSTALL_OSV_URL (an OSV API mirror for the machine), when it is an http(s) URL; --osv-url wins over it. */
export const OSV_URL_ENV = 'SAFE_INSTALL_OSV_URL';
function envOsvUrl(): string | undefined {
  const v = process.env[OSV_URL_ENV];
  if (!v) return undefined;
  try {
    const u = new URL(v);
    if (u.protocol === 'https:' || u.protocol === 'http:') return u.href;
  } catch {
    // said below
  }
  throw new GuardError('bad-usage', `${OSV_URL_ENV} must be an http(s) URL, not "${v}"`);
}

/** What the advisories check gets for one name: the merged advisories, or why no source answered (one text per run). */
function advisoriesFor(lookup: AdvisoryLookup, name: string): AdvisoriesInput {
  if (lookup.covered(name)) return { advisories: lookup.forName(name) };
  const failed = lookup.sources.filter((s) => !s.answered);
  return { advisories: [], unavailable: failed.length ? failed.map((s) => `${s.label}: ${s.detail}`).join('; ') : 'no advisory source is configured for this registry' };
}

function sourceNotice(s: AdvisorySourceStatus): string {
  return `advisories: ${s.label} ${s.answered ? 'answered' : 'did not answer'} (${s.detail})`;
}

/**
 * Settings the project keeps for its package managers, read as policy inputs: npm's allowScripts always, pnpm's
 * settings when pnpm installs or pnpm-workspace.yaml/the `pnpm` field exist, yarn's when yarn installs.
 */
async function projectInputs(dir: string, pm: PackageManager, manifest: ProjectManifest | undefined, npm: NpmSettings, yarnrc: Record<string, unknown> | undefined): Promise<ProjectInputs> {
  const parts: ProjectInputs[] = [{ allowScripts: manifest?.allowScripts }];
  // pnpm's build lists were read for every project before pnpm installs were supported; keep that.
  const pnpm = await readPnpmInputs(dir, manifest?.pnpm, npm);
  if (pm === 'pnpm') parts.push(pnpm);
  else if (pnpm.builds) {
    const source = pnpm.builds[0]?.source;
    parts.push({ builds: pnpm.builds, settings: pnpm.settings?.filter((s) => source !== undefined && s.startsWith(source)) });
  }
  if (pm === 'yarn') parts.push(await readYarnInputs(yarnrc, manifest?.dependenciesMeta));
  return mergeInputs(...parts);
}

const LOCK_COMMAND: Record<PackageManager, string> = {
  npm: 'npm install --package-lock-only',
  pnpm: 'pnpm install --lockfile-only',
  yarn: 'yarn install --mode=update-lockfile (yarn 1: yarn install)',
};

function readTree(cwd: string, lockfile?: string, pm?: PackageManager): LockedTree {
  try {
    return readLockfile(cwd, lockfile, pm);
  } catch (err) {
    if (!(err instanceof LockfileError)) throw err;
    const remedy =
      err.code === 'no-lockfile'
        ? `run \`${LOCK_COMMAND[pm ?? 'npm']}\` to create one, or pass --lockfile`
        : err.code === 'unsupported-version'
          ? 'regenerate the lockfile with a current version of its package manager'
          : 'restore the lockfile from version control, or regenerate it';
    throw new GuardError(err.code === 'no-lockfile' ? 'no-lockfile' : 'bad-lockfile', err.message, { remedy, cause: err });
  }
}

/**
 * Where the package manager that installs the tree downloads a registry package from (see DownloadInput): npm
 * applies its replace-registry-host to `resolved`; yarn 1 and pnpm fetch `resolved` as written (pnpm resolves a
 * scheme-less path against the registry); yarn berry's lockfile names no URL for registry packages.
 */
export function downloadOf(pkg: LockedPackage, registry: string, npm: NpmSettings, pm: PackageManager, format: LockedTree['format']): DownloadInput {
  if (!pkg.resolved || format === 'yarn-berry') return { registry };
  if (pm === 'npm') {
    const url = npmDownloadUrl(pkg.resolved, npm);
    if (url === undefined) return { registry, url: pkg.resolved, how: 'not a URL' };
    const rrh = npm.replaceRegistryHost;
    return { registry, url, how: url === new URL(pkg.resolved).href ? `npm's replace-registry-host=${rrh} leaves it as written` : `${pkg.resolved} as npm's replace-registry-host=${rrh} rewrites it` };
  }
  if (!/^[a-z][a-z0-9+.-]*:/i.test(pkg.resolved)) {
    try {
      return { registry, url: new URL(pkg.resolved, registry).href, how: `${pm} resolves the lockfile's path against the registry` };
    } catch {
      return { registry, url: pkg.resolved, how: 'not a URL' };
    }
  }
  return { registry, url: pkg.resolved, how: `${pm} downloads the lockfile's URL as written` };
}

function unavailable(pkg: LockedPackage, error: GuardError): PackageVerdict {
  const f: Finding = {
    check: 'registry',
    code: 'metadata-unavailable',
    severity: severityOf('block'),
    action: 'block',
    message: error.message,
    remedy: error.remedy,
  };
  return { pkg, verdict: 'block', findings: [f] };
}

/**
 * Lockfiles made against another registry host (a mirror, or the public registry behind a mirror): entries the
 * installing package manager would still download from that host are blocked (`resolved-off-registry`); say once
 * why and what setting makes the check and the install use one registry.
 */
function mirrorNotices(tree: LockedTree, npm: NpmSettings, pm: PackageManager, downloadFor: (pkg: LockedPackage) => DownloadInput): string[] {
  const hosts = new Map<string, number>();
  for (const pkg of tree.packages) {
    if (pkg.source !== 'registry' || !pkg.resolved) continue;
    const { url, registry } = downloadFor(pkg);
    if (url === undefined || isOnRegistry(url, registry)) continue;
    let host: string;
    try {
      host = new URL(url).host;
    } catch {
      continue;
    }
    hosts.set(host, (hosts.get(host) ?? 0) + 1);
  }
  return [...hosts].map(([host, n]) => {
    const hostname = new URL(`http://${host}`).hostname;
    const said = `${n} lockfile ${n === 1 ? 'entry resolves' : 'entries resolve'} to ${host}, not the registry they were checked against (${new URL(npm.registry).host})`;
    if (pm !== 'npm')
      return `${said}: ${pm} would download them from ${host}, so they are blocked unless the registry is served from there (or the lockfile is regenerated against the configured registry)`;
    return `${said}: npm would download them from ${host} (replace-registry-host=${npm.replaceRegistryHost}), so they are blocked; if ${host} is a copy of your registry, set replace-registry-host=${hostname} (or always) so npm installs from the registry checked here`;
  });
}
