// Downloads and unpacks the tarballs `safe-install inspect` compares, with pacote and the user's npm settings
// (registry, scoped registries, auth, TLS, proxies). Nothing from a package is ever run: pacote does not run
// scripts when it extracts a registry tarball, `ignoreScripts` is forced on all the same, and links in the
// tarball are dropped by pacote's extractor. Every tarball is checked against the registry's integrity (and,
// for the locked version, the lockfile's).
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import semver from 'semver';
import { GuardError, redact } from '../errors.js';
import { loadNpmSettings, registryFor, type NpmSettings } from '../project/npm-config.js';
import { DEFAULT_MAX_BODY, fetchBoundedJson } from '../registry/client.js';
import { readLockfile } from '../lockfile/index.js';
import type { BaseReason, InstallEvent, VersionMeta } from './types.js';
import { DEFAULT_UNPACK_LIMITS, unpackBounded, type Unpacked, type UnpackLimits } from './unpack.js';
import { publishTime } from '../registry/facts.js';
import { lazy } from '../util/lazy.js';
import { createRequire } from 'node:module';

// A plain require of a literal name, so the bundler (scripts/bundle.mjs) sees and includes each library.
const require = createRequire(import.meta.url);

/** The part of pacote this module uses (pacote ships no types). */
interface Pacote {
  packument(spec: string, opts: Record<string, unknown>): Promise<Packument>;
  /** The tarball as a stream that errors at its end when the integrity does not match. */
  tarball: {
    stream<T>(spec: string, handler: (stream: AsyncIterable<Buffer>) => Promise<T>, opts: Record<string, unknown>): Promise<T>;
  };
  RegistryFetcher: new (spec: string, opts: Record<string, unknown>) => { packumentUrl: string };
}

/** A full packument (`application/json`), as far as inspect reads it. */
export interface Packument {
  name?: string;
  'dist-tags'?: Record<string, string>;
  versions?: Record<string, Manifest>;
  time?: Record<string, string>;
}

export interface Manifest {
  name?: string;
  version?: string;
  scripts?: Record<string, unknown>;
  gypfile?: boolean;
  deprecated?: string;
  _npmUser?: { name?: string; email?: string };
  dist?: { tarball?: string; integrity?: string; shasum?: string; attestations?: { url?: string; provenance?: { predicateType?: string } } };
}

const pacote = lazy<Pacote>(() => require('pacote'));

/** `name@version` (or `@scope/name@version`; the version may be a dist-tag). */
export function parseSpec(spec: string): { name: string; version: string } {
  const at = spec.lastIndexOf('@');
  const name = at > 0 ? spec.slice(0, at) : spec;
  const version = at > 0 ? spec.slice(at + 1) : '';
  if (!/^(?:@[a-z0-9][\w.~-]*\/)?[a-z0-9_~.-][\w.~-]*$/i.test(name) || name.startsWith('.')) {
    throw new GuardError('bad-usage', `"${spec}" is not a package name followed by @<version>`, {
      remedy: 'for example: safe-install inspect left-pad@1.3.0, or @scope/name@2.0.1',
    });
  }
  if (!version) {
    throw new GuardError('bad-usage', `give the version to inspect: ${name}@<version>`, {
      remedy: `for example: safe-install inspect ${name}@1.2.3 (the held version that check names)`,
    });
  }
  return { name, version };
}

export interface FetchContext {
  name: string;
  /** The registry the package comes from (its scope's, else the default), with a trailing slash. */
  registry: string;
  /** Options passed to pacote: the user's npm settings with our overrides. */
  options: Record<string, unknown>;
  /** Temporary folder holding the unpacked trees (and pacote's cache unless a cache dir was given). */
  tmp: string;
  /** npm's settings, for the bounded packument request. */
  settings: NpmSettings;
  /** The most bytes of the packument read (--max-body-size). */
  maxBytes: number;
  /** How much of a tarball is downloaded and unpacked, at most (--max-size, --max-files). */
  limits: UnpackLimits;
  /** Remove the temporary folder. Safe to call twice. */
  cleanup(): Promise<void>;
}

