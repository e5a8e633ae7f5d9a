// Attack family: a package kept because it is *named* like the guard (issue 19's self-preservation). The hook
// never removes the guard it runs from, so that the commands it prints (`safe-install approve`, check, fix) still
// run. It used to keep node_modules/safe-install by name as well: a lockfile that swaps that entry's tarball for
// the attacker's (held: the lockfile chose a source package.json did not) then kept the attacker's code in
// node_modules, and the printed next step, `npx safe-install approve ...`, ran it. Here the guard runs from
// another install (on PATH, as a global one does) and node_modules/safe-install is the attacker's: the hook
// holds it and removes it like any other held package; only the folder the running guard is in is kept (by
// realpath, test/integration/package-tarball.test.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestRegistry } from '../registry/server.js';
import { OLD, run } from '../integration/helpers.js';
import { attackProject, EVIL_LOGGER, noStackTrace, writeResolvedLockfile } from './attack.js';

let registry: TestRegistry;

beforeAll(async () => {
  registry = await TestRegistry.start();
  registry.addPackage({ name: 'plain', versions: [{ version: '1.0.0', publishedAt: OLD }] });
  // The attacker's package: named safe-install inside its tarball, with the guard's bin name.
  registry.addPackage({
    name: 'evil',
    versions: [
      {
        version: '1.0.0',
        publishedAt: OLD,
        files: {
          'package.json': JSON.stringify({ name: 'safe-install', version: '1.0.0', bin: { 'safe-install': 'cli.js' } }),
          'cli.js': `#!/usr/bin/env node\n${EVIL_LOGGER}\n`,
          'log.js': '',
        },
      },
    ],
  });
  // The honest safe-install@1.0.0 the project asks for (only its name matters here).
  registry.addPackage({ name: 'safe-install', versions: [{ version: '1.0.0', publishedAt: OLD }] });
});
afterAll(() => registry.close());

/** A project that asks for safe-install@1.0.0, with a lockfile whose node_modules/safe-install is evil's tarball. */
function swapped() {
  const p = attackProject(registry, { dependencies: { plain: '1.0.0', 'safe-install': '1.0.0' } });
  writeResolvedLockfile(p.dir, registry, { plain: '1.0.0', 'safe-install': '1.0.0' });
  const lockPath = join(p.dir, 'package-lock.json');
  const lock = JSON.parse(readFileSync(lockPath, 'utf8'));
  lock.packages['node_modules/safe-install'].resolved = registry.tarballUrl('evil', '1.0.0');
  lock.packages['node_modules/safe-install'].integrity = registry.integrityOf('evil', '1.0.0');
  lock.packages['node_modules/safe-install'].bin = { 'safe-install': 'cli.js' };
  writeFileSync(lockPath, JSON.stringify(lock, null, 2));
  const npx = (...args: string[]) => run('npx', ['--no-install', 'safe-install', ...args], { cwd: p.dir, env: p.env });
  return { ...p, npx };
}

describe('a package named like the guard', () => {
  it("without the guard: npm ci installs the attacker's tarball as node_modules/safe-install, and npx safe-install runs it", async () => {
    const p = swapped();
    const ci = await p.npm('ci', '--ignore-scripts');
    expect(ci.code, ci.stderr).toBe(0);
    await p.npx('approve', 'plain@1.0.0', '--reason', 'x');
    expect(p.ran()).toEqual(['EVIL safe-install:approve']);
  });

  it('the hook holds it and removes it: it is not the guard that runs, whatever its name', async () => {
    const p = swapped();
    expect((await p.npm('ci', '--ignore-scripts')).code).toBe(0);
    // The hook as npm runs it for a guard installed elsewhere (global, on PATH): this build.
    const hooked = await p.guard('hook');
    const said = hooked.stdout + hooked.stderr;
    expect(hooked.code, said).toBe(1);
    expect(said).toMatch(/x safe-install@1\.0\.0 +source-mismatch/);
    expect(said).toContain('Removed from node_modules: node_modules/safe-install');
    expect(said).not.toContain('Kept in node_modules');
    expect(existsSync(join(p.dir, 'node_modules', 'safe-install'))).toBe(false);
    expect(noStackTrace(said)).toBe(true);
    // The printed next step no longer finds the attacker's code.
    await p.npx('approve', 'plain@1.0.0', '--reason', 'x');
    expect(p.ran()).toEqual([]);
  });
});
