// A registry (or anything between it and the guard) that answers the metadata request with VALID JSON under
// the body limit, shaped to cost the guard memory: a million tiny versions (13 MB on the wire; parsed whole,
// every version became an object, then a summary: ~350 MB and 6 s), two million (26 MB, past the size at
// which the body is parsed as it streams in), or one field the guard keeps (an install script) of 2 MB.
// npm ci never reads the packument (the lockfile has resolved and integrity) and installs. The guard now reads
// at most 30,000 versions and 1 MiB per kept field: past that, exit 2, a registry-too-large error naming the
// package, nothing installed. A 120 MB packument whose bulk is a field the guard does not read (a readme) is
// read (as it streams in, that field never built) and checked as usual. Peak memory is bench/run.mjs's
// `hostile` rows.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestRegistry } from '../registry/server.js';
import { OLD } from '../integration/helpers.js';
import { attackProject, noStackTrace, type AttackProject } from './attack.js';

const MiB = 2 ** 20;

let registry: TestRegistry;
let project: AttackProject;
let installed: string;

/** alpha's one real version, as the registry serves it. */
function alphaManifest(extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ name: 'alpha', version: '1.0.0', ...extra, dist: { tarball: registry.tarballUrl('alpha', '1.0.0'), integrity: registry.integrityOf('alpha', '1.0.0') } });
}

/** A valid packument for alpha with `count` tiny versions besides 1.0.0, made as it is sent. */
function* manyVersions(count: number): Generator<Buffer> {
  yield Buffer.from(`{"name":"alpha","dist-tags":{"latest":"1.0.0"},"time":{"1.0.0":"${OLD}"},"versions":{"1.0.0":${alphaManifest()}`);
  const step = 10_000;
  for (let i = 0; i < count; i += step) {
    let s = '';
    for (let j = i; j < Math.min(count, i + step); j++) s += `,"0.0.${j}":{}`;
    yield Buffer.from(s);
  }
  yield Buffer.from('}}');
}

/** A valid packument for alpha whose version 1.0.0 carries `fields`, followed by a readme of `readme` bytes. */
function* withReadme(readme: number, fields: Record<string, unknown> = {}): Generator<Buffer> {
  yield Buffer.from(`{"name":"alpha","dist-tags":{"latest":"1.0.0"},"time":{"1.0.0":"${OLD}"},"versions":{"1.0.0":${alphaManifest(fields)}},"readme":"`);
  const chunk = Buffer.alloc(MiB, 'x');
  for (let sent = 0; sent < readme; sent += MiB) yield sent + MiB <= readme ? chunk : chunk.subarray(0, readme - sent);
  yield Buffer.from('"}');
}

beforeAll(async () => {
  registry = await TestRegistry.start();
  registry.addPackage({ name: 'alpha', versions: [{ version: '1.0.0', publishedAt: OLD }] });
  project = attackProject(registry, { dependencies: { alpha: '1.0.0' } });
  // As users' lockfiles are: resolved and integrity (npm ci then asks for the tarball only, never the packument).
  const lock = {
    name: 'app',
    version: '1.0.0',
    lockfileVersion: 3,
    requires: true,
    packages: {
      '': { name: 'app', version: '1.0.0', dependencies: { alpha: '1.0.0' } },
      'node_modules/alpha': { version: '1.0.0', resolved: registry.tarballUrl('alpha', '1.0.0'), integrity: registry.integrityOf('alpha', '1.0.0') },
    },
  };
  writeFileSync(join(project.dir, 'package-lock.json'), JSON.stringify(lock, null, 2));
  installed = join(project.dir, 'node_modules', 'alpha', 'package.json');
});
afterAll(() => registry.close());
beforeEach(() => {
  registry.clearFaults();
  rmSync(join(project.dir, 'node_modules'), { recursive: true, force: true });
});

const guard = (...args: string[]) => project.guard('ci', '--cache-dir', join(project.dir, `cache-${Math.random()}`), '--retries', '0', ...args);

function expectRefused(res: { code: number; stdout: string; stderr: string }, what: RegExp): void {
  const out = res.stdout + res.stderr;
  expect(res.code, out).toBe(2);
  expect(out).toContain(`the registry's answer for alpha from ${registry.url} holds more than the guard reads`);
  expect(out).toMatch(what);
  expect(out).toContain('check the registry or a proxy in between');
  expect(noStackTrace(out), out).toBe(true);
  expect(existsSync(installed)).toBe(false);
}

describe('valid metadata shaped to cost memory', () => {
  it('without the guard, npm ci installs from the same registry (it fetches the tarball, not the packument)', async () => {
    registry.fault('alpha', { packumentOnly: true, stream: () => manyVersions(2_000_000) });
    const res = await project.npm('ci', '--ignore-scripts');
    expect(res.code).toBe(0);
    expect(existsSync(installed)).toBe(true);
  });

  it('a million tiny versions (13 MB: too many values to parse whole, so parsed as it streams in): refused, past 30,000 versions', async () => {
    registry.fault('alpha', { packumentOnly: true, stream: () => manyVersions(1_000_000) });
    expectRefused(await guard(), /the packument lists more than 30000 versions/);
  });

  it('200,000 tiny versions (2.6 MB, parsed whole): refused, past 30,000 versions', async () => {
    registry.fault('alpha', { packumentOnly: true, stream: () => manyVersions(200_000) });
    expectRefused(await guard(), /the packument lists more than 30000 versions \(200001\)/);
  });

  it('two million tiny versions (26 MB, parsed as it streams in): refused, past 30,000 versions', async () => {
    registry.fault('alpha', { packumentOnly: true, stream: () => manyVersions(2_000_000) });
    expectRefused(await guard(), /the packument lists more than 30000 versions/);
  });

  it('a 2 MB install script in a 20 MB packument: refused, past 1 MiB per field the guard reads', async () => {
    registry.fault('alpha', { packumentOnly: true, stream: () => withReadme(20 * MiB, { scripts: { postinstall: 'x'.repeat(2 * MiB) } }) });
    expectRefused(await guard(), /the packument has a value the guard reads longer than 1048576 bytes/);
  });

  it('a 120 MB packument that is mostly a readme is read and checked as usual', async () => {
    registry.fault('alpha', { packumentOnly: true, stream: () => withReadme(120 * MiB) });
    const res = await guard();
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(existsSync(installed)).toBe(true);
  }, 120_000);
});
