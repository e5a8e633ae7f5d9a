/**
 * A real HTTP npm registry on 127.0.0.1, serving packuments, tarballs, signing
 * keys and attestations from memory, with fault injection for tests and
 * benchmarks. It never talks to any other registry.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { pipeline, Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import semver from 'semver';
import { buildTarball } from './tarball.js';

export interface FakeVersion {
  version: string;
  /** ISO timestamp -> packument time[version]. */
  publishedAt: string;
  /**
   * Tarball contents (paths relative to package/). package.json is generated from
   * the fields below unless given here explicitly (to model manifest confusion).
   * Default when omitted: `{ 'index.js': 'module.exports = "<name>@<version>";\n' }`.
   */
  files?: Record<string, string | Buffer>;
  /** Goes in the registry manifest AND the generated tarball package.json. */
  scripts?: Record<string, string>;
  /** Extra/overriding fields only in the registry manifest (e.g. scripts: {}). */
  manifestOverrides?: Record<string, unknown>;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  bin?: Record<string, string>;
  gypfile?: boolean;
  /** Copied to dist.signatures. */
  signatures?: { keyid: string; sig: string }[];
  /** Copied to dist.attestations. */
  attestations?: { url: string; provenance: { predicateType: string } };
  /** Copied to _npmUser. */
  npmUser?: Record<string, unknown>;
  /** Serve this dist.integrity instead of the real one. */
  integrityOverride?: string;
}

export interface FakePackage {
  name: string;
  versions: FakeVersion[];
  distTags?: Record<string, string>;
}

export interface Fault {
  /** Respond with this status and a JSON error body (or `body`, if also given). */
  status?: number;
  /** Wait this long, then respond (normally, or per the other fields). */
  delayMs?: number;
  /** Never respond (the socket is destroyed by close()). */
  hang?: boolean;
  /** Send status/headers with the full content-length but only half the body, then destroy the socket. */
  truncate?: boolean;
  /** Send this raw text (status 200 unless `status` is given). */
  body?: string;
  /**
   * Send the body this makes, chunk by chunk as the client reads (no content-length; status 200 unless
   * `status` is given), with `headers` added: a body of any size (or a gzip bomb) that is never held whole.
   */
  stream?: () => Iterable<Buffer> | AsyncIterable<Buffer>;
  /** Headers added to a `stream` answer (e.g. content-encoding). */
  headers?: Record<string, string>;
  /** Given a package name: apply to its packument only, not to its tarballs. */
  packumentOnly?: boolean;
  /** How many requests it applies to; default unlimited. */
  times?: number;
}

export interface RegistryOptions {
  /** Added to every request before it is handled. */
  latencyMs?: number;
  /** Default true: send ETag + Last-Modified and answer 304 to If-None-Match / If-Modified-Since. */
  etag?: boolean;
  /** Cache-Control header on 200 responses. Default 'no-cache' (clients must revalidate). */
  cacheControl?: string;
}

/** One advisory as the registry's bulk endpoint answers it (what `npm audit` reads). */
export interface BulkAdvisory {
  id: number;
  url: string;
  title: string;
  severity: 'low' | 'moderate' | 'high' | 'critical';
  vulnerable_versions: string;
  cwe: string[];
  cvss?: { score: number; vectorString: string | null };
}

export const BULK_ADVISORY_PATH = '/-/npm/v1/security/advisories/bulk';

export interface RequestLogEntry {
  method: string;
  /** Decoded path, without the query string (e.g. `/@scope/name`). */
  path: string;
  /** The raw request target as received (e.g. `/@scope%2fname?write=true`). */
  url: string;
  /** Response status; 0 while unanswered (e.g. a hang fault). */
  status: number;
}

interface Resource {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** Used for ETag / Last-Modified / 304s. */
  cacheable?: { etag: string; lastModified: number };
}

interface StoredPackage {
  name: string;
  packumentBody: Buffer;
  etag: string;
  lastModified: number;
  /** version -> tarball path (decoded, e.g. `/@s/n/-/n-1.0.0.tgz`). */
  tarballPaths: Map<string, string>;
}

interface StoredTarball {
  body: Buffer;
  etag: string;
  lastModified: number;
}

interface ActiveFault {
  match: (path: string) => boolean;
  fault: Fault;
  remaining: number;
}

const RAW_REGISTRY_HOSTS = ['https://registry.example.com/', 'http://registry.example.com/', 'https://registry.npmjs.org/', 'http://registry.npmjs.org/', 'https://registry.yarnpkg.com/'];

