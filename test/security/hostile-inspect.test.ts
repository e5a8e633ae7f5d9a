// `safe-install inspect` downloads a packument and tarballs: a registry (or a publisher) can answer with a body
// of any size or a tarball that unpacks to gigabytes (a gzip bomb whose integrity the registry vouches for).
// Before the limit, inspect handed the packument to pacote, which buffers it whole, and unpacked any tarball to
// disk. Now the packument is read at most --max-body-size, and a tarball is downloaded and unpacked at most
// --max-size (src/inspect/unpack.ts counts both as they stream): exit 2, the package and the flag named.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { TestRegistry } from '../registry/server.js';
import { OLD } from '../integration/helpers.js';
import { attackProject, noStackTrace, type AttackProject } from './attack.js';

const MiB = 2 ** 20;

function* endlessPackument(name: string, total: number): Generator<Buffer> {
  const head = Buffer.from(`{"name":${JSON.stringify(name)},"versions":{},"readme":"`);
  yield head;
  const chunk = Buffer.alloc(MiB, 'x');
  for (let sent = head.length; sent < total; sent += chunk.length) yield chunk;
}

let registry: TestRegistry;
let project: AttackProject;
const BOMB = 32 * MiB;

beforeAll(async () => {
  registry = await TestRegistry.start();
  registry.addPackage({ name: 'alpha', versions: [{ version: '1.0.0', publishedAt: OLD }] });
  // 32 MiB of one random KiB repeated: about 100 times smaller gzipped, under the 1,000x ratio node-tar (and so
  // npm and pacote) refuses on its own; a file of zeros would be refused by that.
  const block = randomBytes(1024);
  registry.addPackage({ name: 'bomb', versions: [{ version: '1.0.0', publishedAt: OLD, files: { 'index.js': '', 'big.bin': Buffer.concat(Array(BOMB / 1024).fill(block)) } }] });
  project = attackProject(registry, {});
});
afterAll(() => registry.close());
beforeEach(() => registry.clearFaults());

describe('inspect against hostile answers', () => {
  it('without the guard, npm unpacks the whole tarball (32 MiB from under 1 MiB)', async () => {
    expect(registry.tarballOf('bomb', '1.0.0').length).toBeLessThan(MiB);
    const res = await project.npm('install', 'bomb@1.0.0', '--ignore-scripts', '--no-save');
    expect(res.code).toBe(0);
    expect(statSync(join(project.dir, 'node_modules', 'bomb', 'big.bin')).size).toBe(BOMB);
  });

  it('a 2 GiB packument: refused at the limit, exit 2', async () => {
    registry.fault('alpha', { packumentOnly: true, stream: () => endlessPackument('alpha', 2 * 2 ** 30) });
    const res = await project.guard('inspect', 'alpha@1.0.0', '--max-body-size', '8MiB');
    const out = res.stdout + res.stderr;
    expect(res.code).toBe(2);
    expect(out).toContain(`the registry's answer for alpha from ${registry.url} is larger than 8 MiB`);
    expect(out).toContain('--max-body-size');
    expect(noStackTrace(out)).toBe(true);
  });

  it('a tarball that unpacks past --max-size: refused while it unpacks', async () => {
    const res = await project.guard('inspect', 'bomb@1.0.0', '--max-size', '8MB');
    const out = res.stdout + res.stderr;
    expect(res.code).toBe(2);
    expect(out).toContain('bomb@1.0.0: ');
    expect(out).toContain('inspect stopped (nothing more was downloaded or unpacked)');
    expect(out).toMatch(/run again with a higher --max-size/);
    expect(noStackTrace(out)).toBe(true);
  });

  it('a tarball over --max-size itself: refused while downloading', async () => {
    const res = await project.guard('inspect', 'bomb@1.0.0', '--max-size', '16KB');
    expect(res.code).toBe(2);
    expect(res.stdout + res.stderr).toContain('inspect stopped (nothing more was downloaded or unpacked)');
  });

  it('under a limit that fits, the same tarball is inspected', async () => {
    const res = await project.guard('inspect', 'bomb@1.0.0', '--json', '--max-size', '64MB');
    expect(res.code).toBe(0);
    const report = JSON.parse(res.stdout);
    expect(report.version).toBe('1.0.0');
    expect(report.summary.filesAdded).toBeGreaterThan(0);
  });
});
