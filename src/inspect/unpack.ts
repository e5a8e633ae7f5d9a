// Unpacks a package tarball for `safe-install inspect` within fixed bounds, so a hostile tarball cannot fill the
// disk, the memory or the clock: a 10 MB tarball can hold a 2 GB file of zeros (gzip shrinks zeros ~1000 times),
// or a million entries, or gigabytes of padding after the end of the archive.
//
// - The download and the unpacked stream are counted as they arrive; beyond `maxSize` the inspect stops (a
//   `too-large` GuardError), and so does an entry whose declared size would take the total past it, before a
//   byte of it is inflated.
// - A file larger than `maxFileBytes` is not written: it is hashed (and sniffed for binary) as it streams by and
//   reported as too large to diff; nothing reads more than that of one file.
// - At most `maxEntries` entries.
// - Paths: node-tar's own safety (no `..`, no absolute paths, nothing through a symlink) with links dropped as
//   pacote drops them, so nothing is written outside the folder. Data after the end of the archive is read
//   (the integrity covers it) but never buffered.
// Decompression is ours (zlib), so every inflated byte is counted.
import { createHash } from 'node:crypto';
import type { Stats } from 'node:fs';
import { posix } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { Unpack, type ReadEntry } from 'tar';
import { classifyError, GuardError } from '../errors.js';
import { formatBytes } from '../util/size.js';

export interface UnpackLimits {
  /** The download, and the whole unpacked archive, at most this many bytes. */
  maxSize: number;
  /** A file larger than this is not written (hashed only; reported as too large to diff). */
  maxFileBytes: number;
  /** At most this many entries (files, folders, links). */
  maxEntries: number;
}

export const DEFAULT_UNPACK_LIMITS: UnpackLimits = {
  maxSize: 512 * 2 ** 20,
  maxFileBytes: 16 * 2 ** 20,
  maxEntries: 100_000,
};

/** A file that was not unpacked because of its size: what the comparison needs of it. */
export interface NotUnpacked {
  size: number;
  hash: string;
  binary: boolean;
}

export interface Unpacked {
  dir: string;
  /** Files over maxFileBytes, by their path in the package (`/`-separated). */
  notUnpacked: Map<string, NotUnpacked>;
  /** What the reviewer should know about the unpacking (links dropped, unsafe paths skipped). */
  notes: string[];
}

/**
 * Unpack the (integrity-checked, by pacote) tarball `stream` of `id` into `dest` within `limits`.
 * Rejects with a GuardError (`too-large`, or the fs failure) and leaves cleaning `dest` to the caller.
 */
export async function unpackBounded(stream: AsyncIterable<Buffer>, dest: string, id: string, limits: UnpackLimits): Promise<Unpacked> {
  const notUnpacked = new Map<string, NotUnpacked>();
  const notes: string[] = [];
  const links: string[] = [];
  const unsafe: string[] = [];
  let failure: Error | undefined;
  let entries = 0;
  let declared = 0;
  const sawIgnores = new Set<string>();
  const hashOnly = new WeakMap<ReadEntry, string>();

  const tooLarge = (what: string) =>
    new GuardError('too-large', `${id}: ${what}; inspect stopped (nothing more was downloaded or unpacked)`, {
      pkg: id,
      remedy:
        'a package this large is unusual in itself: npm would write all of it into node_modules. Review it by other means, ' +
        `or, if you expect it, run again with a higher --max-size (now ${formatBytes(limits.maxSize)})${what.includes('entries') ? ' or --max-files' : ''}`,
    });

  const unpack = new Unpack({
    cwd: dest,
    strip: 1,
    noMtime: true,
    preserveOwner: false,
    transform: (entry: ReadEntry) => {
      const rel = hashOnly.get(entry);
      // tar documents a stream here (its data is written instead of the entry's); its type names ReadEntry only.
      return rel === undefined ? undefined : (hashingSink((info) => notUnpacked.set(rel, info)) as unknown as ReadEntry);
    },
    filter: (name: string, e: ReadEntry | Stats) => {
      const entry = e as ReadEntry; // an Unpack filters archive entries (Stats are for creating archives)
      if (failure) return false;
      if (++entries > limits.maxEntries) {
        fail(tooLarge(`the tarball has more than ${limits.maxEntries} entries`));
        return false;
      }
      const size = entry.size ?? 0;
      declared += size;
      if (declared > limits.maxSize) {
        fail(
          tooLarge(
            size > limits.maxSize
              ? `the tarball holds ${name} of ${formatBytes(size)}, more than the ${formatBytes(limits.maxSize)} limit`
              : `the tarball unpacks to more than ${formatBytes(limits.maxSize)} (at ${name})`,
          ),
        );
        return false;
      }
      // Links are dropped, as pacote drops them when npm installs.
      if (/Link$/.test(entry.type)) {
        links.push(name);
        return false;
      }
      const rel = packagePath(name);
      if (rel === undefined || (rel === '' && entry.type !== 'Directory')) {
        unsafe.push(name);
        return false;
      }
      if (/File$/.test(entry.type)) {
        // As npm installs it: a .gitignore becomes .npmignore unless there is one.
        const base = posix.basename(entry.path);
        if (base === '.npmignore') sawIgnores.add(entry.path);
        else if (base === '.gitignore') {
          const ni = entry.path.replace(/\.gitignore$/, '.npmignore');
          if (sawIgnores.has(ni)) return false;
          entry.path = ni;
        }
        // Readable by us whatever the tarball says; never executable.
        entry.mode = ((entry.mode ?? 0o644) | 0o600) & 0o666;
        // Too large to keep: written empty, its bytes only hashed on the way (transform below).
        if (size > limits.maxFileBytes) hashOnly.set(entry, packagePath(entry.path) ?? rel);
        return true;
      }
      if (entry.type === 'Directory') entry.mode = ((entry.mode ?? 0o755) | 0o700) & 0o777;
      return true;
    },
    onwarn: (code: string, message: string | Error, data?: { code?: string; entry?: { path?: string } }) => {
      const err = message instanceof Error ? message : undefined;
      const fsCode = data?.code ?? (err as NodeJS.ErrnoException | undefined)?.code;
      // Writing failed (no space, read-only...): the tree would be incomplete, so the inspect fails.
      if (code === 'TAR_ENTRY_ERROR' && fsCode && /^E[A-Z]+$/.test(fsCode)) {
        fail(classifyError(err ?? Object.assign(new Error(String(message)), { code: fsCode })) ?? new GuardError('registry-error', `could not unpack ${id}: ${String(message)}`, { pkg: id }));
        return;
      }
      if (code === 'TAR_ENTRY_INFO') return; // e.g. "stripping / from absolute path"
      const path = data?.entry?.path;
      if (path) unsafe.push(path);
      else notes.push(`the tarball of ${id}: ${String(err?.message ?? message)}`);
    },
  });

  let eof = false;
  unpack.on('eof', () => {
    eof = true;
  });
  const finished = new Promise<void>((resolve, reject) => {
    unpack.on('end', () => resolve());
    unpack.on('error', (err: Error) => reject(failure ?? err));
  });
  finished.catch(() => {}); // observed below

  function fail(err: Error): void {
    if (failure) return;
    failure = err;
    unpack.abort(err);
  }

  let inflated = 0;
  const tarBytes = inflate(countCompressed(stream, limits.maxSize, () => tooLarge(`the download is larger than ${formatBytes(limits.maxSize)}`)));
  for await (const chunk of tarBytes) {
    if (failure) throw failure;
    inflated += chunk.length;
    if (inflated > limits.maxSize + 1024 * 1024) {
      // The archive's own bytes (headers, padding, data after its end) beyond the limit.
      fail(tooLarge(`the tarball unpacks to more than ${formatBytes(limits.maxSize)}`));
      throw failure;
    }
    // After the end of the archive: read (the integrity covers every byte) but not kept.
    if (eof) continue;
    if (!unpack.write(chunk)) await drained(unpack, finished);
  }
  if (failure) throw failure;
  unpack.end();
  await finished;
  if (failure) throw failure;

  if (links.length) notes.push(`links in the tarball were dropped, as npm drops them: ${links.slice(0, 5).join(', ')}${links.length > 5 ? ', ...' : ''}`);
  if (unsafe.length) notes.push(`tarball entries with unsafe paths were skipped (not written): ${unsafe.slice(0, 5).join(', ')}${unsafe.length > 5 ? ', ...' : ''}`);
  return { dir: dest, notUnpacked, notes };
}

