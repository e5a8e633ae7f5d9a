// The streaming packument parser (bodies over 16 MiB) gives slimPackument the same facts as JSON.parse of the
// whole text, for real packuments and for the odd shapes a registry may send, and stops at its bounds.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MalformedPackumentError, MAX_VERSIONS, PackumentTooLargeError, slimPackument } from '../../src/registry/facts.js';
import { MAX_DEPTH, MAX_KEPT_CHARS, MAX_KEPT_STRING, MAX_KEPT_VALUES, packumentStream } from '../../src/registry/stream-packument.js';

const REAL = join(import.meta.dirname, '..', 'fixtures', 'signed', 'real-packuments');

/** The document fed in chunks of `size` bytes (odd sizes cut strings, escapes and UTF-8 sequences). */
function streamed(text: string | Buffer, size = 7919, full: ReadonlySet<string> = new Set()): unknown {
  const buf = Buffer.isBuffer(text) ? text : Buffer.from(text);
  const p = packumentStream(full);
  for (let i = 0; i < buf.length; i += size) p.write(buf.subarray(i, i + size));
  return p.end();
}

/** Facts both ways, every version asked for in full and none. */
function bothWays(text: string, size?: number) {
  const doc = JSON.parse(text) as { versions?: Record<string, unknown> };
  const all = new Set(Object.keys(doc.versions ?? {}));
  const at = new Date(0);
  const some = new Set([...all].filter((_, i) => i % 2 === 0));
  for (const full of [all, new Set<string>(), some]) {
    const viaParse = slimPackument(JSON.parse(text), 'http://r/', at, full);
    const viaStream = slimPackument(streamed(text, size, full), 'http://r/', at, full);
    expect(viaStream).toStrictEqual(viaParse);
  }
  return slimPackument(streamed(text, size, all), 'http://r/', at, all);
}

