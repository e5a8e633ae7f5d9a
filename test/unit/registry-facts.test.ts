// Packument -> facts: full facts for the versions asked for, a summary (what checks read across versions) for
// the rest; reading a summary as full facts fails closed.
import { describe, expect, it } from 'vitest';
import { slimPackument } from '../../src/registry/facts.js';
import { fullVersion, fullVersions } from '../../src/facts.js';
import { GuardError } from '../../src/errors.js';

const doc = {
  name: 'p',
  'dist-tags': { latest: '2.0.0' },
  time: { '1.0.0': '2024-01-01T00:00:00.000Z', '2.0.0': '2024-02-01T00:00:00.000Z', '3.0.0-rc.1': '2024-03-01T00:00:00.000Z' },
  versions: {
    '1.0.0': {
      dist: { integrity: 'sha512-a', shasum: 'aa', tarball: 'http://r/p-1.tgz', signatures: [{ keyid: 'k', sig: 's1' }] },
      repository: { url: 'git+https://example.com/p.git' },
      scripts: { postinstall: 'node x.js', test: 'vitest' },
      deprecated: 'use 2',
      _npmUser: { name: 'alice' },
    },
    '2.0.0': {
      dist: {
        integrity: 'sha512-b',
        signatures: [{ keyid: 'k', sig: 's2' }],
        attestations: { url: 'http://r/att', provenance: { predicateType: 'https://slsa.dev/provenance/v1' } },
      },
      gypfile: true,
      _npmUser: { name: 'ci', trustedPublisher: { id: 'github' }, approver: { name: 'bob' } },
    },
    '3.0.0-rc.1': { dist: { integrity: 'sha512-c' } },
  },
};

describe('slimPackument', () => {
  it('gives full facts only to the versions asked for', () => {
    const f = slimPackument(doc, 'http://r/', new Date(0), new Set(['2.0.0', '9.9.9']));
    expect(fullVersions(f)).toEqual(['2.0.0']);
    expect(f.versions['2.0.0']).toMatchObject({ full: true, integrity: 'sha512-b', signatures: [{ keyid: 'k', sig: 's2' }], installScripts: {} });
    expect(f.versions['9.9.9']).toBeUndefined();
    expect(f.hasPublisherData).toBe(true);
  });

  it('keeps in every summary what release age, its fallback, trust downgrade and change summaries read', () => {
    const f = slimPackument(doc, 'http://r/', new Date(0));
    expect(f.versions['1.0.0']).toEqual({
      publishedAt: '2024-01-01T00:00:00.000Z',
      installScripts: { postinstall: 'node x.js' },
      deprecated: 'use 2',
      publisher: 'alice',
    });
    expect(f.versions['2.0.0']).toEqual({
      publishedAt: '2024-02-01T00:00:00.000Z',
      gypfile: true,
      attestationsUrl: 'http://r/att',
      provenancePredicate: 'https://slsa.dev/provenance/v1',
      publisher: 'ci',
      trustedPublisher: true,
      approved: true,
    });
    expect(f.versions['3.0.0-rc.1']).toEqual({ publishedAt: '2024-03-01T00:00:00.000Z' });
  });

  it('full facts hold the summary fields too', () => {
    const f = slimPackument(doc, 'http://r/', new Date(0), new Set(['1.0.0']));
    expect(f.versions['1.0.0']).toEqual({
      full: true,
      publishedAt: '2024-01-01T00:00:00.000Z',
      integrity: 'sha512-a',
      shasum: 'aa',
      tarball: 'http://r/p-1.tgz',
      signatures: [{ keyid: 'k', sig: 's1' }],
      installScripts: { postinstall: 'node x.js' },
      repository: 'git+https://example.com/p.git',
      deprecated: 'use 2',
      publisher: 'alice',
    });
  });
});

describe('fullVersion', () => {
  const f = slimPackument(doc, 'http://r/', new Date(0), new Set(['1.0.0']));
  it('returns full facts, or undefined for a version the registry lacks', () => {
    expect(fullVersion(f, '1.0.0')?.integrity).toBe('sha512-a');
    expect(fullVersion(f, '4.0.0')).toBeUndefined();
  });
  it('refuses a summary (fails closed) instead of reading it as "no integrity, no signature"', () => {
    expect(() => fullVersion(f, '2.0.0')).toThrow(GuardError);
    expect(() => fullVersion(f, '2.0.0')).toThrow(/only summary metadata was loaded for p@2\.0\.0/);
  });
});
