// Issue 14, bypass 6: a registry (or a proxy in front of it) that hides its signing keys. The proxy swaps a
// version's tarball and dist.integrity but keeps the registry's real signature (it cannot make a new one), and
// answers 404 or {"keys": []} for /-/npm/v1/keys. npm ci does not verify registry signatures, so it installs the
// swapped tarball. Before this fix safe-install saw "the registry publishes no signing keys" and said only
// registry-no-keys (warn) for every package, exit 0, then ran that same npm ci: the attack below, unchanged.
// Now a signature with no trusted key to check it blocks (signature-unverifiable), and when the policy declares the
// registry a mirror of the npm registry its signatures are verified offline with npm's keys shipped with the tool,
// whatever the mirror serves as keys.
//
// Real data: the two real packuments with their real tarballs (test/fixtures/signed/), and the real signed tuple
// of kms-demo@1.0.0 (test/fixtures/signed/tuples.json), served by the loopback registry.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestRegistry } from '../registry/server.js';
import { FIXTURES } from '../integration/helpers.js';
import { attackProject, noStackTrace, type AttackProject } from './attack.js';

const read = (...p: string[]) => readFileSync(join(FIXTURES, 'signed', ...p));
const TUPLES: { name: string; version: string; integrity: string; signatures: { keyid: string; sig: string }[] }[] = JSON.parse(read('tuples.json').toString());
const KMS = TUPLES.find((t) => t.name === 'kms-demo' && t.version === '1.0.0')!;
const TAMPERED = "module.exports = 'tampered by the proxy';\n";
const NPM = 'https://registry.npmjs.org/';
const HONEST = { 'has-package-exports': '1.3.0' }; // and its dependency @ljharb/has-package-exports-patterns@0.0.2

let registry: TestRegistry;

/** What the proxy serves: the real packuments and tarballs, and kms-demo@1.0.0 with another tarball under the real signature. */
function serve(kmsSignatures = KMS.signatures) {
  registry.addRawPackument(JSON.parse(read('real-packuments', 'has-package-exports.json').toString()), { '1.3.0': read('tarballs', 'has-package-exports-1.3.0.tgz') });
  registry.addRawPackument(JSON.parse(read('real-packuments', '@ljharb%2fhas-package-exports-patterns.json').toString()), {
    '0.0.2': read('tarballs', 'ljharb-has-package-exports-patterns-0.0.2.tgz'),
  });
  registry.addPackage({ name: 'kms-demo', versions: [{ version: '1.0.0', publishedAt: '2022-06-01T00:00:00.000Z', files: { 'index.js': TAMPERED }, signatures: kmsSignatures }] });
}

beforeAll(async () => {
  registry = await TestRegistry.start();
  serve();
  // The attack as served: another tarball and integrity, the registry's real signature over the real one.
  expect(registry.integrityOf('kms-demo', '1.0.0')).not.toBe(KMS.integrity);
  expect(registry.integrityOf('has-package-exports', '1.3.0')).toBe(JSON.parse(read('real-packuments', 'has-package-exports.json').toString()).versions['1.3.0'].dist.integrity);
});
afterAll(() => registry?.close());

/** A project locked by the real npm against the proxy (as a developer behind it would), optionally without `resolved` (as this machine's npm writes). */
async function locked(deps: Record<string, string>, opts: { resolved?: boolean; policy?: unknown } = {}): Promise<AttackProject> {
  const p = attackProject(registry, { dependencies: deps });
  const res = await p.npm('install', '--package-lock-only', '--ignore-scripts');
  expect(res.code, res.stderr).toBe(0);
  const file = join(p.dir, 'package-lock.json');
  const lock = JSON.parse(readFileSync(file, 'utf8'));
  const kms = lock.packages['node_modules/kms-demo'];
  if (kms) expect(kms.integrity).toBe(registry.integrityOf('kms-demo', '1.0.0')); // the swapped tarball's, as npm saw it
  if (opts.resolved === false) {
    for (const entry of Object.values<any>(lock.packages)) delete entry.resolved;
    writeFileSync(file, JSON.stringify(lock, null, 2));
  }
  if (opts.policy) writeFileSync(join(p.dir, 'safe-install.policy.json'), JSON.stringify(opts.policy));
  return p;
}

async function report(p: AttackProject) {
  const res = await p.guard('check', '--json');
  expect(noStackTrace(res.stdout + res.stderr), res.stderr).toBe(true);
  const doc = JSON.parse(res.stdout);
  const byName: Record<string, any> = Object.fromEntries(doc.packages.map((x: any) => [x.name, x]));
  const signatureCodes = (name: string) => byName[name].findings.filter((f: any) => f.check === 'signature').map((f: any) => f.code);
  return { res, byName, signatureCodes };
}

const installedFile = (p: AttackProject, ...path: string[]) => join(p.dir, 'node_modules', ...path);

