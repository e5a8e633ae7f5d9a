// The metadata cache: a warm run asks nothing, an expired entry is revalidated (304), a locked version the
// entry lacks forces a refetch, and two processes can share one cache.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestRegistry } from '../registry/server.js';
import { cleanEnv, cli, tempDir, writeProject } from './helpers.js';

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
    expect(registry.requests.slice(n).map((r) => r.status)).toEqual([304, 304, 304]);
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
    const [entry] = files(cache);
    expect(statSync(entry).size).toBeLessThan(2_000);
    expect(readFileSync(entry, 'utf8')).not.toContain('yyyy');
  });

  it('refetches when the lockfile locks a version the cached entry does not know', async () => {
    const dir = tempDir();
    const cache = tempDir('si-c-');
    registry.addPackage({ name: 'd', versions: [{ version: '1.0.0', publishedAt: OLD }] });
    writeProject(dir, registry, { d: '1.0.0' });
    await cli(['check', '--cache-dir', cache], { cwd: dir, env });
    registry.addPackage({ name: 'd', versions: [{ version: '1.0.0', publishedAt: OLD }, { version: '1.1.0', publishedAt: OLD }] });
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
    const [entry] = files(cache);
    writeFileSync(entry, '{"checkedAt": "2099-01-01", "facts": {');
    const res = await cli(['check', '--json', '--cache-dir', cache], { cwd: dir, env });
    expect(JSON.parse(res.stdout).summary.requests.network).toBe(1);
  });
});