/**
 * The path inside the package as node-tar writes it with `strip: 1` (the first component, usually `package/`,
 * removed; leading slashes dropped), or undefined when it is unsafe (`..`, a drive letter). '' is the root.
 */
export function packagePath(name: string): string | undefined {
  const rest = name.replace(/\\/g, '/').split('/').slice(1).join('/').replace(/^\/+/, '');
  if (/^[a-z]:/i.test(rest) || rest.split('/').includes('..')) return undefined;
  const norm = posix.normalize(rest || '.');
  return norm === '.' || norm === './' ? '' : norm.replace(/\/+$/, '');
}

/** A stream that hashes (sha256, as readTree does) and sniffs what goes through it, and lets nothing out. */
function hashingSink(done: (info: NotUnpacked) => void): Transform {
  const hash = createHash('sha256');
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let seen = 0;
  let binary = false;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      if (!binary) {
        if (seen < 8192 && chunk.subarray(0, 8192 - seen).includes(0)) binary = true;
        else {
          try {
            decoder.decode(chunk, { stream: true });
          } catch {
            binary = true;
          }
        }
      }
      seen += chunk.length;
      cb();
    },
    flush(cb) {
      if (!binary) {
        try {
          decoder.decode();
        } catch {
          binary = true;
        }
      }
      done({ size: seen, hash: hash.digest('hex'), binary });
      cb();
    },
  });
}

async function* countCompressed(source: AsyncIterable<Buffer>, max: number, tooLarge: () => Error): AsyncGenerator<Buffer> {
  let n = 0;
  for await (const chunk of source) {
    n += chunk.length;
    if (n > max) throw tooLarge();
    yield chunk;
  }
}

/** Gunzip when the bytes are gzip (as npm's tar detects it), else pass them through. */
async function* inflate(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const it = source[Symbol.asyncIterator]();
  let head = Buffer.alloc(0);
  while (head.length < 2) {
    const next = await it.next();
    if (next.done) break;
    head = Buffer.concat([head, next.value]);
  }
  const rest = (async function* () {
    if (head.length) yield head;
    for (;;) {
      const next = await it.next();
      if (next.done) return;
      yield next.value;
    }
  })();
  if (head[0] !== 0x1f || head[1] !== 0x8b) {
    yield* rest;
    return;
  }
  const gunzip = createGunzip();
  const piping = pipeline(Readable.from(rest), gunzip);
  piping.catch(() => {}); // its error reaches us through the gunzip stream
  try {
    for await (const chunk of gunzip) yield chunk as Buffer;
    await piping;
  } finally {
    gunzip.destroy();
  }
}

/** Wait for the unpacker to take more, or for it to fail. */
function drained(unpack: Unpack, finished: Promise<void>): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    unpack.once('drain', resolve);
    finished.then(resolve, reject);
  });
}