function sha1hex(b: Buffer): string {
  return createHash('sha1').update(b).digest('hex');
}

export function sha512Integrity(b: Buffer): string {
  return `sha512-${createHash('sha512').update(b).digest('base64')}`;
}

function basename(name: string): string {
  return name.startsWith('@') ? name.slice(name.indexOf('/') + 1) : name;
}

function jsonBody(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

function errorResource(status: number, error: string): Resource {
  return {
    status,
    headers: { 'content-type': 'application/json' },
    body: jsonBody({ error }),
  };
}

function safeDecode(s: string): string | null {
  try {
    return decodeURIComponent(s);
  } catch {
    return null;
  }
}

/** Highest stable version, or highest of all if none is stable. */
function highestVersion(versions: string[]): string | undefined {
  const valid = versions.filter((v) => semver.valid(v));
  const stable = valid.filter((v) => !semver.prerelease(v));
  const pool = stable.length > 0 ? stable : valid;
  return pool.sort(semver.rcompare)[0] ?? versions[versions.length - 1];
}

export class TestRegistry {
  readonly url: string;
  readonly requests: RequestLogEntry[] = [];

  private readonly server: Server;
  private readonly opts: Required<RegistryOptions>;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly sleepers = new Set<() => void>();
  private readonly packages = new Map<string, StoredPackage>();
  private readonly tarballs = new Map<string, StoredTarball>();
  private readonly attestations = new Map<string, Buffer>();
  private faults: ActiveFault[] = [];
  private keys: Buffer | null = null;
  /** name -> advisories served by the bulk endpoint (default: none); null: no such endpoint (405, as mirrors answer). */
  private advisories: Map<string, BulkAdvisory[]> | null = new Map();
  /** The bodies (parsed) and authorization headers of the bulk requests received. */
  readonly bulkRequests: { body: unknown; authorization?: string }[] = [];
  private lastModifiedClock = 0;
  private closed = false;

  private constructor(server: Server, url: string, opts: RegistryOptions) {
    this.server = server;
    this.url = url;
    this.opts = {
      latencyMs: opts.latencyMs ?? 0,
      etag: opts.etag ?? true,
      cacheControl: opts.cacheControl ?? 'no-cache',
    };
  }

  static async start(opts: RegistryOptions = {}): Promise<TestRegistry> {
    const server = createServer();
    server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const { port } = server.address() as AddressInfo;
    const reg = new TestRegistry(server, `http://127.0.0.1:${port}/`, opts);
    server.on('connection', (socket) => {
      reg.sockets.add(socket);
      socket.on('close', () => reg.sockets.delete(socket));
    });
    server.on('request', (req, res) => {
      reg.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent && !res.destroyed) {
          const r = errorResource(500, String(err));
          res.writeHead(r.status, r.headers).end(r.body);
        } else {
          res.destroy();
        }
      });
    });
    return reg;
  }

  // ---------------------------------------------------------------- content

  addPackage(pkg: FakePackage): void {
    const { name } = pkg;
    const versions: Record<string, unknown> = {};
    const time: Record<string, string> = {};
    const tarballPaths = new Map<string, string>();
    const lastModified = this.nextLastModified();

    for (const v of pkg.versions) {
      const generated: Record<string, unknown> = { name, version: v.version };
      if (v.scripts) generated.scripts = v.scripts;
      if (v.dependencies) generated.dependencies = v.dependencies;
      if (v.optionalDependencies) generated.optionalDependencies = v.optionalDependencies;
      if (v.bin) generated.bin = v.bin;
      if (v.gypfile !== undefined) generated.gypfile = v.gypfile;

      const files: Record<string, string | Buffer> = {
        ...(v.files ?? { 'index.js': `module.exports = ${JSON.stringify(`${name}@${v.version}`)};\n` }),
      };
      if (!('package.json' in files)) files['package.json'] = JSON.stringify(generated, null, 2) + '\n';
      const tgz = buildTarball(files);
      const path = `/${name}/-/${basename(name)}-${v.version}.tgz`;
      this.tarballs.set(path, { body: tgz, etag: `"${sha1hex(tgz)}"`, lastModified });
      tarballPaths.set(v.version, path);

      const unpackedSize = Object.values(files).reduce<number>((n, c) => n + (typeof c === 'string' ? Buffer.byteLength(c) : c.length), 0);
      const dist: Record<string, unknown> = {
        tarball: this.url + path.slice(1),
        shasum: sha1hex(tgz),
        integrity: v.integrityOverride ?? sha512Integrity(tgz),
        fileCount: Object.keys(files).length,
        unpackedSize,
      };
      if (v.signatures) dist.signatures = v.signatures;
      if (v.attestations) dist.attestations = v.attestations;

      const manifest: Record<string, unknown> = {
        ...generated,
        _id: `${name}@${v.version}`,
        ...(v.npmUser ? { _npmUser: v.npmUser } : {}),
        dist,
        ...(v.manifestOverrides ?? {}),
      };
      versions[v.version] = manifest;
      time[v.version] = v.publishedAt;
    }

    const published = pkg.versions.map((v) => v.publishedAt).sort();
    const latest = highestVersion(pkg.versions.map((v) => v.version));
    const packument = {
      _id: name,
      name,
      'dist-tags': { ...(latest ? { latest } : {}), ...(pkg.distTags ?? {}) },
      versions,
      time: {
        created: published[0] ?? new Date(0).toISOString(),
        modified: published[published.length - 1] ?? new Date(0).toISOString(),
        ...time,
      },
    };
    this.storePackument(name, packument, tarballPaths, lastModified);
  }

  /**
   * Serve a real packument as-is, rewriting tarball URLs on registry.example.com /
   * registry.npmjs.org to this server. `tarballs` may be keyed by version, by
   * `name@version`, or by tarball file name (`foo-1.0.0.tgz`).
   */
  addRawPackument(packument: any, tarballs: Record<string, Buffer> = {}): void {
    const doc = JSON.parse(JSON.stringify(packument)) as any;
    const name: string = doc.name ?? doc._id;
    if (typeof name !== 'string') throw new Error('packument has no name');
    const lastModified = this.nextLastModified();
    const tarballPaths = new Map<string, string>();
    for (const [version, manifest] of Object.entries<any>(doc.versions ?? {})) {
      const tarball: unknown = manifest?.dist?.tarball;
      let path: string | undefined;
      if (typeof tarball === 'string') {
        const host = RAW_REGISTRY_HOSTS.find((h) => tarball.startsWith(h));
        if (host) {
          manifest.dist.tarball = this.url + tarball.slice(host.length);
          path = safeDecode(new URL(manifest.dist.tarball).pathname) ?? undefined;
        } else if (tarball.startsWith(this.url)) {
          path = safeDecode(new URL(tarball).pathname) ?? undefined;
        }
      }
      path ??= `/${name}/-/${basename(name)}-${version}.tgz`;
      tarballPaths.set(version, path);
      const file = path.slice(path.lastIndexOf('/') + 1);
      const body = tarballs[version] ?? tarballs[`${name}@${version}`] ?? tarballs[file];
      if (body) this.tarballs.set(path, { body, etag: `"${sha1hex(body)}"`, lastModified });
    }
    this.storePackument(name, doc, tarballPaths, lastModified);
  }

  setKeys(keys: unknown | null): void {
    this.keys = keys === null ? null : jsonBody(keys);
  }

  /**
   * Serve the bulk advisory endpoint with these advisories (by package name); each answer holds, per name asked
   * about, the advisories whose vulnerable_versions include one of the versions asked about, as npm's registry does.
   * null answers 405, as mirrors do; by default it answers, with no advisories.
   */
  setAdvisories(byName: Record<string, BulkAdvisory[]> | null): void {
    this.advisories = byName === null ? null : new Map(Object.entries(byName));
  }

  setAttestations(nameAtVersion: string, body: unknown): void {
    this.attestations.set(safeDecode(nameAtVersion) ?? nameAtVersion, jsonBody(body));
  }

  /** The real sha512 SRI of the served tarball. */
  integrityOf(name: string, version: string): string {
    const path = this.packages.get(name)?.tarballPaths.get(version);
    const tgz = path ? this.tarballs.get(path) : undefined;
    if (!tgz) throw new Error(`no tarball for ${name}@${version}`);
    return sha512Integrity(tgz.body);
  }

  /** The served tarball bytes. */
  tarballOf(name: string, version: string): Buffer {
    const path = this.packages.get(name)?.tarballPaths.get(version);
    const tgz = path ? this.tarballs.get(path) : undefined;
    if (!tgz) throw new Error(`no tarball for ${name}@${version}`);
    return tgz.body;
  }

  /** The tarball URL as served in dist.tarball for addPackage'd packages. */
  tarballUrl(name: string, version: string): string {
    return `${this.url}${name}/-/${basename(name)}-${version}.tgz`;
  }

  /** Removes a package (its packument; tarballs stay served). */
  removePackage(name: string): void {
    this.packages.delete(name);
  }

  // ---------------------------------------------------------------- faults & log

  /**
   * Inject a fault for requests whose decoded path starts with `pathPrefixOrName`
   * (when it begins with '/'), or for a package name: its packument and its tarballs.
   * Several faults may be active; the first one added that matches (and has uses
   * left) applies.
   */
  fault(pathPrefixOrName: string, fault: Fault): void {
    this.faults.push({
      match: this.matcher(pathPrefixOrName),
      fault,
      remaining: fault.times ?? Infinity,
    });
  }

  clearFaults(): void {
    this.faults = [];
  }

  /** Number of logged requests, optionally for a decoded path prefix ('/...') or a package name. */
  requestCount(pathPrefixOrName?: string): number {
    if (pathPrefixOrName === undefined) return this.requests.length;
    const match = this.matcher(pathPrefixOrName);
    return this.requests.filter((r) => match(r.path)).length;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const wake of this.sleepers) wake();
    this.sleepers.clear();
    const done = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    for (const s of this.sockets) s.destroy();
    await done;
  }

  // ---------------------------------------------------------------- internals

  private matcher(pathPrefixOrName: string): (path: string) => boolean {
    if (pathPrefixOrName.startsWith('/')) {
      const prefix = safeDecode(pathPrefixOrName) ?? pathPrefixOrName;
      return (path) => path.startsWith(prefix);
    }
    const name = safeDecode(pathPrefixOrName) ?? pathPrefixOrName;
    return (path) => path === `/${name}` || path === `/${name}/` || path.startsWith(`/${name}/-/`);
  }

  /** Second-granular (HTTP dates) and strictly increasing, so replacements are never 'not modified'. */
  private nextLastModified(): number {
    const now = Math.floor(Date.now() / 1000) * 1000;
    this.lastModifiedClock = Math.max(now, this.lastModifiedClock + 1000);
    return this.lastModifiedClock;
  }

  private storePackument(name: string, packument: unknown, tarballPaths: Map<string, string>, lastModified: number): void {
    const body = jsonBody(packument);
    this.packages.set(name, {
      name,
      packumentBody: body,
      etag: `"${sha1hex(body)}"`,
      lastModified,
      tarballPaths,
    });
  }

  private sleep(ms: number): Promise<void> {
    if (ms <= 0 || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(t);
        this.timers.delete(t);
        this.sleepers.delete(wake);
        resolve();
      };
      const t = setTimeout(wake, ms);
      this.timers.add(t);
      this.sleepers.add(wake);
    });
  }

  private takeFault(path: string): Fault | undefined {
    for (const f of this.faults) {
      if (f.fault.packumentOnly && path.includes('/-/')) continue;
      if (f.remaining > 0 && f.match(path)) {
        f.remaining--;
        return f.fault;
      }
    }
    return undefined;
  }

  private bulk(body: Buffer, authorization: string | undefined): Resource {
    let asked: unknown;
    try {
      asked = JSON.parse(body.toString('utf8'));
    } catch {
      return errorResource(400, 'Bad request body');
    }
    this.bulkRequests.push({ body: asked, ...(authorization ? { authorization } : {}) });
    if (!this.advisories) return { ...errorResource(405, 'Method not allowed'), headers: { 'content-type': 'application/json', allow: 'GET, HEAD' } };
    const out: Record<string, BulkAdvisory[]> = {};
    for (const [name, versions] of Object.entries(asked as Record<string, string[]>)) {
      const hits = (this.advisories.get(name) ?? []).filter((a) => versions.some((v) => semver.satisfies(v, a.vulnerable_versions, { includePrerelease: true })));
      if (hits.length) out[name] = hits;
    }
    return { status: 200, headers: { 'content-type': 'application/json' }, body: jsonBody(out) };
  }

  private route(method: string, path: string): Resource {
    if (method !== 'GET' && method !== 'HEAD') {
      return { ...errorResource(405, 'Method not allowed'), headers: { 'content-type': 'application/json', allow: 'GET, HEAD' } };
    }
    if (path.startsWith('/-/')) {
      if (path === '/-/npm/v1/keys') {
        return this.keys ? { status: 200, headers: { 'content-type': 'application/json' }, body: this.keys } : errorResource(404, 'Not found');
      }
      const att = '/-/npm/v1/attestations/';
      if (path.startsWith(att)) {
        const body = this.attestations.get(path.slice(att.length));
        return body ? { status: 200, headers: { 'content-type': 'application/json' }, body } : errorResource(404, 'Not found');
      }
      return errorResource(404, 'Not found');
    }
    if (path.includes('/-/')) {
      const tgz = this.tarballs.get(path);
      if (!tgz) return errorResource(404, 'Not found');
      return {
        status: 200,
        headers: { 'content-type': 'application/octet-stream' },
        body: tgz.body,
        cacheable: { etag: tgz.etag, lastModified: tgz.lastModified },
      };
    }
    const name = path.slice(1).replace(/\/$/, '');
    const pkg = this.packages.get(name);
    if (!pkg) return errorResource(404, 'Not found');
    return {
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: pkg.packumentBody,
      cacheable: { etag: pkg.etag, lastModified: pkg.lastModified },
    };
  }

  private notModified(req: IncomingMessage, c: { etag: string; lastModified: number }): boolean {
    const inm = req.headers['if-none-match'];
    if (inm !== undefined) {
      return inm
        .split(',')
        .map((t) => t.trim().replace(/^W\//, ''))
        .some((t) => t === '*' || t === c.etag);
    }
    const ims = req.headers['if-modified-since'];
    if (ims !== undefined) {
      const since = Date.parse(ims);
      return !Number.isNaN(since) && c.lastModified <= since;
    }
    return false;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const rawUrl = req.url ?? '/';
    const rawPath = rawUrl.split('?')[0]!;
    const decoded = safeDecode(rawPath);
    const entry: RequestLogEntry = { method, path: decoded ?? rawPath, url: rawUrl, status: 0 };
    this.requests.push(entry);
    let requestBody: Buffer | undefined;
    if (method === 'POST' && decoded === BULK_ADVISORY_PATH) {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      requestBody = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') requestBody = gunzipSync(requestBody);
    } else {
      // Drain any request body (e.g. a PUT) so keep-alive keeps working.
      req.resume();
    }

    await this.sleep(this.opts.latencyMs);
    const fault = this.takeFault(entry.path);
    if (fault?.delayMs) await this.sleep(fault.delayMs);
    if (this.closed || res.destroyed) return;
    if (fault?.hang) return; // never answer; close() destroys the socket
    if (fault?.stream) {
      entry.status = fault.status ?? 200;
      res.writeHead(entry.status, { 'content-type': 'application/json', ...fault.headers });
      // Backpressure: the generator runs only as fast as the client reads; a client that stops ends it.
      pipeline(Readable.from(fault.stream()), res, () => res.socket?.destroy());
      return;
    }

    let r: Resource = decoded === null ? errorResource(400, 'Bad request path') : requestBody ? this.bulk(requestBody, req.headers.authorization) : this.route(method, decoded);
    if (fault?.body !== undefined) {
      r = { status: fault.status ?? 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(fault.body, 'utf8') };
    } else if (fault?.status !== undefined) {
      r = errorResource(fault.status, `Injected fault: ${fault.status}`);
    }

    const headers: Record<string, string> = { ...r.headers };
    if (r.cacheable && r.status === 200 && !fault) {
      headers['cache-control'] = this.opts.cacheControl;
      if (this.opts.etag) {
        headers.etag = r.cacheable.etag;
        headers['last-modified'] = new Date(r.cacheable.lastModified).toUTCString();
        if (this.notModified(req, r.cacheable)) {
          entry.status = 304;
          res.writeHead(304, { etag: headers.etag, 'last-modified': headers['last-modified'], 'cache-control': headers['cache-control'] });
          res.end();
          return;
        }
      }
    }
    headers['content-length'] = String(r.body.length);
    entry.status = r.status;

    if (fault?.truncate) {
      res.writeHead(r.status, headers);
      const half = r.body.subarray(0, Math.floor(r.body.length / 2));
      res.write(half, () => res.socket?.destroy());
      // In case the write callback never fires (socket already gone).
      res.once('close', () => res.socket?.destroy());
      return;
    }
    res.writeHead(r.status, headers);
    res.end(method === 'HEAD' ? undefined : r.body);
  }
}
