// The offline advisory database: OSV records read from disk, so that a check with a database in use sends no
// advisory request anywhere. Three shapes are read:
//
// - a directory tree of OSV JSON records, such as a clone of the OpenSSF malicious-packages repository
//   (`osv/malicious/npm/<name>/<ID>.json`): folders named `npm` are looked up by path (`npm/<name>/*.json`), so
//   the ~200k records of that repository are never all read; folders named after another OSV ecosystem are
//   skipped, and so are hidden folders (.git, .github) and node_modules; any other `*.json` file is read once when the database is opened and indexed by the names it names;
// - OSV's own zip export for npm (`all.zip`, one `<ID>.json` per entry): indexed once per run into a temporary
//   folder (the same index `advisories update` writes), then read as the cache is; entries are bounded in number
//   and size (a zip bomb stops at the first bound) and their names are never used as paths;
// - the cache that `safe-install advisories update` fills (`<cacheDir>/advisories/v1`): a records file (one
//   record per line), an index of each package's byte ranges in it split into buckets by a hash of the name (a
//   lookup parses only its bucket), and meta.json (source, download time, count, sha256).
//
// recordsFor(name) returns the raw parsed records whose `affected[].package` is (npm, name); the check validates
// them (src/advisories/osv.ts) and matches versions. Every failure is an AdvisoryDbError whose message says what
// failed and what to do.
import { randomBytes } from 'node:crypto';
import { createWriteStream, rmSync, type Stats } from 'node:fs';
import { lstat, mkdtemp, open, readdir, readFile, rm, stat, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { inflateRawSync } from 'node:zlib';
// yauzl is loaded only to read a zip (~15 ms of start-up every check would pay otherwise: the pipeline imports this).
import type yauzl from 'yauzl';
import { formatBytes } from '../util/size.js';

export interface OfflineAdvisoryDb {
  readonly path: string;
  readonly kind: 'directory' | 'zip' | 'cache';
  readonly builtAt?: Date;
  /** Raw parsed OSV JSON records naming that package (the caller validates and matches them). */
  recordsFor(name: string): Promise<unknown[]>;
  close(): Promise<void>;
}

/** An error opening or reading a database; its message is user-facing. */
export class AdvisoryDbError extends Error {}

/** The cache's layout version: a cache of another version is not read (and `advisories update` writes this one). */
export const DB_FORMAT = 'v1';

export interface DbLimits {
  /** Most entries in a zip, or JSON files found in a directory tree outside `npm` folders. */
  maxEntries: number;
  /** Most bytes of one record. */
  maxRecordBytes: number;
  /** Most bytes of all records together (uncompressed). */
  maxTotalBytes: number;
  /** Most folders and files a directory walk visits. */
  maxWalk: number;
  /** Most bytes of a zip (it is read whole into memory). */
  maxZipBytes: number;
}

/** OSV's npm export holds ~220k records (several hundred MB); these bounds leave it room to grow several times. */
export const DEFAULT_LIMITS: DbLimits = {
  maxEntries: 2_000_000,
  maxRecordBytes: 4 << 20,
  maxTotalBytes: 8 * 2 ** 30,
  maxWalk: 1_000_000,
  maxZipBytes: 2 ** 30,
};

/** Folders named after another OSV ecosystem hold no npm record: a directory walk skips them. */
const OTHER_ECOSYSTEMS = new Set([
  'pypi',
  'crates.io',
  'go',
  'maven',
  'nuget',
  'rubygems',
  'packagist',
  'pub',
  'hex',
  'hackage',
  'cran',
  'swifturl',
  'vscode',
  'github actions',
  'opam',
  'conancenter',
  'bitnami',
  'debian',
  'alpine',
  'ubuntu',
  'linux',
  'android',
  'oss-fuzz',
  'julia',
  'gsd',
  'uvi',
  'bioconductor',
  'chainguard',
  'wolfi',
  'rocky linux',
  'almalinux',
  'photon os',
  'red hat',
  'suse',
  'opensuse',
  'mageia',
  'openeuler',
]);
const SKIPPED_DIRS = new Set(['node_modules']);

/** The npm package names a record's `affected` entries name (ecosystem "npm"). */
export function npmNamesOf(record: unknown): string[] {
  if (!record || typeof record !== 'object') return [];
  const affected = (record as { affected?: unknown }).affected;
  if (!Array.isArray(affected)) return [];
  const names = new Set<string>();
  for (const a of affected) {
    const pkg = a && typeof a === 'object' ? (a as { package?: unknown }).package : undefined;
    if (!pkg || typeof pkg !== 'object') continue;
    const { ecosystem, name } = pkg as { ecosystem?: unknown; name?: unknown };
    if (ecosystem === 'npm' && typeof name === 'string' && name.length > 0 && name.length <= 214) names.add(name);
  }
  return [...names];
}

/** A name that can be a path below an `npm` folder: `name` or `@scope/name`, no `.`/`..` segment, no separator. */
function pathSafeName(name: string): string[] | undefined {
  const parts = name.split('/');
  if (parts.length > 2 || (parts.length === 2 && !parts[0]!.startsWith('@'))) return undefined;
  if (parts.some((p) => !p || p === '.' || p === '..' || /[\\\0]/.test(p))) return undefined;
  return parts;
}

/** FNV-1a over the name's UTF-16 units: the index bucket a name is in (the same in the writer and the reader). */
export function bucketOf(name: string, buckets: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % buckets;
}

const parseRecord = (text: string, where: string): unknown => {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new AdvisoryDbError(`${where} is not a JSON record`);
  }
};

