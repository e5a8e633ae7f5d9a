// Attack family: the project's copy of the guard (.safe-install/guard/, issue 19) swapped by a dependency. The
// hook prints `node .safe-install/guard/dist/safe-install.mjs <command>` as the next step when node_modules is
// gone, vouching for that copy as "a copy of this guard". It used to decide the copy was current from a stamp
// file beside it (version, size, mtime), so an install script that replaced the bundle and left the stamp alone
// kept its code there: the hook saw the stamp, kept the copy, and sent the user to run it. Now the copy is
// compared byte for byte with the running guard and rewritten when it differs, so the hook, which npm runs after
// the dependencies' install scripts (the root preinstall comes last), puts the guard back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestRegistry } from '../registry/server.js';
import { OLD, ROOT, run } from '../integration/helpers.js';
import { attackProject, EVIL_LOGGER, noStackTrace } from './attack.js';

const DAY = 86_400_000;
const BUNDLE = join(ROOT, 'dist', 'safe-install.mjs');
let registry: TestRegistry;

beforeAll(async () => {
  registry = await TestRegistry.start();
  // Young: the hook holds it and refuses the install, so the user goes to the printed next step.
  registry.addPackage({ name: 'fresh', versions: [{ version: '1.0.0', publishedAt: new Date(Date.now() - DAY).toISOString() }] });
  // The attacker's postinstall: its own code in place of the copy's bundle, the rest (the stamp) left alone.
  const planter = `const fs = require('fs'); const path = require('path');
const bundle = path.join(process.env.INIT_CWD, '.safe-install', 'guard', 'dist', 'safe-install.mjs');
fs.appendFileSync(process.env.SI_TEST_LOG, 'planter found a copy: ' + fs.existsSync(bundle) + '\\n');
if (fs.existsSync(bundle)) fs.writeFileSync(bundle, ${JSON.stringify(`import { createRequire } from 'node:module'; const require = createRequire(import.meta.url); ${EVIL_LOGGER.replace("require('./package.json').name", "'copy'")};\n`)});
`;
  registry.addPackage({
    name: 'planter',
    versions: [{ version: '1.0.0', publishedAt: OLD, scripts: { postinstall: 'node plant.js' }, files: { 'plant.js': planter, 'index.js': '' } }],
  });
});
afterAll(() => registry.close());

async function project() {
  // The hook as init sets it up, running the one-file build (as node_modules/.bin/safe-install does).
  const p = attackProject(registry, { dependencies: { planter: '1.0.0' }, scripts: { preinstall: `node ${JSON.stringify(BUNDLE)} hook` } });
  writeFileSync(join(p.dir, 'safe-install.policy.json'), JSON.stringify({ scripts: { allow: ['planter'] } }));
  const copy = (...args: string[]) => run(process.execPath, [join('.safe-install', 'guard', 'dist', 'safe-install.mjs'), ...args], { cwd: p.dir, env: p.env });
  const copied = () => readFileSync(join(p.dir, '.safe-install', 'guard', 'dist', 'safe-install.mjs'));
  const lock = async () => expect((await p.npm('install', '--package-lock-only', '--ignore-scripts')).code).toBe(0);
  await lock();
  return { ...p, copy, copied, lock };
}

describe("a dependency's install script that swaps the project's copy of the guard", () => {
  it('the next hook puts the guard back before it prints the copy as the next step', async () => {
    const p = await project();
    // An install the hook lets through: npm runs planter's postinstall (nothing to swap yet), then the root
    // preinstall, the hook, which makes the copy.
    const first = await p.npm('ci');
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(p.ran()).toEqual(['planter found a copy: false']);
    expect(p.copied().equals(readFileSync(BUNDLE))).toBe(true);

    // A later install the hook refuses (a young version added): it prints the copy as the next step.
    writeFileSync(join(p.dir, 'package.json'), JSON.stringify({ ...JSON.parse(readFileSync(join(p.dir, 'package.json'), 'utf8')), dependencies: { fresh: '1.0.0', planter: '1.0.0' } }));
    await p.lock();
    const second = await p.npm('ci');
    const said = second.stdout + second.stderr;
    expect(second.code, said).not.toBe(0);
    expect(said).toMatch(/fresh@1\.0\.0 +too-young/);
    expect(said).toContain('run these commands as `node .safe-install/guard/dist/safe-install.mjs <command>`');
    expect(noStackTrace(said)).toBe(true);
    // planter's postinstall swapped the copy's bundle before the hook ran; what the user then runs is the guard.
    expect(p.ran()).toEqual(['planter found a copy: false', 'planter found a copy: true']);
    expect(p.copied().equals(readFileSync(BUNDLE))).toBe(true);
    const approved = await p.copy('approve', 'fresh@1.0.0', '--reason', 'reviewed');
    expect(approved.code, approved.stdout + approved.stderr).toBe(0);
    expect(p.ran().filter((l) => l.startsWith('EVIL'))).toEqual([]);
  });
});
