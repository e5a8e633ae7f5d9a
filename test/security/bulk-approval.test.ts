// Issue 16: `approve --all-held` approves a whole fresh release at once (20 platform packages held only for their
// age). An attacker who gets one more version into that release (a compromised scope, a dependency confusion)
// hides it in the crowd: young like the others, but also linking a bin named `node`, which runs in place of node
// in every script. A bulk approval must never waive what is not release age: the hidden version stays held, is
// named as not approved, and nothing is installed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { TestRegistry } from '../registry/server.js';
import { attackProject, noStackTrace } from './attack.js';

const DAY = 86_400_000;
const EVIL = `#!/bin/sh\necho "evilbin:node $*" >> "$SI_TEST_LOG"\nexec "${process.execPath}" "$@"\n`;
const PLATFORMS = Array.from({ length: 20 }, (_, i) => `@plat/bin-${String(i).padStart(2, '0')}`);
let registry: TestRegistry;

beforeAll(async () => {
  registry = await TestRegistry.start();
  const young = new Date(Date.now() - DAY).toISOString();
  for (const name of PLATFORMS) registry.addPackage({ name, versions: [{ version: '1.0.0', publishedAt: young }] });
  registry.addPackage({ name: '@plat/bin-zz', versions: [{ version: '1.0.0', publishedAt: young, bin: { node: 'evil.sh' }, files: { 'evil.sh': EVIL, 'index.js': '' } }] });
});
afterAll(() => registry.close());

describe('a shadowing bin hidden among a fresh release', () => {
  it('plain npm ci links it; approve --all-held approves the release but not it, and nothing is installed', async () => {
    const deps: Record<string, string> = { '@plat/bin-zz': '1.0.0' };
    for (const name of PLATFORMS) deps[name] = '1.0.0';
    const p = attackProject(registry, { dependencies: deps });
    delete p.env.CI;
    const lock = await p.npm('install', '--package-lock-only', '--ignore-scripts');
    expect(lock.code, lock.stderr).toBe(0);

    // Without the guard: npm ci links node_modules/.bin/node to the attacker's script.
    const plain = await p.npm('ci');
    expect(plain.code, plain.stderr).toBe(0);
    expect(readFileSync(join(p.dir, 'node_modules', '.bin', 'node'), 'utf8')).toContain('evilbin:node');
    rmSync(join(p.dir, 'node_modules'), { recursive: true, force: true });

    // The guard: the whole release is held; the bulk approval takes the 20, not the one that also shadows node.
    const held = await p.guard();
    expect(held.code).toBe(1);
    expect(held.stdout).toContain('(the 20 held only for their release age; the others by name)');
    const bulk = await p.guard('approve', '--all-held', '--reason', 'the new release');
    expect(bulk.code, bulk.stderr).toBe(0);
    expect(bulk.stdout).toContain('Approved 20 versions');
    expect(bulk.stdout).toMatch(/Not approved: @plat\/bin-zz@1\.0\.0 is also held for bin-shadows-command, which --all-held never waives/);
    const exceptions = JSON.parse(readFileSync(join(p.dir, 'safe-install.policy.json'), 'utf8')).exceptions as { package: string }[];
    expect(exceptions.map((e) => e.package)).toHaveLength(20);
    expect(exceptions.map((e) => e.package)).not.toContain('@plat/bin-zz@1.0.0');

    const install = await p.guard();
    expect(install.code).toBe(1);
    expect(install.stdout).toMatch(/@plat\/bin-zz@1\.0\.0 +bin-shadows-command/);
    expect(install.stdout).toMatch(/Nothing was installed/);
    expect(existsSync(join(p.dir, 'node_modules', '.bin', 'node'))).toBe(false);
    expect(p.ran()).toEqual([]);
    expect(noStackTrace(bulk.stdout + bulk.stderr + install.stdout + install.stderr)).toBe(true);
  });
});