describe('a registry that hides its signing keys', () => {
  it('without the guard: plain npm ci installs the swapped tarball (npm ci does not verify registry signatures)', async () => {
    registry.setKeys(null);
    const p = await locked({ ...HONEST, 'kms-demo': '1.0.0' });
    const res = await p.npm('ci');
    expect(res.code, res.stderr).toBe(0);
    expect(readFileSync(installedFile(p, 'kms-demo', 'index.js'), 'utf8')).toBe(TAMPERED);
  });

  it.each([
    { what: 'answers 404 for its keys', keys: null, resolved: true, lockfile: 'with resolved URLs' },
    { what: 'serves {"keys": []}', keys: { keys: [] }, resolved: false, lockfile: 'without resolved URLs' },
  ])('a registry that $what: every signed version is signature-unverifiable and blocks; nothing is installed (lockfile $lockfile)', async ({ keys, resolved }) => {
    registry.setKeys(keys);
    const p = await locked({ ...HONEST, 'kms-demo': '1.0.0' }, { resolved });
    const res = await p.guard();
    expect(res.code, res.stdout + res.stderr).toBe(1);
    expect(noStackTrace(res.stdout + res.stderr)).toBe(true);
    expect(res.stdout).toMatch(/x kms-demo@1\.0\.0 +signature-unverifiable: kms-demo@1\.0\.0 is signed \(key SHA256:jl3bw\S+\), but the registry http:\/\/127\.0\.0\.1:\d+\/ serves no signing keys/);
    expect(res.stdout).toContain('registryMirrorOf');
    expect(res.stdout).toMatch(/Install refused: .*3 blocked \(exit 1\)/);
    expect(res.stdout).not.toContain('registry-no-keys');
    expect(existsSync(installedFile(p, 'kms-demo'))).toBe(false);
    const { byName, signatureCodes } = await report(p);
    for (const name of ['kms-demo', 'has-package-exports', '@ljharb/has-package-exports-patterns']) {
      expect(signatureCodes(name), name).toEqual(['signature-unverifiable']);
      expect(byName[name].verdict).toBe('block');
    }
  });

  it('declared a mirror of the npm registry: the real versions verify offline with the shipped npm keys, the swapped one is signature-invalid', async () => {
    registry.setKeys(null);
    const policy = { registryMirrorOf: { [registry.url]: NPM } };
    const attacked = await locked({ ...HONEST, 'kms-demo': '1.0.0' }, { policy, resolved: false });
    const { byName, signatureCodes } = await report(attacked);
    expect(signatureCodes('kms-demo')).toEqual(['signature-invalid']);
    expect(byName['kms-demo'].verdict).toBe('block');
    for (const name of ['has-package-exports', '@ljharb/has-package-exports-patterns']) {
      expect(signatureCodes(name), name).toEqual([]);
      expect(byName[name].verdict, JSON.stringify(byName[name].findings)).toBe('allow');
    }
    const res = await attacked.guard();
    expect(res.code, res.stdout + res.stderr).toBe(1);
    expect(res.stdout).toMatch(/x kms-demo@1\.0\.0 +signature-invalid: the registry signature does not verify over kms-demo@1\.0\.0:sha512-/);
    expect(existsSync(installedFile(attacked, 'kms-demo'))).toBe(false);

    // The same project without the swapped package installs, verified with nothing but the keys shipped with the tool.
    const honest = await locked(HONEST, { policy });
    const keysAsked = registry.requestCount('/-/npm/v1/keys');
    const ok = await honest.guard();
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).not.toMatch(/signature-|registry-no-keys/);
    expect(JSON.parse(readFileSync(installedFile(honest, 'has-package-exports', 'package.json'), 'utf8')).version).toBe('1.3.0');
    expect(existsSync(installedFile(honest, '@ljharb', 'has-package-exports-patterns', 'package.json'))).toBe(true);
    expect(registry.requestCount('/-/npm/v1/keys')).toBe(keysAsked + 1); // asked once (does the mirror keep signatures?); 404
  });

  it("a declared mirror's own keys are not trusted: a proxy that re-signs with its key under npm's keyid is signature-invalid", async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const spki = publicKey.export({ format: 'der', type: 'spki' });
    const npmKeyid = 'SHA256:DhQ8wR5APBvFHLF/+Tc+AYvPOdTpcIDqOhxsBHRwC7U';
    const forgedSig = sign('sha256', Buffer.from(`kms-demo@1.0.0:${registry.integrityOf('kms-demo', '1.0.0')}`), privateKey).toString('base64');
    registry.setKeys({ keys: [{ keyid: npmKeyid, key: spki.toString('base64'), expires: null, keytype: 'ecdsa-sha2-nistp256', scheme: 'ecdsa-sha2-nistp256' }] });
    serve([{ keyid: npmKeyid, sig: forgedSig }]);
    try {
      expect(createHash('sha256').update(spki).digest('base64')).not.toBe(npmKeyid.slice(7));
      const p = await locked({ ...HONEST, 'kms-demo': '1.0.0' }, { policy: { registryMirrorOf: { [registry.url]: NPM } } });
      const { res, byName, signatureCodes } = await report(p);
      expect(res.code).toBe(1);
      expect(signatureCodes('kms-demo')).toEqual(['signature-invalid']);
      expect(byName['kms-demo'].verdict).toBe('block');
      expect(signatureCodes('has-package-exports')).toEqual([]);
      const install = await p.guard();
      expect(install.code).toBe(1);
      expect(existsSync(installedFile(p, 'kms-demo'))).toBe(false);
    } finally {
      serve();
    }
  });
});
