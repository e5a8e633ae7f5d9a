// On-disk cache of slim package facts, one JSON file per (registry, name). Writes are atomic (temp file +
// rename), so two processes sharing a cache never see a half-written entry; a corrupt entry is a miss.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { PackageFacts } from '../types.js';
import { redact } from '../util/safe-text.js';

export interface CacheEntry {
  /** When the entry was last confirmed current with the registry (ISO). */
  checkedAt: string;
  etag?: string;
  lastModified?: string;
  facts: PackageFacts;
}

/** Small documents (keys, verification outcomes). */
const DOCS_FORMAT = 'v1';
/**
 * Facts entries. v2: full facts only for the versions asked for, a summary for the rest; v1 entries are ignored.
 * v3: publish times only as ISO 8601 timestamps (facts.ts publishTime) and no credential in the entry (the
 * registry is stored by its cacheKey); v2 entries may hold either, and are ignored.
 */
const FACTS_FORMAT = 'v3';

const TMP_PREFIX = `${process.pid}.${randomBytes(4).toString('hex')}`;
let tmpCount = 0;

const KEY_BYTES = 32;

function readKey(file: string): Buffer | undefined {
  try {
    const key = readFileSync(file);
    return key.length === KEY_BYTES ? key : undefined;
  } catch {
    return undefined;
  }
}

export function defaultCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'safe-install');
}

export class FactsCache {
  private readonly dir: string;
  private readonly root: string;
  private readonly made = new Set<string>();

  constructor(root: string) {
    this.base = root;
    this.root = join(root, DOCS_FORMAT);
    this.dir = join(root, 'metadata', FACTS_FORMAT);
  }

  private readonly base: string;
  private secret?: Buffer;

  /**
   * What the cache stores and names a registry (or a document key) by: the text itself, or, when it holds a
   * credential (`https://user:password@host/`, a token as the user part), the redacted text and a keyed hash of
   * the whole: two registries that differ only in their credentials keep apart, and neither the credential nor
   * an unkeyed hash of it (guessable for a weak password) is ever written. The key is random, per cache folder
   * (`registry-hash.key`, readable only by the user).
   */
  cacheKey(text: string): string {
    const shown = redact(text);
    if (shown === text) return text;
    return `${shown}#${createHmac('sha256', this.hashKey()).update(text).digest('hex').slice(0, 32)}`;
  }

  private hashKey(): Buffer {
    if (this.secret) return this.secret;
    const file = join(this.base, 'registry-hash.key');
    let key = readKey(file);
    if (!key) {
      mkdirSync(this.base, { recursive: true });
      // Written whole under a temporary name, then linked in: a process racing this one reads either no key or
      // the complete one, and the first link wins (every process then uses that key).
      const tmp = `${file}.${TMP_PREFIX}.${++tmpCount}.tmp`;
      writeFileSync(tmp, randomBytes(KEY_BYTES), { mode: 0o600 });
      try {
        linkSync(tmp, file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') renameSync(tmp, file); // no hard links here
      } finally {
        try {
          unlinkSync(tmp);
        } catch {
          // renamed
        }
      }
      key = readKey(file);
    }
    if (!key) throw new Error(`the cache's key file ${file} is unreadable or damaged (remove it)`);
    return (this.secret = key);
  }

  private file(registry: string, name: string): string {
    const key = createHash('sha256').update(`${this.cacheKey(registry)}\0${name}`).digest('hex');
    return join(this.dir, key.slice(0, 2), `${key}.json`);
  }

  /** Small documents other than facts (registry keys, verification results), under their own kind. */
  async getDoc<T>(kind: string, key: string): Promise<{ checkedAt: string; value: T } | undefined> {
    try {
      const stored = this.cacheKey(key);
      const doc = JSON.parse(await readFile(this.docFile(kind, stored), 'utf8'));
      return doc && typeof doc.checkedAt === 'string' && doc.key === stored ? doc : undefined;
    } catch {
      return undefined;
    }
  }

  async putDoc<T>(kind: string, key: string, value: T): Promise<void> {
    const stored = this.cacheKey(key);
    await this.write(this.docFile(kind, stored), JSON.stringify({ key: stored, checkedAt: new Date().toISOString(), value }));
  }

  private docFile(kind: string, key: string): string {
    return join(this.root, kind, `${createHash('sha256').update(key).digest('hex')}.json`);
  }

  async get(registry: string, name: string): Promise<CacheEntry | undefined> {
    try {
      // Read synchronously: entries are a few KB, and a warm check reads one per name (767 on npm/cli), where
      // each async read's open/fstat/read/close round trips through the thread pool cost 2-3x the read itself.
      const entry = JSON.parse(readFileSync(this.file(registry, name), 'utf8')) as CacheEntry;
      if (entry?.facts?.name !== name || entry.facts.registry !== this.cacheKey(registry) || typeof entry.checkedAt !== 'string') return undefined;
      if (typeof entry.facts.versions !== 'object' || entry.facts.versions === null) return undefined;
      return { ...entry, facts: { ...entry.facts, registry } };
    } catch {
      return undefined; // missing or corrupt: a miss, fetched again
    }
  }

  async put(registry: string, name: string, entry: CacheEntry): Promise<void> {
    await this.write(this.file(registry, name), JSON.stringify({ ...entry, facts: { ...entry.facts, registry: this.cacheKey(registry) } }));
  }

  /**
   * Synchronous, as the reads: a cold check writes one small entry per name, and the four thread-pool round
   * trips of an async write (open, write, close, rename) cost more than the write.
   */
  private async write(target: string, text: string): Promise<void> {
    const dir = join(target, '..');
    if (!this.made.has(dir)) {
      mkdirSync(dir, { recursive: true });
      this.made.add(dir);
    }
    // Unique per process (random part: pids repeat across machines sharing a cache) and per write.
    const tmp = `${target}.${TMP_PREFIX}.${++tmpCount}.tmp`;
    try {
      writeFileSync(tmp, text);
      renameSync(tmp, target);
    } catch (err) {
      try {
        unlinkSync(tmp);
      } catch {
        // never written
      }
      throw err;
    }
  }
}
