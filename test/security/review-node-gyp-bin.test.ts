// Review of issue 14, bypass 3: a dependency bin named `node-gyp`. npm runs `node-gyp rebuild` for an allowed native
// package (its own `install` script, or npm's implicit one for a binding.gyp), and @npmcli/run-script puts every
// node_modules/.bin before npm's own node-gyp-bin folder on the script's PATH: a never-allowed package with no
// scripts that links a bin named `node-gyp` runs in place of npm's node-gyp. node-gyp is not on the PATH the guard
// runs with (npm adds it only for its scripts), so it was not protected.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestRegistry } from '../registry/server.js';
import { OLD } from '../integration/helpers.js';
import { attackProject, noStackTrace } from './attack.js';

/** The shadowing node-gyp: records that it ran, and succeeds so the install looks normal. */
const EVIL = `#!/bin/sh\necho "evil-gyp:node-gyp $*" >> "$SI_TEST_LOG"\nexit 0\n`;

let registry: TestRegistry;

beforeAll(async () => {
  registry = await TestRegistry.start();
  registry.addPackage({ name: 'gyp-shadow', versions: [{ version: '1.0.0', publishedAt: OLD, bin: { 'node-gyp': 'evil.sh' }, files: { 'evil.sh': EVIL, 'index.js': '' } }] });
  // The real node-gyp as a dependency links the command it is.
  registry.addPackage({ name: 'node-gyp', versions: [{ version: '1.0.0', publishedAt: OLD, bin: { 'node-gyp': 'bin/node-gyp.js' }, files: { 'bin/node-gyp.js': '' } }] });
  // An allowed native package whose install script builds with node-gyp (as npm's default for a binding.gyp).
  registry.addPackage({
    name: 'native-addon',
    versions: [{ version: '1.0.0', publishedAt: OLD, scripts: { install: 'node-gyp rebuild' }, dependencies: { 'gyp-shadow': '^1.0.0' }, files: { 'index.js': '' } }],
  });
});
afterAll(() => registry.close());

async function project() {
  const p = attackProject(registry, { dependencies: { 'native-addon': '1.0.0' } });
  const lock = await p.npm('install', '--package-lock-only', '--ignore-scripts');
  expect(lock.code, lock.stderr).toBe(0);
  writeFileSync(join(p.dir, 'safe-install.policy.json'), JSON.stringify({ scripts: { allow: ['native-addon'] } }));
  return p;
}

describe('a dependency bin named node-gyp (npm)', () => {
  it('without the guard: plain npm ci runs the dependency’s node-gyp for the allowed native build', async () => {
    const p = await project();
    const plain = await p.npm('ci');
    expect(plain.code, plain.stderr).toBe(0);
    expect(p.ran()).toEqual(['evil-gyp:node-gyp rebuild']);
  });

  it('the guard blocks it before anything is downloaded', async () => {
    const p = await project();
    const res = await p.guard();
    expect(res.code, res.stdout + res.stderr).toBe(1);
    expect(res.stdout).toMatch(/gyp-shadow@1\.0\.0 +bin-shadows-command: links a bin named "node-gyp" \(per the registry manifest\)/);
    expect(existsSync(join(p.dir, 'node_modules'))).toBe(false);
    expect(p.ran()).toEqual([]);
    expect(noStackTrace(res.stdout + res.stderr)).toBe(true);
  });

  it('the node-gyp package itself may link node-gyp', async () => {
    const p = attackProject(registry, { dependencies: { 'node-gyp': '1.0.0' } });
    const lock = await p.npm('install', '--package-lock-only', '--ignore-scripts');
    expect(lock.code, lock.stderr).toBe(0);
    const res = await p.guard('check');
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(res.stdout).not.toContain('bin-shadows-command');
  });
});
