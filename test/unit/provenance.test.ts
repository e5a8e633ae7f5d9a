import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { PUBLISH_PREDICATE_TYPE, verifyNpmAttestations, type ProvenanceResult } from '../../src/verify/provenance.js';
import type { RegistryKey } from '../../src/types.js';
import { loadTrustedRoot, refreshTrustedRoot, shippedTrustedRootPath } from '../../src/verify/trusted-root.js';
import { loadNpmKeys, shippedNpmKeysPath } from '../../src/verify/npm-keys.js';
import { TufRepository } from '../registry/tuf.js';

// ---- Real data (copied from /work/shared/fixtures) -----------------------------------------

const FIXTURES = fileURLToPath(new URL('../fixtures/attestations/', import.meta.url));
const readJson = (file: string) => JSON.parse(readFileSync(path.join(FIXTURES, file), 'utf8'));

interface Body {
  attestations: { predicateType: string; bundle: any }[];
}
const body = (file: string): Body => readJson(file);

const KEYS: RegistryKey[] = readJson('npm-registry-keys.json').keys.map((k: RegistryKey) => ({
  keyid: k.keyid,
  key: k.key,
  expires: k.expires,
}));
const OLD_KEYID = 'SHA256:jl3bwswu80PjjokCgh0o2w5c2U4LhQAE57gj9cz1kzA';
const NEW_KEYID = 'SHA256:DhQ8wR5APBvFHLF/+Tc+AYvPOdTpcIDqOhxsBHRwC7U';

const SIGSTORE = {
  name: 'sigstore',
  version: '1.0.0',
  integrity: 'sha512-e+qfbn/zf1+rCza/BhIA//Awmf0v1pa5HQS8Xk8iXrn9bgytytVLqYD0P7NSqZ6IELTgq+tcDvLPkQjNHyWLNg==',
  file: 'sigstore@1.0.0.json',
};
const TUF_JS = {
  name: 'tuf-js',
  version: '1.0.0',
  integrity: 'sha512-1dxsQwESDzACJjTdYHQ4wJ1f/of7jALWKfJEHSBWUQB/5UTJUx9SW6GHXp4mZ1KvdBRJCpGjssoPFGi4hvw8/A==',
  file: 'tuf-js@1.0.0.json',
};
const OCTOKIT = {
  name: '@octokit/rest',
  version: '22.0.1',
  integrity: integrityFromSubject(body('@octokit__rest@22.0.1.json')),
  file: '@octokit__rest@22.0.1.json',
};

function integrityFromSubject(b: Body): string {
  const statement = decodePayload(b.attestations.find((a) => a.predicateType.startsWith('https://slsa.dev/'))!.bundle);
  return 'sha512-' + Buffer.from(statement.subject[0].digest.sha512, 'hex').toString('base64');
}

type Pkg = typeof SIGSTORE;
const verify = (pkg: Pkg, over: Partial<Parameters<typeof verifyNpmAttestations>[0]> = {}): ProvenanceResult =>
  verifyNpmAttestations({ name: pkg.name, version: pkg.version, integrity: pkg.integrity, body: body(pkg.file), keys: KEYS, ...over });

// ---- Tampering helpers ---------------------------------------------------------------------

const isPublish = (a: { predicateType: string }) => a.predicateType === PUBLISH_PREDICATE_TYPE;
const provenanceOf = (b: Body) => b.attestations.find((a) => !isPublish(a))!;
const publishOf = (b: Body) => b.attestations.find(isPublish)!;

function decodePayload(bundle: any): any {
  return JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8'));
}

/** Re-encodes the DSSE payload after replacing one substring (same length, so still valid JSON). */
function editPayload(bundle: any, from: string, to: string): void {
  const text = Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8');
  expect(text).toContain(from);
  bundle.dsseEnvelope.payload = Buffer.from(text.replace(from, to), 'utf8').toString('base64');
}

function flipLastSignatureByte(bundle: any): void {
  const sig = Buffer.from(bundle.dsseEnvelope.signatures[0].sig, 'base64');
  sig.writeUInt8(sig.readUInt8(sig.length - 1) ^ 0x01, sig.length - 1);
  bundle.dsseEnvelope.signatures[0].sig = sig.toString('base64');
}

function integratedTime(bundle: any): Date {
  return new Date(Number(bundle.verificationMaterial.tlogEntries[0].integratedTime) * 1000);
}

