// The bounded unpacker of `safe-install inspect` on tarballs built in memory (real gzip, real node-tar).
import { describe, expect, it } from 'vitest';
import { existsSync, lstatSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { buildHugeTarball } from '../registry/tarball.js';
import { DEFAULT_UNPACK_LIMITS, packagePath, unpackBounded } from '../../src/inspect/unpack.js';
import { formatBytes, parseSize } from '../../src/util/size.js';
import { readTree } from '../../src/inspect/tree.js';

const dest = () => mkdtempSync(join(tmpdir(), 'si-unpack-'));
const chunks = (buf: Buffer, size = 7) => Readable.from(Array.from({ length: Math.ceil(buf.length / size) }, (_, i) => buf.subarray(i * size, (i + 1) * size)));

describe('unpackBounded', () => {
  it('folders, ./-prefixed paths, links dropped (named), .gitignore renamed as npm does', async () => {
    const tgz = await buildHugeTarball([
      { path: 'package/', type: '5' },
      { path: 'package/lib/', type: '5' },
      { path: 'package/package.json', content: '{"name":"x","version":"1.0.0"}\n' },
      { path: './package/lib/a.js', content: 'a\n' },
      { path: 'package/.gitignore', content: 'node_modules\n' },
      { path: 'package/link', type: '2', linkpath: '/etc/passwd' },
    ]);
    const dir = dest();
    // Tiny chunks: the gzip sniffing and the tar framing across chunk boundaries.
    const out = await unpackBounded(chunks(tgz), dir, 'x@1.0.0', DEFAULT_UNPACK_LIMITS);
    expect(readFileSync(join(dir, 'package.json'), 'utf8')).toContain('"x"');
    expect(readFileSync(join(dir, 'package', 'lib', 'a.js'), 'utf8')).toBe('a\n'); // `./package/lib/a.js` minus its first component
    expect(existsSync(join(dir, '.npmignore'))).toBe(true);
    expect(() => lstatSync(join(dir, 'link'))).toThrow(/ENOENT/);
    expect(out.notes.join('\n')).toMatch(/links in the tarball were dropped, as npm drops them: package\/link/);
    expect(out.notes.join('\n')).not.toMatch(/unsafe/);
  });

  it('a file over maxFileBytes is hashed, not written; readTree reports it from the hash', async () => {
    const big = Buffer.alloc(3000, 'a');
    const tgz = await buildHugeTarball([
      { path: 'package/package.json', content: '{}' },
      { path: 'package/big.txt', content: big },
    ]);
    const dir = dest();
    const out = await unpackBounded(Readable.from([tgz]), dir, 'x@1.0.0', { ...DEFAULT_UNPACK_LIMITS, maxFileBytes: 1000 });
    expect(out.notUnpacked.get('big.txt')).toEqual({ size: 3000, hash: createHash('sha256').update(big).digest('hex'), binary: false });
    expect(lstatSync(join(dir, 'big.txt')).size).toBe(0);
    const tree = readTree(dir, { notUnpacked: out.notUnpacked, maxFileBytes: 1000 });
    expect(tree.files.get('big.txt')).toMatchObject({ size: 3000, tooLarge: true, binary: false });
  });

  it('an uncompressed tarball is read too (as npm reads it)', async () => {
    const tgz = await buildHugeTarball([{ path: 'package/package.json', content: '{}' }]);
    const { gunzipSync } = await import('node:zlib');
    const dir = dest();
    await unpackBounded(Readable.from([gunzipSync(tgz)]), dir, 'x@1.0.0', DEFAULT_UNPACK_LIMITS);
    expect(readFileSync(join(dir, 'package.json'), 'utf8')).toBe('{}');
  });

  it('the download limit: more bytes on the wire than maxSize', async () => {
    const noise = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251));
    const tgz = await buildHugeTarball([{ path: 'package/noise.bin', content: noise }]);
    await expect(unpackBounded(Readable.from([tgz]), dest(), 'x@1.0.0', { ...DEFAULT_UNPACK_LIMITS, maxSize: 100 })).rejects.toMatchObject({ code: 'too-large' });
  });

  it('a header claiming more than maxSize stops before its data is inflated', async () => {
    const tgz = await buildHugeTarball([{ path: 'package/big.bin', zeros: 50_000_000 }]);
    await expect(unpackBounded(Readable.from([tgz]), dest(), 'x@1.0.0', { ...DEFAULT_UNPACK_LIMITS, maxSize: 10 * 2 ** 20 })).rejects.toMatchObject({
      code: 'too-large',
      message: expect.stringContaining('x@1.0.0: the tarball holds package/big.bin of 47.7 MiB, more than the 10 MiB limit'),
    });
  });
});

describe('packagePath and parseSize', () => {
  it('strips the first component as node-tar does, refuses ..', () => {
    expect(packagePath('package/a/b.js')).toBe('a/b.js');
    expect(packagePath('./package/x')).toBe('package/x');
    expect(packagePath('package//x')).toBe('x');
    expect(packagePath('package/')).toBe('');
    expect(packagePath('package/../x')).toBeUndefined();
    expect(packagePath('package/c:/x')).toBeUndefined();
  });

  it('sizes: one reading for every flag, K, M and G binary', () => {
    expect(parseSize('512MB')).toBe(512 * 2 ** 20);
    expect(parseSize('512MiB')).toBe(512 * 2 ** 20);
    expect(parseSize('3G')).toBe(3 * 2 ** 30);
    expect(parseSize('1.5 gb')).toBe(1.5 * 2 ** 30);
    expect(parseSize('100kB')).toBe(100 * 1024);
    expect(parseSize('4096')).toBe(4096);
    for (const bad of ['lots', '-1', '0', '', '5 TB']) expect(() => parseSize(bad)).toThrow(/not a size/);
    expect(formatBytes(512 * 2 ** 20)).toBe('512 MiB');
    expect(formatBytes(50_000_000)).toBe('47.7 MiB');
  });
});