/** Load npm settings for `cwd`, pick the package's registry, and make a temporary folder. */
export async function createFetchContext(name: string, opts: { cwd: string; registry?: string; cacheDir?: string; maxBodyBytes?: number; limits?: Partial<UnpackLimits> }): Promise<FetchContext> {
  const settings = await loadNpmSettings(opts.cwd, { registry: opts.registry });
  const registry = registryFor(name, settings);
  const tmp = await mkdtemp(join(tmpdir(), 'safe-install-inspect-'));
  const cache = opts.cacheDir ? join(opts.cacheDir, 'inspect-cacache') : join(tmp, 'cacache');
  await mkdir(cache, { recursive: true });
  const options: Record<string, unknown> = {
    ...settings.flat,
    registry,
    cache,
    // Never run anything from the package (pacote runs no scripts for registry tarballs; make sure).
    ignoreScripts: true,
    // The version under review is usually a young one that min-release-age/before would hide: ask for it.
    before: null,
    fullMetadata: true,
    preferOnline: true,
    // Signatures and provenance are the check's job (`safe-install check`); here they are only reported.
    verifySignatures: false,
    verifyAttestations: false,
    // One packument request per run, shared by packument() and every extract().
    packumentCache: new Map(),
  };
  let cleaned = false;
  return {
    name,
    registry,
    options,
    tmp,
    settings,
    maxBytes: opts.maxBodyBytes ?? DEFAULT_MAX_BODY,
    limits: { ...DEFAULT_UNPACK_LIMITS, ...(opts.limits ?? {}) },
    cleanup: async () => {
      if (cleaned) return;
      cleaned = true;
      // pacote tees a tarball into its cache in the background; a download that inspect stopped early (a limit)
      // leaves that write to fail once the folder is gone. That rejection is about our own temporary folder, not
      // the package: drop it, and pass every other one on as uncaught.
      process.on('unhandledRejection', (reason) => {
        const path = (reason as { path?: unknown; dest?: unknown } | undefined)?.path ?? (reason as { dest?: unknown } | undefined)?.dest;
        if (typeof path === 'string' && path.startsWith(tmp)) return;
        throw reason;
      });
      await rm(tmp, { recursive: true, force: true, maxRetries: 3 });
    },
  };
}

/** The full packument of the context's package. Errors become GuardErrors with a remedy. */
export async function fetchPackument(ctx: FetchContext): Promise<Packument> {
  let doc: Packument;
  try {
    // Read here, bounded in size (pacote would buffer any body whole), then handed to pacote through its
    // packument cache, under the key its registry fetcher uses: extract() finds it there and asks no more.
    const url = new (pacote().RegistryFetcher)(ctx.name, ctx.options).packumentUrl;
    const fetched = await fetchBoundedJson(ctx.settings, url, ctx.name, { maxBodyBytes: ctx.maxBytes });
    if (fetched === null) throw Object.assign(new Error('404'), { statusCode: 404 });
    (ctx.options.packumentCache as Map<string, unknown>).set(`full:${url}`, fetched);
    doc = await pacote().packument(ctx.name, ctx.options);
    if (doc !== fetched) throw new Error('the packument was fetched twice');
  } catch (err) {
    throw toGuardError(err, `package ${ctx.name}`, ctx);
  }
  if (!doc || typeof doc !== 'object' || !doc.versions || typeof doc.versions !== 'object' || Array.isArray(doc.versions)) {
    throw new GuardError('registry-malformed', `malformed metadata for ${ctx.name} from ${redact(ctx.registry)}: no "versions" object`, {
      pkg: ctx.name,
      remedy: 'the registry or a proxy in between sent a broken answer; try again, or check the registry',
    });
  }
  return doc;
}

/** An exact version of the packument for `wanted` (an exact version or a dist-tag); GuardError if none. */
export function resolveVersion(packument: Packument, name: string, wanted: string, what = 'version', registry?: string): string {
  const versions = packument.versions ?? {};
  if (Object.hasOwn(versions, wanted)) return wanted;
  const tagged = packument['dist-tags']?.[wanted];
  if (tagged && Object.hasOwn(versions, tagged)) return tagged;
  const latest = packument['dist-tags']?.latest;
  const recent = Object.keys(versions)
    .filter((v) => semver.valid(v))
    .sort(semver.rcompare)
    .slice(0, 5);
  const isRange = !semver.valid(wanted) && semver.validRange(wanted) !== null;
  throw new GuardError(
    'bad-usage',
    isRange ? `"${wanted}" is a range; inspect needs an exact ${what} of ${name}` : `${name}@${wanted} is not published${registry ? ` on ${redact(registry)}` : ''} (no such version or dist-tag)`,
    {
      pkg: name,
      remedy: `published versions include ${recent.join(', ') || '(none)'}${latest ? `; latest is ${latest}` : ''}`,
    },
  );
}

