// Signatures, provenance and trust downgrade, end to end and offline: real signed packuments, real keys and
// real Sigstore attestation bundles served by the loopback registry; the trusted root ships with the tool.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestRegistry } from '../registry/server.js';
import { FIXTURES, ROOT, cleanEnv, cli, tempDir } from './helpers.js';
import { TufRepository } from '../registry/tuf.js';

const NOW = '2026-11-01T00:00:00.000Z';
const read = (...p: string[]) => JSON.parse(readFileSync(join(FIXTURES, ...p), 'utf8'));
const KEYS = read('keys', 'npm-registry-keys.json');
const TUPLES: any[] = read('signed', 'tuples.json');
const ATTESTATIONS: Record<string, any> = {
  'sigstore@1.0.0': read('attestations', 'sigstore@1.0.0.json'),
  'tuf-js@1.0.0': read('attestations', 'tuf-js@1.0.0.json'),
};
const REPOS: Record<string, string> = { sigstore: 'git+https://github.com/sigstore/sigstore-js.git', 'tuf-js': 'git+https://github.com/theupdateframework/tuf-js.git' };

let registry: TestRegistry;
let dir: string;
let env: NodeJS.ProcessEnv;

/** A packument for a signed tuple with attestations, shaped like the registry's. */
function attestedPackument(name: string, version: string, over: Record<string, unknown> = {}) {
  const t = TUPLES.find((x) => x.name === name && x.version === version);
  return {
    _id: name,
    name,
    'dist-tags': { latest: version },
    time: { [version]: t.publishTime },
    versions: {
      [version]: {
        name,
        version,
        repository: { type: 'git', url: REPOS[name] },
        _npmUser: { name: 'github-actions', email: 'npm-oidc-no-reply@github.com' },
        dist: {
          integrity: t.integrity,
          tarball: `https://registry.example.com/${name}/-/${name}-${version}.tgz`,
          signatures: t.signatures,
          attestations: { url: `https://registry.example.com/-/npm/v1/attestations/${name}@${version}`, provenance: { predicateType: 'https://slsa.dev/provenance/v0.2' } },
        },
        ...over,
      },
    },
  };
}

/** What this machine's mirror serves: the same packuments without dist.signatures, dist.attestations or _npmUser. */
function serveStripped() {
  for (const doc of [
    read('signed', 'real-packuments', 'has-package-exports.json'),
    read('signed', 'real-packuments', '@ljharb%2fhas-package-exports-patterns.json'),
    attestedPackument('sigstore', '1.0.0'),
    attestedPackument('tuf-js', '1.0.0'),
  ]) {
    for (const v of Object.values<any>(doc.versions)) {
      delete v.dist.signatures;
      delete v.dist.attestations;
      delete v._npmUser;
    }
    registry.addRawPackument(doc);
  }
}

function serveAll() {
  registry.addRawPackument(read('signed', 'real-packuments', 'has-package-exports.json'));
  registry.addRawPackument(read('signed', 'real-packuments', '@ljharb%2fhas-package-exports-patterns.json'));
  registry.addRawPackument(attestedPackument('sigstore', '1.0.0'));
  registry.addRawPackument(attestedPackument('tuf-js', '1.0.0'));
  registry.setKeys(KEYS);
  for (const [id, body] of Object.entries(ATTESTATIONS)) registry.setAttestations(id, body);
}

beforeAll(async () => {
  registry = await TestRegistry.start();
  dir = tempDir('si-trust-');
  const deps: Record<string, string> = { 'has-package-exports': '1.3.0', '@ljharb/has-package-exports-patterns': '0.0.2', sigstore: '1.0.0', 'tuf-js': '1.0.0' };
  const packages: Record<string, unknown> = { '': { name: 'app', version: '1.0.0', dependencies: deps } };
  for (const [name, version] of Object.entries(deps)) {
    const integrity = TUPLES.find((x) => x.name === name && x.version === version)?.integrity ?? read('signed', 'real-packuments', `${name.replace('/', '%2f')}.json`).versions[version].dist.integrity;
    packages[`node_modules/${name}`] = { version, integrity };
  }
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ name: 'app', version: '1.0.0', lockfileVersion: 3, packages }, null, 2));
  env = cleanEnv(registry.url);
});
afterAll(() => registry.close());
beforeEach(() => {
  registry.clearFaults();
  serveAll();
});

