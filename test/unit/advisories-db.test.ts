// The offline advisory database's readers (src/advisories/db.ts) on real OSV records (test/fixtures/advisories-db,
// see SOURCE.md): a directory tree in the malicious-packages layout, a zip shaped like OSV's npm export built
// from the same files, and the cache `advisories update` writes.
import { cpSync, createWriteStream as createWrite, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import yazl from 'yazl';
import { AdvisoryDbError, buildIndexFromZip, bucketOf, DEFAULT_LIMITS, openAdvisoryDb, openCachedAdvisoryDb } from '../../src/advisories/db.js';
import { updateAdvisoryDb } from '../../src/advisories/update.js';

const FIXTURE = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'advisories-db');
const RECORDS = ['osv/malicious/npm/chalk/MAL-2025-46969.json', 'osv/malicious/npm/debug/MAL-2025-46974.json', 'osv/malicious/npm/@ctrl/tinycolor/MAL-2025-47141.json'].map((p) => join(FIXTURE, p));

const dirs: string[] = [];
const temp = () => {
  const d = mkdtempSync(join(tmpdir(), 'si-advdb-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A zip with `entries` (name -> content), as OSV's export: `<ID>.json` at the top level. */
function makeZip(file: string, entries: [string, Buffer | string][]): Promise<void> {
  const zip = new yazl.ZipFile();
  for (const [name, data] of entries) zip.addBuffer(Buffer.from(data), name);
  zip.end();
  return new Promise((res, rej) => {
    zip.outputStream.on('error', rej);
    zip.outputStream.pipe(createWrite(file)).on('close', () => res());
  });
}

const exportEntries = (): [string, Buffer][] => RECORDS.map((f) => [basename(f), readFileSync(f)]);
const ids = (records: unknown[]) => records.map((r) => (r as { id: string }).id).sort();

const OTHER_ECOSYSTEM = JSON.stringify({ id: 'PYSEC-0000-1', modified: '2025-01-01T00:00:00Z', affected: [{ package: { ecosystem: 'PyPI', name: 'chalk' }, versions: ['1.0'] }] });

describe('a directory tree of OSV records (malicious-packages layout)', () => {
  it("finds a name's records by path, scoped names too, and nothing for an unknown name", async () => {
    const db = await openAdvisoryDb(FIXTURE);
    expect(db.kind).toBe('directory');
    expect(ids(await db.recordsFor('chalk'))).toEqual(['MAL-2025-46969']);
    expect(ids(await db.recordsFor('@ctrl/tinycolor'))).toEqual(['MAL-2025-47141']);
    expect(await db.recordsFor('left-pad')).toEqual([]);
    await db.close();
  });

  it('never reads outside the npm folder for a name that climbs out of it', async () => {
    const dir = temp();
    cpSync(join(FIXTURE, 'osv', 'malicious', 'npm'), join(dir, 'npm'), { recursive: true });
    // Next to the npm folder: a file that is not a record (reading it would fail the lookup).
    writeFileSync(join(dir, 'secret.json'), 'not json at all');
    mkdirSync(join(dir, 'x'));
    writeFileSync(join(dir, 'x', 'y.json'), 'not json either');
    const db = await openAdvisoryDb(join(dir, 'npm'));
    for (const name of ['..', '@ctrl/..', '../x', '@x/../../x']) expect(await db.recordsFor(name)).toEqual([]);
    expect(ids(await db.recordsFor('chalk'))).toEqual(['MAL-2025-46969']);
  });

  it('returns only records that name the package (a file filed under the wrong name is not its record)', async () => {
    const dir = temp();
    cpSync(FIXTURE, dir, { recursive: true });
    // debug's record copied into chalk's folder: it names debug, not chalk.
    cpSync(RECORDS[1]!, join(dir, 'osv/malicious/npm/chalk/MAL-2025-46974.json'));
    const db = await openAdvisoryDb(dir);
    expect(ids(await db.recordsFor('chalk'))).toEqual(['MAL-2025-46969']);
  });

  it('skips other ecosystems, reads JSON records outside npm folders by the names they name, reports the newest time', async () => {
    const dir = temp();
    mkdirSync(join(dir, 'pypi', 'chalk'), { recursive: true });
    writeFileSync(join(dir, 'pypi', 'chalk', 'PYSEC-0000-1.json'), OTHER_ECOSYSTEM);
    mkdirSync(join(dir, 'loose'));
    cpSync(RECORDS[0]!, join(dir, 'loose', 'a.json'));
    writeFileSync(join(dir, 'loose', 'other.json'), OTHER_ECOSYSTEM);
    const when = new Date('2025-09-20T00:00:00Z');
    for (const p of [join(dir, 'loose', 'a.json'), join(dir, 'loose', 'other.json'), join(dir, 'loose'), join(dir, 'pypi'), dir]) utimesSync(p, when, when);
    const db = await openAdvisoryDb(dir);
    expect(ids(await db.recordsFor('chalk'))).toEqual(['MAL-2025-46969']);
    expect(db.builtAt?.toISOString()).toBe(when.toISOString());
  });

  it('refuses a folder with no npm record, a record that is not JSON, and a tree past the walk bound', async () => {
    const empty = temp();
    writeFileSync(join(empty, 'README.md'), 'nothing');
    await expect(openAdvisoryDb(empty)).rejects.toThrow(/holds no OSV record of an npm package/);
    const bad = temp();
    writeFileSync(join(bad, 'x.json'), '{not json');
    await expect(openAdvisoryDb(bad)).rejects.toBeInstanceOf(AdvisoryDbError);
    await expect(openAdvisoryDb(FIXTURE, { limits: { ...DEFAULT_LIMITS, maxWalk: 1 } })).rejects.toThrow(/more than 1 files and folders/);
    await expect(openAdvisoryDb(join(empty, 'missing'))).rejects.toThrow(/cannot read the advisory database .*does not exist/);
  });
});

describe("a zip shaped like OSV's npm export", () => {
  it('is indexed for the run and read like the cache; the temporary index goes on close', async () => {
    const dir = temp();
    const zip = join(dir, 'all.zip');
    await makeZip(zip, [...exportEntries(), ['PYSEC-0000-1.json', OTHER_ECOSYSTEM], ['README.txt', 'not a record']]);
    const before = readdirSync(tmpdir()).filter((n) => n.startsWith('safe-install-advisories-')).length;
    const db = await openAdvisoryDb(zip);
    expect(db.kind).toBe('zip');
    expect(db.builtAt?.getTime()).toBe(statSync(zip).mtime.getTime());
    expect(ids(await db.recordsFor('debug'))).toEqual(['MAL-2025-46974']);
    expect(ids(await db.recordsFor('@ctrl/tinycolor'))).toEqual(['MAL-2025-47141']);
    expect(await db.recordsFor('requests')).toEqual([]);
    await db.close();
    expect(readdirSync(tmpdir()).filter((n) => n.startsWith('safe-install-advisories-')).length).toBe(before);
  });

  it('refuses zip bombs: an entry past the record bound, past the total bound, or too many entries', async () => {
    const dir = temp();
    const bomb = join(dir, 'bomb.zip');
    // 64 MiB of spaces compress to ~64 KB.
    await makeZip(bomb, [['MAL-0000-1.json', Buffer.alloc(64 << 20, 0x20)]]);
    await expect(openAdvisoryDb(bomb)).rejects.toThrow(/unpacked, more than 4 MiB: refused/);
    const many = join(dir, 'many.zip');
    await makeZip(many, exportEntries());
    await expect(openAdvisoryDb(many, { limits: { ...DEFAULT_LIMITS, maxEntries: 2 } })).rejects.toThrow(/has 3 entries, more than 2: refused/);
    await expect(openAdvisoryDb(many, { limits: { ...DEFAULT_LIMITS, maxTotalBytes: 5000 } })).rejects.toThrow(/unpacks to more than .*refused/);
  });

  it('refuses an entry whose name climbs out of the folder, and a file that is not a zip', async () => {
    const dir = temp();
    const evil = join(dir, 'evil.zip');
    await makeZip(evil, exportEntries());
    // yazl refuses to write `../x.json`: the name is patched in place (same length as `aa/x.json`).
    const named = join(dir, 'named.zip');
    await makeZip(named, [['aa/MAL-2025-46969.json', readFileSync(RECORDS[0]!)]]);
    const bytes = readFileSync(named);
    let at = bytes.indexOf('aa/MAL');
    while (at !== -1) {
      bytes.write('..', at);
      at = bytes.indexOf('aa/MAL', at + 1);
    }
    writeFileSync(named, bytes);
    await expect(openAdvisoryDb(named)).rejects.toThrow(/invalid relative path|damaged|not a zip/);
    const notZip = join(dir, 'all.zip');
    writeFileSync(notZip, '<html>not found</html>');
    await expect(openAdvisoryDb(notZip)).rejects.toThrow(/is not a zip file this can read/);
  });
});

describe('the cache (advisories update)', () => {
  it('is used while younger than maxAge and not when older; a damaged index is an error that says to update', async () => {
    const dir = temp();
    const zip = join(dir, 'all.zip');
    await makeZip(zip, exportEntries());
    const cacheDir = join(dir, 'cache');
    expect(await openCachedAdvisoryDb({ cacheDir, maxAgeMs: 86_400_000 })).toBeUndefined();
    const { meta } = await updateAdvisoryDb({ cacheDir, from: zip });
    expect(meta).toMatchObject({ records: 3, names: 3, source: zip });
    const db = await openCachedAdvisoryDb({ cacheDir, maxAgeMs: 86_400_000 });
    expect(db?.kind).toBe('cache');
    expect(db?.builtAt?.toISOString()).toBe(meta.downloadedAt);
    expect(ids((await db?.recordsFor('chalk')) ?? [])).toEqual(['MAL-2025-46969']);
    await db?.close();
    // Older than maxAge: not used.
    expect(await openCachedAdvisoryDb({ cacheDir, maxAgeMs: -1 })).toBeUndefined();
    // The cache folder given as a path is always used.
    const byPath = await openAdvisoryDb(join(cacheDir, 'advisories', 'v1'));
    expect(byPath.kind).toBe('cache');
    expect(ids(await byPath.recordsFor('debug'))).toEqual(['MAL-2025-46974']);
    await byPath.close();
    // Damaged: the index has lost a bucket.
    const base = join(cacheDir, 'advisories', 'v1');
    const build = join(base, readFileSync(join(base, 'current'), 'utf8').trim());
    writeFileSync(join(build, 'index.jsonl'), '{}\n');
    await expect(openCachedAdvisoryDb({ cacheDir, maxAgeMs: 86_400_000 })).rejects.toThrow(/damaged.*advisories update/);
  });

  it('the index puts each name in the bucket the reader looks in', async () => {
    const dir = temp();
    const zip = join(dir, 'all.zip');
    await makeZip(zip, exportEntries());
    const out = join(dir, 'out');
    mkdirSync(out);
    const meta = await buildIndexFromZip(zip, out, { source: 'x', downloadedAt: new Date().toISOString() });
    const lines = readFileSync(join(out, 'index.jsonl'), 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(meta.buckets);
    for (const name of ['chalk', 'debug', '@ctrl/tinycolor']) expect(Object.keys(JSON.parse(lines[bucketOf(name, meta.buckets)]!) as object)).toContain(name);
  });
});