/** What the packument says about one version. */
export function versionMeta(packument: Packument, version: string): VersionMeta {
  const m = packument.versions?.[version] ?? {};
  const meta: VersionMeta = { version, provenance: Boolean(m.dist?.attestations) };
  const time = publishTime(packument.time?.[version]);
  if (time !== undefined) meta.publishedAt = time;
  if (typeof m._npmUser?.name === 'string') meta.publisher = m._npmUser.name;
  const predicate = m.dist?.attestations?.provenance?.predicateType;
  if (typeof predicate === 'string') meta.provenancePredicate = predicate;
  if (typeof m.dist?.integrity === 'string') meta.integrity = m.dist.integrity;
  if (typeof m.dist?.tarball === 'string') meta.tarball = m.dist.tarball;
  if (typeof m.deprecated === 'string') meta.deprecated = m.deprecated;
  const scripts: Partial<Record<InstallEvent, string>> = {};
  const raw = m.scripts && typeof m.scripts === 'object' ? m.scripts : {};
  for (const e of ['preinstall', 'install', 'postinstall'] as const) if (typeof raw[e] === 'string' && raw[e]) scripts[e] = raw[e] as string;
  if (m.gypfile === true && !scripts.install && !scripts.preinstall) scripts.install = 'node-gyp rebuild';
  meta.manifestInstallScripts = scripts;
  return meta;
}

export interface LockedVersions {
  /** Registry versions of the package in the lockfile, with the lockfile's integrity. */
  versions: { version: string; integrity?: string }[];
  /** The lockfile's path, when one was read. */
  lockfile?: string;
  /** Why the lockfile could not be used (absent when there is none, which is fine). */
  note?: string;
}

/** The versions of `name` the project at `cwd` locks; no lockfile is not an error (inspect works anywhere). */
export function lockedVersions(cwd: string, name: string): LockedVersions {
  try {
    const tree = readLockfile(cwd);
    const versions = tree.packages.filter((p) => p.source === 'registry' && p.name === name).map((p) => ({ version: p.version, ...(p.integrity ? { integrity: p.integrity } : {}) }));
    return { versions, lockfile: tree.lockfilePath };
  } catch (err) {
    if ((err as { code?: string }).code === 'no-lockfile') return { versions: [] };
    return { versions: [], note: `the lockfile was not used to pick the comparison version: ${redact((err as Error).message)}` };
  }
}

export interface BaseChoice {
  version: string;
  reason: BaseReason;
  detail: string;
  /** The lockfile's integrity for it (checked on download as well as the registry's). */
  integrity?: string;
}

/**
 * The version to compare `target` with: `against` when given; else the locked version (when it differs:
 * the highest locked one below the target, else the lowest above); else the previous release: the highest
 * lower version (stable ones first for a stable target) among the versions published before it, else the
 * newest one published before it; without publish times, the next lower version. null: nothing to compare with.
 */
export function chooseBase(
  packument: Packument,
  name: string,
  target: string,
  opts: { against?: string; locked?: LockedVersions; registry?: string } = {},
): { choice: BaseChoice | null; notes: string[] } {
  const notes: string[] = [];
  const versions = Object.keys(packument.versions ?? {});
  if (opts.against !== undefined) {
    const v = resolveVersion(packument, name, opts.against, 'version to compare with', opts.registry);
    if (v === target) {
      throw new GuardError('bad-usage', `--against ${opts.against} is ${target}, the version under review`, { remedy: 'name another version to compare with' });
    }
    return { choice: { version: v, reason: 'against', detail: v === opts.against ? '--against' : `--against ${opts.against}` }, notes };
  }

  const locked = opts.locked;
  if (locked?.note) notes.push(locked.note);
  const lockedOthers = (locked?.versions ?? []).filter((l) => l.version !== target);
  const usable = lockedOthers.filter((l) => Object.hasOwn(packument.versions ?? {}, l.version));
  for (const l of lockedOthers) if (!usable.includes(l)) notes.push(`${name}@${l.version} is locked but not published on the registry`);
  if (usable.length) {
    const valid = usable.filter((l) => semver.valid(l.version));
    const below = valid.filter((l) => semver.valid(target) && semver.lt(l.version, target)).sort((a, b) => semver.rcompare(a.version, b.version));
    const above = valid.filter((l) => !below.includes(l)).sort((a, b) => semver.compare(a.version, b.version));
    const pick = below[0] ?? above[0] ?? usable[0]!;
    const file = locked?.lockfile ? locked.lockfile.split(/[\\/]/).pop() : 'the lockfile';
    return {
      choice: { version: pick.version, reason: 'lockfile', detail: `locked in ${file}`, ...(pick.integrity ? { integrity: pick.integrity } : {}) },
      notes,
    };
  }

  const time: Record<string, string | undefined> = Object.fromEntries(Object.entries(packument.time ?? {}).map(([v, t]) => [v, publishTime(t)]));
  const others = versions.filter((v) => v !== target);
  const t = Date.parse(time[target] ?? '');
  if (!Number.isNaN(t)) {
    // Versions that existed when the target was published. Among them, the release it follows is the highest
    // lower version (stable ones first for a stable target): publish order alone would pick a backport to an
    // older line (1.5.1 published after 2.0.0) or, on a mirror, whatever was replicated last.
    const before = others.filter((v) => !Number.isNaN(Date.parse(time[v] ?? '')) && Date.parse(time[v]!) < t);
    const stableTarget = semver.valid(target) && !semver.prerelease(target);
    const lower = semver.valid(target) ? before.filter((v) => semver.valid(v) && semver.lt(v, target)).sort(semver.rcompare) : [];
    const newest = [...before].sort((a, b) => Date.parse(time[b]!) - Date.parse(time[a]!));
    const pools = [lower.filter((v) => !stableTarget || !semver.prerelease(v)), lower, newest];
    for (const pool of pools) {
      if (pool.length) return { choice: { version: pool[0]!, reason: 'previous', detail: 'previous release' }, notes };
    }
    if (others.length) notes.push(`nothing was published before ${target}: it is compared with nothing`);
    return { choice: null, notes };
  }
  const lowerVersions = others.filter((v) => semver.valid(v) && semver.valid(target) && semver.lt(v, target)).sort(semver.rcompare);
  if (lowerVersions.length) {
    notes.push(`the registry gives no publish time for ${target}: compared with the next lower version`);
    return { choice: { version: lowerVersions[0]!, reason: 'previous', detail: 'next lower version (no publish times)' }, notes };
  }
  return { choice: null, notes };
}

