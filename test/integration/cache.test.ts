// The metadata cache: a warm run asks nothing, an expired entry is revalidated (304), a locked version the
// entry lacks (or holds only as a summary) forces a refetch, and two processes can share one cache.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestRegistry, type FakeVersion } from '../registry/server.js';
import { cleanEnv, cli, tempDir, writeProject } from './helpers.js';
import { at } from '../../src/util/at.js';

const OLD = '2024-01-01T00:00:00.000Z';
let registry: TestRegistry;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  registry = await TestRegistry.start();
  for (const name of ['a', 'b', 'c']) registry.addPackage({ name, versions: [{ version: '1.0.0', publishedAt: OLD }] });
  env = cleanEnv(registry.url);
});
afterAll(() => registry.close());

/** The metadata entries (one per package name) of a cache folder. */
function files(dir: string): string[] {
  return readdirSync(join(dir, 'metadata'), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

describe('metadata cache', () => {
  it('a warm run makes no request; --cache-ttl 0 revalidates with ETag', async () => {
    const dir = tempDir();
    const cache = tempDir('si-c-');
    writeProject(dir, registry, { a: '1.0.0', b: '1.0.0', c: '1.0.0' });
    const first = await cli(['check', '--json', '--cache-dir', cache], { cwd: dir, env });
    expect(JSON.parse(first.stdout).summary.requests).toEqual({ network: 3, revalidated: 0, cache: 0 });
    const n = registry.requests.length;
    const warm = await cli(['check', '--json', '--cache-dir', cache], { cwd: dir, env });
    expect(registry.requests.length).toBe(n);
    expect(JSON.parse(warm.stdout).summary.requests).toEqual({ network: 0, revalidated: 0, cache: 3 });
    const reval = await cli(['check', '--json', '--cache-dir', cache, '--cache-ttl', '0'], { cwd: dir, env });
    expect(JSON.parse(reval.stdout).summary.requests).toEqual({ network: 0, revalidated: 3, cache: 0 });
    // Every packument is revalidated (304), and the signing keys (cached a day otherwise) are asked for again.
    const asked = registry.requests.slice(n);
    expect(asked.filter((r) => !r.path.startsWith('/-/')).map((r) => r.status)).toEqual([304, 304, 304]);
    expect(asked.filter((r) => r.path === '/-/npm/v1/keys').map((r) => r.status)).toEqual([404]);
    expect(reval.code).toBe(0);
  });

  it('stores slim facts, not whole packuments', async () => {
    const dir = tempDir();
    const cache = tempDir('si-c-');
    registry.addPackage({
      name: 'big',
      versions: [{ version: '1.0.0', publishedAt: OLD, manifestOverrides: { readme: 'x'.repeat(200_000), description: 'y'.repeat(10_000) } }],
    });
    writeProject(dir, registry, { big: '1.0.0' });
    await cli(['check', '--cache-dir', cache], { cwd: dir, env });
    const entry = at(files(cache), 0);
    expect(statSync(entry).size).toBeLessThan(2_000);
    expect(readFileSync(entry, 'utf8')).not.toContain('yyyy');
  });

  it('refetches when the lockfile locks a version the cached entry does not know', async () => {
    const dir = tempDir();
    const cache = tempDir('si-c-');
    registry.addPackage({ name: 'd', versions: [{ version: '1.0.0', publishedAt: OLD }] });
    writeProject(dir, registry, { d: '1.0.0' });
    await cli(['check', '--cache-dir', cache], { cwd: dir, env });
    registry.addPackage({
      name: 'd',
      versions: [
        { version: '1.0.0', publishedAt: OLD },
        { version: '1.1.0', publishedAt: OLD },
      ],
    });
    writeProject(dir, registry, { d: '1.1.0' });
    const res = await cli(['check', '--json', '--cache-dir', cache], { cwd: dir, env });
    expect(JSON.parse(res.stdout).summary.requests.network).toBe(1);
    expect(res.code).toBe(0);
  });

  it('two processes sharing a cache both complete and leave only whole entries', async () => {
    const dir = tempDir();
    const cache = tempDir('si-c-');
    writeProject(dir, registry, { a: '1.0.0', b: '1.0.0', c: '1.0.0' });
    const runs = await Promise.all([1, 2, 3].map(() => cli(['check', '--cache-dir', cache, '--cache-ttl', '0'], { cwd: dir, env })));
    expect(runs.map((r) => r.code)).toEqual([0, 0, 0]);
    const entries = files(cache);
    expect(entries.filter((f) => f.endsWith('.tmp'))).toEqual([]);
    for (const f of entries) expect(() => JSON.parse(readFileSync(f, 'utf8'))).not.toThrow();
    expect(entries).toHaveLength(3);
  });

  it('a corrupt entry is a miss, not an error', async () => {
    const dir = tempDir();
    const cache = tempDir('si-c-');
    writeProject(dir, registry, { a: '1.0.0' });
    await cli(['check', '--cache-dir', cache], { cwd: dir, env });
    const entry = at(files(cache), 0);
    writeFileSync(entry, '{"checkedAt": "2099-01-01", "facts": {');
    const res = await cli(['check', '--json', '--cache-dir', cache], { cwd: dir, env });
    expect(JSON.parse(res.stdout).summary.requests.network).toBe(1);
  });
});

describe('full facts only for the locked versions', () => {
  // A registry of its own: it serves signing keys, so every version must really verify.
  let reg: TestRegistry;
  let regEnv: NodeJS.ProcessEnv;
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  const KEYID = `SHA256:${createHash('sha256').update(spki).digest('base64').replace(/=+$/, '')}`;
  const VERSIONS = ['1.0.0', '1.1.0', '2.0.0'];
  const sigs: Record<string, string> = {};

  beforeAll(async () => {
    reg = await TestRegistry.start();
    reg.setKeys({ keys: [{ keyid: KEYID, key: spki.toString('base64'), expires: null, keytype: 'ecdsa-sha2-nistp256', scheme: 'ecdsa-sha2-nistp256' }] });
    const plain: FakeVersion[] = VERSIONS.map((version) => ({ version, publishedAt: OLD, npmUser: { name: 'alice' } }));
    reg.addPackage({ name: 'multi', versions: plain });
    for (const v of VERSIONS) sigs[v] = sign('sha256', Buffer.from(`multi@${v}:${reg.integrityOf('multi', v)}`), privateKey).toString('base64');
    reg.addPackage({ name: 'multi', versions: plain.map((v) => ({ ...v, signatures: [{ keyid: KEYID, sig: sigs[v.version] ?? '' }] })) });
    regEnv = cleanEnv(reg.url);
  });
  afterAll(() => reg.close());

  const checkLocked = async (dir: string, cache: string, version: string, ...args: string[]) => {
    writeProject(dir, reg, { multi: version });
    const res = await cli(['check', '--json', '--cache-dir', cache, ...args], { cwd: dir, env: regEnv });
    return { res, report: res.code === 2 && !res.stdout.startsWith('{') ? undefined : JSON.parse(res.stdout) };
  };

  it('stores full facts (hashes, signatures) for the locked version only, a summary for the others', async () => {
    const dir = tempDir();
    const cache = tempDir('si-c-');
    const { res, report } = await checkLocked(dir, cache, '1.0.0');
    expect(res.code).toBe(0);
    expect(report.packages[0]).toMatchObject({ name: 'multi', version: '1.0.0', verdict: 'allow' });
    const entry = at(files(cache), 0);
    expect(entry).toContain(join('metadata', 'v4'));
    const facts = JSON.parse(readFileSync(entry, 'utf8')).facts;
    expect(Object.keys(facts.versions).sort()).toEqual(VERSIONS);
    expect(facts.versions['1.0.0']).toMatchObject({ full: true, integrity: reg.integrityOf('multi', '1.0.0'), signatures: [{ keyid: KEYID, sig: sigs['1.0.0'] }] });
    for (const v of ['1.1.0', '2.0.0']) expect(facts.versions[v]).toEqual({ publishedAt: OLD, publisher: 'alice' });
  });

  it('a later lockfile that locks a version known only as a summary refetches, verifies it, and keeps both', async () => {
    const dir = tempDir();
    const cache = tempDir('si-c-');
    await checkLocked(dir, cache, '1.0.0');
    const next = await checkLocked(dir, cache, '1.1.0');
    expect(next.report.summary.requests).toEqual({ network: 1, revalidated: 0, cache: 0 });
    // Verified against the real integrity and signature: a summary misread as full facts would warn or block.
    expect(next.report.packages[0]).toMatchObject({ name: 'multi', version: '1.1.0', verdict: 'allow', findings: [] });
    expect(next.res.code).toBe(0);
    const facts = JSON.parse(readFileSync(at(files(cache), 0), 'utf8')).facts;
    expect(
      Object.keys(facts.versions)
        .filter((v) => facts.versions[v].full)
        .sort(),
    ).toEqual(['1.0.0', '1.1.0']);
    // Both lockfiles are now answered from the cache.
    for (const v of ['1.0.0', '1.1.0']) {
      const again = await checkLocked(dir, cache, v);
      expect(again.report.summary.requests).toEqual({ network: 0, revalidated: 0, cache: 1 });
      expect(again.report.packages[0]).toMatchObject({ version: v, verdict: 'allow', findings: [] });
    }
  });

  it('--offline with a locked version the cache holds only as a summary exits 2, naming it', async () => {
    const dir = tempDir();
    const cache = tempDir('si-c-');
    await checkLocked(dir, cache, '1.0.0');
    writeProject(dir, reg, { multi: '2.0.0' });
    const res = await cli(['check', '--cache-dir', cache, '--offline'], { cwd: dir, env: regEnv });
    expect(res.code).toBe(2);
    expect(res.stdout).toMatch(/lacks the full facts of multi@2\.0\.0 \(--offline\)/);
    const ok = await checkLocked(dir, cache, '1.0.0', '--offline');
    expect(ok.res.code).toBe(0);
  });

  it('a cache of the previous format is ignored, not misread', async () => {
    const dir = tempDir();
    const cache = tempDir('si-c-');
    await checkLocked(dir, cache, '1.0.0');
    const entry = at(files(cache), 0);
    // The same entry under the previous format's folder (v3) with every version summary-only: never read.
    expect(entry).toContain(join('metadata', 'v4'));
    const v1 = entry.replace(join('metadata', 'v4'), join('metadata', 'v3'));
    expect(v1).not.toBe(entry);
    const doc = JSON.parse(readFileSync(entry, 'utf8'));
    for (const v of VERSIONS) doc.facts.versions[v] = { publishedAt: OLD };
    mkdirSync(join(v1, '..'), { recursive: true });
    writeFileSync(v1, JSON.stringify(doc));
    rmSync(entry);
    const { res, report } = await checkLocked(dir, cache, '1.0.0');
    expect(report.summary.requests).toEqual({ network: 1, revalidated: 0, cache: 0 });
    expect(report.packages[0]).toMatchObject({ verdict: 'allow', findings: [] });
    expect(res.code).toBe(0);
  });
});
