// Hostile tarballs against `safe-install inspect`, the command a reviewer runs on a held version before an
// override: a 10 MB tarball that unpacks to a 2.2 GB file of zeros, gigabytes of padding after the end of the
// archive, too many entries, and paths that climb out of the package. Before: inspect wrote the 2.2 GB into the
// temporary folder, then died with an ERR_FS_FILE_TOO_LARGE stack trace. Now it stops, or reports the file as
// too large to diff, in bounded time, disk and memory.
//
// The "without the guard" step: `npm ci` of such a version would write all 2.2 GB into node_modules (npm has
// no size limit); these tests do not make it, but show the tarball is what it claims (its headers read with
// node-tar) and run inspect with the process's file-size limit at 64 MB (`ulimit -f`): any attempt to write
// the big file would fail with EFBIG, so passing proves it was never written.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { Header } from 'tar';
import { TestRegistry, sha512Integrity } from '../registry/server.js';
import { buildHugeTarball, buildTarball, type HugeEntry } from '../registry/tarball.js';
import { BIN, cleanEnv, OLD, run, tempDir, type RunResult } from '../integration/helpers.js';
import { noStackTrace } from './attack.js';

const NEWER = '2024-02-01T00:00:00.000Z';
const GB2_2 = 2_200_000_000;
const MB100 = 100_000_000;

let registry: TestRegistry;
const tarballs = new Map<string, Buffer>();

/** Serve `name` with these versions' tarballs (1.0.0 published first). */
function serve(name: string, versions: Record<string, Buffer>): void {
  const entries = Object.entries(versions);
  const doc = {
    _id: name,
    name,
    'dist-tags': { latest: entries[entries.length - 1]![0] },
    versions: Object.fromEntries(entries.map(([v, tgz]) => [v, { name, version: v, dist: { tarball: `${registry.url}${name}/-/${name}-${v}.tgz`, integrity: sha512Integrity(tgz) } }])),
    time: Object.fromEntries(entries.map(([v], i) => [v, i === 0 ? OLD : NEWER])),
  };
  registry.addRawPackument(doc, Object.fromEntries(entries.map(([v, tgz]) => [v, tgz])));
  for (const [v, tgz] of entries) tarballs.set(`${name}@${v}`, tgz);
}

const pkgJson = (name: string, version: string) => ({ path: 'package/package.json', content: JSON.stringify({ name, version }) + '\n' });
const small = (name: string, version: string, files: Record<string, string> = {}) =>
  buildTarball({ 'package.json': JSON.stringify({ name, version }) + '\n', 'index.js': 'module.exports = 1;\n', ...files });

/** What a tarball's first headers declare (the first 16 KB inflated and read with node-tar's Header; nothing written). */
async function declared(tgz: Buffer): Promise<{ path: string; size: number }[]> {
  const gunzip = createGunzip();
  const head: Buffer[] = [];
  let have = 0;
  await new Promise<void>((res) => {
    gunzip.on('data', (c: Buffer) => {
      head.push(c);
      have += c.length;
      if (have >= 16_384) {
        gunzip.destroy();
        res();
      }
    });
    gunzip.on('end', res);
    gunzip.on('close', res);
    gunzip.end(tgz.subarray(0, 65_536));
  });
  const bytes = Buffer.concat(head);
  const out: { path: string; size: number }[] = [];
  for (let off = 0; off + 512 <= bytes.length; ) {
    const h = new Header(bytes.subarray(off, off + 512));
    if (!h.cksumValid || !h.path) break;
    out.push({ path: h.path, size: h.size ?? 0 });
    if ((h.size ?? 0) > 16_384) break;
    off += 512 + Math.ceil((h.size ?? 0) / 512) * 512;
  }
  return out;
}

let tmp: string;
let env: NodeJS.ProcessEnv;

/** The built CLI, with files limited to 64 MB (ulimit -f) and its own TMPDIR. */
function inspect(...args: string[]): Promise<RunResult> {
  return run('bash', ['-c', 'ulimit -f 65536 && exec "$@"', 'inspect', process.execPath, BIN, 'inspect', ...args], { cwd: tmp, env, timeoutMs: 120_000 });
}

beforeAll(async () => {
  registry = await TestRegistry.start();
  const bomb: HugeEntry[] = [pkgJson('bomb', '1.0.1'), { path: 'package/index.js', content: 'module.exports = 1;\n' }, { path: 'package/big.bin', zeros: GB2_2 }];
  serve('bomb', { '1.0.0': small('bomb', '1.0.0'), '1.0.1': await buildHugeTarball(bomb) });
  serve('chunky', {
    '1.0.0': await buildHugeTarball([pkgJson('chunky', '1.0.0'), { path: 'package/data.bin', zeros: MB100 }, { path: 'package/same.bin', zeros: 20_000_000 }]),
    '1.0.1': await buildHugeTarball([
      pkgJson('chunky', '1.0.1'),
      { path: 'package/data.bin', zeros: MB100 + 1 },
      { path: 'package/same.bin', zeros: 20_000_000 },
      { path: 'package/new.bin', zeros: 30_000_000 },
    ]),
  });
  serve('padded', { '1.0.0': small('padded', '1.0.0'), '1.0.1': await buildHugeTarball([pkgJson('padded', '1.0.1')], { trailingZeros: MB100 }) });
  serve('many', {
    '1.0.0': small('many', '1.0.0'),
    '1.0.1': await buildHugeTarball([pkgJson('many', '1.0.1'), ...Array.from({ length: 60 }, (_, i) => ({ path: `package/f${i}.js`, content: `module.exports = ${i};\n` }))]),
  });
  serve('climber', {
    '1.0.0': small('climber', '1.0.0'),
    '1.0.1': await buildHugeTarball([
      pkgJson('climber', '1.0.1'),
      { path: 'package/index.js', content: 'module.exports = 2;\n' },
      { path: 'package/../../climbed-out.txt', content: 'escaped\n' },
      { path: 'package/../../../../../../../../tmp/climbed-abs.txt', content: 'escaped\n' },
    ]),
  });
});
afterAll(() => registry.close());

