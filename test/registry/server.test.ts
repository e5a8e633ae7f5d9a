import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TestRegistry, type FakePackage } from './server.js';
import { buildTar, buildTarball } from './tarball.js';
import { NPM_CLI } from '../integration/helpers.js';
import { waitFor, within } from '../wait.js';

const execFileAsync = promisify(execFile);

const sri = (b: Buffer): string => `sha512-${createHash('sha512').update(b).digest('base64')}`;

const leftPad: FakePackage = {
  name: 'left-pad',
  versions: [
    {
      version: '1.0.0',
      publishedAt: '2020-01-01T00:00:00.000Z',
      files: { 'index.js': 'module.exports = "left-pad 1.0.0";\n' },
    },
    {
      version: '1.1.0',
      publishedAt: '2020-02-01T00:00:00.000Z',
      files: { 'index.js': 'module.exports = "left-pad 1.1.0";\n' },
      scripts: { postinstall: 'node -e 1' },
      dependencies: { 'dep-a': '^1.0.0' },
      npmUser: { name: 'alice', email: 'alice@example.com' },
      signatures: [{ keyid: 'SHA256:abc', sig: 'MEUC' }],
    },
  ],
};

/** Minimal reader for our ustar output: [path, content] pairs. */
function readTar(tar: Buffer): [string, string][] {
  const out: [string, string][] = [];
  let off = 0;
  while (off + 512 <= tar.length) {
    const h = tar.subarray(off, off + 512);
    if (h.every((b) => b === 0)) break;
    const str = (a: number, n: number): string =>
      h
        .subarray(a, a + n)
        .toString('utf8')
        .replace(/\0.*$/s, '');
    const size = parseInt(str(124, 12), 8);
    const prefix = str(345, 155);
    const name = (prefix ? prefix + '/' : '') + str(0, 100);
    const sum = [...h].reduce((s, b, i) => s + (i >= 148 && i < 156 ? 0x20 : b), 0);
    expect(parseInt(str(148, 8), 8)).toBe(sum);
    expect(str(257, 6)).toBe('ustar');
    out.push([name, tar.subarray(off + 512, off + 512 + size).toString('utf8')]);
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

describe('buildTarball', () => {
  it('writes a reproducible gzip ustar archive under package/', () => {
    const files = { 'index.js': 'x', 'lib/a.js': 'y'.repeat(600), 'package.json': '{}' };
    const a = buildTarball(files);
    expect(a.equals(buildTarball(files))).toBe(true);
    const tar = gunzipSync(a);
    expect(tar.equals(buildTar(files))).toBe(true);
    expect(tar.length % 512).toBe(0);
    expect(readTar(tar)).toEqual([
      ['package/index.js', 'x'],
      ['package/lib/a.js', 'y'.repeat(600)],
      ['package/package.json', '{}'],
    ]);
  });

  it('splits long paths into the ustar prefix field', () => {
    const long = `${'d'.repeat(80)}/${'f'.repeat(60)}.js`;
    expect(readTar(gunzipSync(buildTarball({ [long]: 'z' })))).toEqual([[`package/${long}`, 'z']]);
  });
});

describe('TestRegistry', () => {
  let reg: TestRegistry;

  beforeEach(async () => {
    reg = await TestRegistry.start();
  });
  afterEach(async () => {
    await reg.close();
  });

  it('serves a packument whose integrity matches the served tarball bytes', async () => {
    reg.addPackage(leftPad);
    expect(reg.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);

    const res = await fetch(`${reg.url}left-pad`, {
      headers: { accept: 'application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    const doc = (await res.json()) as any;
    expect(doc._id).toBe('left-pad');
    expect(doc.name).toBe('left-pad');
    expect(doc['dist-tags']).toEqual({ latest: '1.1.0' });
    expect(doc.time).toMatchObject({
      created: '2020-01-01T00:00:00.000Z',
      modified: '2020-02-01T00:00:00.000Z',
      '1.0.0': '2020-01-01T00:00:00.000Z',
      '1.1.0': '2020-02-01T00:00:00.000Z',
    });
    const v = doc.versions['1.1.0'];
    expect(v).toMatchObject({
      name: 'left-pad',
      version: '1.1.0',
      scripts: { postinstall: 'node -e 1' },
      dependencies: { 'dep-a': '^1.0.0' },
      _npmUser: { name: 'alice' },
    });
    expect(v.dist.tarball).toBe(`${reg.url}left-pad/-/left-pad-1.1.0.tgz`);
    expect(v.dist.signatures).toEqual([{ keyid: 'SHA256:abc', sig: 'MEUC' }]);

    const tgz = Buffer.from(await (await fetch(v.dist.tarball)).arrayBuffer());
    expect(v.dist.integrity).toBe(sri(tgz));
    expect(v.dist.shasum).toBe(createHash('sha1').update(tgz).digest('hex'));
    expect(reg.integrityOf('left-pad', '1.1.0')).toBe(sri(tgz));

    // The generated package.json carries the scripts and dependencies too.
    const entries = new Map(readTar(gunzipSync(tgz)));
    expect(entries.get('package/index.js')).toBe('module.exports = "left-pad 1.1.0";\n');
    expect(JSON.parse(entries.get('package/package.json')!)).toEqual({
      name: 'left-pad',
      version: '1.1.0',
      scripts: { postinstall: 'node -e 1' },
      dependencies: { 'dep-a': '^1.0.0' },
    });

    expect(reg.requests.map((r) => [r.method, r.path, r.status])).toEqual([
      ['GET', '/left-pad', 200],
      ['GET', '/left-pad/-/left-pad-1.1.0.tgz', 200],
    ]);
    expect(reg.requestCount('left-pad')).toBe(2);
    expect(reg.requestCount('/left-pad/-/')).toBe(1);
  });

  it('models manifest confusion and integrity overrides', async () => {
    reg.addPackage({
      name: 'confused',
      versions: [
        {
          version: '1.0.0',
          publishedAt: '2021-01-01T00:00:00.000Z',
          scripts: { install: 'node evil.js' },
          manifestOverrides: { scripts: {} },
          integrityOverride: 'sha512-AAAA',
        },
      ],
    });
    const doc = (await (await fetch(`${reg.url}confused`)).json()) as any;
    expect(doc.versions['1.0.0'].scripts).toEqual({});
    expect(doc.versions['1.0.0'].dist.integrity).toBe('sha512-AAAA');
    const tgz = Buffer.from(await (await fetch(doc.versions['1.0.0'].dist.tarball)).arrayBuffer());
    expect(reg.integrityOf('confused', '1.0.0')).toBe(sri(tgz));
    const pj = JSON.parse(new Map(readTar(gunzipSync(tgz))).get('package/package.json')!);
    expect(pj.scripts).toEqual({ install: 'node evil.js' });
  });

  it('404s unknown packages, tarballs and keys; 405s other methods', async () => {
    const res = await fetch(`${reg.url}nope`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: 'Not found' });
    expect((await fetch(`${reg.url}nope/-/nope-1.0.0.tgz`)).status).toBe(404);
    expect((await fetch(`${reg.url}-/npm/v1/keys`)).status).toBe(404);

    reg.setKeys({ keys: [{ keyid: 'SHA256:abc' }] });
    const keys = await fetch(`${reg.url}-/npm/v1/keys`);
    expect(keys.status).toBe(200);
    expect(await keys.json()).toEqual({ keys: [{ keyid: 'SHA256:abc' }] });
    reg.setKeys(null);
    expect((await fetch(`${reg.url}-/npm/v1/keys`)).status).toBe(404);

    reg.addPackage(leftPad);
    expect((await fetch(`${reg.url}left-pad`, { method: 'PUT', body: '{}' })).status).toBe(405);
    expect(reg.requests.at(-1)).toMatchObject({ method: 'PUT', status: 405 });
  });

  it('serves scoped packages and attestations in both encodings', async () => {
    reg.addPackage({
      name: '@acme/widget',
      versions: [{ version: '2.0.0', publishedAt: '2022-01-01T00:00:00.000Z' }],
    });
    const a = (await (await fetch(`${reg.url}@acme%2fwidget`)).json()) as any;
    const b = (await (await fetch(`${reg.url}@acme/widget`)).json()) as any;
    const c = (await (await fetch(`${reg.url}@acme%2Fwidget`)).json()) as any;
    expect(a).toEqual(b);
    expect(a).toEqual(c);
    expect(a.name).toBe('@acme/widget');
    const tarball = a.versions['2.0.0'].dist.tarball;
    expect(tarball).toBe(`${reg.url}@acme/widget/-/widget-2.0.0.tgz`);
    const tgz = Buffer.from(await (await fetch(tarball)).arrayBuffer());
    expect(sri(tgz)).toBe(reg.integrityOf('@acme/widget', '2.0.0'));
    expect(reg.requests.map((r) => r.path)).toEqual(['/@acme/widget', '/@acme/widget', '/@acme/widget', '/@acme/widget/-/widget-2.0.0.tgz']);

    reg.setAttestations('@acme/widget@2.0.0', { attestations: [{ predicateType: 'x' }] });
    for (const p of ['@acme/widget@2.0.0', '@acme%2fwidget@2.0.0']) {
      const res = await fetch(`${reg.url}-/npm/v1/attestations/${p}`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ attestations: [{ predicateType: 'x' }] });
    }
    expect((await fetch(`${reg.url}-/npm/v1/attestations/@acme%2fwidget@9.9.9`)).status).toBe(404);
  });

  it('serves raw packuments with tarball URLs rewritten to itself', async () => {
    const tgz = buildTarball({ 'package.json': '{"name":"raw","version":"1.0.0"}' });
    reg.addRawPackument(
      {
        _id: 'raw',
        name: 'raw',
        'dist-tags': { latest: '1.0.0' },
        versions: {
          '1.0.0': {
            name: 'raw',
            version: '1.0.0',
            dist: { tarball: 'https://registry.example.com/raw/-/raw-1.0.0.tgz', integrity: sri(tgz) },
          },
        },
        time: { '1.0.0': '2019-01-01T00:00:00.000Z' },
        custom: 'kept',
      },
      { '1.0.0': tgz },
    );
    const doc = (await (await fetch(`${reg.url}raw`)).json()) as any;
    expect(doc.custom).toBe('kept');
    expect(doc.versions['1.0.0'].dist.tarball).toBe(`${reg.url}raw/-/raw-1.0.0.tgz`);
    const served = Buffer.from(await (await fetch(doc.versions['1.0.0'].dist.tarball)).arrayBuffer());
    expect(served.equals(tgz)).toBe(true);
    expect(reg.integrityOf('raw', '1.0.0')).toBe(sri(tgz));
  });

  it('answers 304 to If-None-Match and If-Modified-Since', async () => {
    reg.addPackage(leftPad);
    const first = await fetch(`${reg.url}left-pad`);
    const etag = first.headers.get('etag');
    const lastModified = first.headers.get('last-modified');
    expect(etag).toMatch(/^".+"$/);
    expect(lastModified).toBeTruthy();
    await first.arrayBuffer();

    const second = await fetch(`${reg.url}left-pad`, { headers: { 'if-none-match': etag! } });
    expect(second.status).toBe(304);
    expect(second.headers.get('etag')).toBe(etag);
    const third = await fetch(`${reg.url}left-pad`, { headers: { 'if-modified-since': lastModified! } });
    expect(third.status).toBe(304);
    const stale = await fetch(`${reg.url}left-pad`, { headers: { 'if-none-match': '"other"' } });
    expect(stale.status).toBe(200);
    await stale.arrayBuffer();

    // Replacing the package changes both validators.
    reg.addPackage({ ...leftPad, distTags: { beta: '1.0.0' } });
    const changed = await fetch(`${reg.url}left-pad`, { headers: { 'if-none-match': etag! } });
    expect(changed.status).toBe(200);
    expect(changed.headers.get('etag')).not.toBe(etag);
    await changed.arrayBuffer();
    const changedIms = await fetch(`${reg.url}left-pad`, { headers: { 'if-modified-since': lastModified! } });
    expect(changedIms.status).toBe(200);
    await changedIms.arrayBuffer();
    expect(reg.requests.map((r) => r.status)).toEqual([200, 304, 304, 200, 200, 200]);
  });

  it('can run without validators', async () => {
    const plain = await TestRegistry.start({ etag: false });
    try {
      plain.addPackage(leftPad);
      const res = await fetch(`${plain.url}left-pad`, { headers: { 'if-none-match': '*' } });
      expect(res.status).toBe(200);
      expect(res.headers.get('etag')).toBeNull();
      expect(res.headers.get('last-modified')).toBeNull();
      await res.arrayBuffer();
    } finally {
      await plain.close();
    }
  });

  describe('faults', () => {
    beforeEach(() => reg.addPackage(leftPad));

    it('status: responds with that status and a JSON error', async () => {
      reg.fault('left-pad', { status: 503 });
      const res = await fetch(`${reg.url}left-pad`);
      expect(res.status).toBe(503);
      expect(res.headers.get('content-type')).toBe('application/json');
      expect(await res.json()).toHaveProperty('error');
      // A name fault covers the tarballs too, but not other packages.
      expect((await fetch(`${reg.url}left-pad/-/left-pad-1.0.0.tgz`)).status).toBe(503);
      expect((await fetch(`${reg.url}left-pad-extra`)).status).toBe(404);
      reg.clearFaults();
      expect((await fetch(`${reg.url}left-pad`)).status).toBe(200);
    });

    it('path prefix faults match decoded paths', async () => {
      reg.fault('/left-pad/-/', { status: 500 });
      expect((await fetch(`${reg.url}left-pad`)).status).toBe(200);
      expect((await fetch(`${reg.url}left-pad/-/left-pad-1.0.0.tgz`)).status).toBe(500);
    });

    it('body: sends malformed JSON with 200', async () => {
      reg.fault('left-pad', { body: '{"name": "left-pad", ' });
      const res = await fetch(`${reg.url}left-pad`);
      expect(res.status).toBe(200);
      await expect(res.json()).rejects.toThrow(SyntaxError);
    });

    it('truncate: the body errors mid-stream', async () => {
      reg.fault('left-pad', { truncate: true });
      const res = await fetch(`${reg.url}left-pad`);
      expect(res.status).toBe(200);
      const full = Number(res.headers.get('content-length'));
      expect(full).toBeGreaterThan(100);
      await expect(res.text()).rejects.toThrow();
      expect(reg.requests.at(-1)).toMatchObject({ path: '/left-pad', status: 200 });
    });

    it('hang: never responds; an aborted fetch ends, and close() still finishes', async () => {
      reg.fault('left-pad', { hang: true });
      const abort = new AbortController();
      let settled = false;
      const hung = fetch(`${reg.url}left-pad`, { signal: abort.signal }).finally(() => (settled = true));
      hung.catch(() => {});
      await waitFor(() => reg.requestCount('/left-pad') === 1, 'the request at the registry');
      // Answered meanwhile? A normal request sent after it is answered, and the hung one still is not.
      expect((await fetch(`${reg.url}nope`)).status).toBe(404);
      expect(settled).toBe(false);
      abort.abort();
      await expect(hung).rejects.toThrow(/abort/i);
      expect(reg.requests.find((r) => r.path === '/left-pad')).toMatchObject({ status: 0 });

      // A hanging request still open at close() must not block it.
      const pending = fetch(`${reg.url}left-pad`).then(
        () => 'resolved',
        () => 'rejected',
      );
      await waitFor(() => reg.requestCount('/left-pad') === 2, 'the second request at the registry');
      await within(reg.close(), 'close() with a request hanging');
      expect(await pending).toBe('rejected');
    });

    it('delayMs: waits, then responds normally', async () => {
      reg.fault('left-pad', { delayMs: 3000, times: 1 });
      const order: string[] = [];
      const delayed = fetch(`${reg.url}left-pad`).then((r) => {
        order.push('delayed');
        return r.status;
      });
      await waitFor(() => reg.requestCount('/left-pad') === 1, 'the delayed request at the registry');
      // The fault was used up by the first request: the next one is answered at once, before the delayed one.
      const next = await fetch(`${reg.url}left-pad`).then((r) => {
        order.push('next');
        return r.status;
      });
      expect(next).toBe(200);
      expect(await delayed).toBe(200);
      expect(order).toEqual(['next', 'delayed']);
    });

    it('times: limits how many requests a fault applies to', async () => {
      reg.fault('left-pad', { status: 500, times: 2 });
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) {
        const res = await fetch(`${reg.url}left-pad`);
        statuses.push(res.status);
        await res.arrayBuffer();
      }
      expect(statuses).toEqual([500, 500, 200, 200]);
      expect(reg.requestCount('/left-pad')).toBe(4);
    });
  });

  it('latencyMs delays every request', async () => {
    const slow = await TestRegistry.start({ latencyMs: 3000 });
    const fast = await TestRegistry.start();
    try {
      const order: string[] = [];
      const answered = (name: string) => (r: Response) => {
        order.push(name);
        return r.status;
      };
      const slowOnes = Promise.all([fetch(`${slow.url}nope`).then(answered('slow 1')), fetch(`${slow.url}nope-either`).then(answered('slow 2'))]);
      await waitFor(() => slow.requests.length === 2, 'both requests at the slow registry');
      // Both are held; a registry without latency answers one sent after them first.
      expect(await fetch(`${fast.url}nope`).then(answered('fast'))).toBe(404);
      expect(await slowOnes).toEqual([404, 404]);
      expect(order[0]).toBe('fast');
      expect(order.slice(1).sort()).toEqual(['slow 1', 'slow 2']);
    } finally {
      await slow.close();
      await fast.close();
    }
  });
});

describe('TestRegistry with the real npm CLI', () => {
  let reg: TestRegistry;
  let dir: string;

  beforeEach(async () => {
    reg = await TestRegistry.start();
    dir = await mkdtemp(join(tmpdir(), 'safe-install-registry-'));
  });
  afterEach(async () => {
    await reg.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('npm install fetches packuments and tarballs from it', async () => {
    reg.addPackage({
      name: '@acme/util',
      versions: [
        {
          version: '3.1.4',
          publishedAt: '2023-03-01T00:00:00.000Z',
          files: { 'index.js': 'module.exports = "util";\n' },
        },
      ],
    });
    reg.addPackage({
      name: 'fake-pkg',
      versions: [
        { version: '1.0.0', publishedAt: '2023-01-01T00:00:00.000Z' },
        {
          version: '1.2.0',
          publishedAt: '2023-02-01T00:00:00.000Z',
          files: { 'index.js': 'module.exports = 42;\n' },
          dependencies: { '@acme/util': '^3.0.0' },
          // Would fail the install if it ran: --ignore-scripts must hold.
          scripts: { postinstall: 'node -e "process.exit(1)"' },
        },
      ],
    });

    const project = join(dir, 'project');
    const cache = join(dir, 'cache');
    // Empty user and global configs, so nothing on this machine (mirror, proxy) leaks in.
    const userrc = join(dir, 'user-npmrc');
    const globalrc = join(dir, 'global-npmrc');
    await writeFile(userrc, '');
    await writeFile(globalrc, '');
    await mkdir(project);
    await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '0.0.0', private: true, dependencies: { 'fake-pkg': '^1.0.0' } }));

    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      npm_config_registry: reg.url,
    };
    await execFileAsync(
      process.execPath,
      [
        NPM_CLI, // the pinned npm, not the one on PATH
        'install',
        '--registry',
        reg.url,
        '--ignore-scripts',
        '--no-audit',
        '--no-fund',
        '--no-update-notifier',
        '--cache',
        cache,
        '--userconfig',
        userrc,
        '--globalconfig',
        globalrc,
      ],
      { cwd: project, env, timeout: 60_000 },
    );

    expect(await readFile(join(project, 'node_modules/fake-pkg/index.js'), 'utf8')).toBe('module.exports = 42;\n');
    expect(await readFile(join(project, 'node_modules/@acme/util/index.js'), 'utf8')).toBe('module.exports = "util";\n');

    const lock = JSON.parse(await readFile(join(project, 'package-lock.json'), 'utf8'));
    const entry = lock.packages['node_modules/fake-pkg'];
    expect(entry.version).toBe('1.2.0');
    expect(entry.resolved).toBe(`${reg.url}fake-pkg/-/fake-pkg-1.2.0.tgz`);
    expect(entry.integrity).toBe(reg.integrityOf('fake-pkg', '1.2.0'));
    expect(entry.hasInstallScript).toBe(true);
    expect(lock.packages['node_modules/@acme/util'].integrity).toBe(reg.integrityOf('@acme/util', '3.1.4'));

    expect(reg.requestCount('fake-pkg')).toBeGreaterThanOrEqual(2);
    expect(reg.requestCount('/fake-pkg/-/fake-pkg-1.2.0.tgz')).toBe(1);
    expect(reg.requestCount('@acme/util')).toBeGreaterThanOrEqual(2);
    expect(reg.requests.every((r) => r.method === 'GET' && r.status === 200)).toBe(true);
  });
});
