// The cache reads only what it wrote: an entry or document from the future, or one of another shape, is a miss.
import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FactsCache, validEntry, type CacheEntry } from '../../src/registry/cache.js';

const R = 'https://registry.example/';
const entry = (over: Partial<CacheEntry> = {}): CacheEntry => ({
  checkedAt: '2026-01-01T00:00:00.000Z',
  etag: '"x"',
  facts: {
    name: 'a',
    registry: R,
    fetchedAt: '2026-01-01T00:00:00.000Z',
    distTags: { latest: '1.0.0' },
    hasPublisherData: true,
    versions: {
      '1.0.0': { full: true, publishedAt: '2025-01-01T00:00:00.000Z', integrity: 'sha512-x', signatures: [{ keyid: 'k', sig: 's' }], installScripts: {} },
      '0.9.0': { publishedAt: '2024-01-01T00:00:00.000Z', installScripts: { postinstall: 'node x' } },
    },
  },
  ...over,
});
const now = Date.parse('2026-06-01T00:00:00.000Z');

describe('cache entries', () => {
  it('accepts what the client writes, for its registry and name', () => {
    expect(validEntry(entry(), R, 'a', now)).toBe(true);
    expect(validEntry(entry(), R, 'b', now)).toBe(false);
    expect(validEntry(entry(), 'https://other/', 'a', now)).toBe(false);
  });

  it('refuses an entry confirmed or fetched in the future', () => {
    expect(validEntry(entry({ checkedAt: '2026-06-01T00:00:01.000Z' }), R, 'a', now)).toBe(false);
    const e = entry();
    e.facts.fetchedAt = '2099-01-01T00:00:00.000Z';
    expect(validEntry(e, R, 'a', now)).toBe(false);
    expect(validEntry(entry({ checkedAt: 'yesterday' }), R, 'a', now)).toBe(false);
  });

  it('refuses a field of the wrong type anywhere a check reads it', () => {
    const bad: ((e: any) => void)[] = [
      (e) => (e.facts.versions['1.0.0'].signatures = 'none'),
      (e) => (e.facts.versions['1.0.0'].signatures = [{ keyid: 1, sig: 's' }]),
      (e) => (e.facts.versions['1.0.0'].publishedAt = 1),
      (e) => (e.facts.versions['1.0.0'].integrity = ['sha512-x']),
      (e) => (e.facts.versions['1.0.0'].installScripts = { postinstall: 1 }),
      (e) => delete e.facts.versions['1.0.0'].installScripts,
      (e) => (e.facts.versions['1.0.0'].full = 'yes'),
      (e) => (e.facts.versions['0.9.0'].trustedPublisher = 'yes'),
      (e) => (e.facts.versions = []),
      (e) => (e.facts.distTags = { latest: 1 }),
      (e) => (e.etag = 5),
    ];
    for (const poison of bad) {
      const e = entry();
      poison(e);
      expect(validEntry(e, R, 'a', now), poison.toString()).toBe(false);
    }
  });

  it('a document from the future, or of another shape, is a miss', async () => {
    const cache = new FactsCache(mkdtempSync(join(tmpdir(), 'si-cache-')));
    const isKeys = (v: unknown): v is { keys: null } => !!v && typeof v === 'object' && (v as { keys?: unknown }).keys === null;
    await cache.putDoc('keys', R, { keys: null });
    expect((await cache.getDoc('keys', R, isKeys))?.value).toEqual({ keys: null });
    await cache.putDoc('keys', R, { keys: 'forged' });
    expect(await cache.getDoc('keys', R, isKeys)).toBeUndefined();
    const realNow = Date.now;
    try {
      await cache.putDoc('keys', R, { keys: null });
      Date.now = () => realNow() - 60_000; // the document now lies a minute in the future
      expect(await cache.getDoc('keys', R, isKeys)).toBeUndefined();
    } finally {
      Date.now = realNow;
    }
  });
});