async function check(...args: string[]) {
  const res = await cli(['check', '--json', '--now', NOW, '--cache-dir', tempDir('si-c-'), ...args], { cwd: dir, env });
  const report = JSON.parse(res.stdout);
  const byName = Object.fromEntries(report.packages.map((p: any) => [p.name, p]));
  const codes = (name: string) => byName[name].findings.map((f: any) => f.code);
  return { res, report, byName, codes };
}

describe('signatures and provenance, offline', () => {
  it('real signatures and real attestations verify; the builder identity is reported', async () => {
    const { res, byName, codes } = await check();
    expect(res.code, res.stdout).toBe(0);
    for (const p of Object.values(byName) as any[]) expect(p.verdict, `${p.name} ${JSON.stringify(p.findings)}`).toBe('allow');
    expect(codes('sigstore')).toContain('provenance-verified');
    const prov = byName.sigstore.findings.find((f: any) => f.code === 'provenance-verified');
    expect(prov.data.sourceRepository).toMatch(/github\.com\/sigstore\/sigstore-js/);
    expect(codes('tuf-js')).toContain('provenance-verified');
    expect(codes('has-package-exports')).not.toContain('provenance-verified');
    expect(registry.requestCount('/-/npm/v1/attestations')).toBeGreaterThanOrEqual(2);
  });

  it('a tampered signature blocks the package', async () => {
    const doc = read('signed', 'real-packuments', 'has-package-exports.json');
    const sigs = doc.versions['1.3.0'].dist.signatures;
    sigs[0].sig = TUPLES.find((x) => x.name === 'tuf-js').signatures[0].sig;
    registry.addRawPackument(doc);
    const { res, byName, codes } = await check();
    expect(res.code).toBe(1);
    expect(byName['has-package-exports'].verdict).toBe('block');
    expect(codes('has-package-exports')).toContain('signature-invalid');
  });

  it('attestations swapped between packages are rejected', async () => {
    registry.setAttestations('sigstore@1.0.0', ATTESTATIONS['tuf-js@1.0.0']);
    const { res, byName } = await check();
    expect(res.code).toBe(1);
    expect(byName.sigstore.verdict).toBe('block');
    expect(byName.sigstore.findings.map((f: any) => f.check)).toContain('provenance');
  });

  it('keeps the evidence in a CycloneDX 1.6 SBOM that validates against the schema: integrity, signature, provenance source, age', async () => {
    const out = join(tempDir('si-sbom-'), 'bom.cdx.json');
    const res = await cli(['check', '--now', NOW, '--cache-dir', tempDir('si-c-'), '--format', `cyclonedx=${out},text`], { cwd: dir, env });
    expect(res.code, res.stdout + res.stderr).toBe(0);
    const text = readFileSync(out, 'utf8');
    const { JsonStrictValidator } = await import('@cyclonedx/cyclonedx-library/Validation');
    const { Version } = await import('@cyclonedx/cyclonedx-library/Spec');
    expect(await new JsonStrictValidator(Version.v1dot6).validate(text)).toBeNull();
    const bom = JSON.parse(text);
    expect(bom.specVersion).toBe('1.6');
    const byPurl = Object.fromEntries(bom.components.map((c: any) => [c.purl, c]));
    const props = (c: any) => Object.fromEntries(c.properties.map((p: any) => [p.name, p.value]));
    const sigstore = byPurl['pkg:npm/sigstore@1.0.0'];
    const t = TUPLES.find((x) => x.name === 'sigstore' && x.version === '1.0.0');
    expect(sigstore.hashes).toEqual([{ alg: 'SHA-512', content: Buffer.from(t.integrity.replace(/^sha512-/, ''), 'base64').toString('hex') }]);
    expect(props(sigstore)).toMatchObject({
      'safe-install:verdict': 'allow',
      'safe-install:signature': 'verified',
      'safe-install:provenance': 'verified',
      'safe-install:publishedAt': t.publishTime,
    });
    expect(props(sigstore)['safe-install:provenance:sourceRepository']).toMatch(/github\.com\/sigstore\/sigstore-js/);
    expect(props(sigstore)['safe-install:provenance:sourceCommit']).toMatch(/^[0-9a-f]{40}$/);
    expect(props(byPurl['pkg:npm/%40ljharb/has-package-exports-patterns@0.0.2'])['safe-install:provenance']).toBe('none');
    expect(bom.components).toHaveLength(4);
    expect(bom.metadata.component.name).toBe('app');
    // The same evidence as the run's own verdicts: a signature the guard could not verify is not called verified.
    registry.setKeys(null);
    serveStripped();
    const stripped = join(tempDir('si-sbom-'), 'bom.cdx.json');
    await cli(['check', '--now', NOW, '--cache-dir', tempDir('si-c-'), '--format', `cyclonedx=${stripped}`], { cwd: dir, env });
    const strippedBom = JSON.parse(readFileSync(stripped, 'utf8'));
    for (const c of strippedBom.components) expect(props(c)['safe-install:signature'], c.purl).toBe('registry-no-keys');
  });

  it("a mirror that strips signatures and keys (as this machine's does) is said plainly, once; the policy decides", async () => {
    registry.setKeys(null);
    serveStripped();
    const { res, report } = await check();
    expect(res.code).toBe(0);
    const noKeys = report.packages.filter((p: any) => p.findings.some((f: any) => f.code === 'registry-no-keys'));
    expect(noKeys).toHaveLength(4);
    const text = await cli(['check', '--now', NOW, '--cache-dir', tempDir('si-c-')], { cwd: dir, env });
    expect(text.stdout.match(/^  ~ registry-no-keys:/gm)).toHaveLength(1); // said once, not per package
    expect(text.stdout).toContain('(4 packages)');
    // Declared a mirror of the npm registry: still only said (the mirror strips signatures; nothing to verify).
    writeFileSync(join(dir, 'safe-install.policy.json'), JSON.stringify({ registryMirrorOf: { [registry.url]: 'https://registry.npmjs.org/' } }));
    try {
      const declared = await cli(['check', '--now', NOW, '--cache-dir', tempDir('si-c-')], { cwd: dir, env });
      expect(declared.code, declared.stdout + declared.stderr).toBe(0);
      expect(declared.stdout).toMatch(/^  ~ registry-no-keys: the mirror http:\/\/127\.0\.0\.1:\d+\/ \(of https:\/\/registry\.npmjs\.org\/\) serves no signing keys .*\(4 packages\)$/m);
      writeFileSync(join(dir, 'safe-install.policy.json'), JSON.stringify({ actions: { 'registry-no-keys': 'block' } }));
      expect((await check()).res.code).toBe(1);
    } finally {
      writeFileSync(join(dir, 'safe-install.policy.json'), '{}');
    }
  });

  it('a registry that hides its keys but serves signatures: signed versions block; declared a mirror of npm, they verify with the shipped keys', async () => {
    registry.setKeys(null);
    const hidden = await check();
    expect(hidden.res.code).toBe(1);
    for (const p of hidden.report.packages) {
      expect(
        p.findings.filter((f: any) => f.check === 'signature').map((f: any) => f.code),
        p.name,
      ).toEqual(['signature-unverifiable']);
      expect(p.verdict).toBe('block');
    }
    writeFileSync(join(dir, 'safe-install.policy.json'), JSON.stringify({ registryMirrorOf: { [registry.url]: 'https://registry.npmjs.org/' } }));
    try {
      const { res, byName, codes } = await check();
      expect(res.code, res.stdout).toBe(0);
      for (const p of Object.values(byName) as any[]) expect(p.verdict, `${p.name} ${JSON.stringify(p.findings)}`).toBe('allow');
      // The npm publish attestations verify with the shipped keys too (not only the SLSA provenance).
      for (const name of ['sigstore', 'tuf-js']) {
        expect(codes(name)).toContain('provenance-verified');
        expect(byName[name].findings.find((f: any) => f.code === 'provenance-verified').message).not.toContain('unverifiable here');
      }
    } finally {
      writeFileSync(join(dir, 'safe-install.policy.json'), '{}');
    }
  });

  it('trust refresh updates the trusted root and the npm keys in the cache, and check then uses the refreshed keys', async () => {
    const cacheDir = tempDir('si-c-');
    const rotated = JSON.parse(readFileSync(join(ROOT, 'trust', 'npm-keys.json'), 'utf8'));
    // As if npm had ended the old key's window before has-package-exports@1.3.0 was published (2022-04-07).
    for (const k of rotated.keys) if (k.keyId.startsWith('SHA256:jl3b')) k.publicKey.validFor.end = '2022-01-01T00:00:00.000Z';
    const tuf = await TufRepository.start({ 'trusted_root.json': readFileSync(join(ROOT, 'trust', 'trusted_root.json'), 'utf8'), 'registry.npmjs.org/keys.json': JSON.stringify(rotated) });
    registry.setKeys(null);
    writeFileSync(join(dir, 'safe-install.policy.json'), JSON.stringify({ registryMirrorOf: { [registry.url]: 'https://registry.npmjs.org/' } }));
    try {
      const checkWith = async () => JSON.parse((await cli(['check', '--json', '--now', NOW, '--cache-dir', cacheDir], { cwd: dir, env })).stdout);
      const codesOf = (r: any) => r.packages.find((p: any) => p.name === 'has-package-exports').findings.map((f: any) => f.code);
      expect(codesOf(await checkWith())).toEqual([]);
      tuf.seed(cacheDir);
      const res = await cli(['trust', 'refresh', '--mirror-url', tuf.url, '--cache-dir', cacheDir], { cwd: dir, env });
      expect(res.code, res.stderr).toBe(0);
      expect(res.stdout).toBe(`Updated the Sigstore trusted root: ${join(cacheDir, 'trust', 'trusted_root.json')}\nUpdated the npm registry keys: ${join(cacheDir, 'trust', 'npm-keys.json')}\n`);
      expect(JSON.parse(readFileSync(join(cacheDir, 'trust', 'npm-keys.json'), 'utf8'))).toEqual(rotated);
      const after = await checkWith();
      expect(codesOf(after)).toEqual(['signature-expired-key']);
      expect(after.packages.find((p: any) => p.name === 'has-package-exports').findings[0].message).toContain('which expired 2022-01-01T00:00:00.000Z');
    } finally {
      writeFileSync(join(dir, 'safe-install.policy.json'), '{}');
      await tuf.close();
    }
  });

  it('attestations advertised but not served, and a provenance field dropped from a later version', async () => {
    registry.fault('/-/npm/v1/attestations/tuf-js', { status: 404 });
    const { byName, codes } = await check();
    expect(codes('tuf-js')).toContain('attestations-unavailable');
    expect(byName['tuf-js'].verdict).toBe('warn');
  });

  it('a version published without the provenance its predecessor had is quarantined as a trust downgrade', async () => {
    const doc: any = attestedPackument('sigstore', '1.0.0');
    doc.time['1.0.1'] = '2023-03-01T00:00:00.000Z';
    doc.versions['1.0.1'] = { name: 'sigstore', version: '1.0.1', _npmUser: { name: 'someone-else' }, dist: { integrity: 'sha512-' + Buffer.alloc(64, 9).toString('base64') } };
    registry.addRawPackument(doc);
    const lock = JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8'));
    const d = tempDir('si-trust-');
    lock.packages['node_modules/sigstore'] = { version: '1.0.1', integrity: doc.versions['1.0.1'].dist.integrity };
    writeFileSync(join(d, 'package-lock.json'), JSON.stringify(lock));
    const res = await cli(['check', '--json', '--now', NOW, '--cache-dir', tempDir('si-c-')], { cwd: d, env });
    const sig = JSON.parse(res.stdout).packages.find((p: any) => p.name === 'sigstore');
    expect(sig.findings.map((f: any) => f.code)).toContain('trust-downgrade');
    expect(sig.verdict).toBe('block'); // also unsigned while the registry signs: signature-missing blocks
    expect(res.code).toBe(1);
  });

  it('requireProvenance blocks a package without it', async () => {
    writeFileSync(join(dir, 'safe-install.policy.json'), JSON.stringify({ requireProvenance: ['has-package-*'] }));
    try {
      const { byName, codes } = await check();
      expect(codes('has-package-exports')).toContain('provenance-required');
      expect(byName['has-package-exports'].verdict).toBe('block');
      expect(byName.sigstore.verdict).toBe('allow');
    } finally {
      writeFileSync(join(dir, 'safe-install.policy.json'), '{}');
    }
  });
});
