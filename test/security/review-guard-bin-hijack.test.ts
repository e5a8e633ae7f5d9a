// Attack family: a dependency that links a bin named like the guard. init sets the hook up as the script
// `safe-install hook`, which npm finds in node_modules/.bin; a dependency with no install script at all that
// declares a bin `safe-install` gets linked there in place of the guard's when it comes first by path (npm links
// bins in that order), and npm then runs the attacker's code as the project's preinstall, the hook, with no check.
// The guard only warned (bin-name-conflict); now `safe-install` is a protected command like node or npm
// (bin-shadows-command, blocked by default) for every package but the guard's own, so `safe-install` and
// `safe-install check` refuse the tree. (A plain `npm ci` still runs whatever bin npm linked: see the report.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { TestRegistry } from '../registry/server.js';
import { OLD } from '../integration/helpers.js';
import { attackProject, noStackTrace } from './attack.js';

let registry: TestRegistry;
const logger = (who: string) => `#!/usr/bin/env node\nrequire('fs').appendFileSync(process.env.SI_TEST_LOG, '${who} ' + process.argv.slice(2).join(' ') + '\\n');\n`;

beforeAll(async () => {
  registry = await TestRegistry.start();
  // Stand-ins: the guard as the project installs it (its bin says it ran), and the attacker's package.
  registry.addPackage({ name: 'safe-install', versions: [{ version: '1.0.0', publishedAt: OLD, bin: { 'safe-install': 'cli.js' }, files: { 'cli.js': logger('guard') } }] });
  registry.addPackage({ name: 'aaa-utils', versions: [{ version: '1.0.0', publishedAt: OLD, bin: { 'safe-install': 'cli.js' }, files: { 'cli.js': logger('EVIL') } }] });
});
afterAll(() => registry.close());

async function project() {
  const p = attackProject(registry, {
    scripts: { preinstall: 'safe-install hook' },
    dependencies: { 'aaa-utils': '1.0.0' },
    devDependencies: { 'safe-install': '1.0.0' },
  });
  const lock = await p.npm('install', '--package-lock-only', '--ignore-scripts');
  expect(lock.code, lock.stderr).toBe(0);
  return p;
}

describe('a dependency whose bin is named safe-install', () => {
  it("without the guard: plain npm ci runs the attacker's bin as the hook", async () => {
    const p = await project();
    const plain = await p.npm('ci');
    expect(plain.code, plain.stderr).toBe(0);
    expect(p.ran()).toEqual(['EVIL hook']);
  });

  it('the guard refuses the tree: check and the install say the bin shadows the guard, nothing runs', async () => {
    const p = await project();
    const check = await p.guard('check');
    expect(check.code, check.stdout + check.stderr).toBe(1);
    expect(check.stdout).toMatch(/x aaa-utils@1\.0\.0 +bin-shadows-command: links a bin named "safe-install"/);
    // The guard's own package links it as it always did.
    expect(check.stdout).not.toMatch(/safe-install@1\.0\.0 +bin-shadows-command/);
    const res = await p.guard();
    expect(res.code, res.stdout + res.stderr).toBe(1);
    expect(res.stdout).toMatch(/aaa-utils@1\.0\.0 +bin-shadows-command/);
    expect(existsSync(join(p.dir, 'node_modules', 'aaa-utils'))).toBe(false);
    expect(p.ran()).toEqual([]);
    expect(noStackTrace(res.stdout + res.stderr)).toBe(true);
  });
});
