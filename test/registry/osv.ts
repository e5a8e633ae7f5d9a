/**
 * A loopback OSV API on 127.0.0.1: POST /v1/querybatch and GET /v1/vulns/{id}, serving the OSV records it is
 * given, as https://api.osv.dev does: querybatch answers only ids and modified times, one result per query in
 * order, at most `pageSize` per result with a next_page_token for the rest. Its matching is its own, simple
 * reading of the records (explicit versions; SEMVER/ECOSYSTEM ranges walked in order), independent of the code
 * under test. It never talks to any other host.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import semver from 'semver';

export interface OsvLogEntry {
  method: string;
  path: string;
  body?: unknown;
}

function affects(record: any, name: string, version: string): boolean {
  if (record.withdrawn) return false;
  for (const a of record.affected ?? []) {
    if (a.package?.ecosystem !== 'npm' || a.package?.name !== name) continue;
    if ((a.versions ?? []).includes(version)) return true;
    for (const r of a.ranges ?? []) {
      let on = false;
      const events = [...r.events].sort((x: any, y: any) => {
        const vx = Object.values(x)[0] as string;
        const vy = Object.values(y)[0] as string;
        return vx === '0' ? -1 : vy === '0' ? 1 : semver.compare(vx, vy);
      });
      for (const e of events) {
        if (e.introduced !== undefined && (e.introduced === '0' || semver.gte(version, e.introduced))) on = true;
        if (e.fixed !== undefined && semver.gte(version, e.fixed)) on = false;
        if (e.last_affected !== undefined && semver.gt(version, e.last_affected)) on = false;
      }
      if (on) return true;
    }
  }
  return false;
}

export class TestOsv {
  readonly url: string;
  readonly requests: OsvLogEntry[] = [];
  private readonly records = new Map<string, any>();
  /** When set, every request is answered with this status. */
  failWith?: number;
  /** When set, querybatch is answered 200 with this raw text. */
  batchBody?: string;
  /** The most vulns per querybatch result before a next_page_token. */
  pageSize = 1000;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    url: string,
  ) {
    this.url = url;
  }

  static async start(): Promise<TestOsv> {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    const osv = new TestOsv(server, `http://127.0.0.1:${port}`);
    server.on('connection', (s) => {
      osv.sockets.add(s);
      s.on('close', () => osv.sockets.delete(s));
    });
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path = (req.url ?? '/').split('?')[0]!;
        const text = Buffer.concat(chunks).toString('utf8');
        let body: any;
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          body = text;
        }
        osv.requests.push({ method: req.method ?? 'GET', path, ...(body !== undefined ? { body } : {}) });
        const send = (status: number, value: unknown) => {
          const out = Buffer.from(JSON.stringify(value));
          res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(out.length) }).end(out);
        };
        if (osv.failWith) return send(osv.failWith, { code: osv.failWith, message: 'injected' });
        if (req.method === 'POST' && path === '/v1/querybatch') {
          if (osv.batchBody !== undefined) return void res.writeHead(200, { 'content-type': 'application/json' }).end(osv.batchBody);
          return send(200, osv.batch(body));
        }
        const m = /^\/v1\/vulns\/(.+)$/.exec(path);
        if (req.method === 'GET' && m) {
          const rec = osv.records.get(decodeURIComponent(m[1]!));
          return rec ? send(200, rec) : send(404, { code: 5, message: 'Bug not found.' });
        }
        send(404, { code: 5, message: 'Not found' });
      });
    });
    return osv;
  }

  add(...records: any[]): void {
    for (const r of records) this.records.set(r.id, r);
  }

  /** Requests whose path starts with `prefix`. */
  count(prefix: string): number {
    return this.requests.filter((r) => r.path.startsWith(prefix)).length;
  }

  private batch(body: any): unknown {
    const results = (body?.queries ?? []).map((q: any) => {
      const all = [...this.records.values()].filter((r) => affects(r, q.package?.name, q.version)).map((r) => ({ id: r.id, modified: r.modified }));
      const start = q.page_token ? Number(q.page_token) : 0;
      const page = all.slice(start, start + this.pageSize);
      const next = start + this.pageSize < all.length ? String(start + this.pageSize) : undefined;
      return { ...(page.length ? { vulns: page } : {}), ...(next ? { next_page_token: next } : {}) };
    });
    return { results };
  }

  async close(): Promise<void> {
    const done = new Promise<void>((r) => this.server.close(() => r()));
    this.server.closeAllConnections();
    for (const s of this.sockets) s.destroy();
    await done;
  }
}
