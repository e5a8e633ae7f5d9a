// `safe-install check --json` on every real npm lockfile in the fixtures, against the loopback registry:
// every package is listed, verdicts follow the served publish times and integrities, exit codes as specified.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { readLockfile } from '../../src/lockfile/index.js';
import type { LockedTree } from '../../src/lockfile/types.js';
import { TestRegistry } from '../registry/server.js';
import { FIXTURES, cleanEnv, cli, serveLockedTree, tempDir } from './helpers.js';

const NOW = '2026-06-15T12:00:00.000Z';
const DAY = 86_400_000;
const at = (msBeforeNow: number) => new Date(Date.parse(NOW) - msBeforeNow).toISOString();
const LOCKFILES = ['npm_cli@780afc50e3a3__package-lock.json', 'jquery_jquery@51eb576cca6f__package-lock.json', 'npm_cli@87a15597586d__package-lock.json'];

/** A stable pseudo-random pick so each lockfile gets some young versions, decided from the name alone. */
function hash(s: string): number {
  let h = 2166136261;
  for (const c of s) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
  return h;
}

describe.each(LOCKFILES)('check on %s', (file) => {
  let registry: TestRegistry;
  let dir: string;
  let tree: LockedTree;
  let env: NodeJS.ProcessEnv;
  const young = new Set<string>();
  let tampered = '';
  let missing = '';

  beforeAll(async () => {
    dir = tempDir('si-fixture-');
    copyFileSync(join(FIXTURES, 'lockfiles', file), join(dir, 'package-lock.json'));
    tree = readLockfile(dir);
    registry = await TestRegistry.start();
    const registryPkgs = tree.packages.filter((p) => p.source === 'registry' && p.integrity);
    for (const p of registryPkgs) if (hash(p.id) % 40 === 0) young.add(p.id);
    tampered = registryPkgs.find((p) => !young.has(p.id) && p.integrity!.startsWith('sha512-'))!.id;
    missing = registryPkgs.find((p) => !young.has(p.id) && p.id !== tampered)!.id;
    serveLockedTree(registry, tree, (name, version) => (young.has(`${name}@${version}`) ? at(2 * DAY) : at(400 * DAY)), {
      integrity: (name, version) => (`${name}@${version}` === tampered ? 'sha512-' + Buffer.alloc(64, 7).toString('base64') : undefined),
      omitVersion: (name, version) => `${name}@${version}` === missing,
    });
    // The fixtures write the public registry's host as registry.example.com; the loopback registry stands in for
    // it, so npm is told to map that host to the configured registry, as it maps registry.npmjs.org by default.
    env = cleanEnv(registry.url, { npm_config_replace_registry_host: 'registry.example.com' });
  });
  afterAll(async () => {
    await registry?.close();
  });

  it('lists every locked package with verdicts computed from the served metadata, and exits 1', async () => {
    const res = await cli(['check', '--json', '--now', NOW, '--lockfile', join(dir, 'package-lock.json')], { cwd: dir, env });
    expect(res.stderr).toBe('');
    expect(res.code).toBe(1);
    const report = JSON.parse(res.stdout);
    expect(report.packages).toHaveLength(tree.packages.length);
    expect(report.summary.errors).toBe(0);

    const byId = new Map<string, any>();
    for (const p of report.packages) if (p.source === 'registry') byId.set(`${p.name}@${p.version}`, p);
    for (const id of young) {
      const p = byId.get(id);
      expect(p.verdict, id).toBe('quarantine');
      const f = p.findings.find((f: any) => f.code === 'too-young');
      expect(f.data.eligibleAt).toBe(new Date(Date.parse(at(2 * DAY)) + 7 * DAY).toISOString());
    }
    expect(byId.get(tampered).verdict).toBe('block');
    expect(byId.get(tampered).findings.map((f: any) => f.code)).toContain('integrity-mismatch');
    expect(byId.get(missing).findings.map((f: any) => f.code)).toContain('version-not-in-registry');

    // Everything else from the registry passes the age and integrity checks.
    for (const p of report.packages) {
      const id = `${p.name}@${p.version}`;
      if (p.source !== 'registry' || young.has(id) || id === tampered || id === missing) continue;
      expect(
        p.findings.filter((f: any) => f.check === 'release-age' || f.check === 'integrity').filter((f: any) => f.action !== 'allow' && f.code !== 'no-lockfile-integrity'),
        id,
      ).toEqual([]);
    }
    expect(report.summary.quarantine).toBe(young.size);
    expect(report.summary.block).toBeGreaterThanOrEqual(2);
  });

  it('never fetches bundled packages, and fetches each name once', async () => {
    const before = registry.requests.length;
    const res = await cli(['check', '--json', '--now', NOW, '--cache-dir', tempDir('si-c-')], { cwd: dir, env });
    expect(res.code).toBe(1);
    const paths = registry.requests
      .slice(before)
      .map((r) => r.path)
      .filter((p) => !p.startsWith('/-/'));
    const registryNames = new Set(tree.packages.filter((p) => p.source === 'registry').map((p) => p.name));
    const onlyBundled = tree.packages.filter((p) => p.source === 'bundled' && !registryNames.has(p.name)).map((p) => p.name);
    for (const name of onlyBundled) expect(paths).not.toContain(`/${name}`);
    expect(paths.length).toBe(registryNames.size);
    expect(new Set(paths).size).toBe(paths.length);
    expect(registry.requests.slice(before).filter((r) => r.path === '/-/npm/v1/keys')).toHaveLength(1);
  });

  it('a clean tree passes with exit 0', async () => {
    const clean = await TestRegistry.start();
    try {
      serveLockedTree(clean, tree, () => at(400 * DAY));
      const res = await cli(['check', '--json', '--now', NOW], { cwd: dir, env: cleanEnv(clean.url, { npm_config_replace_registry_host: 'registry.example.com' }) });
      const report = JSON.parse(res.stdout);
      expect(report.summary.quarantine + report.summary.block).toBe(0);
      expect(res.code).toBe(0);
    } finally {
      await clean.close();
    }
  });
});