async function readRecordFile(file: string, st: Stats | undefined, limits: DbLimits): Promise<unknown> {
  const s = st ?? (await lstat(file));
  if (!s.isFile()) return undefined; // a link or a folder named *.json: not a record
  if (s.size > limits.maxRecordBytes) {
    throw new AdvisoryDbError(`${file} is larger than ${formatBytes(limits.maxRecordBytes)}, more than any OSV record: not read`);
  }
  return parseRecord(await readFile(file, 'utf8'), file);
}

// ---------------------------------------------------------------------------------------------- directory tree

class DirectoryDb implements OfflineAdvisoryDb {
  readonly kind = 'directory';
  constructor(
    readonly path: string,
    readonly builtAt: Date | undefined,
    /** `npm` folders: a name's records are the JSON files in `<root>/<name>/`. */
    private readonly roots: string[],
    /** Records outside `npm` folders, by name. */
    private readonly others: Map<string, unknown[]>,
    private readonly limits: DbLimits,
  ) {}

  async recordsFor(name: string): Promise<unknown[]> {
    const out = [...(this.others.get(name) ?? [])];
    const parts = pathSafeName(name);
    if (!parts) return out;
    for (const root of this.roots) {
      const dir = join(root, ...parts);
      const names = await readdir(dir, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return [];
        throw new AdvisoryDbError(`cannot read ${dir}: ${err.message}`);
      });
      for (const d of names) {
        if (!d.isFile() || !d.name.endsWith('.json')) continue;
        const record = await readRecordFile(join(dir, d.name), undefined, this.limits).catch((err: unknown) => {
          throw err instanceof AdvisoryDbError ? err : new AdvisoryDbError(`cannot read ${join(dir, d.name)}: ${(err as Error).message}`);
        });
        if (npmNamesOf(record).includes(name)) out.push(record);
      }
    }
    return out;
  }

  async close(): Promise<void> {}
}

async function openDirectory(path: string, limits: DbLimits): Promise<DirectoryDb> {
  const roots: string[] = [];
  const others = new Map<string, unknown[]>();
  let newest = 0;
  let visited = 0;
  let files = 0;
  let bytes = 0;
  const queue: { dir: string; depth: number }[] = [{ dir: path, depth: 0 }];
  if (basename(path) === 'npm') roots.push(path);
  else {
    while (queue.length) {
      const { dir, depth } = queue.shift()!;
      const st = await stat(dir);
      newest = Math.max(newest, st.mtimeMs);
      const entries = await readdir(dir, { withFileTypes: true });
      for (const d of entries) {
        if (++visited > limits.maxWalk) {
          throw new AdvisoryDbError(`${path} holds more than ${limits.maxWalk} files and folders: not an advisory database (or pass its osv/malicious/npm folder)`);
        }
        const full = join(dir, d.name);
        if (d.isDirectory()) {
          if (d.name.startsWith('.') || SKIPPED_DIRS.has(d.name) || OTHER_ECOSYSTEMS.has(d.name.toLowerCase()) || depth >= 16) continue;
          if (d.name === 'npm') {
            roots.push(full);
            newest = Math.max(newest, (await stat(full)).mtimeMs);
          } else queue.push({ dir: full, depth: depth + 1 });
          continue;
        }
        if (!d.isFile() || !d.name.endsWith('.json')) continue;
        const fst = await lstat(full);
        if (++files > limits.maxEntries) throw new AdvisoryDbError(`${path} holds more than ${limits.maxEntries} JSON files outside npm folders: not read`);
        bytes += fst.size;
        if (bytes > limits.maxTotalBytes) throw new AdvisoryDbError(`the JSON files in ${path} are larger than ${formatBytes(limits.maxTotalBytes)} together: not read`);
        newest = Math.max(newest, fst.mtimeMs);
        const record = await readRecordFile(full, fst, limits);
        for (const name of npmNamesOf(record)) {
          const list = others.get(name) ?? [];
          list.push(record);
          others.set(name, list);
        }
      }
    }
  }
  if (!roots.length && !others.size) {
    throw new AdvisoryDbError(`${path} holds no OSV record of an npm package (neither an npm folder as in osv/malicious/npm/<name>/<ID>.json nor JSON records naming npm packages)`);
  }
  return new DirectoryDb(path, newest ? new Date(newest) : undefined, roots, others, limits);
}

