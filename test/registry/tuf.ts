// A real TUF repository on 127.0.0.1 for `trust refresh` tests: root, timestamp, snapshot and targets metadata
// signed with an ed25519 key made here (canonical JSON, as TUF and tuf-js sign it), targets served under /targets/.
// The public-good repository cannot be reached offline, and its root of trust cannot sign test data, so a test seeds
// the client's TUF cache with this repository's root.json (`seed`): the first root a TUF client trusts is whatever
// its cache holds, so everything after it is verified exactly as against the real repository.
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

const EXPIRES = '2099-01-01T00:00:00Z';

/** OLPC canonical JSON for the values metadata holds here (objects, arrays, ASCII strings, integers, booleans). */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

export class TufRepository {
  private readonly key = generateKeyPairSync('ed25519');
  private readonly keyid: string;
  private readonly files = new Map<string, Buffer>();
  private version = 0;
  /** Paths requested, in order. */
  readonly requests: string[] = [];

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {
    const pub = Buffer.from(this.key.publicKey.export({ format: 'jwk' }).x!, 'base64url').toString('hex');
    this.publicKey = { keytype: 'ed25519', scheme: 'ed25519', keyval: { public: pub } };
    this.keyid = createHash('sha256').update(canonical(this.publicKey)).digest('hex');
  }

  private readonly publicKey: Record<string, unknown>;

  static async start(targets: Record<string, string>): Promise<TufRepository> {
    let repo: TufRepository | undefined;
    const server = createServer((req, res) => {
      const path = decodeURIComponent((req.url ?? '/').split('?')[0]!);
      repo!.requests.push(path);
      const body = repo!.files.get(path);
      res.writeHead(body ? 200 : 404, { 'content-type': 'application/octet-stream' }).end(body ?? 'not found');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    repo = new TufRepository(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    repo.publish(targets);
    return repo;
  }

  private signed(signed: Record<string, unknown>): Buffer {
    const sig = sign(null, Buffer.from(canonical(signed)), this.key.privateKey).toString('hex');
    return Buffer.from(JSON.stringify({ signatures: [{ keyid: this.keyid, sig }], signed }, null, 1));
  }

  /** (Re)publish the targets: new targets, snapshot and timestamp versions; root version 1 stays. */
  publish(targets: Record<string, string>): void {
    this.version++;
    const common = { spec_version: '1.0.31', version: this.version, expires: EXPIRES };
    const role = { keyids: [this.keyid], threshold: 1 };
    if (this.version === 1) {
      this.files.set(
        '/1.root.json',
        this.signed({
          _type: 'root',
          ...common,
          consistent_snapshot: false,
          keys: { [this.keyid]: this.publicKey },
          roles: { root: role, timestamp: role, snapshot: role, targets: role },
        }),
      );
      this.files.set('/root.json', this.files.get('/1.root.json')!);
    }
    for (const p of [...this.files.keys()]) if (p.startsWith('/targets/')) this.files.delete(p);
    const entries: Record<string, unknown> = {};
    for (const [name, text] of Object.entries(targets)) {
      const body = Buffer.from(text);
      this.files.set(`/targets/${name}`, body);
      entries[name] = { length: body.length, hashes: { sha256: createHash('sha256').update(body).digest('hex') } };
    }
    const targetsMd = this.signed({ _type: 'targets', ...common, targets: entries });
    this.files.set('/targets.json', targetsMd);
    const snapshot = this.signed({ _type: 'snapshot', ...common, meta: { 'targets.json': { version: this.version } } });
    this.files.set('/snapshot.json', snapshot);
    this.files.set('/timestamp.json', this.signed({ _type: 'timestamp', ...common, meta: { 'snapshot.json': { version: this.version } } }));
  }

  /** Serve other bytes at a path without re-signing anything (an attacker between the client and the repository). */
  replaceFile(path: string, text: string): void {
    this.files.set(path, Buffer.from(text));
  }

  /** The root of trust, written where a TUF client under `cacheDir/trust/tuf` (trust refresh's layout) looks first. */
  seed(cacheDir: string): void {
    const u = new URL(this.url);
    const dir = join(cacheDir, 'trust', 'tuf', encodeURIComponent(u.host + u.pathname.replace(/\/$/, '')));
    mkdirSync(join(dir, 'targets'), { recursive: true });
    writeFileSync(join(dir, 'root.json'), this.files.get('/1.root.json')!);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
