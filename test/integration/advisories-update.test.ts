// `safe-install advisories update --from http://127.0.0.1:<port>/all.zip`: the real CLI against a loopback server
// serving zips built from real OSV records. The database is replaced whole or not at all: a broken download, a
// zip bomb and Ctrl-C leave the previous one in use, with no temporary folder and no lock left behind.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import yazl from 'yazl';
import { openCachedAdvisoryDb } from '../../src/advisories/db.js';
import { BIN, cleanEnv, cli, FIXTURES, tempDir } from './helpers.js';

const RECORDS = ['chalk/MAL-2025-46969.json', 'debug/MAL-2025-46974.json', '@ctrl/tinycolor/MAL-2025-47141.json'].map((p) => join(FIXTURES, 'advisories-db', 'osv', 'malicious', 'npm', p));

function zipOf(entries: [string, Buffer][]): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const [name, data] of entries) zip.addBuffer(data, name);
  zip.end();
  const chunks: Buffer[] = [];
  return new Promise((res, rej) => {
    zip.outputStream.on('data', (c: Buffer) => chunks.push(c));
    zip.outputStream.on('end', () => res(Buffer.concat(chunks)));
    zip.outputStream.on('error', rej);
  });
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
let server: Server;
let base = '';
let handler: Handler = (_req, res) => res.writeHead(404).end();
const requests: IncomingMessage[] = [];
let full: Buffer;
let chalkOnly: Buffer;

beforeAll(async () => {
  full = await zipOf(RECORDS.map((f) => [basename(f), readFileSync(f)]));
  chalkOnly = await zipOf([[basename(RECORDS[0]!), readFileSync(RECORDS[0]!)]]);
  server = createServer((req, res) => {
    requests.push(req);
    handler(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const serve =
  (body: Buffer): Handler =>
  (_req, res) =>
    res.writeHead(200, { 'content-type': 'application/zip', 'content-length': body.length }).end(body);

function setup() {
  const home = tempDir('si-advupd-');
  // A token for the advisory host in npm's settings: it must not be sent (the host is no registry).
  const env = cleanEnv('http://127.0.0.1:9/', { [`npm_config_${base.replace(/^http:/, '')}/:_authToken`]: 'npm_SECRETTOKEN0123456789' });
  const cacheDir = join(home, 'cache');
  const update = (from = `${base}/all.zip`) => cli(['advisories', 'update', '--from', from, '--cache-dir', cacheDir], { cwd: home, env });
  const dbDir = join(cacheDir, 'advisories', 'v1');
  const ids = async (name: string) => {
    const db = await openCachedAdvisoryDb({ cacheDir, maxAgeMs: 86_400_000 });
    const out = db ? (await db.recordsFor(name)).map((r) => (r as { id: string }).id) : undefined;
    await db?.close();
    return out;
  };
  /** What the cache folder holds besides the current build: never a temporary folder, an old build or a lock. */
  const leftovers = () => readdirSync(dbDir).filter((n) => n !== 'current' && n !== readFileSync(join(dbDir, 'current'), 'utf8').trim());
  return { home, env, cacheDir, update, ids, leftovers, dbDir };
}

describe('safe-install advisories update', () => {
  it('downloads, indexes and replaces the database atomically; sends no npm credential', async () => {
    const s = setup();
    handler = serve(full);
    requests.length = 0;
    const first = await s.update();
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^Updated the advisory database: 3 records for 3 npm packages from http:\/\/127\.0\.0\.1:\d+\/all\.zip \(\d+ bytes, sha256 [0-9a-f]{64}\)/);
    expect(requests.map((r) => r.headers.authorization)).toEqual([undefined]);
    expect(await s.ids('debug')).toEqual(['MAL-2025-46974']);
    const firstBuild = readFileSync(join(s.dbDir, 'current'), 'utf8').trim();

    handler = serve(chalkOnly);
    const second = await s.update();
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('1 records for 1 npm packages');
    expect(await s.ids('debug')).toEqual([]);
    expect(await s.ids('chalk')).toEqual(['MAL-2025-46969']);
    expect(readFileSync(join(s.dbDir, 'current'), 'utf8').trim()).not.toBe(firstBuild);
    expect(s.leftovers()).toEqual([]);
  });

  it('a download cut short, a zip bomb, a 404 and a body that is not a zip leave the old database in use', async () => {
    const s = setup();
    handler = serve(full);
    expect((await s.update()).code).toBe(0);

    handler = (_req, res) => {
      res.writeHead(200, { 'content-length': full.length });
      res.write(full.subarray(0, full.length >> 1), () => res.destroy());
    };
    const cut = await s.update();
    expect(cut.code).toBe(2);
    expect(cut.stderr).toMatch(/safe-install: (the download of .* failed|the download of .* ended) after/);
    expect(cut.stderr).toContain('the advisory database in use was not changed');

    const bomb = await zipOf([['MAL-0000-1.json', Buffer.alloc(64 << 20, 0x20)]]);
    handler = serve(bomb);
    const refused = await s.update();
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/MAL-0000-1\.json is 64 MiB unpacked, more than 4 MiB: refused/);

    handler = (_req, res) => res.writeHead(404).end();
    expect((await s.update()).stderr).toMatch(/not found \(404\)/);
    handler = (_req, res) => res.writeHead(200).end('<html>maintenance</html>');
    expect((await s.update()).stderr).toMatch(/is not a zip file this can read/);

    expect(await s.ids('debug')).toEqual(['MAL-2025-46974']);
    expect(s.leftovers()).toEqual([]);
  });

  it('Ctrl-C during the download: exit 130, the old database in use, no temporary folder or lock left', async () => {
    const s = setup();
    handler = serve(full);
    expect((await s.update()).code).toBe(0);
    let sent!: () => void;
    const halfSent = new Promise<void>((r) => (sent = r));
    handler = (_req, res) => {
      res.writeHead(200, { 'content-length': full.length });
      res.write(full.subarray(0, full.length >> 1), () => sent()); // and then nothing: the download waits
    };
    const child = spawn(process.execPath, [BIN, 'advisories', 'update', '--from', `${base}/all.zip`, '--cache-dir', s.cacheDir], { cwd: s.home, env: s.env });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    await halfSent;
    // The first half is in the temporary folder once the child has read it: wait for that folder's zip to grow.
    for (let i = 0; i < 400; i++) {
      const tmp = readdirSync(s.dbDir).find((n) => n.startsWith('tmp-'));
      if (tmp && existsSync(join(s.dbDir, tmp, 'all.zip')) && readFileSync(join(s.dbDir, tmp, 'all.zip')).length > 0) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
    expect(stderr).toContain('Interrupted (SIGINT): the advisory database was not changed');
    expect(code).toBe(130);
    expect(await s.ids('debug')).toEqual(['MAL-2025-46974']);
    expect(s.leftovers()).toEqual([]);
  });
});