// ------------------------------------------------------------------------------------------------ the index

export interface DbMeta {
  format: string;
  /** Where the records came from (a URL, or a file's path). */
  source: string;
  /** When they were downloaded (ISO); a zip opened directly: its file's modification time. */
  downloadedAt: string;
  /** sha256 (hex) of the zip the index was built from. */
  sha256?: string;
  records: number;
  names: number;
  buckets: number;
}

const META = 'meta.json';
const RECORDS = 'records.jsonl';
const INDEX = 'index.jsonl';

function closed(zip: yauzl.ZipFile): void {
  try {
    zip.close();
  } catch {
    // already closed
  }
}

/**
 * The zip read whole into memory, then its entries: yauzl reading a file of ~220k entries costs several async
 * reads and an inflate stream per entry (117 s for a synthetic export of OSV's size); from a buffer, with each
 * entry inflated in one call, 12 s. The zip's size is bounded (maxZipBytes), so memory is too.
 */
async function openZip(path: string, limits: DbLimits): Promise<yauzl.ZipFile> {
  const st = await stat(path);
  if (st.size > limits.maxZipBytes) throw new AdvisoryDbError(`${path} is ${formatBytes(st.size)}, more than ${formatBytes(limits.maxZipBytes)}: not read (OSV's npm export is far smaller)`);
  const buf = await readFile(path);
  const { fromBuffer } = (await import('yauzl')).default;
  return new Promise((res, rej) => {
    fromBuffer(buf, { lazyEntries: true, decodeStrings: true, validateEntrySizes: true, strictFileNames: false }, (err, zip) => {
      if (err || !zip) rej(new AdvisoryDbError(`${path} is not a zip file this can read (${err?.message ?? 'no entries'})`));
      else res(zip);
    });
  });
}

/** One entry's bytes: its compressed data read raw and inflated in one call, never past `max` bytes. */
async function readEntry(zip: yauzl.ZipFile, entry: yauzl.Entry, max: number, where: string): Promise<Buffer> {
  if (entry.compressionMethod !== 0 && entry.compressionMethod !== 8) throw new AdvisoryDbError(`${where} uses compression method ${entry.compressionMethod}, which OSV's export does not: refused`);
  if (entry.compressedSize > max) throw new AdvisoryDbError(`${where} is larger than ${formatBytes(max)}: refused`);
  const stream = await new Promise<Readable>((res, rej) => zip.openReadStream(entry, { decompress: false }, (err, s) => (err || !s ? rej(err ?? new Error('no stream')) : res(s))));
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  } catch (err) {
    stream.destroy();
    throw new AdvisoryDbError(`${where} is damaged: ${(err as Error).message}`);
  }
  const raw = Buffer.concat(chunks);
  let data: Buffer;
  try {
    data = entry.compressionMethod === 0 ? raw : inflateRawSync(raw, { maxOutputLength: max });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError)
      throw new AdvisoryDbError(`${where} unpacks to more than ${formatBytes(max)}: refused (a zip bomb?)`);
    throw new AdvisoryDbError(`${where} is damaged: ${(err as Error).message}`);
  }
  if (data.length !== entry.uncompressedSize) throw new AdvisoryDbError(`${where} unpacks to ${data.length} bytes, not the ${entry.uncompressedSize} its header says: refused`);
  return data;
}

export interface BuildProgress {
  entries: number;
  entryCount: number;
  records: number;
}

