// The Sigstore trusted root (Fulcio CAs, Rekor and CT log keys, TSAs) that attestation checks trust.
// A copy ships with the tool so verification works offline; `refreshTrustedRoot` updates a cached copy over TUF,
// together with the npm registry keys published in the same TUF repository (npm-keys.ts).
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { writeFileAtomic } from '../util/atomic.js';
import { toolDir } from '../util/tool-dir.js';
import { NPM_KEYS_TARGET, cachedNpmKeysPath, parseNpmKeysTarget } from './npm-keys.js';

const TRUST_DIR = 'trust';
const ROOT_FILE = 'trusted_root.json';
const DEFAULT_REFRESH_TIMEOUT_MS = 15_000;

export interface LoadedTrustedRoot {
  root: unknown;
  /** Absolute path of the file the root was read from. */
  source: string;
}

/** trust/trusted_root.json in the tool's own folder (the one holding its package.json). */
export function shippedTrustedRootPath(): string {
  return path.join(toolDir(), TRUST_DIR, ROOT_FILE);
}

/** Where `refreshTrustedRoot` writes, and `loadTrustedRoot` looks first. */
export function cachedTrustedRootPath(cacheDir: string): string {
  return path.join(cacheDir, TRUST_DIR, ROOT_FILE);
}

let shipped: LoadedTrustedRoot | undefined;

/** The refreshed root in cacheDir if there is a usable one, else the shipped root. */
export function loadTrustedRoot(cacheDir?: string): LoadedTrustedRoot {
  if (cacheDir !== undefined) {
    const file = cachedTrustedRootPath(cacheDir);
    const cached = readRoot(file);
    if (cached !== undefined) return { root: cached, source: file };
  }
  // Memoised so callers that pass nothing share one object (the verifier caches parsed trust material per object).
  if (!shipped) {
    const file = shippedTrustedRootPath();
    const root = readRoot(file);
    if (root === undefined) throw new Error(`the shipped Sigstore trusted root ${file} is missing or unusable`);
    shipped = { root, source: file };
  }
  return shipped;
}

/** The parsed JSON of a usable trusted root file; undefined when it is missing, not JSON, or lists no logs or CAs. */
function readRoot(file: string): unknown {
  try {
    const json: unknown = JSON.parse(readFileSync(file, 'utf8'));
    return unusableReason(json) === undefined ? json : undefined;
  } catch {
    return undefined;
  }
}

function unusableReason(json: unknown): string | undefined {
  let root: TrustedRoot;
  try {
    root = TrustedRoot.fromJSON(json);
  } catch (err) {
    return `it does not parse (${reason(err)})`;
  }
  if (root.tlogs.length === 0 || root.certificateAuthorities.length === 0) return 'it lists no transparency logs or certificate authorities';
  return undefined;
}

export interface RefreshOptions {
  /** TUF repository; default https://tuf-repo-cdn.sigstore.dev. */
  mirrorURL?: string;
  /** Deadline for the whole refresh; default 15 s. */
  timeoutMs?: number;
}

/**
 * Fetches trusted_root.json and the npm registry keys (`registry.npmjs.org/keys.json`) over TUF, checks both, and
 * only then writes each atomically to cacheDir/trust/ (trusted_root.json, npm-keys.json): a failure writes neither.
 */
export async function refreshTrustedRoot(cacheDir: string, opts: RefreshOptions = {}): Promise<{ path: string; npmKeysPath: string }> {
  // Loaded only here: TUF and its HTTP stack are not needed to verify offline.
  const tufLib = await import('@sigstore/tuf');
  const mirrorURL = (opts.mirrorURL ?? tufLib.DEFAULT_MIRROR_URL).replace(/\/+$/, '');
  const timeoutMs = opts.timeoutMs ?? DEFAULT_REFRESH_TIMEOUT_MS;
  const trustDir = path.join(cacheDir, TRUST_DIR);
  await mkdir(trustDir, { recursive: true });

  let rootText: string;
  let keysText: string;
  try {
    [rootText, keysText] = await withDeadline(fetchTargets(tufLib, trustDir, mirrorURL, timeoutMs), timeoutMs);
  } catch (err) {
    throw new Error(`could not refresh the Sigstore trusted root and npm registry keys from ${mirrorURL}: ${reason(err)}`, { cause: err });
  }
  assertUsableRoot(rootText, mirrorURL);
  try {
    parseNpmKeysTarget(keysText);
  } catch (err) {
    throw new Error(`the npm registry keys (${NPM_KEYS_TARGET}) served by ${mirrorURL} are unusable: ${reason(err)}`);
  }
  const out = cachedTrustedRootPath(cacheDir);
  const keysOut = cachedNpmKeysPath(cacheDir);
  await writeFileAtomic(keysOut, keysText);
  await writeFileAtomic(out, rootText);
  return { path: out, npmKeysPath: keysOut };
}

type TufLib = typeof import('@sigstore/tuf');

async function fetchTargets(tufLib: TufLib, trustDir: string, mirrorURL: string, timeoutMs: number): Promise<[string, string]> {
  const tuf = await tufLib.initTUF({
    cachePath: path.join(trustDir, 'tuf'),
    mirrorURL,
    rootPath: mirrorURL === tufLib.DEFAULT_MIRROR_URL ? undefined : await publicGoodSeedRoot(trustDir, tufLib.DEFAULT_MIRROR_URL),
    timeout: timeoutMs,
    retry: { retries: 0 },
  });
  return [await tuf.getTarget(ROOT_FILE), await tuf.getTarget(NPM_KEYS_TARGET)];
}

// @sigstore/tuf only has a seed root for its default URL; a mirror of the public-good repository
// shares that root of trust, so seed it with the same root.json (the mirror cannot forge metadata).
async function publicGoodSeedRoot(trustDir: string, publicGoodURL: string): Promise<string> {
  const require = createRequire(import.meta.url);
  const seeds = require('@sigstore/tuf/seeds.json') as Record<string, { 'root.json': string }>;
  const seed = seeds[publicGoodURL]?.['root.json'];
  if (!seed) throw new Error('@sigstore/tuf ships no seed root for the public-good instance');
  const file = path.join(trustDir, 'tuf-seed-root.json');
  await writeFileAtomic(file, Buffer.from(seed, 'base64').toString('utf8'));
  return file;
}

function assertUsableRoot(text: string, mirrorURL: string): void {
  let why: string | undefined;
  try {
    why = unusableReason(JSON.parse(text));
  } catch (err) {
    why = `it is not JSON (${reason(err)})`;
  }
  if (why) throw new Error(`the trusted root served by ${mirrorURL} is unusable: ${why}`);
}

function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

/** The error's message and its causes' (TUF's own errors say "error downloading target" and put the why in `cause`). */
function reason(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const text = e instanceof Error ? e.message : String(e);
    if (text && !parts.some((p) => p.includes(text))) parts.push(text);
    if (!(e instanceof Error)) break;
  }
  return parts.join(': ');
}
