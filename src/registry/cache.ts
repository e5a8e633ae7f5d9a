// On-disk cache of slim package facts, one JSON file per (registry, name). Writes are atomic (temp file +
// rename), so two processes sharing a cache never see a half-written entry; a corrupt entry is a miss.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile, unlink } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { PackageFacts } from '../types.js';

export interface CacheEntry {
  /** When the entry was last confirmed current with the registry (ISO). */
  checkedAt: string;
  etag?: string;
  lastModified?: string;
  facts: PackageFacts;
}

const FORMAT = 'v1';

export function defaultCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'safe-install');
}

export class FactsCache {
  private readonly dir: string;
  private readonly root: string;
  private readonly made = new Set<string>();

  constructor(root: string) {
    this.root = join(root, FORMAT);
    this.dir = join(root, 'metadata', FORMAT);
  }

  private file(registry: string, name: string): string {
    const key = createHash('sha256').update(`${registry}\0${name}`).digest('hex');
    return join(this.dir, key.slice(0, 2), `${key}.json`);
  }

  /** Small documents other than facts (registry keys, verification results), under their own kind. */
  async getDoc<T>(kind: string, key: string): Promise<{ checkedAt: string; value: T } | undefined> {
    try {
      const doc = JSON.parse(await readFile(this.docFile(kind, key), 'utf8'));
      return doc && typeof doc.checkedAt === 'string' && doc.key === key ? doc : undefined;
    } catch {
      return undefined;
    }
  }

  async putDoc<T>(kind: string, key: string, value: T): Promise<void> {
    await this.write(this.docFile(kind, key), JSON.stringify({ key, checkedAt: new Date().toISOString(), value }));
  }

  private docFile(kind: string, key: string): string {
    return join(this.root, kind, `${createHash('sha256').update(key).digest('hex')}.json`);
  }

  async get(registry: string, name: string): Promise<CacheEntry | undefined> {
    try {
      const entry = JSON.parse(await readFile(this.file(registry, name), 'utf8')) as CacheEntry;
      if (entry?.facts?.name !== name || entry.facts.registry !== registry || typeof entry.checkedAt !== 'string') return undefined;
      return entry;
    } catch {
      return undefined; // missing or corrupt: a miss, fetched again
    }
  }

  async put(registry: string, name: string, entry: CacheEntry): Promise<void> {
    await this.write(this.file(registry, name), JSON.stringify(entry));
  }

  private async write(target: string, text: string): Promise<void> {
    const dir = join(target, '..');
    if (!this.made.has(dir)) {
      await mkdir(dir, { recursive: true });
      this.made.add(dir);
    }
    const tmp = `${target}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await writeFile(tmp, text);
      await rename(tmp, target);
    } catch (err) {
      await unlink(tmp).catch(() => {});
      throw err;
    }
  }
}