/**
 * Index OSV's npm zip export into `outDir` (records.jsonl, index.jsonl, meta.json): one pass over the entries,
 * each read (bounded) and parsed once; only the index (name -> byte ranges) is held in memory.
 */
export async function buildIndexFromZip(
  zipPath: string,
  outDir: string,
  meta: Pick<DbMeta, 'source' | 'downloadedAt' | 'sha256'>,
  opts: { limits?: DbLimits; onProgress?: (p: BuildProgress) => void } = {},
): Promise<DbMeta> {
  const limits = opts.limits ?? DEFAULT_LIMITS;
  const zip = await openZip(zipPath, limits);
  const index = new Map<string, number[]>();
  let records = 0;
  let offset = 0;
  const out = createWriteStream(join(outDir, RECORDS), { flags: 'wx' });
  const outDone = new Promise<void>((res, rej) => {
    out.on('error', rej);
    out.on('close', res);
  });
  outDone.catch(() => {});
  try {
    if (zip.entryCount > limits.maxEntries) {
      throw new AdvisoryDbError(`${zipPath} has ${zip.entryCount} entries, more than ${limits.maxEntries}: refused (not OSV's export, or a zip bomb)`);
    }
    let total = 0;
    let seen = 0;
    await new Promise<void>((res, rej) => {
      const fail = (err: unknown) => {
        closed(zip);
        rej(err instanceof AdvisoryDbError ? err : new AdvisoryDbError(`${zipPath} is damaged or not a zip this can read: ${(err as Error).message}`));
      };
      zip.on('error', fail);
      zip.on('end', () => res());
      zip.on('entry', (entry: yauzl.Entry) => {
        void (async () => {
          seen++;
          const name = entry.fileName;
          if (name.endsWith('/') || !name.endsWith('.json')) return;
          const where = `${basename(zipPath)}: ${basename(name)}`;
          if (entry.uncompressedSize > limits.maxRecordBytes) {
            throw new AdvisoryDbError(`${where} is ${formatBytes(entry.uncompressedSize)} unpacked, more than ${formatBytes(limits.maxRecordBytes)}: refused (not an OSV record, or a zip bomb)`);
          }
          total += entry.uncompressedSize;
          if (total > limits.maxTotalBytes) {
            throw new AdvisoryDbError(`${zipPath} unpacks to more than ${formatBytes(limits.maxTotalBytes)}: refused (a zip bomb?)`);
          }
          const record = parseRecord((await readEntry(zip, entry, limits.maxRecordBytes, where)).toString('utf8'), where);
          const names = npmNamesOf(record);
          if (!names.length) return;
          const line = Buffer.from(JSON.stringify(record) + '\n');
          for (const n of names) {
            const list = index.get(n);
            if (list) list.push(offset, line.length - 1);
            else index.set(n, [offset, line.length - 1]);
          }
          offset += line.length;
          records++;
          if (!out.write(line)) await new Promise<void>((r) => out.once('drain', () => r()));
        })().then(() => {
          if (seen % 500 === 0) opts.onProgress?.({ entries: seen, entryCount: zip.entryCount, records });
          zip.readEntry();
        }, fail);
      });
      zip.readEntry();
    });
    opts.onProgress?.({ entries: seen, entryCount: zip.entryCount, records });
  } catch (err) {
    out.destroy();
    throw err;
  } finally {
    closed(zip);
  }
  out.end();
  await outDone;
  // About 16 names per bucket: a lookup parses under 1 KB (1,000 lookups in a 220k-name index: ~0.1 s).
  let buckets = 64;
  while (buckets < index.size / 16 && buckets < 1 << 20) buckets *= 2;
  const lines: Record<string, number[]>[] = Array.from({ length: buckets }, () => ({}));
  for (const [name, ranges] of index) lines[bucketOf(name, buckets)]![name] = ranges;
  const idx = createWriteStream(join(outDir, INDEX), { flags: 'wx' });
  const idxDone = new Promise<void>((res, rej) => {
    idx.on('error', rej);
    idx.on('close', res);
  });
  for (const l of lines) if (!idx.write(JSON.stringify(l) + '\n')) await new Promise<void>((r) => idx.once('drain', () => r()));
  idx.end();
  await idxDone;
  const full: DbMeta = { format: DB_FORMAT, ...meta, records, names: index.size, buckets };
  const mf = await open(join(outDir, META), 'wx');
  try {
    await mf.writeFile(JSON.stringify(full, null, 2) + '\n');
  } finally {
    await mf.close();
  }
  return full;
}

