// Which keys a registry's signatures are verified with (EvidenceCollector.keys): pinned by the policy, npm's own
// shipped with the tool for the npm registry (never asked for) and for declared mirrors, else what the registry serves.
import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EvidenceCollector } from '../../src/verify/evidence.js';
import { shippedNpmKeysPath } from '../../src/verify/npm-keys.js';
import type { RegistryClient } from '../../src/registry/client.js';
import type { FactsCache } from '../../src/registry/cache.js';
import type { RegistryKey } from '../../src/types.js';
import { policy } from './helpers.js';

const SHIPPED = JSON.parse(readFileSync(shippedNpmKeysPath(), 'utf8'));
const NPM_KEYIDS = ['SHA256:jl3bwswu80PjjokCgh0o2w5c2U4LhQAE57gj9cz1kzA', 'SHA256:DhQ8wR5APBvFHLF/+Tc+AYvPOdTpcIDqOhxsBHRwC7U'];
const SERVED: RegistryKey[] = [{ keyid: 'SHA256:served', key: 'AAAA', expires: null }];
const MIRROR = 'http://mirror.test:8080/npm/';

/** A client whose keys endpoint answers `served` per registry, and records what was asked. */
function collector(served: Record<string, RegistryKey[] | null>, doc = {}, cacheDir = mkdtempSync(join(tmpdir(), 'si-ev-'))) {
  const asked: string[] = [];
  const client = {
    keys: async (registry: string) => {
      asked.push(registry);
      if (!(registry in served)) throw new Error(`unexpected keys request to ${registry}`);
      return served[registry];
    },
  } as unknown as RegistryClient;
  return { ev: new EvidenceCollector(client, {} as FactsCache, policy(doc), cacheDir), asked, cacheDir };
}

describe('trusted registry keys', () => {
  it("the npm registry: npm's shipped keys, never the ones served (a proxy on the way cannot replace them)", async () => {
    const npmUrls = ['https://registry.npmjs.org/', 'https://registry.yarnpkg.com/'];
    const { ev, asked } = collector(Object.fromEntries(npmUrls.map((u) => [u, SERVED])));
    for (const url of npmUrls) {
      const k = await ev.keys(url);
      expect(k).toMatchObject({ kind: 'keys', npm: true });
      expect(k.kind === 'keys' && k.keys.map((x) => x.keyid)).toEqual(NPM_KEYIDS);
      expect(k.kind === 'keys' && k.source).toContain(shippedNpmKeysPath());
      expect(k.kind === 'keys' && k.mirror).toBeUndefined();
    }
    // Asked only whether it serves keys at all (whether it keeps signatures), never to trust them.
    expect(asked).toEqual(npmUrls);
  });

  it('a host answering as the npm registry that serves no keys (a transparent mirror) is treated as the mirror it is', async () => {
    for (const served of [null, []]) {
      const k = await collector({ 'https://registry.npmjs.org/': served }).ev.keys('https://registry.npmjs.org/');
      expect(k).toMatchObject({ kind: 'keys', npm: true, mirror: { registry: 'https://registry.npmjs.org/', upstream: 'https://registry.npmjs.org/' } });
      expect(k.kind === 'keys' && k.keys.map((x) => x.keyid)).toEqual(NPM_KEYIDS);
    }
  });

  it('keys refreshed into the cache are preferred to the shipped ones', async () => {
    const { ev, cacheDir } = collector({ 'https://registry.npmjs.org/': SERVED });
    mkdirSync(join(cacheDir, 'trust'));
    const refreshed = { keys: SHIPPED.keys.filter((k: any) => k.keyId === NPM_KEYIDS[1]) };
    writeFileSync(join(cacheDir, 'trust', 'npm-keys.json'), JSON.stringify(refreshed));
    const k = await ev.keys('https://registry.npmjs.org/');
    expect(k.kind === 'keys' && k.keys.map((x) => x.keyid)).toEqual([NPM_KEYIDS[1]]);
    expect(k.kind === 'keys' && k.source).toContain(join(cacheDir, 'trust', 'npm-keys.json'));
  });

  it("a declared mirror: the upstream's keys, never the mirror's; `mirror` says whether it serves keys (keeps signatures)", async () => {
    const doc = { registryMirrorOf: { 'http://Mirror.test:8080/npm': 'https://registry.npmjs.org' } };
    const hiding = await collector({ [MIRROR]: null }, doc).ev.keys(MIRROR);
    expect(hiding).toMatchObject({ kind: 'keys', npm: true, mirror: { registry: MIRROR, upstream: 'https://registry.npmjs.org/' } });
    expect(hiding.kind === 'keys' && hiding.keys.map((x) => x.keyid)).toEqual(NPM_KEYIDS);
    const serving = await collector({ [MIRROR]: SERVED }, doc).ev.keys(MIRROR);
    expect(serving.kind === 'keys' && serving.keys.map((x) => x.keyid)).toEqual(NPM_KEYIDS);
    expect(serving.kind === 'keys' && serving.mirror).toBeUndefined();
    // A mirror of another registry whose keys the policy pins.
    const pinned = { keyid: 'SHA256:corp', key: 'BBBB' };
    const corp = await collector({ [MIRROR]: null }, { registryKeys: { 'https://corp.example/': [pinned] }, registryMirrorOf: { [MIRROR]: 'https://corp.example/' } }).ev.keys(MIRROR);
    expect(corp).toMatchObject({ kind: 'keys', keys: [{ ...pinned, expires: null }], mirror: { upstream: 'https://corp.example/' } });
    expect(corp.kind === 'keys' && corp.npm).toBeFalsy();
  });

  it('another registry: keys pinned for it, else what it serves, else none', async () => {
    expect(await collector({ [MIRROR]: SERVED }).ev.keys(MIRROR)).toEqual({ kind: 'keys', keys: SERVED, source: `${MIRROR}-/npm/v1/keys` });
    expect(await collector({ [MIRROR]: null }).ev.keys(MIRROR)).toEqual({ kind: 'none', registry: MIRROR });
    expect(await collector({ [MIRROR]: [] }).ev.keys(MIRROR)).toEqual({ kind: 'none', registry: MIRROR });
    const { ev, asked } = collector({}, { registryKeys: { [MIRROR]: [{ keyid: 'p', key: 'CCCC' }] } });
    expect(await ev.keys(MIRROR)).toMatchObject({ kind: 'keys', keys: [{ keyid: 'p' }], source: 'keys pinned in the policy' });
    expect(asked).toEqual([]);
  });
});
