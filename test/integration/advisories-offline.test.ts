// The advisories check with an offline database and no advisory network: `safe-install advisories update` fills the
// cache from a loopback copy of OSV's export (a zip of real records, test/fixtures/advisories-db), and then a plain
// `check` blocks the malicious versions from it while the OSV API and the registry's bulk endpoint fail every
// request (and each request is counted: none may arrive). The zip given with --advisories-db works the same way;
// a cache older than the policy's advisories.maxAge is not used.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import yazl from 'yazl';
import { TestRegistry } from '../registry/server.js';
import { TestOsv } from '../registry/osv.js';
import { FIXTURES, OLD, cleanEnv, cli, tempDir } from './helpers.js';

const NPM_DIR = join(FIXTURES, 'advisories-db', 'osv', 'malicious', 'npm');
const RECORDS = ['chalk/MAL-2025-46969.json', 'debug/MAL-2025-46974.json', '@ctrl/tinycolor/MAL-2025-47141.json'].map((p) => join(NPM_DIR, p));

let registry: TestRegistry;
let osv: TestOsv;
let zipServer: Server;
let zipUrl = '';
let zipFile = '';
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  registry = await TestRegistry.start();
  for (const [name, versions] of Object.entries({ chalk: ['5.6.0', '5.6.1'], debug: ['4.4.1', '4.4.2'] })) {
    registry.addPackage({ name, versions: versions.map((version) => ({ version, publishedAt: OLD })) });
  }
  osv = await TestOsv.start();
  const zip = new yazl.ZipFile();
  for (const f of RECORDS) zip.addBuffer(readFileSync(f), basename(f));
  zip.end();
  const chunks: Buffer[] = [];
  for await (const c of zip.outputStream as AsyncIterable<Buffer>) chunks.push(c);
  const body = Buffer.concat(chunks);
  zipFile = join(tempDir('si-advoff-zip-'), 'all.zip');
  writeFileSync(zipFile, body);
  zipServer = createServer((_req, res) => res.writeHead(200, { 'content-length': body.length }).end(body));
  await new Promise<void>((r) => zipServer.listen(0, '127.0.0.1', () => r()));
  zipUrl = `http://127.0.0.1:${(zipServer.address() as AddressInfo).port}/all.zip`;
});
afterAll(async () => {
  await osv.close();
  await registry.close();
  zipServer.closeAllConnections();
  await new Promise((r) => zipServer.close(r));
});
beforeEach(() => {
  env = cleanEnv(registry.url);
  // The network sources fail, and every request to them is recorded.
  osv.failWith = 500;
  osv.requests.length = 0;
  registry.setAdvisories(null);
  registry.bulkRequests.length = 0;
});

function project(deps: Record<string, string>, policy?: unknown): string {
  const dir = tempDir('si-advoff-');
  const packages: Record<string, unknown> = { '': { name: 'app', version: '1.0.0', dependencies: deps } };
  for (const [name, version] of Object.entries(deps)) packages[`node_modules/${name}`] = { version, resolved: registry.tarballUrl(name, version), integrity: registry.integrityOf(name, version) };
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', dependencies: deps }));
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ name: 'app', version: '1.0.0', lockfileVersion: 3, requires: true, packages }));
  if (policy) writeFileSync(join(dir, 'safe-install.policy.json'), JSON.stringify(policy));
  return dir;
}

async function check(dir: string, extra: string[] = []) {
  const res = await cli(['check', '--json', '--retries', '0', '--osv-url', osv.url, ...extra], { cwd: dir, env });
  const report = JSON.parse(res.stdout);
  const findings = (name: string) => report.packages.find((p: any) => p.name === name).findings.filter((f: any) => f.check === 'advisories');
  return { ...res, report, findings };
}

const BAD = { chalk: '5.6.1', debug: '4.4.2' };

describe('the advisories check with an offline database and the advisory network failing', () => {
  it('after `advisories update`, a plain check blocks from the cache and asks no advisory source', async () => {
    const dir = project(BAD);
    const up = await cli(['advisories', 'update', '--from', zipUrl], { cwd: dir, env });
    expect(up.code).toBe(0);
    // The cache is the default one ($XDG_CACHE_HOME/safe-install), the one check reads.
    expect(readdirSync(join(env.XDG_CACHE_HOME!, 'safe-install', 'advisories', 'v1'))).toContain('current');
    const r = await check(dir);
    expect(r.code).toBe(1);
    expect(r.findings('chalk')[0]).toMatchObject({ code: 'advisory-malware', action: 'block', data: { id: 'MAL-2025-46969', sources: ['db'] } });
    expect(r.findings('debug')[0]).toMatchObject({ code: 'advisory-malware', data: { id: 'MAL-2025-46974' } });
    expect(r.report.advisorySources).toEqual([expect.objectContaining({ source: 'db', answered: true })]);
    expect(osv.requests).toEqual([]);
    expect(registry.bulkRequests).toEqual([]);
  });

  it('a cache older than advisories.maxAge is not used: the network sources are asked', async () => {
    const dir = project(BAD, { advisories: { maxAge: 0 } });
    expect((await cli(['advisories', 'update', '--from', zipUrl], { cwd: dir, env })).code).toBe(0);
    const r = await check(dir);
    expect(r.findings('chalk').some((f: any) => f.data?.sources?.includes('db'))).toBe(false);
    expect(osv.requests.length).toBeGreaterThan(0);
  });

  it("OSV's zip export given with --advisories-db: blocked, the clean versions allowed, no advisory request", async () => {
    const r = await check(project(BAD), ['--advisories-db', zipFile]);
    expect(r.code).toBe(1);
    expect(r.findings('chalk')[0]).toMatchObject({ code: 'advisory-malware', data: { id: 'MAL-2025-46969', sources: ['db'] } });
    const clean = await check(project({ chalk: '5.6.0', debug: '4.4.1' }), ['--advisories-db', zipFile]);
    expect(clean.code).toBe(0);
    expect(clean.findings('chalk')).toEqual([]);
    expect(osv.requests).toEqual([]);
    expect(registry.bulkRequests).toEqual([]);
  });
});
