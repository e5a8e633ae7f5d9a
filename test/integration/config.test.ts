// The user's npm configuration is honoured the way npm reads it: scoped registries with their own auth,
// and npm's own min-release-age (stricter side wins, and the report names it).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestRegistry } from '../registry/server.js';
import { cleanEnv, cli, tempDir, writeProject } from './helpers.js';

const DAY = 86_400_000;
let main: TestRegistry;
let scoped: TestRegistry;

beforeAll(async () => {
  main = await TestRegistry.start();
  scoped = await TestRegistry.start();
  main.addPackage({ name: 'pub', versions: [{ version: '1.0.0', publishedAt: new Date(Date.now() - 9 * DAY).toISOString() }] });
  scoped.addPackage({ name: '@corp/lib', versions: [{ version: '1.0.0', publishedAt: '2024-01-01T00:00:00.000Z' }] });
});
afterAll(async () => {
  await main.close();
  await scoped.close();
});

function projectWith(npmrc: string) {
  const dir = tempDir();
  const both = { integrityOf: (n: string, v: string) => (n.startsWith('@corp/') ? scoped : main).integrityOf(n, v) } as TestRegistry;
  writeProject(dir, both, { pub: '1.0.0', '@corp/lib': '1.0.0' });
  writeFileSync(join(dir, '.npmrc'), npmrc);
  return dir;
}

describe('npm configuration', () => {
  it("fetches a scope from its own registry with that registry's token", async () => {
    const host = new URL(scoped.url).host;
    const dir = projectWith(`@corp:registry=${scoped.url}\n//${host}/:_authToken=secret-token-value\n`);
    const res = await cli(['check', '--json'], { cwd: dir, env: cleanEnv(main.url) });
    expect(res.code, res.stdout).toBe(0);
    expect(scoped.requests.map((r) => r.path)).toContain('/@corp/lib');
    expect(main.requests.map((r) => r.path)).not.toContain('/@corp/lib');
    expect(res.stdout).not.toContain('secret-token-value');
  });

  it("reads npm's min-release-age from the project .npmrc; the stricter setting wins and is named", async () => {
    const dir = projectWith(`@corp:registry=${scoped.url}\nmin-release-age=10\n`);
    const res = await cli(['check', '--json'], { cwd: dir, env: cleanEnv(main.url) });
    expect(res.code).toBe(1);
    const pub = JSON.parse(res.stdout).packages.find((p: any) => p.name === 'pub');
    expect(pub.verdict).toBe('quarantine');
    expect(pub.findings.find((f: any) => f.code === 'too-young').message).toContain('npm config min-release-age (project)');

    // A weaker npm setting does not loosen the policy's 7 days; 9 days old passes both.
    const weaker = projectWith(`@corp:registry=${scoped.url}\nmin-release-age=1\n`);
    expect((await cli(['check'], { cwd: weaker, env: cleanEnv(main.url) })).code).toBe(0);
  });

  it("npm min-release-age-exclude exempts a package from npm's rule only", async () => {
    const dir = projectWith(`@corp:registry=${scoped.url}\nmin-release-age=10\nmin-release-age-exclude=pub\n`);
    const res = await cli(['check'], { cwd: dir, env: cleanEnv(main.url) });
    expect(res.code, res.stdout).toBe(0);
  });
});
