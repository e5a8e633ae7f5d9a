// On-disk cache of slim package facts, one JSON file per (registry, name). Writes are atomic (temp file +
// rename), so two processes sharing a cache never see a half-written entry; a corrupt entry is a miss.
//
// What the cache is trusted for: it holds what a registry said (facts keyed by registry and name, the registry's
// keys, provenance outcomes keyed by name, version and integrity), for a short time (--cache-ttl, default 10m; a
// 304 renews an entry, but one whose facts were last read from a registry body more than a day ago is fetched in
// full again). It is as trustworthy as the user's own files: anything that runs as the user (an allowed install
// script) can write it, as it can rewrite safe-install itself, so the reads defend what can be defended: an entry
// that is not exactly the shape this code writes (a wrong type, a missing field, a foreign name or registry) is a
// miss, never a crash or an allow; an entry dated in the future (checkedAt or fetchedAt later than now) is a miss,
// so it can never be "fresh forever"; and `--cache-ttl 0` uses no entry without asking the registry.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { PackageFacts } from '../facts.js';
import { redact } from '../util/safe-text.js';
import { isObject } from '../util/is-object.js';

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
 * Facts entries. v2: full facts only for the versions asked for, a summary for the rest; v3 (two meanings on two
 * branches, so neither is read): v4: each version's bin names (an entry without them would pass a bin unseen),
 * publish times only as ISO 8601 timestamps (facts.ts publishTime), and no credential in the entry (the registry
 * is stored by its cacheKey). Older entries are ignored.
 */
const FACTS_FORMAT = 'v4';

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
    const key = createHash('sha256')
      .update(`${this.cacheKey(registry)}\0${name}`)
      .digest('hex');
    return join(this.dir, key.slice(0, 2), `${key}.json`);
  }

  /** Small documents other than facts (registry keys, verification results), under their own kind. */
  /**
   * A small document, when it is one this code wrote: `valid` decides the value's shape, and a document dated
   * in the future (or not dated) is a miss.
   */
  async getDoc<T>(kind: string, key: string, valid: (v: unknown) => v is T): Promise<{ checkedAt: string; value: T } | undefined> {
    try {
      const stored = this.cacheKey(key);
      const doc = JSON.parse(await readFile(this.docFile(kind, stored), 'utf8'));
      return isObject(doc) && doc.key === stored && pastTime(doc.checkedAt, Date.now()) && valid(doc.value) ? (doc as { checkedAt: string; value: T }) : undefined;
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
      const entry: unknown = JSON.parse(readFileSync(this.file(registry, name), 'utf8'));
      if (!validEntry(entry, this.cacheKey(registry), name, Date.now())) return undefined;
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

// ---------------------------------------------------------------------------------------------
// The shape of an entry: exactly what the client writes (slimPackument's output), checked field by field, since
// a check reads these fields as registry facts.

const optString = (v: unknown) => v === undefined || typeof v === 'string';
const optTrue = (v: unknown) => v === undefined || v === true;
const stringMap = (v: unknown) => isObject(v) && Object.values(v).every((s) => typeof s === 'string');

/** An ISO time that is not later than `now`: an entry from the future is never fresh, it is invalid. */
export function pastTime(v: unknown, now: number): v is string {
  if (typeof v !== 'string') return false;
  const t = Date.parse(v);
  return Number.isFinite(t) && t <= now;
}

function validVersion(v: unknown): boolean {
  if (!isObject(v)) return false;
  for (const k of ['publishedAt', 'attestationsUrl', 'provenancePredicate', 'publisher', 'deprecated'] as const) if (!optString(v[k])) return false;
  for (const k of ['gypfile', 'trustedPublisher', 'approved'] as const) if (!optTrue(v[k])) return false;
  if (v.full === true) {
    for (const k of ['integrity', 'shasum', 'tarball', 'repository'] as const) if (!optString(v[k])) return false;
    if (!stringMap(v.installScripts)) return false;
    return Array.isArray(v.signatures) && v.signatures.every((s) => isObject(s) && typeof s.keyid === 'string' && typeof s.sig === 'string');
  }
  if (!(v.full === undefined || v.full === false)) return false;
  return v.installScripts === undefined || stringMap(v.installScripts);
}

/**
 * A facts entry as the client writes it, for this registry and name, confirmed (checkedAt) and fetched
 * (fetchedAt) at valid times not later than `now`. Anything else is a miss.
 */
export function validEntry(e: unknown, registry: string, name: string, now: number): e is CacheEntry {
  if (!isObject(e) || !pastTime(e.checkedAt, now) || !optString(e.etag) || !optString(e.lastModified)) return false;
  const f = e.facts;
  if (!isObject(f) || f.name !== name || f.registry !== registry || !pastTime(f.fetchedAt, now)) return false;
  if (!stringMap(f.distTags) || !(f.hasPublisherData === undefined || typeof f.hasPublisherData === 'boolean')) return false;
  return isObject(f.versions) && Object.values(f.versions).every(validVersion);
}
