// The registry transport: undici with npm's semantics (auth from .npmrc keys via npm-registry-fetch's own
// resolution, retries, 404 as null, gzip), and npm-registry-fetch itself for proxies and redirects.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { gzipSync } from 'node:zlib';
import type { AddressInfo } from 'node:net';
import { createTransport, needsNpmAgent, NpmFetchTransport, UndiciTransport, type HttpResponse } from '../../src/registry/http.js';

let server: Server;
let base: string;
const seen: IncomingMessage[] = [];
let failures = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(req);
    const path = req.url ?? '';
    if (path === '/gz') {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      res.end(gzipSync(JSON.stringify({ name: 'gz' })));
    } else if (path === '/flaky') {
      if (failures-- > 0) {
        res.writeHead(503).end('busy');
      } else {
        res.writeHead(200, { etag: '"e1"' }).end('{"ok":true}');
      }
    } else if (path === '/private') {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"no"}');
    } else if (path === '/moved') {
      res.writeHead(301, { location: `${base}/gz` }).end();
    } else {
      res.writeHead(404).end('{}');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

async function text(res: HttpResponse | null): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of res!.body) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks).toString('utf8');
}

const host = () => base.replace(/^http:/, '');
const transport = (extra: Record<string, unknown> = {}, retries = 0) =>
  new UndiciTransport({ fetchOptions: { [`${host()}/:_authToken`]: 'secret-token', userAgent: 'npm/11 test', maxSockets: 4, ...extra }, timeoutMs: 10_000, retries });

describe('UndiciTransport', () => {
  it("sends npm's headers: the registry's token from its .npmrc key, npm's user agent, gzip; and decodes gzip", async () => {
    const res = await transport().get(`${base}/gz`, { registry: `${base}/`, headers: { accept: 'application/json' } });
    expect(res?.status).toBe(200);
    expect(JSON.parse(await text(res))).toEqual({ name: 'gz' });
    const req = seen.at(-1)!;
    expect(req.headers.authorization).toBe('Bearer secret-token');
    expect(req.headers['user-agent']).toBe('npm/11 test');
    expect(req.headers.accept).toBe('application/json');
    expect(req.headers['accept-encoding']).toBe('gzip');
  });

  it('sends no credentials the configuration does not give for that registry', async () => {
    const t = new UndiciTransport({ fetchOptions: { '//other.example/:_authToken': 'x' }, timeoutMs: 10_000, retries: 0 });
    await text(await t.get(`${base}/gz`, { registry: `${base}/`, headers: {} }));
    expect(seen.at(-1)!.headers.authorization).toBeUndefined();
  });

  it('a 404 is null; another 4xx throws with its status code (no retry)', async () => {
    const t = transport({}, 2);
    expect(await t.get(`${base}/nothing`, { registry: `${base}/`, headers: {} })).toBeNull();
    const n = seen.length;
    await expect(t.get(`${base}/private`, { registry: `${base}/`, headers: {} })).rejects.toMatchObject({ statusCode: 401 });
    expect(seen.length - n).toBe(1);
  });

  it('retries a 5xx, then answers; gives up after the retries with the status code', async () => {
    failures = 1;
    const res = await transport({}, 1).get(`${base}/flaky`, { registry: `${base}/`, headers: {} });
    expect(res?.header('etag')).toBe('"e1"');
    expect(await text(res)).toBe('{"ok":true}');
    failures = 5;
    await expect(transport({}, 1).get(`${base}/flaky`, { registry: `${base}/`, headers: {} })).rejects.toMatchObject({ statusCode: 503 });
    failures = 0;
  });

  it('a redirect is followed by npm-registry-fetch', async () => {
    const res = await transport().get(`${base}/moved`, { registry: `${base}/`, headers: {} });
    expect(JSON.parse(await text(res))).toEqual({ name: 'gz' });
  });

  it('credentials in the registry URL are sent as basic auth, as npm does', async () => {
    const url = base.replace('http://', 'http://user:pass@');
    const t = new UndiciTransport({ fetchOptions: {}, timeoutMs: 10_000, retries: 0 });
    await text(await t.get(`${url}/gz`, { registry: `${url}/`, headers: {} }));
    expect(seen.at(-1)!.headers.authorization).toBe(`Basic ${Buffer.from('user:pass').toString('base64')}`);
  });

  it('an unreachable registry throws with the connection error code', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    await expect(transport().get(`http://127.0.0.1:${port}/x`, { registry: `http://127.0.0.1:${port}/`, headers: {} })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});

describe('which transport', () => {
  it("proxies (npm's settings or the environment) and local-address stay with npm's agent", () => {
    expect(needsNpmAgent({}, {})).toBe(false);
    expect(needsNpmAgent({ proxy: 'http://p:8080' }, {})).toBe(true);
    expect(needsNpmAgent({ httpsProxy: 'http://p:8080' }, {})).toBe(true);
    expect(needsNpmAgent({ localAddress: '10.0.0.1' }, {})).toBe(true);
    expect(needsNpmAgent({}, { HTTPS_PROXY: 'http://p:8080' })).toBe(true);
    expect(needsNpmAgent({}, { http_proxy: 'http://p:8080' })).toBe(true);
    expect(needsNpmAgent({}, { NO_PROXY: 'example.com' })).toBe(false);
    expect(createTransport({ fetchOptions: { proxy: 'http://p:8080' }, timeoutMs: 1000, retries: 0 })).toBeInstanceOf(NpmFetchTransport);
  });
});