/**
 * Download `name@version` and unpack it into `<tmp>/<label>` (checked against the registry's integrity,
 * and `integrity` too when given), within the context's limits (src/inspect/unpack.ts).
 */
export async function extractVersion(ctx: FetchContext, version: string, label: string, integrity?: string): Promise<Unpacked> {
  const dest = join(ctx.tmp, label);
  await mkdir(dest, { recursive: true });
  const id = `${ctx.name}@${version}`;
  try {
    return await pacote().tarball.stream(id, (stream) => unpackBounded(stream, dest, id, ctx.limits), { ...ctx.options, ...(integrity ? { integrity } : {}) });
  } catch (err) {
    throw toGuardError(err, `the tarball of ${id}`, ctx);
  }
}

function toGuardError(err: unknown, what: string, ctx: FetchContext): GuardError {
  if (err instanceof GuardError) return err;
  const e = err as { code?: string; type?: string; statusCode?: number; message?: string };
  const where = `${what} from ${redact(ctx.registry)}`;
  const msg = redact(e.message ?? String(err));
  if (e.code === 'EINTEGRITY') {
    return new GuardError('registry-error', `integrity mismatch downloading ${where}: ${msg}`, {
      pkg: ctx.name,
      remedy: 'the tarball is not the one the registry (or the lockfile) names; do not trust this version, and check the registry or a proxy in between',
    });
  }
  if (e.statusCode === 404 || e.code === 'E404') {
    return new GuardError('registry-error', `${what} was not found on ${redact(ctx.registry)} (404)`, {
      pkg: ctx.name,
      remedy: `check the name; for a private package, check the auth token for ${redact(ctx.registry)} in your .npmrc (or pass --registry)`,
    });
  }
  if (e.statusCode === 401 || e.statusCode === 403) {
    return new GuardError('registry-error', `the registry answered ${e.statusCode} for ${where}`, {
      pkg: ctx.name,
      remedy: 'check the auth token for this registry in your .npmrc',
    });
  }
  if (e.type === 'request-timeout' || e.code === 'ETIMEDOUT' || e.code === 'ERR_SOCKET_TIMEOUT' || /timed? ?out/i.test(msg)) {
    return new GuardError('registry-timeout', `timed out fetching ${where}`, { pkg: ctx.name, remedy: 'the registry is slow or unreachable; retry later' });
  }
  if (['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH'].includes(e.code ?? '')) {
    return new GuardError('registry-unreachable', `could not reach the registry for ${where} (${e.code})`, {
      pkg: ctx.name,
      remedy: 'check the network, proxy and registry settings (npm config get registry)',
    });
  }
  if (typeof e.statusCode === 'number') {
    return new GuardError('registry-error', `the registry answered ${e.statusCode} for ${where}`, { pkg: ctx.name, remedy: 'retry later, or check the registry' });
  }
  if (e.code === 'EJSONPARSE' || err instanceof SyntaxError || e.type === 'invalid-json') {
    return new GuardError('registry-malformed', `malformed answer for ${where}: ${msg}`, {
      pkg: ctx.name,
      remedy: 'the registry or a proxy in between sent a broken answer; try again, or check the registry',
    });
  }
  if (/^TAR_|^Z_|ENOSPC|EACCES|EPERM/.test(e.code ?? '')) {
    return new GuardError('registry-error', `could not unpack ${where}: ${msg}`, { pkg: ctx.name, remedy: 'a broken tarball, or no room in the temporary folder; retry' });
  }
  return new GuardError('registry-error', `could not fetch ${where}: ${msg}`, { pkg: ctx.name, remedy: 'retry; if it persists, check the registry and network settings' });
}
