// `safe-install advisories update`: download OSV's npm export (one zip of every npm record: the OpenSSF
// malicious-packages MAL records and GitHub's GHSA records) and index it into the cache, so that the advisories
// check reads it offline (src/advisories/db.ts).
//
// The download goes through the project's HTTP transport (npm's proxy and TLS settings, no npm credential: the
// advisory host is not a registry), bounded in bytes (after decompression) and in idle time. The new database is
// built in a temporary folder next to the old one and put in place by replacing the one-line `current` file
// atomically: a reader sees the old database or the new one, never a mix, and a failed or interrupted update
// (Ctrl-C) leaves the old one in use. Two updates at once wait for each other (a lock).
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, rmSync } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Transport } from '../registry/http.js';
import { writeFileAtomic } from '../util/atomic.js';
import { withLocks } from '../util/lock.js';
import { formatBytes } from '../util/size.js';
import { AdvisoryDbError, advisoriesCacheDir, buildIndexFromZip, buildSuffix, CURRENT, currentBuild, DEFAULT_LIMITS, type BuildProgress, type DbLimits, type DbMeta } from './db.js';

/** OSV's export of every npm record (https://google.github.io/osv.dev/data/#data-dumps). */
export const OSV_NPM_EXPORT = 'https://osv-vulnerabilities.storage.googleapis.com/npm/all.zip';
/** The most bytes downloaded (the export is ~100 MB compressed today); the index build reads it whole. */
export const DEFAULT_MAX_DOWNLOAD = DEFAULT_LIMITS.maxZipBytes;

export type UpdateProgress = { phase: 'download'; bytes: number; total?: number } | ({ phase: 'index' } & BuildProgress);

export interface UpdateOptions {
  cacheDir: string;
  /** An http(s) URL, a file: URL or a local path (default OSV_NPM_EXPORT). */
  from?: string;
  /** Needed for an http(s) source. */
  transport?: Transport;
  maxDownloadBytes?: number;
  limits?: DbLimits;
  onProgress?: (p: UpdateProgress) => void;
  /** How long to wait for another update's lock. */
  lockWaitMs?: number;
}

export interface UpdateResult {
  /** The cache folder (`<cacheDir>/advisories/v1`). */
  dir: string;
  meta: DbMeta;
  /** Bytes of the zip. */
  bytes: number;
}

/** Temporary build folders of this process, removed at exit (an interrupt: process.exit runs 'exit' handlers). */
const building = new Set<string>();
let exitHook = false;

function track(dir: string): void {
  building.add(dir);
  if (exitHook) return;
  exitHook = true;
  process.on('exit', () => {
    for (const d of building) rmSync(d, { recursive: true, force: true });
  });
}

/** A local source: a file: URL or a path (anything that is not an http(s) URL). */
function localSource(from: string): string | undefined {
  if (/^https?:\/\//i.test(from)) return undefined;
  if (/^file:/i.test(from)) return fileURLToPath(from);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(from)) throw new AdvisoryDbError(`--from ${from}: only http(s) URLs, file: URLs and paths are read`);
  return resolve(from);
}