const withKey = (keyid: string, over: Partial<RegistryKey>) => KEYS.map((k) => (k.keyid === keyid ? { ...k, ...over } : k));

function expectRejected(r: ProvenanceResult, code: ProvenanceResult['code'], message?: RegExp) {
  expect(r.ok).toBe(false);
  expect(r.code).toBe(code);
  if (message) expect(r.message).toMatch(message);
}

// ---- Real responses verify offline -----------------------------------------------------------

describe('verifyNpmAttestations: real attestations', () => {
  it('verifies sigstore@1.0.0 (2023 v0.1 bundles, old registry key valid when signed) and reads its identity', () => {
    const r = verify(SIGSTORE);
    expect(r).toMatchObject({ ok: true, publishAttestationVerified: true });
    expect(r.code).toBeUndefined();
    // 2023 certificates carry only the deprecated extensions: .5 is "owner/repo", .6 the ref, .3 the commit.
    expect(r.identity).toEqual({
      sourceRepository: 'https://github.com/sigstore/sigstore-js',
      sourceRef: 'refs/tags/v1.0.0',
      sourceCommit: '06528997c3c8ab9f864fad9a3658446aca7fd86d',
      workflow: 'https://github.com/sigstore/sigstore-js/.github/workflows/publish.yml@refs/tags/v1.0.0',
      issuer: 'https://token.actions.githubusercontent.com',
      builder: 'https://github.com/npm/cli@9.4.2',
    });
    expect(r.message).toBe('sigstore@1.0.0 has verified provenance from https://github.com/sigstore/sigstore-js at 06528997c3c8 and a verified npm publish attestation.');
  });

  it('verifies tuf-js@1.0.0', () => {
    const r = verify(TUF_JS);
    expect(r).toMatchObject({ ok: true, publishAttestationVerified: true });
    expect(r.identity).toMatchObject({
      sourceRepository: 'https://github.com/theupdateframework/tuf-js',
      sourceRef: 'refs/tags/v1.0.0',
      sourceCommit: '99624cc7ce39872e6bd08a0df59229a48562dbca',
    });
  });

  it('verifies @octokit/rest@22.0.1 (v0.3 provenance with inclusion proof, v0.2 publish bundle, new key) with a %40 scoped purl', () => {
    expect(OCTOKIT.integrity).toMatch(/^sha512-[A-Za-z0-9+/]{86}==$/);
    const r = verify(OCTOKIT);
    expect(r).toMatchObject({ ok: true, publishAttestationVerified: true });
    expect(r.identity).toEqual({
      sourceRepository: 'https://github.com/octokit/rest.js',
      sourceRef: 'refs/heads/main',
      sourceCommit: 'daa3ec945e9f1bb77e7ee14ea80d3e823b6d31ca',
      workflow: 'https://github.com/octokit/rest.js/.github/workflows/release.yml@refs/heads/main',
      issuer: 'https://token.actions.githubusercontent.com',
      builder: 'https://github.com/actions/runner/github-hosted',
    });
  });

  it('accepts the publish key when it expires one second after the signing time, and rejects it at the signing time', () => {
    const signedAt = integratedTime(publishOf(body(SIGSTORE.file)).bundle);
    const justAfter = new Date(signedAt.getTime() + 1000).toISOString();
    expect(verify(SIGSTORE, { keys: withKey(OLD_KEYID, { expires: justAfter }) }).ok).toBe(true);
    expectRejected(verify(SIGSTORE, { keys: withKey(OLD_KEYID, { expires: signedAt.toISOString() }) }), 'publish-attestation-invalid', /expired/);
  });

  it('uses the trusted root it is given: an empty root verifies nothing', () => {
    const empty = { mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1', tlogs: [], certificateAuthorities: [], ctlogs: [], timestampAuthorities: [] };
    expectRejected(verify(SIGSTORE, { trustedRoot: empty }), 'provenance-invalid', /fails Sigstore verification/);
    expect(verify(SIGSTORE, { trustedRoot: loadTrustedRoot().root }).ok).toBe(true);
  });
});

// ---- Tampering is rejected with the right code ---------------------------------------------

describe('verifyNpmAttestations: tampering', () => {
  it('rejects a wrong integrity as a subject mismatch', () => {
    const r = verify(SIGSTORE, { integrity: TUF_JS.integrity });
    expectRejected(r, 'provenance-subject-mismatch', /not the tarball's integrity/);
    expect(r.publishAttestationVerified).toBe(false);
  });

  it('rejects a wrong version or name, including a scoped name without its %40', () => {
    expectRejected(verify(SIGSTORE, { version: '1.0.1' }), 'provenance-subject-mismatch', /names pkg:npm\/sigstore@1\.0\.0, not pkg:npm\/sigstore@1\.0\.1/);
    expectRejected(verify(SIGSTORE, { name: 'sigstore-js' }), 'provenance-subject-mismatch', /not pkg:npm\/sigstore-js@1\.0\.0/);
    expectRejected(verify(OCTOKIT, { name: '@octokit/core' }), 'provenance-subject-mismatch', /not pkg:npm\/%40octokit\/core@22\.0\.1/);
  });

  it('rejects an integrity with no sha512 to compare', () => {
    expectRejected(verify(SIGSTORE, { integrity: 'sha1-AAAAAAAAAAAAAAAAAAAAAAAAAAA=' }), 'provenance-subject-mismatch', /no sha512/);
  });

  it('rejects a modified provenance payload byte as provenance-invalid (signature is checked before the subject)', () => {
    for (const pkg of [SIGSTORE, OCTOKIT]) {
      const b = body(pkg.file);
      editPayload(provenanceOf(b).bundle, 'refs/', 'refz/');
      expectRejected(verify(pkg, { body: b }), 'provenance-invalid', /fails Sigstore verification/);
    }
  });

  it('rejects a provenance payload whose subject digest was rewritten to match a forged integrity', () => {
    const b = body(SIGSTORE.file);
    const forgedHex = '00' + decodePayload(provenanceOf(b).bundle).subject[0].digest.sha512.slice(2);
    editPayload(provenanceOf(b).bundle, decodePayload(provenanceOf(b).bundle).subject[0].digest.sha512, forgedHex);
    const forged = 'sha512-' + Buffer.from(forgedHex, 'hex').toString('base64');
    expectRejected(verify(SIGSTORE, { body: b, integrity: forged }), 'provenance-invalid');
  });

  it('rejects a modified publish payload byte as publish-attestation-invalid', () => {
    for (const pkg of [SIGSTORE, OCTOKIT]) {
      const b = body(pkg.file);
      editPayload(publishOf(b).bundle, 'registry.npmjs.org', 'registry.npmjs.orc');
      const r = verify(pkg, { body: b });
      expectRejected(r, 'publish-attestation-invalid', /fails Sigstore verification/);
      expect(r.identity?.sourceRepository).toMatch(/^https:\/\/github\.com\//); // provenance itself still verified
    }
  });

  it('rejects a modified signature on either bundle', () => {
    for (const pkg of [SIGSTORE, OCTOKIT]) {
      const p = body(pkg.file);
      flipLastSignatureByte(provenanceOf(p).bundle);
      expectRejected(verify(pkg, { body: p }), 'provenance-invalid');
      const q = body(pkg.file);
      flipLastSignatureByte(publishOf(q).bundle);
      expectRejected(verify(pkg, { body: q }), 'publish-attestation-invalid');
    }
  });

  it('rejects bundles swapped between two packages', () => {
    const sig = body(SIGSTORE.file);
    const tuf = body(TUF_JS.file);
    const provSwapped: Body = { attestations: [provenanceOf(sig), publishOf(tuf)] };
    expectRejected(verify(TUF_JS, { body: provSwapped }), 'provenance-subject-mismatch', /names pkg:npm\/sigstore@1\.0\.0/);
    const pubSwapped: Body = { attestations: [provenanceOf(tuf), publishOf(sig)] };
    expectRejected(verify(TUF_JS, { body: pubSwapped }), 'publish-attestation-invalid', /names pkg:npm\/sigstore@1\.0\.0/);
    expectRejected(verify(TUF_JS, { body: sig }), 'provenance-subject-mismatch');
  });

  it('rejects a publish attestation whose key id is not among the registry keys', () => {
    const r = verify(SIGSTORE, { keys: KEYS.filter((k) => k.keyid !== OLD_KEYID) });
    expectRejected(r, 'publish-attestation-invalid', new RegExp(`signed by key ${OLD_KEYID.replace(/[+/]/g, '\\$&')}, which is not among`));
    expect(r.publishAttestationVerified).toBe(false);
    expectRejected(verify(OCTOKIT, { keys: [] }), 'publish-attestation-invalid', /not among the registry's keys/);
  });

  it("rejects a publish attestation signed after the key's expiry", () => {
    expectRejected(
      verify(SIGSTORE, { keys: withKey(OLD_KEYID, { expires: '2023-01-01T00:00:00.000Z' }) }),
      'publish-attestation-invalid',
      /was signed at 2023-02-09T17:56:02\.000Z, after registry key SHA256:jl3b\S+ expired \(2023-01-01T00:00:00\.000Z\)/,
    );
    expectRejected(verify(OCTOKIT, { keys: withKey(NEW_KEYID, { expires: '2025-10-31T00:00:00.000Z' }) }), 'publish-attestation-invalid', /expired/);
  });

  it('rejects a known key id bound to the wrong key bytes', () => {
    const newKey = KEYS.find((k) => k.keyid === NEW_KEYID)!.key;
    expectRejected(verify(SIGSTORE, { keys: withKey(OLD_KEYID, { key: newKey }) }), 'publish-attestation-invalid', /signature/);
  });

  it('rejects a publish bundle relabelled as provenance (it has no Fulcio certificate)', () => {
    const b = body(SIGSTORE.file);
    const pub = publishOf(b);
    const relabelled: Body = { attestations: [{ predicateType: 'https://slsa.dev/provenance/v0.2', bundle: pub.bundle }, pub] };
    expectRejected(verify(SIGSTORE, { body: relabelled }), 'provenance-invalid', /not signed with a Sigstore certificate/);
  });

  it('rejects a provenance bundle relabelled with another predicate type than the one it signed', () => {
    const b = body(SIGSTORE.file);
    provenanceOf(b).predicateType = 'https://slsa.dev/provenance/v1';
    expectRejected(verify(SIGSTORE, { body: b }), 'provenance-invalid', /its signed statement says https:\/\/slsa\.dev\/provenance\/v0\.2/);
  });
});

// ---- Shape and missing attestations ----------------------------------------------------------

describe('verifyNpmAttestations: shape', () => {
  it.each([
    ['null', null],
    ['a string', 'attestations'],
    ['no list', {}],
    ['a non-array list', { attestations: { predicateType: 'x' } }],
    ['an entry without predicateType', { attestations: [{ bundle: {} }] }],
    ['an entry without bundle', { attestations: [{ predicateType: PUBLISH_PREDICATE_TYPE }] }],
    ['a bundle that does not parse', { attestations: [{ predicateType: PUBLISH_PREDICATE_TYPE, bundle: { mediaType: 'nope' } }] }],
  ])('rejects %s as attestations-malformed', (_label, b) => {
    const r = verify(SIGSTORE, { body: b });
    expectRejected(r, 'attestations-malformed', /^The attestations response is malformed: /);
    expect(r.publishAttestationVerified).toBe(false);
  });

  it('rejects a bundle with its DSSE envelope removed, and two provenance attestations, as malformed', () => {
    const b = body(SIGSTORE.file);
    delete provenanceOf(b).bundle.dsseEnvelope;
    expectRejected(verify(SIGSTORE, { body: b }), 'attestations-malformed');
    const twice = body(SIGSTORE.file);
    twice.attestations.push(provenanceOf(twice));
    expectRejected(verify(SIGSTORE, { body: twice }), 'attestations-malformed', /two SLSA provenance/);
  });

  it('reports provenance-missing for a response with only the publish attestation, which is still verified', () => {
    const b = body(OCTOKIT.file);
    const r = verify(OCTOKIT, { body: { attestations: [publishOf(b)] } });
    expectRejected(r, 'provenance-missing', /verified npm publish attestation but no SLSA provenance/);
    expect(r.publishAttestationVerified).toBe(true);
    expect(r.identity).toBeUndefined();
  });

  it('reports provenance-missing for an empty list, and a tampered lone publish attestation as invalid', () => {
    expectRejected(verify(OCTOKIT, { body: { attestations: [] } }), 'provenance-missing', /no attestations/);
    const b = body(OCTOKIT.file);
    flipLastSignatureByte(publishOf(b).bundle);
    expectRejected(verify(OCTOKIT, { body: { attestations: [publishOf(b)] } }), 'publish-attestation-invalid');
  });

  it('rejects provenance without a publish attestation', () => {
    const b = body(SIGSTORE.file);
    const r = verify(SIGSTORE, { body: { attestations: [provenanceOf(b)] } });
    expectRejected(r, 'publish-attestation-invalid', /no npm publish attestation/);
    expect(r.identity?.sourceRepository).toBe('https://github.com/sigstore/sigstore-js');
  });

  it('ignores attestations of other predicate types', () => {
    const b = body(SIGSTORE.file);
    b.attestations.push({ predicateType: 'https://example.com/other/v1', bundle: publishOf(b).bundle });
    expect(verify(SIGSTORE, { body: b }).ok).toBe(true);
  });
});

// ---- Trusted root: shipped copy, cache, refresh -----------------------------------------------

describe('trusted root', () => {
  const dirs: string[] = [];
  const tempDir = () => {
    const d = mkdtempSync(path.join(tmpdir(), 'safe-install-trust-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('loads the shipped trust/trusted_root.json next to package.json', () => {
    const { root, source } = loadTrustedRoot();
    expect(source).toBe(fileURLToPath(new URL('../../trust/trusted_root.json', import.meta.url)));
    expect(shippedTrustedRootPath()).toBe(source);
    expect((root as { tlogs: { baseUrl: string }[] }).tlogs.map((t) => t.baseUrl)).toContain('https://rekor.sigstore.dev');
  });

  it('prefers a refreshed copy in the cache dir, and ignores one that is not JSON or not a trusted root', () => {
    const cache = tempDir();
    expect(loadTrustedRoot(cache).source).toBe(shippedTrustedRootPath());
    mkdirSync(path.join(cache, 'trust'));
    const file = path.join(cache, 'trust', 'trusted_root.json');
    writeFileSync(file, '{not json');
    expect(loadTrustedRoot(cache).source).toBe(shippedTrustedRootPath());
    writeFileSync(file, JSON.stringify({ mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1' }));
    expect(loadTrustedRoot(cache).source).toBe(shippedTrustedRootPath());
    const refreshed = { ...(loadTrustedRoot().root as object), mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1' };
    writeFileSync(file, JSON.stringify(refreshed));
    const loaded = loadTrustedRoot(cache);
    expect(loaded).toEqual({ root: refreshed, source: file });
    expect(verify(SIGSTORE, { trustedRoot: loaded.root }).ok).toBe(true);
  });

  it('fails cleanly and writes nothing when the TUF mirror refuses connections', async () => {
    const port = await closedPort();
    const cache = tempDir();
    // A deadline far beyond the test's own 60 s: only failing at once on the refusal lets the test pass.
    await expect(refreshTrustedRoot(cache, { mirrorURL: `http://127.0.0.1:${port}`, timeoutMs: 10 * 60_000 })).rejects.toThrow(
      new RegExp(`^could not refresh the Sigstore trusted root and npm registry keys from http://127\\.0\\.0\\.1:${port}: `),
    );
    expect(existsSync(path.join(cache, 'trust', 'trusted_root.json'))).toBe(false);
    expect(existsSync(path.join(cache, 'trust', 'npm-keys.json'))).toBe(false);
  });

  // The same TUF repository serves both targets, as Sigstore's public-good one does (trusted_root.json and
  // registry.npmjs.org/keys.json); here a loopback repository with its own root of trust, seeded into the cache.
  const ROOT_TEXT = readFileSync(shippedTrustedRootPath(), 'utf8');
  const KEYS_DOC = JSON.parse(readFileSync(shippedNpmKeysPath(), 'utf8'));

  it('refreshes the trusted root and the npm registry keys from the TUF repository, and both are then used', async () => {
    const cache = tempDir();
    // A rotation the shipped keys do not know: the old key's signature window closed earlier, and a third key.
    const rotated = structuredClone(KEYS_DOC);
    rotated.keys[0].publicKey.validFor.end = '2024-01-01T00:00:00.000Z';
    rotated.keys.push({ ...structuredClone(KEYS_DOC.keys[2]), keyId: 'SHA256:a-key-added-later' });
    const refreshedRoot = { ...JSON.parse(ROOT_TEXT), mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1' };
    const repo = await TufRepository.start({ 'trusted_root.json': JSON.stringify(refreshedRoot), 'registry.npmjs.org/keys.json': JSON.stringify(rotated) });
    try {
      repo.seed(cache);
      expect(loadNpmKeys(cache).source).toBe(shippedNpmKeysPath());
      const out = await refreshTrustedRoot(cache, { mirrorURL: repo.url, timeoutMs: 60_000 });
      expect(out).toEqual({ path: path.join(cache, 'trust', 'trusted_root.json'), npmKeysPath: path.join(cache, 'trust', 'npm-keys.json') });
      expect(repo.requests).toEqual(expect.arrayContaining(['/timestamp.json', '/snapshot.json', '/targets.json', '/targets/trusted_root.json', '/targets/registry.npmjs.org/keys.json']));
      expect(loadTrustedRoot(cache)).toEqual({ root: refreshedRoot, source: out.path });
      const keys = loadNpmKeys(cache);
      expect(keys.source).toBe(out.npmKeysPath);
      expect(keys.keys.map((k) => [k.keyid, k.expires])).toEqual([
        ['SHA256:jl3bwswu80PjjokCgh0o2w5c2U4LhQAE57gj9cz1kzA', '2024-01-01T00:00:00.000Z'],
        ['SHA256:DhQ8wR5APBvFHLF/+Tc+AYvPOdTpcIDqOhxsBHRwC7U', null],
        ['SHA256:a-key-added-later', null],
      ]);
    } finally {
      await repo.close();
    }
  });

  it('writes neither file when the repository serves npm registry keys it cannot use', async () => {
    const cache = tempDir();
    const noSignatureKeys = { keys: KEYS_DOC.keys.filter((k: any) => k.keyUsage !== 'npm:signatures') };
    const repo = await TufRepository.start({ 'trusted_root.json': ROOT_TEXT, 'registry.npmjs.org/keys.json': JSON.stringify(noSignatureKeys) });
    try {
      repo.seed(cache);
      await expect(refreshTrustedRoot(cache, { mirrorURL: repo.url, timeoutMs: 60_000 })).rejects.toThrow(
        `the npm registry keys (registry.npmjs.org/keys.json) served by ${repo.url} are unusable: it holds no npm:signatures key`,
      );
      expect(existsSync(path.join(cache, 'trust', 'trusted_root.json'))).toBe(false);
      expect(existsSync(path.join(cache, 'trust', 'npm-keys.json'))).toBe(false);
      expect(loadNpmKeys(cache).source).toBe(shippedNpmKeysPath());
      // A target the metadata does not list is a TUF failure, named as such.
      repo.publish({ 'trusted_root.json': ROOT_TEXT });
      await expect(refreshTrustedRoot(cache, { mirrorURL: repo.url, timeoutMs: 60_000 })).rejects.toThrow(/registry\.npmjs\.org\/keys\.json not found/);
      expect(existsSync(path.join(cache, 'trust', 'trusted_root.json'))).toBe(false);
    } finally {
      await repo.close();
    }
  });

  it('a target altered on the way (its hash no longer matches the signed metadata) is refused', async () => {
    const cache = tempDir();
    const repo = await TufRepository.start({ 'trusted_root.json': ROOT_TEXT, 'registry.npmjs.org/keys.json': JSON.stringify(KEYS_DOC) });
    try {
      repo.seed(cache);
      const forged = structuredClone(KEYS_DOC);
      forged.keys[2].keyId = 'SHA256:attacker';
      repo.replaceFile('/targets/registry.npmjs.org/keys.json', JSON.stringify(forged));
      await expect(refreshTrustedRoot(cache, { mirrorURL: repo.url, timeoutMs: 60_000 })).rejects.toThrow(
        /^could not refresh the Sigstore trusted root and npm registry keys from .*: Expected (hash|length) \S+ but got \S+/,
      );
      expect(existsSync(path.join(cache, 'trust', 'npm-keys.json'))).toBe(false);
    } finally {
      await repo.close();
    }
  });

  it('gives up at the deadline when the TUF mirror accepts but never answers', async () => {
    const server = createHttpServer(() => {
      /* never respond */
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const cache = tempDir();
    try {
      // Nothing else ends the wait before the test's own 60 s: only the 500 ms deadline lets the test pass.
      await expect(refreshTrustedRoot(cache, { mirrorURL: `http://127.0.0.1:${port}`, timeoutMs: 500 })).rejects.toThrow(
        /could not refresh the Sigstore trusted root and npm registry keys from .*: .*500 ms|timed out|timeout/i,
      );
      expect(existsSync(path.join(cache, 'trust', 'trusted_root.json'))).toBe(false);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

async function closedPort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