function readMeta(text: string, dir: string): DbMeta {
  let m: Partial<DbMeta>;
  try {
    m = JSON.parse(text) as Partial<DbMeta>;
  } catch {
    m = {};
  }
  const ok =
    m &&
    m.format === DB_FORMAT &&
    typeof m.source === 'string' &&
    typeof m.downloadedAt === 'string' &&
    !Number.isNaN(Date.parse(m.downloadedAt)) &&
    Number.isSafeInteger(m.records) &&
    Number.isSafeInteger(m.names) &&
    Number.isSafeInteger(m.buckets) &&
    (m.buckets ?? 0) > 0;
  if (!ok) throw new AdvisoryDbError(`${join(dir, META)} is not an advisory database index of format ${DB_FORMAT}: run \`safe-install advisories update\` to rebuild it`);
  return m as DbMeta;
}

/** An index folder (built by `advisories update`, or from a zip for this run). */
class IndexDb implements OfflineAdvisoryDb {
  private readonly parsed = new Map<number, Record<string, unknown>>();

  constructor(
    readonly path: string,
    readonly kind: 'zip' | 'cache',
    readonly builtAt: Date | undefined,
    readonly meta: DbMeta,
    private readonly index: Buffer,
    private readonly starts: number[],
    private readonly records: FileHandle,
    private readonly onClose: () => Promise<void>,
  ) {}

  private bucket(i: number): Record<string, unknown> {
    let b = this.parsed.get(i);
    if (!b) {
      const text = this.index.toString('utf8', this.starts[i], (this.starts[i + 1] ?? this.index.length + 1) - 1);
      const v = parseRecord(text, `${this.path} (index bucket ${i})`);
      if (!v || typeof v !== 'object' || Array.isArray(v)) throw new AdvisoryDbError(`${this.path}: index bucket ${i} is damaged; run \`safe-install advisories update\``);
      b = v as Record<string, unknown>;
      this.parsed.set(i, b);
    }
    return b;
  }

  async recordsFor(name: string): Promise<unknown[]> {
    const b = this.bucket(bucketOf(name, this.meta.buckets));
    if (!Object.hasOwn(b, name)) return [];
    const ranges = b[name];
    const damaged = () => new AdvisoryDbError(`${this.path}: the index entry of ${name} is damaged; run \`safe-install advisories update\``);
    if (!Array.isArray(ranges) || ranges.length % 2 || ranges.length > 20_000) throw damaged();
    const out: unknown[] = [];
    for (let i = 0; i < ranges.length; i += 2) {
      const [at, len] = [ranges[i] as unknown, ranges[i + 1] as unknown];
      if (!Number.isSafeInteger(at) || !Number.isSafeInteger(len) || (len as number) < 0 || (len as number) > DEFAULT_LIMITS.maxRecordBytes) throw damaged();
      const buf = Buffer.alloc(len as number);
      const { bytesRead } = await this.records.read(buf, 0, buf.length, at as number);
      if (bytesRead !== buf.length) throw damaged();
      const record = parseRecord(buf.toString('utf8'), `${this.path}: a record of ${name}`);
      // The index said so; the record must say so too (a damaged index never puts one package's record on another).
      if (npmNamesOf(record).includes(name)) out.push(record);
    }
    return out;
  }

  async close(): Promise<void> {
    await this.records.close().catch(() => {});
    await this.onClose();
  }
}

async function openIndex(dir: string, kind: 'zip' | 'cache', shownPath: string, builtAt?: Date, onClose: () => Promise<void> = async () => {}): Promise<IndexDb> {
  const meta = readMeta(await readFile(join(dir, META), 'utf8'), dir);
  const index = await readFile(join(dir, INDEX));
  const starts = [0];
  for (let i = index.indexOf(10); i !== -1 && i < index.length - 1; i = index.indexOf(10, i + 1)) starts.push(i + 1);
  if (starts.length !== meta.buckets || index[index.length - 1] !== 10) {
    throw new AdvisoryDbError(`${join(dir, INDEX)} is damaged (${starts.length} buckets, ${meta.buckets} expected): run \`safe-install advisories update\` to rebuild it`);
  }
  const records = await open(join(dir, RECORDS), 'r');
  return new IndexDb(shownPath, kind, builtAt ?? new Date(meta.downloadedAt), meta, index, starts, records, onClose);
}

// --------------------------------------------------------------------------------------------------- the cache