describe('a 10 MB tarball holding a 2.2 GB file', () => {
  it('is what it claims: ~10 MB on the wire, a 2.2 GB entry inside', async () => {
    const tgz = tarballs.get('bomb@1.0.1')!;
    expect(tgz.length).toBeLessThan(12_000_000);
    expect(await declared(tgz)).toContainEqual({ path: 'package/big.bin', size: GB2_2 });
  });

  it('inspect stops at its header (default 512 MiB limit): exit 2, names the package and file, says what to do, writes nothing big', async () => {
    tmp = tempDir('si-bomb-');
    env = cleanEnv(registry.url, { TMPDIR: tmp });
    const res = await inspect('bomb@1.0.1');
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('bomb@1.0.1: the tarball holds package/big.bin of 2.0 GiB, more than the 512 MiB limit');
    expect(res.stderr).toMatch(/-> a package this large is unusual in itself.*--max-size \(now 512 MiB\)/);
    expect(res.stderr).toContain('(error too-large: exit 2)');
    expect(noStackTrace(res.stdout + res.stderr)).toBe(true);
    expect(readdirSync(tmp).filter((f) => f.startsWith('safe-install-inspect-'))).toEqual([]); // cleaned up
  });

  it('--max-size that is not a size is a usage error', async () => {
    const res = await inspect('bomb@1.0.1', '--max-size', 'lots');
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('--max-size lots is not a size');
    expect(noStackTrace(res.stderr)).toBe(true);
  });
});

describe('files over 16 MB: hashed on the way, reported as too large to diff, never written or read whole', () => {
  it('a changed 100 MB file, an unchanged 20 MB one and a new 30 MB one (JSON)', async () => {
    tmp = tempDir('si-chunky-');
    env = cleanEnv(registry.url, { TMPDIR: tmp });
    const res = await inspect('chunky@1.0.1', '--json');
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const r = JSON.parse(res.stdout);
    expect(r.files.changed).toEqual([
      expect.objectContaining({ path: 'data.bin', sizeBefore: MB100, sizeAfter: MB100 + 1, binary: true, diffOmitted: 'binary' }),
      expect.objectContaining({ path: 'package.json' }),
    ]);
    expect(r.files.added).toEqual([{ path: 'new.bin', size: 30_000_000, binary: true, tooLarge: true }]);
    expect(r.summary.filesUnchanged).toBe(1); // same.bin: same hash on both sides
    const text = await inspect('chunky@1.0.1');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/\+ new\.bin {2}30\.0 MB, binary, too large to unpack: hashed only/);
    expect(text.stdout).toMatch(/~ data\.bin {2}binary, 100\.0 MB -> 100\.0 MB/);
    expect(r.notes.join('\n')).toMatch(/3 files are larger than 16 MiB: hashed, not unpacked, read, diffed or scanned: data\.bin \(100\.0 MB\), new\.bin \(30\.0 MB\), same\.bin \(20\.0 MB\)/);
  });
});

describe('other bombs', () => {
  it('100 MB of zeros after the end of the archive: stops at --max-size, never buffered', async () => {
    tmp = tempDir('si-padded-');
    env = cleanEnv(registry.url, { TMPDIR: tmp });
    expect(tarballs.get('padded@1.0.1')!.length).toBeLessThan(1_000_000);
    const res = await inspect('padded@1.0.1', '--max-size', '50MB');
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('padded@1.0.1: the tarball unpacks to more than 50 MiB');
    expect(noStackTrace(res.stderr)).toBe(true);
  });

  it('more entries than --max-files: exit 2 naming the package', async () => {
    tmp = tempDir('si-many-');
    env = cleanEnv(registry.url, { TMPDIR: tmp });
    const res = await inspect('many@1.0.1', '--max-files', '50');
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('many@1.0.1: the tarball has more than 50 entries');
    expect(res.stderr).toContain('--max-files');
    expect(noStackTrace(res.stderr)).toBe(true);
    const ok = await inspect('many@1.0.1', '--max-files', '100', '--json');
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout).summary.filesAdded).toBe(60);
  });

  it('entries whose paths climb out of the package are skipped and named; nothing is written outside', async () => {
    tmp = tempDir('si-climber-');
    env = cleanEnv(registry.url, { TMPDIR: join(tmp, 'a', 'b') });
    await import('node:fs').then((fs) => fs.mkdirSync(join(tmp, 'a', 'b'), { recursive: true }));
    const res = await inspect('climber@1.0.1', '--json');
    expect(res.code).toBe(0);
    const r = JSON.parse(res.stdout);
    expect(r.files.changed.map((f: { path: string }) => f.path)).toEqual(['index.js', 'package.json']);
    expect(r.notes.join('\n')).toMatch(/1\.0\.1: tarball entries with unsafe paths were skipped \(not written\): package\/\.\.\/\.\.\/climbed-out\.txt/);
    for (const dir of [tmp, join(tmp, 'a'), join(tmp, 'a', 'b'), '/tmp', '/']) {
      expect(existsSync(join(dir, 'climbed-out.txt'))).toBe(false);
      expect(existsSync(join(dir, 'climbed-abs.txt'))).toBe(false);
    }
  });
});