describe('packumentStream', () => {
  it('gives the same facts as JSON.parse for real packuments (test/fixtures/signed/real-packuments)', () => {
    const files = readdirSync(REAL).filter((f) => f.endsWith('.json'));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      const text = readFileSync(join(REAL, f), 'utf8');
      for (const size of [1, 13, 65536]) {
        const facts = bothWays(text, size);
        // The real data carries what the facts read: signatures, integrity, publishers.
        expect(Object.values(facts.versions).some((v) => 'signatures' in v && v.signatures.length > 0)).toBe(true);
      }
    }
  });

  it('gives the same facts for a large generated packument (1,000 versions, 100 KB of dropped text each)', () => {
    const licenseText = 'Permission is hereby granted, free of charge, to any person obtaining a copy. \u00e9\u{1F600} '.repeat(1200);
    const doc: Record<string, any> = { name: 'big', 'dist-tags': { latest: '1.0.999', next: '2.0.0-rc.1' }, versions: {}, time: { created: '2020-01-01T00:00:00.000Z' }, readme: licenseText };
    for (let i = 0; i < 1000; i++) {
      const v = `1.0.${i}`;
      doc.versions[v] = {
        name: 'big',
        version: v,
        licenseText,
        description: 'x\n"y"\\z\u0001',
        bin: i % 2 ? { big: 'cli.js', 'big-too': './bin/x.js' } : 'cli.js',
        scripts: i % 3 ? { postinstall: `node post-${i}.js`, test: 'vitest' } : { build: 'tsc' },
        gypfile: i % 5 === 0,
        deprecated: i < 10 ? `use \u00e9 "${i + 1}" \\ \n\t\u0001 \u{1F600}` : undefined,
        repository: i % 2 ? { type: 'git', url: 'git+https://example.com/big.git' } : 'github:x/big',
        _npmUser: { name: `user${i % 7}`, email: 'u@example.com', ...(i % 11 ? {} : { trustedPublisher: { id: 'github' } }) },
        dist: {
          integrity: `sha512-${i}`,
          shasum: `${i}`.padStart(40, '0'),
          tarball: `http://r/big/-/big-${v}.tgz`,
          fileCount: 3,
          signatures: [{ keyid: 'SHA256:k', sig: `sig${i}` }, 'junk'],
          attestations: { url: `http://r/att/${v}`, provenance: { predicateType: 'https://slsa.dev/provenance/v1' } },
        },
      };
      doc.time[v] = i === 3 ? 'not a time' : `2024-01-01T00:00:${String(i % 60).padStart(2, '0')}.000Z`;
    }
    const text = JSON.stringify(doc);
    expect(Buffer.byteLength(text)).toBeGreaterThan(100e6);
    const facts = bothWays(text, 65536);
    expect(Object.keys(facts.versions)).toHaveLength(1000);
    expect(facts.versions['1.0.1']).toMatchObject({ integrity: 'sha512-1', bins: ['big', 'big-too'], installScripts: { postinstall: 'node post-1.js' } });
  }, 60_000);

  it('gives the same facts for odd shapes: __proto__ keys, duplicate keys, arrays and primitives where objects belong', () => {
    const text = `{"name":"odd","versions":{"1.0.0":{"__proto__":{"dist":{"integrity":"sha512-evil"}},"scripts":[1,2],"dist":{"integrity":"sha512-a","signatures":{"0":{"keyid":"k","sig":"s"}}}},
      "1.0.1":{"dist":"str","_npmUser":"bob","bin":{"__proto__":"x.js","a":"b.js"}},"1.0.2":{"dist":{"integrity":"sha512-first"},"dist":{"integrity":"sha512-second","signatures":[{"keyid":{"o":1},"sig":null},[],5]}},
      "1.0.3":{"_npmUser":{"name":"carol","approver":0,"trustedPublisher":[]},"scripts":{"install":"a","install":"b"},"repository":["x"]}},
      "time":{"1.0.0":"2024-01-01T00:00:00.000Z","1.0.1":{"x":1},"1.0.2":["2024-01-01T00:00:00.000Z"],"1.0.3":12},"dist-tags":{"latest":"1.0.0","weird":{"a":[1,{"b":null}]}},
      "name":"odd","versions2":{"1.0.0":{}}, "x": [[[[{}]]]], "e": "\\u00e9\\ud83d\\ude00\\"" }`;
    bothWays(text, 1);
    bothWays(text, 5);
    const facts = slimPackument(streamed(text, 7919, new Set(['1.0.0'])), 'r', new Date(0), new Set(['1.0.0']));
    // An inherited __proto__ field is not the version's own dist.
    expect(facts.versions['1.0.0']).toMatchObject({ integrity: 'sha512-a' });
  });

  it('refuses what JSON.parse refuses: truncated documents, trailing data, trailing commas, bad tokens', () => {
    for (const bad of ['{"name":"a","versions":{}', '{"name":"a"} {}', '{"name":"a",}', '[1,]', '{"a":}', '{"a" 1}', '{"a":tru}', '']) {
      expect(() => JSON.parse(bad), bad).toThrow();
      expect(() => streamed(bad, 3), bad).toThrow(MalformedPackumentError);
    }
  });

  it(`refuses more than ${MAX_VERSIONS} versions, both ways`, () => {
    const parts: string[] = [];
    for (let i = 0; i <= MAX_VERSIONS; i++) parts.push(`"1.0.${i}":{}`);
    const text = `{"name":"many","versions":{${parts.join(',')}}}`;
    expect(() => streamed(text, 65536)).toThrow(PackumentTooLargeError);
    expect(() => slimPackument(JSON.parse(text), 'r', new Date(0))).toThrow(PackumentTooLargeError);
    // One fewer is read.
    const fewer = `{"name":"many","versions":{${parts.slice(1).join(',')}}}`;
    expect(Object.keys(slimPackument(streamed(fewer, 65536), 'r', new Date(0)).versions)).toHaveLength(MAX_VERSIONS);
  });

  it('drops a huge string it does not read without collecting it, and refuses a huge one it would keep', () => {
    const huge = 'x'.repeat(40 << 20);
    // Dropped: readme, an unknown field of a version; the facts are read.
    const ok = `{"name":"h","readme":"${huge}","versions":{"1.0.0":{"readme":"${huge}","dist":{"integrity":"sha512-a"}}}}`;
    const facts = slimPackument(streamed(ok, 1 << 20, new Set(['1.0.0'])), 'r', new Date(0), new Set(['1.0.0']));
    expect(facts.versions['1.0.0']).toMatchObject({ integrity: 'sha512-a' });
    // Kept fields are bounded: an install script, a dist-tag, a publish time past MAX_KEPT_STRING.
    const long = 'y'.repeat(MAX_KEPT_STRING + 1);
    for (const bad of [
      `{"name":"h","versions":{"1.0.0":{"scripts":{"install":"${long}"}}}}`,
      `{"name":"h","dist-tags":{"latest":"${long}"},"versions":{}}`,
      `{"name":"h","time":{"1.0.0":"${long}"},"versions":{}}`,
      `{"name":"h","versions":{"${long}":{}}}`,
      `{"name":"h","readme":${'1'.repeat(1 << 20)}}`,
    ]) {
      expect(() => streamed(bad, 65536)).toThrow(PackumentTooLargeError);
    }
  });

  it('refuses more kept text or values in all than its bounds, each field under its own bound', () => {
    const tag = 'z'.repeat(MAX_KEPT_STRING - 10);
    const tags: string[] = [];
    for (let i = 0; i * MAX_KEPT_STRING <= MAX_KEPT_CHARS; i++) tags.push(`"t${i}":"${tag}"`);
    expect(() => streamed(`{"name":"h","dist-tags":{${tags.join(',')}},"versions":{}}`, 65536)).toThrow(/more than 8 MiB of text/);
    // The same without one of the tags is read.
    expect(streamed(`{"name":"h","dist-tags":{${tags.slice(2).join(',')}},"versions":{}}`, 65536)).toMatchObject({ name: 'h' });
    const many: string[] = [];
    for (let i = 0; i <= MAX_KEPT_VALUES; i++) many.push('0');
    expect(() => streamed(`{"name":"h","dist-tags":{"a":[${many.join(',')}]},"versions":{}}`, 65536)).toThrow(PackumentTooLargeError);
  });

  it(`refuses nesting deeper than ${MAX_DEPTH} levels, even in a dropped field (each level costs a frame)`, () => {
    const deep = (n: number) => `{"name":"h","readme":${'['.repeat(n)}${']'.repeat(n)},"versions":{}}`;
    expect(streamed(deep(MAX_DEPTH - 1), 65536)).toMatchObject({ name: 'h' });
    expect(() => streamed(deep(10_000_000), 65536)).toThrow(/deeper than 512 levels/);
  });
});
