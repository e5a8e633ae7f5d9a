// A zip shaped like OSV's npm export (one `<ID>.json` per entry at the top level), made of synthetic records of
// the sizes real ones have: MAL records (~1.5 KB, one package, exact versions) for most names, GHSA records
// (~4 KB, ranges matching no real version) for every 40th; `names` (e.g. a tree's) each get a GHSA record that
// names every version below 2.0.0, so lookups of that tree find and match records. Used by bench/advisories.mjs;
// deterministic for a given count.
import { createWriteStream } from 'node:fs';
import { crc32, deflateRawSync } from 'node:zlib';

const DETAILS = 'Any computer that has this package installed or running should be considered fully compromised. '.repeat(8);

function mal(i) {
  const name = i % 7 === 0 ? `@scope${i % 97}/pkg-${i}` : `pkg-${i}`;
  return {
    modified: '2025-09-12T01:13:34Z',
    published: '2025-09-08T17:11:19Z',
    schema_version: '1.5.0',
    id: `MAL-2025-${String(i).padStart(6, '0')}`,
    summary: `Malicious code in ${name} (npm)`,
    details: DETAILS,
    affected: [{ package: { ecosystem: 'npm', name }, versions: ['1.0.0', '1.0.1'], database_specific: { cwes: [{ cweId: 'CWE-506', name: 'Embedded Malicious Code' }] } }],
    references: [{ type: 'WEB', url: `https://example.invalid/${i}` }],
    database_specific: { 'malicious-packages-origins': [{ source: 'ghsa-malware', sha256: 'ab'.repeat(32), import_time: '2025-09-09T00:35:48Z', id: `GHSA-${i}` }] },
  };
}

function ghsa(id, name, [introduced, fixed] = ['0.0.0-bench', '0.0.1-bench']) {
  return {
    modified: '2025-01-01T00:00:00Z',
    published: '2024-01-01T00:00:00Z',
    schema_version: '1.6.0',
    id,
    aliases: [`CVE-2024-${id.length}`],
    summary: `Regular expression denial of service in ${name}`,
    details: DETAILS.repeat(3),
    severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H' }],
    affected: [{ package: { ecosystem: 'npm', name, purl: `pkg:npm/${name}` }, ranges: [{ type: 'SEMVER', events: [{ introduced }, { fixed }] }] }],
    references: [{ type: 'ADVISORY', url: `https://github.com/advisories/${id}` }],
    database_specific: { severity: 'HIGH', cwe_ids: ['CWE-1333'], github_reviewed: true },
  };
}

/**
 * Write the zip to `file`, streaming (one record in memory at a time); resolves with the number of records.
 * A minimal writer (deflate, Zip64 end records as OSV's export has: it holds more than 65,535 entries): yazl,
 * which the tests use for small zips, looks for its next entry from the first one, quadratic at this size.
 */
export async function writeOsvZip(file, count, names = []) {
  const out = createWriteStream(file);
  const central = [];
  let offset = 0;
  let n = 0;
  const write = (buf) => {
    offset += buf.length;
    return out.write(buf) ? undefined : new Promise((r) => out.once('drain', r));
  };
  const add = async (record) => {
    const name = Buffer.from(`${record.id}.json`);
    const data = Buffer.from(JSON.stringify(record, null, 2));
    const packed = deflateRawSync(data);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(8, 8); // deflate
    local.writeUInt16LE(0x21, 12); // 1980-01-01
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(packed.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE(45, 4);
    cd.writeUInt16LE(20, 6);
    cd.writeUInt16LE(8, 10);
    cd.writeUInt16LE(0x21, 14);
    cd.writeUInt32LE(crc, 16);
    cd.writeUInt32LE(packed.length, 20);
    cd.writeUInt32LE(data.length, 24);
    cd.writeUInt16LE(name.length, 28);
    cd.writeUInt32LE(offset, 42);
    central.push(cd, name);
    await write(local);
    await write(name);
    await write(packed);
    n++;
  };
  for (let i = 0; i < count; i++) await add(i % 40 === 0 ? ghsa(`GHSA-bench-${i}`, `pkg-${i}`) : mal(i));
  for (const [i, name] of names.entries()) await add(ghsa(`GHSA-real-${i}`, name, ['0', '2.0.0']));
  const cdStart = offset;
  for (const b of central) await write(b);
  const cdSize = offset - cdStart;
  const z64 = Buffer.alloc(56);
  z64.writeUInt32LE(0x06064b50, 0);
  z64.writeBigUInt64LE(44n, 4);
  z64.writeUInt16LE(45, 12);
  z64.writeUInt16LE(45, 14);
  z64.writeBigUInt64LE(BigInt(n), 24);
  z64.writeBigUInt64LE(BigInt(n), 32);
  z64.writeBigUInt64LE(BigInt(cdSize), 40);
  z64.writeBigUInt64LE(BigInt(cdStart), 48);
  const z64At = offset;
  await write(z64);
  const loc = Buffer.alloc(20);
  loc.writeUInt32LE(0x07064b50, 0);
  loc.writeBigUInt64LE(BigInt(z64At), 8);
  loc.writeUInt32LE(1, 16);
  await write(loc);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(0xffff, 8);
  eocd.writeUInt16LE(0xffff, 10);
  eocd.writeUInt32LE(cdSize, 12);
  eocd.writeUInt32LE(cdStart, 16);
  await write(eocd);
  await new Promise((res, rej) => out.end(() => res()).on('error', rej));
  return n;
}
