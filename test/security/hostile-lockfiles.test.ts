// A lockfile nested thousands of levels deep (a hostile pull request, or a generated file). Before the depth
// limit the guard's v1 walk recursed once per level: at 4,000 levels it died with "internal error: RangeError:
// Maximum call stack size exceeded"; at 12,000 it ran for minutes (paths and the line scan grow with the square
// of the depth). Now it refuses the lockfile at once: exit 2 (bad-lockfile), naming the lockfile and the
// entry, saying how to regenerate it, nothing installed.
//
// There is no bypass to show with the guard absent: npm ci itself fails on the same v1 lockfile (measured:
// "Maximum call stack size exceeded" after 66 s and 2.5 GB), so the test shows only what the guard does.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestRegistry } from '../registry/server.js';
import { OLD } from '../integration/helpers.js';
import { attackProject, noStackTrace } from './attack.js';

/** A v1 lockfile p0 > p1 > ... nested `depth` levels, as text (JSON.stringify itself would recurse). */
function deepV1(depth: number, integrity: string): string {
  let inner = '';
  for (let i = depth - 1; i >= 0; i--) {
    inner = `{"p${i}":{"version":"1.0.0","integrity":"${integrity}"${inner ? `,"dependencies":${inner}` : ''}}}`;
  }
  return `{"name":"app","version":"1.0.0","lockfileVersion":1,"requires":true,"dependencies":${inner}}`;
}

let registry: TestRegistry;

beforeAll(async () => {
  registry = await TestRegistry.start();
  registry.addPackage({ name: 'p0', versions: [{ version: '1.0.0', publishedAt: OLD }] });
});
afterAll(() => registry.close());

function expectRefused(res: { code: number; stdout: string; stderr: string }, lockfile: string, depth: number): void {
  const out = res.stdout + res.stderr;
  expect(res.code).toBe(2);
  expect(out).toContain(`${lockfile}: `);
  expect(out).toContain(`is nested ${depth} node_modules levels deep (more than 100)`);
  expect(out).toContain('regenerate it with npm install');
  expect(out).toContain('error bad-lockfile');
  expect(noStackTrace(out)).toBe(true);
  expect(out.length).toBeLessThan(4000); // the entry is named by its start, not 12,000 levels of it
}

describe('a lockfile nested thousands of levels deep', () => {
  for (const depth of [4000, 12_000]) {
    it(`v1, ${depth} levels: refused with bad-lockfile, nothing installed`, async () => {
      const p = attackProject(registry, { dependencies: { p0: '1.0.0' } });
      const lockfile = join(p.dir, 'package-lock.json');
      writeFileSync(lockfile, deepV1(depth, registry.integrityOf('p0', '1.0.0')));
      const res = await p.guard('ci', '--cache-dir', join(p.dir, 'cache'));
      expectRefused(res, lockfile, 101);
      expect(existsSync(join(p.dir, 'node_modules'))).toBe(false);
    });
  }

  it('v3, an install path 4,000 levels deep: refused the same way', async () => {
    const p = attackProject(registry, { dependencies: { p0: '1.0.0' } });
    const lockfile = join(p.dir, 'package-lock.json');
    const deep = Array.from({ length: 4000 }, (_, i) => `node_modules/p${i}`).join('/');
    const packages = {
      '': { name: 'app', version: '1.0.0', dependencies: { p0: '1.0.0' } },
      'node_modules/p0': { version: '1.0.0', integrity: registry.integrityOf('p0', '1.0.0') },
      [deep]: { version: '1.0.0' },
    };
    writeFileSync(lockfile, JSON.stringify({ name: 'app', version: '1.0.0', lockfileVersion: 3, requires: true, packages }));
    const res = await p.guard('ci', '--cache-dir', join(p.dir, 'cache'));
    expectRefused(res, lockfile, 4000);
    expect(existsSync(join(p.dir, 'node_modules'))).toBe(false);
  });
});
