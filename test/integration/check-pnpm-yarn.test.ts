// `safe-install check --json` on the real pnpm and yarn lockfiles in the fixtures, against the loopback registry:
// every package is listed, verdicts follow the served publish times and integrities, exit codes as for npm.
// Berry lockfiles record no registry integrity (their checksum hashes yarn's own zip): that is reported, and a
// registry integrity that differs from the real one cannot be caught from such a lockfile.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readLockfile } from '../../src/lockfile/index.js';
import type { LockedTree } from '../../src/lockfile/types.js';
import { TestRegistry } from '../registry/server.js';
import { FIXTURES, cleanEnv, cli, serveLockedTree, tempDir } from './helpers.js';
import { at as nth } from '../../src/util/at.js';

const NOW = '2026-06-15T12:00:00.000Z';
const DAY = 86_400_000;
const at = (msBeforeNow: number) => new Date(Date.parse(NOW) - msBeforeNow).toISOString();

const LOCKFILES = [
  { file: 'vuejs_core@e2bede96134f__pnpm-lock.yaml', name: 'pnpm-lock.yaml', format: 'pnpm-v9', scripts: 0 },
  { file: 'vuejs_core@ea494af99365__pnpm-lock.yaml', name: 'pnpm-lock.yaml', format: 'pnpm-v6', scripts: 0 },
  { file: 'vuejs_core@914e2e3880e5__yarn.lock', name: 'yarn.lock', format: 'yarn-v1', scripts: 0 },
  { file: 'nodejs_corepack@b856c516c3d0__yarn.lock', name: 'yarn.lock', format: 'yarn-berry', scripts: 0 },
];

/** A stable pseudo-random pick so each lockfile gets some young versions, decided from the name alone. */
function hash(s: string): number {
  let h = 2166136261;
  for (const c of s) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
  return h;
}

