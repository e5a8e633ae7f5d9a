/**
 * Builds real npm package tarballs (gzip'd ustar archives) in memory, with no
 * dependencies beyond node:zlib.
 *
 * Every entry is placed under `package/`, as `npm pack` does. Output is
 * reproducible: entries are sorted, mtime/uid/gid are fixed, and the gzip header
 * carries no timestamp, so the same input always yields the same bytes (and so the
 * same integrity).
 */
import { createGzip, gzipSync } from 'node:zlib';

const BLOCK = 512;
/** 1985-10-26T08:15:00Z, the fixed mtime npm itself uses for packed files. */
export const TARBALL_MTIME = 499162500;

export type TarballFiles = Record<string, string | Buffer>;

function writeString(buf: Buffer, offset: number, length: number, value: string): void {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length > length) throw new Error(`tar header field too long: ${value}`);
  bytes.copy(buf, offset);
}

/** Octal number, zero-padded to length-1 digits, NUL-terminated. */
function writeOctal(buf: Buffer, offset: number, length: number, value: number): void {
  const digits = value.toString(8);
  if (digits.length > length - 1) throw new Error(`tar header number too large: ${value}`);
  writeString(buf, offset, length, digits.padStart(length - 1, '0') + '\0');
}

/**
 * Split a path into ustar (prefix, name), or return null if it does not fit
 * (name <= 100 bytes, prefix <= 155 bytes, split at a '/').
 */
function splitUstarPath(path: string): [prefix: string, name: string] | null {
  if (Buffer.byteLength(path) <= 100) return ['', path];
  for (let i = path.length - 1; i > 0; i--) {
    if (path[i] !== '/') continue;
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100 && name.length > 0) {
      return [prefix, name];
    }
  }
  return null;
}

function header(opts: { path: string; size: number; type: '0' | 'x' | '5' | '2'; mode: number; linkpath?: string }): Buffer {
  const h = Buffer.alloc(BLOCK, 0);
  const split = splitUstarPath(opts.path);
  if (!split) throw new Error(`path does not fit in a ustar header: ${opts.path}`);
  const [prefix, name] = split;
  writeString(h, 0, 100, name);
  writeOctal(h, 100, 8, opts.mode);
  writeOctal(h, 108, 8, 0); // uid
  writeOctal(h, 116, 8, 0); // gid
  writeOctal(h, 124, 12, opts.size);
  writeOctal(h, 136, 12, TARBALL_MTIME);
  h.fill(0x20, 148, 156); // checksum field counts as spaces while summing
  writeString(h, 156, 1, opts.type);
  if (opts.linkpath) writeString(h, 157, 100, opts.linkpath);
  writeString(h, 257, 6, 'ustar\0');
  writeString(h, 263, 2, '00');
  writeString(h, 345, 155, prefix);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += h[i]!;
  // Six octal digits, NUL, space (the traditional layout).
  writeString(h, 148, 8, sum.toString(8).padStart(6, '0') + '\0 ');
  return h;
}

function padding(size: number): Buffer {
  const rem = size % BLOCK;
  return rem === 0 ? Buffer.alloc(0) : Buffer.alloc(BLOCK - rem, 0);
}

/** A PAX extended-header record: "<len> path=<value>\n", where len counts itself. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const len = Buffer.byteLength(body);
  let digits = String(len).length;
  while (String(len + digits).length !== digits) digits++;
  return `${len + digits}${body}`;
}

function normalisePath(path: string): string {
  const p = path
    .replace(/\\/g, '/')
    .replace(/^(\.\/)+/, '')
    .replace(/^package\//, '');
  if (p === '' || p.startsWith('/') || p.split('/').includes('..')) {
    throw new Error(`invalid tarball path: ${path}`);
  }
  return p;
}

/** Builds an uncompressed ustar archive with every file under `package/`. */
export function buildTar(files: TarballFiles): Buffer {
  const chunks: Buffer[] = [];
  const paths = Object.keys(files)
    .map((p) => [normalisePath(p), files[p]!] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const seen = new Set<string>();
  for (const [rel, content] of paths) {
    if (seen.has(rel)) throw new Error(`duplicate tarball path: ${rel}`);
    seen.add(rel);
    const path = `package/${rel}`;
    const data = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
    let headerPath = path;
    if (!splitUstarPath(path)) {
      // Long path: precede with a PAX extended header carrying the full path.
      const pax = Buffer.from(paxRecord('path', path), 'utf8');
      chunks.push(header({ path: 'package/PaxHeader', size: pax.length, type: 'x', mode: 0o644 }));
      chunks.push(pax, padding(pax.length));
      headerPath = `package/${rel.slice(-90).replace(/^[^/]*\//, '')}`;
      if (!splitUstarPath(headerPath)) headerPath = 'package/longname';
    }
    chunks.push(header({ path: headerPath, size: data.length, type: '0', mode: 0o644 }));
    chunks.push(data, padding(data.length));
  }
  chunks.push(Buffer.alloc(BLOCK * 2, 0)); // end-of-archive marker
  return Buffer.concat(chunks);
}

/**
 * Builds a gzip'd npm package tarball. Keys are paths relative to `package/`
 * (a leading `package/` is accepted and stripped). Include a `package.json`
 * yourself; this function does not invent one.
 */
export function buildTarball(files: TarballFiles): Buffer {
  return gzipSync(buildTar(files), { level: 9 });
}

export interface HugeEntry {
  /** Path in the archive, written as given (no `package/` added, no checks: hostile paths welcome). */
  path: string;
  /** The content; or `zeros` bytes of zeros, produced lazily (never held in memory). */
  content?: string | Buffer;
  zeros?: number;
  /** A folder ('5') or a symbolic link ('2', to `linkpath`); default a file. */
  type?: '0' | '5' | '2';
  linkpath?: string;
}

/**
 * A gzip'd tarball with files too large to build in memory: each `zeros` entry is a header claiming its size
 * followed by that many zero bytes, streamed through gzip (level 1, as fast as gzip goes: ~1 s per 2 GB of
 * zeros, ~4.4 MB of output per GB). `trailingZeros`: zero bytes after the end-of-archive marker.
 */
export async function buildHugeTarball(entries: HugeEntry[], opts: { trailingZeros?: number } = {}): Promise<Buffer> {
  const gzip = createGzip({ level: 1 });
  const out: Buffer[] = [];
  gzip.on('data', (c: Buffer) => out.push(c));
  const done = new Promise<void>((res, rej) => {
    gzip.on('end', res);
    gzip.on('error', rej);
  });
  const write = async (chunk: Buffer) => {
    if (!gzip.write(chunk)) await new Promise((r) => gzip.once('drain', r));
  };
  const ZERO = Buffer.alloc(1 << 20, 0);
  const zeros = async (n: number) => {
    for (let left = n; left > 0; left -= ZERO.length) await write(left >= ZERO.length ? ZERO : ZERO.subarray(0, left));
  };
  for (const e of entries) {
    const data = e.content === undefined ? undefined : typeof e.content === 'string' ? Buffer.from(e.content, 'utf8') : e.content;
    const size = data?.length ?? e.zeros ?? 0;
    await write(header({ path: e.path, size, type: e.type ?? '0', mode: e.type === '5' ? 0o755 : 0o644, ...(e.linkpath ? { linkpath: e.linkpath } : {}) }));
    if (data) await write(data);
    else await zeros(size);
    await write(padding(size));
  }
  await write(Buffer.alloc(BLOCK * 2, 0));
  if (opts.trailingZeros) await zeros(opts.trailingZeros);
  gzip.end();
  await done;
  return Buffer.concat(out);
}