async function download(from: string, file: string, opts: UpdateOptions): Promise<{ sha256: string; bytes: number }> {
  const max = opts.maxDownloadBytes ?? DEFAULT_MAX_DOWNLOAD;
  const hash = createHash('sha256');
  let bytes = 0;
  let body: AsyncIterable<Buffer> & { destroy?: () => void };
  let total: number | undefined;
  const local = localSource(from);
  if (local) {
    const st = await stat(local).catch(() => undefined);
    if (!st?.isFile()) throw new AdvisoryDbError(`--from ${local}: no such file`);
    total = st.size;
    body = createReadStream(local);
  } else {
    if (!opts.transport) throw new Error('an http(s) source needs a transport');
    const origin = new URL(from).origin;
    let res: Awaited<ReturnType<Transport['get']>>;
    try {
      res = await opts.transport.get(from, { registry: `${origin}/`, headers: { accept: 'application/zip, application/octet-stream;q=0.9, */*;q=0.1' } });
    } catch (err) {
      throw new AdvisoryDbError(`could not download ${from}: ${(err as Error).message}`);
    }
    if (!res) throw new AdvisoryDbError(`could not download ${from}: not found (404)`);
    const length = Number(res.header('content-length'));
    // A gzip-encoded answer's length is the compressed one: no total then.
    if (Number.isSafeInteger(length) && length > 0 && !res.header('content-encoding')) total = length;
    if (total !== undefined && total > max) {
      res.discard();
      throw new AdvisoryDbError(`${from} is ${formatBytes(total)}, more than --max-size ${formatBytes(max)}: not downloaded`);
    }
    body = res.body;
  }
  const out = createWriteStream(file, { flags: 'wx' });
  const closed = new Promise<void>((res, rej) => {
    out.on('error', rej);
    out.on('close', res);
  });
  closed.catch(() => {});
  try {
    for await (const chunk of body) {
      bytes += chunk.length;
      if (bytes > max) throw new AdvisoryDbError(`${from} is larger than --max-size ${formatBytes(max)}: download stopped`);
      hash.update(chunk);
      if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
      opts.onProgress?.({ phase: 'download', bytes, total });
    }
  } catch (err) {
    (body as { on?: (e: string, f: () => void) => void }).on?.('error', () => {});
    body.destroy?.();
    out.destroy();
    throw err instanceof AdvisoryDbError ? err : new AdvisoryDbError(`the download of ${from} failed after ${formatBytes(bytes)}: ${(err as Error).message}`);
  }
  out.end();
  await closed;
  if (total !== undefined && local === undefined && bytes !== total) {
    throw new AdvisoryDbError(`the download of ${from} ended after ${formatBytes(bytes)} of ${formatBytes(total)}`);
  }
  return { sha256: hash.digest('hex'), bytes };
}

/** Folders of the cache that are not the current build: older builds, and temporary ones of dead updates. */
async function tidy(base: string, keep: string | undefined): Promise<void> {
  for (const name of await readdir(base).catch(() => [] as string[])) {
    if (name === keep || !(name.startsWith('db-') || name.startsWith('tmp-'))) continue;
    // Under the lock no other update is building: every tmp- folder is a dead one's.
    await rm(join(base, name), { recursive: true, force: true }).catch(() => {});
  }
}

/** Download `from`, index it, and make it the cache's database. */
export async function updateAdvisoryDb(opts: UpdateOptions): Promise<UpdateResult> {
  const from = opts.from ?? OSV_NPM_EXPORT;
  const base = advisoriesCacheDir(opts.cacheDir);
  await mkdir(base, { recursive: true });
  return withLocks(
    [join(base, 'update.lock')],
    async () => {
      await tidy(base, await currentBuild(base).catch(() => undefined));
      const suffix = buildSuffix();
      const tmp = join(base, `tmp-${suffix}`);
      track(tmp);
      try {
        await mkdir(tmp);
        const zip = join(tmp, 'all.zip');
        const downloadedAt = new Date().toISOString();
        const { sha256, bytes } = await download(from, zip, opts);
        const built = join(tmp, 'db');
        await mkdir(built);
        const meta = await buildIndexFromZip(
          zip,
          built,
          { source: from, downloadedAt, sha256 },
          {
            limits: opts.limits ?? DEFAULT_LIMITS,
            onProgress: (p) => opts.onProgress?.({ phase: 'index', ...p }),
          },
        );
        if (meta.records === 0) throw new AdvisoryDbError(`${from} holds no OSV record of an npm package: the database was not replaced`);
        const name = `db-${suffix}`;
        await rename(built, join(base, name));
        await writeFileAtomic(join(base, CURRENT), `${name}\n`);
        await tidy(base, name);
        return { dir: base, meta, bytes };
      } finally {
        await rm(tmp, { recursive: true, force: true }).catch(() => {});
        building.delete(tmp);
      }
    },
    { waitMs: opts.lockWaitMs ?? 10 * 60_000, what: `the advisory database in ${base}` },
  );
}