describe.each(LOCKFILES)('check on $file', ({ file, name, format, scripts }) => {
  let registry: TestRegistry;
  let dir: string;
  let lockfile: string;
  let tree: LockedTree;
  let env: NodeJS.ProcessEnv;
  const young = new Set<string>();
  let tampered = '';
  let missing = '';
  const berry = format === 'yarn-berry';

  beforeAll(async () => {
    dir = tempDir('si-pm-fixture-');
    // The fixture under its own name (read through --lockfile) and under the name the project would use.
    lockfile = join(dir, file);
    copyFileSync(join(FIXTURES, 'lockfiles', file), lockfile);
    copyFileSync(join(FIXTURES, 'lockfiles', file), join(dir, name));
    tree = readLockfile(dir);
    expect(tree.format).toBe(format);
    registry = await TestRegistry.start();
    const registryPkgs = tree.packages.filter((p) => p.source === 'registry');
    for (const p of registryPkgs) if (hash(p.id) % 40 === 0) young.add(p.id);
    // Berry records no integrity: the tampered version is served with a wrong one all the same.
    tampered = registryPkgs.find((p) => !young.has(p.id) && (berry || p.integrity!.startsWith('sha512-')))!.id;
    missing = registryPkgs.find((p) => !young.has(p.id) && p.id !== tampered)!.id;
    serveLockedTree(registry, tree, (n, v) => (young.has(`${n}@${v}`) ? at(2 * DAY) : at(400 * DAY)), {
      integrity: (n, v) => (`${n}@${v}` === tampered ? 'sha512-' + Buffer.alloc(64, 7).toString('base64') : berry ? 'sha512-' + Buffer.alloc(64, 1).toString('base64') : undefined),
      omitVersion: (n, v) => `${n}@${v}` === missing,
    });
    env = cleanEnv(registry.url);
    pointAt(registry.url);
  });
  afterAll(async () => {
    await registry?.close();
  });

  /**
   * The fixtures write the public registry's host as registry.example.com. yarn 1 downloads the URLs in yarn.lock
   * as written (a URL off the registry checked is blocked, resolved-off-registry), so its URLs are pointed at the
   * loopback registry standing in for the public one, as if yarn had locked against it.
   */
  function pointAt(url: string): void {
    if (format !== 'yarn-v1') return;
    const text = readFileSync(join(FIXTURES, 'lockfiles', file), 'utf8').replaceAll('https://registry.example.com/', url);
    for (const f of [lockfile, join(dir, name)]) writeFileSync(f, text);
  }

  it('lists every locked package with verdicts computed from the served metadata, and exits 1', async () => {
    const res = await cli(['check', '--json', '--now', NOW, '--lockfile', lockfile], { cwd: dir, env });
    expect(res.stderr).toBe('');
    expect(res.code).toBe(1);
    const report = JSON.parse(res.stdout);
    expect(report.format).toBe(format);
    expect(report.lockfile).toBe(lockfile);
    expect(report.packages).toHaveLength(tree.packages.length);
    expect(report.summary.errors).toBe(0);
    expect(young.size).toBeGreaterThanOrEqual(3);

    const byId = new Map<string, any>();
    for (const p of report.packages) if (p.source === 'registry') byId.set(`${p.name}@${p.version}`, p);
    expect(byId.size).toBe(tree.packages.filter((p) => p.source === 'registry').length);
    for (const id of young) {
      const p = byId.get(id);
      expect(p.verdict, id).toBe('quarantine');
      const f = p.findings.find((x: any) => x.code === 'too-young');
      expect(f.data.eligibleAt).toBe(new Date(Date.parse(at(2 * DAY)) + 7 * DAY).toISOString());
    }
    const codes = (id: string) => byId.get(id).findings.map((f: any) => f.code);
    if (berry) {
      // Nothing to compare: the served integrity differs and no mismatch can be seen from the lockfile.
      expect(codes(tampered)).not.toContain('integrity-mismatch');
      for (const [id, p] of byId)
        if (id !== missing)
          expect(
            p.findings.map((f: any) => f.code),
            id,
          ).toContain('no-lockfile-integrity');
    } else {
      expect(byId.get(tampered).verdict).toBe('block');
      expect(codes(tampered)).toContain('integrity-mismatch');
    }
    expect(codes(missing)).toContain('version-not-in-registry');

    // Everything else from the registry passes the age and integrity checks.
    for (const p of report.packages) {
      const id = `${p.name}@${p.version}`;
      if (p.source !== 'registry' || young.has(id) || id === tampered || id === missing) continue;
      expect(
        p.findings.filter((f: any) => f.check === 'release-age' || f.check === 'integrity').filter((f: any) => f.action !== 'allow' && f.code !== 'no-lockfile-integrity'),
        id,
      ).toEqual([]);
    }
    // Workspaces are links, allowed. The served packuments declare no scripts, and pnpm 6 `requiresBuild` is not
    // taken as install scripts, so none is reported.
    for (const p of report.packages.filter((x: any) => x.source === 'link')) {
      expect(p.verdict, p.name).toBe('allow');
      expect(p.findings.map((f: any) => f.code)).toEqual(['workspace-link']);
    }
    const unlisted = report.packages.filter((p: any) => p.findings.some((f: any) => f.code === 'install-script-unlisted'));
    expect(unlisted).toHaveLength(scripts);
    expect(report.summary.quarantine).toBe(young.size);
    expect(report.summary.block).toBe(berry ? 1 : 2);
  });

  it('finds the lockfile by its name, fetches each registry name once and nothing else', async () => {
    const before = registry.requests.length;
    const res = await cli(['check', '--json', '--now', NOW, '--cache-dir', tempDir('si-c-')], { cwd: dir, env });
    expect(res.code).toBe(1);
    expect(JSON.parse(res.stdout).lockfile).toBe(join(dir, name));
    const paths = registry.requests
      .slice(before)
      .map((r) => r.path)
      .filter((p) => !p.startsWith('/-/'));
    const registryNames = new Set(tree.packages.filter((p) => p.source === 'registry').map((p) => p.name));
    expect(paths.length).toBe(registryNames.size);
    expect(new Set(paths)).toEqual(new Set([...registryNames].map((n) => `/${n}`)));
  });

  it('a clean tree passes with exit 0, and the text report names the format', async () => {
    const clean = await TestRegistry.start();
    try {
      serveLockedTree(clean, tree, () => at(400 * DAY));
      pointAt(clean.url);
      const res = await cli(['check', '--json', '--now', NOW], { cwd: dir, env: cleanEnv(clean.url) });
      const report = JSON.parse(res.stdout);
      expect(report.summary.quarantine + report.summary.block).toBe(0);
      expect(res.code).toBe(0);
      const text = await cli(['check', '--now', NOW], { cwd: dir, env: cleanEnv(clean.url) });
      expect(text.code).toBe(0);
      expect(text.stdout).toContain(`${name} (${format}), ${tree.packages.length} packages`);
    } finally {
      pointAt(registry.url);
      await clean.close();
    }
  });
});

describe('more than one lockfile', () => {
  it('is an error naming them (exit 2) unless --lockfile says which', async () => {
    const registry = await TestRegistry.start();
    try {
      const dir = tempDir('si-two-');
      copyFileSync(join(FIXTURES, 'lockfiles', nth(LOCKFILES, 0).file), join(dir, 'pnpm-lock.yaml'));
      copyFileSync(join(FIXTURES, 'lockfiles', nth(LOCKFILES, 2).file), join(dir, 'yarn.lock'));
      const res = await cli(['check', '--json', '--now', NOW], { cwd: dir, env: cleanEnv(registry.url) });
      expect(res.code).toBe(2);
      expect(res.stdout + res.stderr).toMatch(/more than one lockfile: pnpm-lock.yaml, yarn.lock/);
      expect(registry.requests.filter((r) => !r.path.startsWith('/-/'))).toEqual([]);
    } finally {
      await registry.close();
    }
  });
});
