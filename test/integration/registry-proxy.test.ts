// Behind a proxy the packuments go through npm-registry-fetch and npm's agent (undici is not given proxies):
// a cold check, a revalidation (304) and a 404 all pass through the proxy.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TestRegistry } from '../registry/server.js';
import { cleanEnv, cli, tempDir, writeProject } from './helpers.js';

const OLD = '2024-01-01T00:00:00.000Z';
let registry: TestRegistry;
let proxy: Server;
let proxyUrl: string;
const proxied: string[] = [];

beforeAll(async () => {
  registry = await TestRegistry.start();
  for (const name of ['a', 'b']) registry.addPackage({ name, versions: [{ version: '1.0.0', publishedAt: OLD }] });
  // A plain forward proxy for http:// URLs (requests carry the absolute URL).
  proxy = createServer((req, res) => {
    proxied.push(req.url ?? '');
    const up = request(req.url!, { method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await registry.close();
  proxy.closeAllConnections();
  await new Promise<void>((r) => proxy.close(() => r()));
});

describe('behind a proxy (http_proxy)', () => {
  it('fetches, revalidates and reports a missing package through the proxy', async () => {
    const dir = tempDir();
    const cache = tempDir('si-c-');
    const env = cleanEnv(registry.url, { http_proxy: proxyUrl });
    writeProject(dir, registry, { a: '1.0.0', b: '1.0.0' });
    const cold = await cli(['check', '--json', '--cache-dir', cache], { cwd: dir, env });
    expect(JSON.parse(cold.stdout).summary.requests).toEqual({ network: 2, revalidated: 0, cache: 0 });
    expect(cold.code).toBe(0);
    expect(proxied.filter((u) => u.endsWith('/a') || u.endsWith('/b'))).toHaveLength(2);
    const reval = await cli(['check', '--json', '--cache-dir', cache, '--cache-ttl', '0'], { cwd: dir, env });
    expect(JSON.parse(reval.stdout).summary.requests).toEqual({ network: 0, revalidated: 2, cache: 0 });
    expect(reval.code).toBe(0);
    registry.removePackage('b');
    const gone = await cli(['check', '--json', '--cache-dir', tempDir('si-c-')], { cwd: dir, env });
    expect(
      JSON.parse(gone.stdout)
        .packages.find((p: { name: string }) => p.name === 'b')
        .findings.map((f: { code: string }) => f.code),
    ).toContain('package-not-in-registry');
    expect(proxied.filter((u) => u.endsWith('/b'))).toHaveLength(3);
  });
});
