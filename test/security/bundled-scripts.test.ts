// Issue 14, bypass 4: a bundled package's install scripts ran whenever its parent's were allowed. npm's
// `npm rebuild <parent>` also builds the parent's bundleDependencies (rebuild-bundle defaults to true), so the
// guard's own rebuild of an allowed parent ran the bundled child's postinstall while the report said it was
// skipped. Now a bundled package's scripts follow the allowlist like any other's, and the report says what ran.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestRegistry } from '../registry/server.js';
import { EVENT_LOGGER, OLD } from '../integration/helpers.js';
import { attackProject, noStackTrace } from './attack.js';

let registry: TestRegistry;

beforeAll(async () => {
  registry = await TestRegistry.start();
  const child = { name: 'bchild', version: '1.0.0', scripts: { postinstall: 'node log.js postinstall' } };
  const parent = { name: 'bparent', version: '1.0.0', dependencies: { bchild: '^1.0.0' }, bundleDependencies: ['bchild'], scripts: { postinstall: 'node log.js postinstall' } };
  registry.addPackage({
    name: 'bparent',
    versions: [
      {
        version: '1.0.0',
        publishedAt: OLD,
        scripts: parent.scripts,
        dependencies: parent.dependencies,
        manifestOverrides: { bundleDependencies: ['bchild'] },
        files: {
          'package.json': JSON.stringify(parent),
          'log.js': EVENT_LOGGER,
          'node_modules/bchild/package.json': JSON.stringify(child),
          'node_modules/bchild/log.js': EVENT_LOGGER,
        },
      },
    ],
  });
});
afterAll(() => registry.close());

/** The project, locked by the real npm (with `resolved`, npm's default; or without, as this machine's npm writes). */
async function project(policy: object, opts: { resolved?: boolean } = {}) {
  const p = attackProject(registry, { dependencies: { bparent: '1.0.0' } });
  const lock = await p.npm('install', '--package-lock-only', '--ignore-scripts');
  expect(lock.code, lock.stderr).toBe(0);
  const lockfile = JSON.parse(readFileSync(join(p.dir, 'package-lock.json'), 'utf8'));
  expect(lockfile.packages['node_modules/bparent/node_modules/bchild']).toMatchObject({ inBundle: true, hasInstallScript: true });
  if (opts.resolved === false) {
    for (const e of Object.values<Record<string, unknown>>(lockfile.packages)) delete e.resolved;
    writeFileSync(join(p.dir, 'package-lock.json'), JSON.stringify(lockfile, null, 2));
  }
  writeFileSync(join(p.dir, 'safe-install.policy.json'), JSON.stringify(policy));
  return p;
}

describe('a bundled package with install scripts inside an allowed parent', () => {
  it('without the guard: plain npm ci runs it, and so does `npm rebuild <parent>`', async () => {
    const p = await project({ scripts: { allow: ['bparent'] } });
    const plain = await p.npm('ci');
    expect(plain.code, plain.stderr).toBe(0);
    expect(p.ran()).toEqual(['bparent:postinstall', 'bchild:postinstall']);

    // What the guard ran before the fix: npm ci with scripts off, then npm rebuild of the allowed folder.
    rmSync(p.env.SI_TEST_LOG!, { force: true });
    expect((await p.npm('ci', '--ignore-scripts')).code).toBe(0);
    expect(p.ran()).toEqual([]);
    const rebuild = await p.npm('rebuild', '--ignore-scripts=false', '--strict-allow-scripts=false', join(p.dir, 'node_modules/bparent'));
    expect(rebuild.code, rebuild.stderr).toBe(0);
    expect(p.ran()).toEqual(['bparent:postinstall', 'bchild:postinstall']);
  });

  for (const resolved of [true, false]) {
    it(`the guard runs the allowed parent's script only, and says the bundled one was skipped (lockfile ${resolved ? 'with' : 'without'} resolved)`, async () => {
      const p = await project({ scripts: { allow: ['bparent'] } }, { resolved });
      const res = await p.guard();
      expect(res.code, res.stdout + res.stderr).toBe(0);
      expect(p.ran()).toEqual(['bparent:postinstall']);
      expect(res.stdout).toMatch(/ran +bparent@1\.0\.0 +postinstall: node log\.js postinstall/);
      expect(res.stdout).toMatch(/skipped +bchild@1\.0\.0 +postinstall: node log\.js postinstall +\(not in the allowlist; to allow: safe-install scripts allow bchild\)/);
      expect(res.stdout).not.toMatch(/ran +bchild/);
      expect(noStackTrace(res.stdout + res.stderr)).toBe(true);
    });
  }

  it('the check reports the bundled package by the allowlist, before anything is downloaded', async () => {
    const p = await project({ scripts: { allow: ['bparent'] } });
    const res = await p.guard('check', '--format', 'json');
    expect(res.code, res.stderr).toBe(0);
    const report = JSON.parse(res.stdout);
    const child = report.packages.find((x: { name: string }) => x.name === 'bchild');
    expect(child.findings.map((f: { code: string }) => f.code)).toContain('install-script-unlisted');
  });

  it('a bundled package the policy allows does run, after its parent (and a denied parent does not)', async () => {
    const both = await project({ scripts: { allow: ['bparent', 'bchild'] } });
    const res = await both.guard();
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(both.ran()).toEqual(['bparent:postinstall', 'bchild:postinstall']);
    expect(res.stdout).toMatch(/ran +bchild@1\.0\.0 +postinstall: node log\.js postinstall +\(bundled inside bparent@1\.0\.0; allowed by/);

    const childOnly = await project({ scripts: { allow: ['bchild'], deny: ['bparent'] } });
    const only = await childOnly.guard();
    expect(only.code, only.stdout + only.stderr).toBe(0);
    expect(childOnly.ran()).toEqual(['bchild:postinstall']);
  });

  it('strict mode refuses an unlisted bundled script before any script runs', async () => {
    const p = await project({ scripts: { allow: ['bparent'], unlisted: 'block' } });
    const res = await p.guard();
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/bchild@1\.0\.0[^\n]*install-script-unlisted/);
    expect(p.ran()).toEqual([]);
  });
});
