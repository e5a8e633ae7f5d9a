// The files of an unpacked package, read as bytes only: every regular file's size, sha256 and whether it is
// binary (a file too large to read whole is hashed in pieces), and the few reads the comparison needs (a text
// file, package.json, whether a file starts with a node shebang). Nothing here runs or requires the package.
import { createHash } from 'node:crypto';
import { closeSync, lstatSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_LIMITS, type UnreadFile } from './types.js';

export interface TreeFile {
  size: number;
  hash: string;
  binary: boolean;
  /** Not read whole (over maxFileBytes): never diffed or scanned. */
  tooLarge?: boolean;
}

export interface Tree {
  root: string;
  files: Map<string, TreeFile>;
  /** Symlinks and other non-regular entries (pacote drops links on extract; listed if any remain). */
  skipped: string[];
}

export function emptyTree(): Tree {
  return { root: '', files: new Map(), skipped: [] };
}

/**
 * Every regular file under `root`, by `/`-separated relative path, sorted. Symlinks are never followed. A file
 * over `maxFileBytes` is hashed in pieces, never held whole; `notUnpacked` gives what is known of the files that
 * were not unpacked (they stand on disk empty, or not at all).
 */
export function readTree(root: string, opts: { notUnpacked?: ReadonlyMap<string, UnreadFile>; maxFileBytes?: number } = {}): Tree {
  const files = new Map<string, TreeFile>();
  const skipped: string[] = [];
  const maxFileBytes = opts.maxFileBytes ?? DEFAULT_LIMITS.maxFileBytes;
  const walk = (dir: string, rel: string) => {
    const entries = readdirSync(dir, { withFileTypes: true })
      .map((e) => e.name)
      .sort();
    for (const name of entries) {
      const abs = join(dir, name);
      const path = rel ? `${rel}/${name}` : name;
      const st = lstatSync(abs);
      if (st.isDirectory()) walk(abs, path);
      else if (st.isFile()) {
        const unread = opts.notUnpacked?.get(path);
        if (unread) files.set(path, { ...unread, tooLarge: true });
        else if (st.size > maxFileBytes) files.set(path, { ...hashInPieces(abs), tooLarge: true });
        else {
          const buf = readFileSync(abs);
          files.set(path, { size: buf.length, hash: createHash('sha256').update(buf).digest('hex'), binary: isBinary(buf) });
        }
      } else skipped.push(path);
    }
  };
  walk(root, '');
  for (const [path, unread] of opts.notUnpacked ?? []) if (!files.has(path)) files.set(path, { ...unread, tooLarge: true });
  return { root, files, skipped };
}

/** Size, sha256 and binary sniff of a large file, read 1 MB at a time. */
function hashInPieces(abs: string): TreeFile {
  const fd = openSync(abs, 'r');
  try {
    const hash = createHash('sha256');
    const decoder = new TextDecoder('utf-8', { fatal: true });
    const buf = Buffer.allocUnsafe(1024 * 1024);
    let size = 0;
    let binary = false;
    for (let n: number; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) {
      const chunk = buf.subarray(0, n);
      hash.update(chunk);
      if (!binary) {
        if (size < 8192 && chunk.subarray(0, 8192 - size).includes(0)) binary = true;
        else {
          try {
            decoder.decode(chunk, { stream: true });
          } catch {
            binary = true;
          }
        }
      }
      size += n;
    }
    return { size, hash: hash.digest('hex'), binary };
  } finally {
    closeSync(fd);
  }
}

/** NUL in the first 8 KB, or not valid UTF-8. */
export function isBinary(buf: Buffer): boolean {
  if (buf.subarray(0, 8192).includes(0)) return true;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(buf);
    return false;
  } catch {
    return true;
  }
}

export function readText(tree: Tree, path: string): string {
  // Callers check sizes first; a file too large to read whole is never read.
  if (tree.files.get(path)?.tooLarge) return '';
  return readFileSync(join(tree.root, ...path.split('/')), 'utf8');
}

export function readPackageJson(tree: Tree, which: string, notes: string[]): Record<string, unknown> {
  if (!tree.files.has('package.json')) {
    notes.push(`the ${which} version has no package.json`);
    return {};
  }
  const size = tree.files.get('package.json')!.size;
  if (size > DEFAULT_LIMITS.maxScanBytes || tree.files.get('package.json')!.tooLarge) {
    notes.push(`the ${which} version's package.json is ${formatBytes(size)}: too large to read, so its install scripts and dependencies are not shown; do not trust this version`);
    return {};
  }
  try {
    const doc = JSON.parse(readText(tree, 'package.json')) as unknown;
    if (doc && typeof doc === 'object' && !Array.isArray(doc)) return doc as Record<string, unknown>;
  } catch {
    // fall through
  }
  notes.push(`the ${which} version's package.json is not a JSON object`);
  return {};
}

export function depMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) out[k] = typeof v === 'string' ? v : JSON.stringify(v);
  }
  return out;
}

const CODE_EXT = /\.(js|cjs|mjs|jsx)$/i;

export function isCodePath(path: string): boolean {
  return CODE_EXT.test(path);
}

export function startsWithNodeShebang(tree: Tree, path: string): boolean {
  const f = tree.files.get(path);
  if (!f || f.binary || f.size === 0 || f.tooLarge) return false;
  const fd = openSync(join(tree.root, ...path.split('/')), 'r');
  try {
    const head = Buffer.alloc(128);
    const n = readSync(fd, head, 0, head.length, 0);
    return /^#!.*\bnode\b/.test(head.subarray(0, n).toString('utf8'));
  } finally {
    closeSync(fd);
  }
}

/** A size as the report shows it (decimal units: 1.5 kB, 2.0 MB). */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  if (n < 1_000_000) return `${(n / 1000).toFixed(1)} kB`;
  return `${(n / 1_000_000).toFixed(1)} MB`;
}
