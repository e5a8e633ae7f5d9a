// Cross-check: safe-install's signature verdicts agree with a real `npm audit signatures` on the same tree and
// registry. npm 11.19 cannot run it offline (it asks the Sigstore TUF CDN for the keys first and fails); npm 9.6.7
// reads /-/npm/v1/keys from the registry, so that is the npm used here, installed from the npm registry.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { generateKeyPairSync, sign, createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { TestRegistry, type FakeVersion } from '../registry/server.js';
import { cleanEnv, cli, npm, run, tempDir } from './helpers.js';

const NPM9 = join(tmpdir(), 'safe-install-test-npm-9.6.7');
const NPM9_CLI = join(NPM9, 'node_modules', 'npm', 'bin', 'npm-cli.js');
const OLD = '2024-01-01T00:00:00.000Z';

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const spki = publicKey.export({ format: 'der', type: 'spki' });
const KEYID = `SHA256:${createHash('sha256').update(spki).digest('base64').replace(/=+$/, '')}`;
const signOver = (text: string) => sign('sha256', Buffer.from(text), privateKey).toString('base64');

let registry: TestRegistry;

/** Add a package twice: once to learn its tarball's integrity, then with a signature over it (or over a lie). */
function addSigned(name: string, version: string, signedIntegrity?: (real: string) => string) {
  const v: FakeVersion = { version, publishedAt: OLD };
  registry.addPackage({ name, versions: [v] });
  const real = registry.integrityOf(name, version);
  const over = signedIntegrity ? signedIntegrity(real) : real;
  registry.addPackage({ name, versions: [{ ...v, signatures: [{ keyid: KEYID, sig: signOver(`${name}@${version}:${over}`) }] }] });
  expect(registry.integrityOf(name, version)).toBe(real); // tarballs are reproducible
}

beforeAll(async () => {
  if (!existsSync(NPM9_CLI)) {
    // From the npm registry, with this machine's own npm settings (the test registry does not serve npm itself),
    // by the pinned npm.
    const res = await npm(['install', '--prefix', NPM9, '--no-audit', '--no-fund', '--ignore-scripts', 'npm@9.6.7'], { cwd: tmpdir(), env: process.env });
    expect(res.code, res.stderr).toBe(0);
  }
  registry = await TestRegistry.start();
  registry.setKeys({ keys: [{ keyid: KEYID, key: spki.toString('base64'), expires: null, keytype: 'ecdsa-sha2-nistp256', scheme: 'ecdsa-sha2-nistp256' }] });
  addSigned('sig-good', '1.0.0');
  addSigned('sig-other', '2.0.0');
  addSigned('sig-bad', '1.0.0', () => 'sha512-' + Buffer.alloc(64, 3).toString('base64'));
}, 180_000);
afterAll(() => registry?.close());

async function installed(deps: Record<string, string>) {
  const dir = tempDir('si-audit-');
  const env = cleanEnv(registry.url);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', dependencies: deps }));
  const res = await npm(['install', '--ignore-scripts'], { cwd: dir, env });
  expect(res.code, res.stderr).toBe(0);
  const audit = () => run(process.execPath, [NPM9_CLI, 'audit', 'signatures', '--registry', registry.url], { cwd: dir, env });
  const check = async () => JSON.parse((await cli(['check', '--json', '--cache-dir', tempDir('si-c-')], { cwd: dir, env })).stdout);
  return { audit, check };
}

const signatureCodes = (report: any, name: string) =>
  report.packages
    .find((p: any) => p.name === name)
    .findings.filter((f: any) => f.check === 'signature')
    .map((f: any) => f.code);

describe('signature verdicts agree with npm audit signatures (npm 9.6.7)', () => {
  it('a correctly signed tree: both verify every package', async () => {
    const p = await installed({ 'sig-good': '1.0.0', 'sig-other': '2.0.0' });
    const audit = await p.audit();
    expect(audit.code, audit.stdout + audit.stderr).toBe(0);
    expect(audit.stdout).toMatch(/2 packages have verified registry signatures/);
    const report = await p.check();
    expect(signatureCodes(report, 'sig-good')).toEqual([]);
    expect(signatureCodes(report, 'sig-other')).toEqual([]);
  });

  it('a signature over other bytes: both reject that package, and only that one', async () => {
    const p = await installed({ 'sig-good': '1.0.0', 'sig-bad': '1.0.0' });
    const audit = await p.audit();
    expect(audit.code).not.toBe(0);
    expect(audit.stdout + audit.stderr).toMatch(/1 package has an invalid registry signature/);
    expect(audit.stdout + audit.stderr).toContain('sig-bad@1.0.0');
    const report = await p.check();
    expect(signatureCodes(report, 'sig-bad')).toEqual(['signature-invalid']);
    expect(signatureCodes(report, 'sig-good')).toEqual([]);
    expect(report.summary.exitCode).toBe(1);
  });
});
