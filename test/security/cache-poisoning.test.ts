// Attack family: a poisoned metadata cache. The cache lives in the user's home and anything that runs as the user
// (an allowed install script) can write it. Before: an entry dated in the future was "fresh" forever, even with
// --cache-ttl 0, so a young version could be made to look old (or any fact the checks read could be replaced)
// and the guard installed it. Now an entry from the future, or one not shaped as the guard writes it, is a miss:
// the facts come from the registry again (its request count shows it) and the young version is held.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestRegistry } from '../registry/server.js';
import { OLD, tempDir } from '../integration/helpers.js';
import { attackProject, noStackTrace, type AttackProject, writeResolvedLockfile } from './attack.js';
import { at } from '../../src/util/at.js';

const DAY = 86_400_000;
let registry: TestRegistry;

beforeAll(async () => {
  registry = await TestRegistry.start();
  registry.addPackage({
    name: 'fresh',
    versions: [
      { version: '1.0.0', publishedAt: OLD },
      { version: '1.1.0', publishedAt: new Date(Date.now() - DAY).toISOString() },
    ],
  });
});
afterAll(() => registry.close());

/** A project locking the young fresh@1.1.0, with `resolved` URLs as users' lockfiles have them. */
function youngProject(): AttackProject {
  const p = attackProject(registry, { dependencies: { fresh: '1.1.0' } });
  writeResolvedLockfile(p.dir, registry, { fresh: '1.1.0' });
  return p;
}

const installed = (p: AttackProject) => {
  const file = join(p.dir, 'node_modules/fresh/package.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version : undefined;
};
/** Requests for the packument of fresh (not its tarballs). */
const packumentRequests = () => registry.requests.filter((r) => r.path === '/fresh').length;

/** The one metadata entry of a cache folder, rewritten by `poison` (what a script running as the user can do). */
function poisonEntry(cache: string, poison: (entry: any) => void): void {
  const files = readdirSync(join(cache, 'metadata'), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.json'))
    .map((e) => join(e.parentPath, e.name));
  const file = at(files, 0);
  const entry = JSON.parse(readFileSync(file, 'utf8'));
  poison(entry);
  writeFileSync(file, JSON.stringify(entry));
}

/** A young version made to look old, in an entry dated far in the future. */
const oldAndFromTheFuture = (entry: any) => {
  entry.checkedAt = '2099-01-01T00:00:00.000Z';
  entry.facts.versions['1.1.0'].publishedAt = OLD;
};

describe('a poisoned metadata cache', () => {
  it('without the guard, npm ci installs the young version (npm does not refuse it)', async () => {
    const p = youngProject();
    const res = await p.npm('ci');
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(installed(p)).toBe('1.1.0');
  });

  it('an entry dated in the future that makes a young version look old is a miss: the registry is asked and it is held', async () => {
    const p = youngProject();
    const cache = tempDir('si-cache-');
    const first = await p.guard('--cache-dir', cache);
    expect(first.code, first.stdout + first.stderr).toBe(1);
    expect(first.stdout).toMatch(/fresh@1\.1\.0 +too-young/);
    poisonEntry(cache, oldAndFromTheFuture);
    const before = packumentRequests();
    const res = await p.guard('--cache-dir', cache);
    expect(res.stdout).toMatch(/fresh@1\.1\.0 +too-young/);
    expect(res.code, res.stdout + res.stderr).toBe(1);
    expect(packumentRequests()).toBe(before + 1);
    expect(installed(p)).toBeUndefined();
  });

  it('--cache-ttl 0 asks the registry for an entry from the future too', async () => {
    const p = youngProject();
    const cache = tempDir('si-cache-');
    await p.guard('check', '--cache-dir', cache);
    poisonEntry(cache, oldAndFromTheFuture);
    const before = packumentRequests();
    const res = await p.guard('--cache-dir', cache, '--cache-ttl', '0');
    expect(res.stdout).toMatch(/fresh@1\.1\.0 +too-young/);
    expect(res.code, res.stdout + res.stderr).toBe(1);
    expect(packumentRequests()).toBe(before + 1);
    expect(installed(p)).toBeUndefined();
  });

  it('an entry not shaped as the guard writes it is a miss, never a crash or an allow', async () => {
    const p = youngProject();
    const cache = tempDir('si-cache-');
    await p.guard('check', '--cache-dir', cache);
    for (const poison of [
      (e: any) => (e.facts.versions['1.1.0'].publishedAt = { toString: OLD }),
      (e: any) => (e.facts.versions['1.1.0'].signatures = 'none'),
      (e: any) => (e.facts.versions = [{ publishedAt: OLD }]),
      (e: any) => (e.checkedAt = 'soon'),
    ]) {
      poisonEntry(cache, (e) => {
        e.checkedAt = new Date().toISOString();
        poison(e);
      });
      const before = packumentRequests();
      const res = await p.guard('--cache-dir', cache);
      expect(noStackTrace(res.stdout + res.stderr), res.stdout + res.stderr).toBe(true);
      expect(res.stdout).toMatch(/fresh@1\.1\.0 +too-young/);
      expect(res.code, res.stdout + res.stderr).toBe(1);
      expect(packumentRequests()).toBe(before + 1);
      expect(installed(p)).toBeUndefined();
    }
    rmSync(cache, { recursive: true, force: true });
  });
});
