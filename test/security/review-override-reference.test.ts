// Review of issue 14, bypass 2: npm's `"overrides": { "victim": "$victim" }` (a common idiom: "the version my own
// dependency on victim asks for") is a reference to the root's spec, not a spec of its own. The guard took `$victim`
// for a protocol it does not know, which counts as the project choosing the lockfile's source, so a lockfile that
// swaps victim's registry range for a remote tarball passed as a direct tarball dependency, and npm ci installs it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestRegistry } from '../registry/server.js';
import { EVENT_LOGGER } from '../integration/helpers.js';
import { attackProject, noStackTrace, EVIL_LOGGER, postinstallVersion } from './attack.js';

const POLICY = { scripts: { allow: ['victim'] } };

let registry: TestRegistry;
let evil: TestRegistry;
let evilUrl: string;

beforeAll(async () => {
  registry = await TestRegistry.start();
  evil = await TestRegistry.start();
  const version = postinstallVersion;
  registry.addPackage({ name: 'victim', versions: [version(EVENT_LOGGER)] });
  evil.addPackage({ name: 'victim', versions: [version(EVIL_LOGGER)] });
  evilUrl = `${evil.url}dl/-/victim.tgz`;
  evil.addRawPackument({ name: 'dl', versions: { '1.0.0': { name: 'dl', version: '1.0.0', dist: { tarball: evilUrl } } } }, { '1.0.0': evil.tarballOf('victim', '1.0.0') });
});
afterAll(async () => {
  await registry.close();
  await evil.close();
});

async function npmProject(overrides: Record<string, string>, swap: boolean) {
  const p = attackProject(registry, { dependencies: { victim: '^1.0.0' }, overrides });
  const lock = await p.npm('install', '--package-lock-only', '--ignore-scripts');
  expect(lock.code, lock.stderr).toBe(0);
  writeFileSync(join(p.dir, 'safe-install.policy.json'), JSON.stringify(POLICY));
  if (swap) {
    const file = join(p.dir, 'package-lock.json');
    const doc = JSON.parse(readFileSync(file, 'utf8'));
    doc.packages['node_modules/victim'] = { version: '1.0.0', resolved: evilUrl, integrity: evil.integrityOf('victim', '1.0.0'), hasInstallScript: true };
    writeFileSync(file, JSON.stringify(doc, null, 2));
  }
  return p;
}

describe('npm: "overrides": { "victim": "$victim" } with victim swapped to a remote tarball in package-lock.json', () => {
  it('plain npm ci installs the URL and runs its script; safe-install blocks it', async () => {
    const plain = await npmProject({ victim: '$victim' }, true);
    const ci = await plain.npm('ci');
    expect(ci.code, ci.stderr).toBe(0);
    expect(plain.ran()).toEqual(['EVIL victim:postinstall']);

    const guarded = await npmProject({ victim: '$victim' }, true);
    const res = await guarded.guard();
    expect(res.code, res.stdout + res.stderr).toBe(1);
    expect(res.stdout).toMatch(/victim@.* +source-mismatch/);
    expect(res.stdout).toContain('package.json asks for "^1.0.0" but the lockfile resolves it to a remote tarball');
    expect(noStackTrace(res.stdout + res.stderr)).toBe(true);
    expect(guarded.ran()).toEqual([]);
    expect(existsSync(join(guarded.dir, 'node_modules', 'victim'))).toBe(false);
  });

  it('without the swap, the reference changes nothing: installed from the registry, its allowed script runs', async () => {
    const p = await npmProject({ victim: '$victim' }, false);
    const res = await p.guard();
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(p.ran()).toEqual(['victim:postinstall']);
  });
});