/** `<cacheDir>/advisories/v1`: `current` names the build in use (`db-…`), replaced atomically by an update. */
export function advisoriesCacheDir(cacheDir: string): string {
  return join(cacheDir, 'advisories', DB_FORMAT);
}

export const CURRENT = 'current';
const BUILD_NAME = /^db-[A-Za-z0-9._-]+$/;

/** The build `current` names, or undefined when there is none. */
export async function currentBuild(base: string): Promise<string | undefined> {
  const text = await readFile(join(base, CURRENT), 'utf8').catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? undefined : Promise.reject(err)));
  if (text === undefined) return undefined;
  const name = text.trim();
  if (!BUILD_NAME.test(name)) throw new AdvisoryDbError(`${join(base, CURRENT)} is damaged: run \`safe-install advisories update\` to rebuild the database`);
  return name;
}

async function openCacheBase(base: string): Promise<IndexDb | undefined> {
  // An update that replaces the build between reading `current` and opening it: read `current` again.
  for (let attempt = 0; ; attempt++) {
    const name = await currentBuild(base);
    if (!name) return undefined;
    try {
      return await openIndex(join(base, name), 'cache', base);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && attempt < 3) continue;
      throw err;
    }
  }
}

/** The database `advisories update` wrote, when there is one younger than `maxAgeMs` (else undefined). */
export async function openCachedAdvisoryDb(opts: { cacheDir: string; maxAgeMs: number }): Promise<OfflineAdvisoryDb | undefined> {
  const base = advisoriesCacheDir(opts.cacheDir);
  let db: IndexDb | undefined;
  try {
    db = await openCacheBase(base);
  } catch (err) {
    throw asDbError(err, base);
  }
  if (!db) return undefined;
  const at = Date.parse(db.meta.downloadedAt);
  const age = Date.now() - at;
  // Too old, or dated in the future (a clock or a file that cannot be trusted): not used.
  if (age > opts.maxAgeMs || age < -5 * 60_000) {
    await db.close();
    return undefined;
  }
  return db;
}

// ------------------------------------------------------------------------------------------------ opening a path

function asDbError(err: unknown, path: string): AdvisoryDbError {
  if (err instanceof AdvisoryDbError) return err;
  const e = err as NodeJS.ErrnoException;
  const why = e.code === 'ENOENT' ? 'it, or a file in it, does not exist' : e.code === 'EACCES' || e.code === 'EPERM' ? 'permission denied' : (e.message ?? String(err));
  return new AdvisoryDbError(`cannot read the advisory database ${path}: ${why}`);
}

/** Temporary index folders of zips opened in this process, removed at exit if close() was not reached. */
const tempDirs = new Set<string>();
let exitHook = false;

/**
 * A database given by path: a directory tree of OSV records, OSV's zip export, or the cache folder that
 * `advisories update` writes (`<cacheDir>/advisories/v1`, or one build in it).
 */
export async function openAdvisoryDb(path: string, opts: { limits?: DbLimits } = {}): Promise<OfflineAdvisoryDb> {
  const limits = opts.limits ?? DEFAULT_LIMITS;
  const full = resolve(path);
  try {
    const st = await stat(full);
    if (st.isDirectory()) {
      const names = await readdir(full);
      if (names.includes(CURRENT)) {
        const db = await openCacheBase(full);
        if (db) return db;
      }
      if (names.includes(META) && names.includes(INDEX)) return await openIndex(full, 'cache', full);
      return await openDirectory(full, limits);
    }
    if (!st.isFile()) throw new AdvisoryDbError(`${full} is neither a folder of OSV records nor a zip file`);
    const tmp = await mkdtemp(join(tmpdir(), 'safe-install-advisories-'));
    tempDirs.add(tmp);
    if (!exitHook) {
      exitHook = true;
      process.on('exit', () => {
        for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
      });
    }
    const remove = async () => {
      tempDirs.delete(tmp);
      await rm(tmp, { recursive: true, force: true });
    };
    try {
      await buildIndexFromZip(full, tmp, { source: full, downloadedAt: st.mtime.toISOString() }, { limits });
      return await openIndex(tmp, 'zip', full, st.mtime, remove);
    } catch (err) {
      await remove();
      throw err;
    }
  } catch (err) {
    throw asDbError(err, full);
  }
}

/** A random suffix for build and temporary folder names. */
export function buildSuffix(): string {
  return `${Date.now().toString(36)}-${process.pid}-${randomBytes(4).toString('hex')}`;
}
