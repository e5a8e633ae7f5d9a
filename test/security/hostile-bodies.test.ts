// A registry (or anything between it and the guard) that answers the metadata request with a body of any
// size: a 2 GiB packument, or a small gzip body that inflates to 2 GiB. Before the body limit the guard
// buffered it whole, grew past 4 GB and died with a V8 fatal error and a native stack (exit 133), or sat at
// 2 GB until the timeout. Now no answer is read past --max-body-size (after decompression): the check stops
// at once with exit 2, naming the package and the flag that raises the limit, and nothing is installed.
// Peak memory is not measured here (bench/run.mjs has the row), only that the guard ends, refusing.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, rmSync } from 'node:fs';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { TestRegistry } from '../registry/server.js';
import { cli, OLD } from '../integration/helpers.js';
import { attackProject, noStackTrace, type AttackProject, writeResolvedLockfile } from './attack.js';

const GiB = 2 ** 30;
const MiB = 2 ** 20;

/** A packument for `name` that never closes: `{"name":…,"versions":{},"readme":"xxxx…` up to `total` bytes, made lazily. */
function* endlessPackument(name: string, total: number): Generator<Buffer> {
  const head = Buffer.from(`{"name":${JSON.stringify(name)},"versions":{},"readme":"`);
  yield head;
  const chunk = Buffer.alloc(MiB, 'x');
  for (let sent = head.length; sent < total; sent += chunk.length) yield chunk;
}

/** The same body, gzipped as it is sent: about 2 MB on the wire for 2 GiB inflated. */
function gzipBomb(name: string, total: number): AsyncIterable<Buffer> {
  return Readable.from(endlessPackument(name, total)).pipe(createGzip({ level: 9 }));
}

let registry: TestRegistry;
let project: AttackProject;
let installed: string;

beforeAll(async () => {
  registry = await TestRegistry.start();
  registry.addPackage({ name: 'alpha', versions: [{ version: '1.0.0', publishedAt: OLD }] });
  project = attackProject(registry, { dependencies: { alpha: '1.0.0' } });
  // As users' lockfiles are: resolved and integrity (npm ci then asks for the tarball only, never the packument).
  writeResolvedLockfile(project.dir, registry, { alpha: '1.0.0' });
  installed = join(project.dir, 'node_modules', 'alpha', 'package.json');
});
afterAll(() => registry.close());
beforeEach(() => registry.clearFaults());

const guard = (...args: string[]) => project.guard('ci', '--cache-dir', join(project.dir, `cache-${Math.random()}`), '--retries', '0', ...args);

function expectRefused(res: { code: number; stdout: string; stderr: string }, limit: string): void {
  const out = res.stdout + res.stderr;
  expect(res.code).toBe(2);
  expect(out).toContain(`the registry's answer for alpha from ${registry.url}`);
  expect(out).toContain(`is larger than ${limit}`);
  expect(out).toMatch(/raise the limit with --max-body-size <size>.*SAFE_INSTALL_MAX_BODY_SIZE/);
  expect(noStackTrace(out), out).toBe(true);
  expect(existsSync(installed)).toBe(false);
}

describe('a metadata answer of any size', () => {
  it('without the guard, npm ci installs from the same registry (it fetches the tarball, not the packument)', async () => {
    registry.fault('alpha', { packumentOnly: true, stream: () => endlessPackument('alpha', 2 * GiB) });
    const res = await project.npm('ci', '--ignore-scripts');
    expect(res.code).toBe(0);
    expect(existsSync(installed)).toBe(true);
    rmSync(join(project.dir, 'node_modules'), { recursive: true, force: true });
  });

  it('a 2 GiB packument: refused at the default limit (128 MiB), exit 2, nothing installed', async () => {
    registry.fault('alpha', { packumentOnly: true, stream: () => endlessPackument('alpha', 2 * GiB) });
    const res = await guard();
    expectRefused(res, '128 MiB');
  });

  it('a gzip body that inflates to 2 GiB: refused once 128 MiB are inflated', async () => {
    registry.fault('alpha', { packumentOnly: true, stream: () => gzipBomb('alpha', 2 * GiB), headers: { 'content-encoding': 'gzip' } });
    const res = await guard();
    expectRefused(res, '128 MiB');
  });

  it('the limit is set by --max-body-size, or by SAFE_INSTALL_MAX_BODY_SIZE', async () => {
    registry.fault('alpha', { packumentOnly: true, stream: () => endlessPackument('alpha', 2 * GiB) });
    expectRefused(await guard('--max-body-size', '4MiB'), '4 MiB');
    const env = { ...project.env, SAFE_INSTALL_MAX_BODY_SIZE: '3m' };
    expectRefused(await cli(['ci', '--cache-dir', join(project.dir, 'cache-env'), '--retries', '0'], { cwd: project.dir, env }), '3 MiB');
  });

  it('an honest packument under the limit is read as before; one over a lowered limit is refused', async () => {
    const ok = await project.guard('check', '--cache-dir', join(project.dir, 'cache-ok'), '--max-body-size', '1MiB');
    expect(ok.code).not.toBe(2);
    expect(ok.stdout + ok.stderr).not.toContain('larger than');
    const res = await project.guard('check', '--cache-dir', join(project.dir, 'cache-small'), '--max-body-size', '100b');
    expect(res.code).toBe(2);
    expect(res.stdout + res.stderr).toContain('is larger than 100 bytes');
    expect(noStackTrace(res.stdout + res.stderr)).toBe(true);
  });

  it('behind a proxy (npm-registry-fetch reads the body, not undici): the same limits', async () => {
    const proxied: string[] = [];
    const proxy = createServer((req, res) => {
      proxied.push(req.url ?? '');
      const up = request(req.url!, { method: req.method, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
        res.on('close', () => r.destroy());
      });
      up.on('error', () => res.destroy());
      req.pipe(up);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    try {
      const env = { ...project.env, http_proxy: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}` };
      const run = () => cli(['ci', '--cache-dir', join(project.dir, `cache-${Math.random()}`), '--retries', '0'], { cwd: project.dir, env });
      registry.fault('alpha', { packumentOnly: true, stream: () => endlessPackument('alpha', 2 * GiB) });
      expectRefused(await run(), '128 MiB');
      registry.clearFaults();
      registry.fault('alpha', { packumentOnly: true, stream: () => gzipBomb('alpha', 2 * GiB), headers: { 'content-encoding': 'gzip' } });
      expectRefused(await run(), '128 MiB');
      expect(proxied.filter((u) => u.endsWith('/alpha'))).toHaveLength(2);
    } finally {
      proxy.closeAllConnections();
      await new Promise<void>((r) => proxy.close(() => r()));
    }
  });

  it('a bad size is a usage error', async () => {
    const res = await project.guard('check', '--max-body-size', 'lots');
    expect(res.code).toBe(2);
    expect(res.stdout + res.stderr).toContain('--max-body-size: not a size such as 512MiB: "lots"');
  });
});
