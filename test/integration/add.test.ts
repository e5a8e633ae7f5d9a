// `safe-install add` / `update` with the real npm: the age window applies during resolution, the new lockfile is
// checked before anything is installed, and a refusal or an interrupt restores package.json and the lockfile.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestRegistry } from '../registry/server.js';
import { BIN, cleanEnv, cli, npm, tempDir } from './helpers.js';
import { at } from '../../src/util/at.js';
import { waitFor } from '../wait.js';

const DAY = 86_400_000;
const ago = (d: number) => new Date(Date.now() - d * DAY).toISOString();
let registry: TestRegistry;

beforeAll(async () => {
  registry = await TestRegistry.start();
  registry.addPackage({ name: 'plain', versions: [{ version: '1.0.0', publishedAt: ago(400) }] });
  registry.addPackage({
    name: 'fresh',
    versions: [
      { version: '1.0.0', publishedAt: ago(90) },
      { version: '1.1.0', publishedAt: ago(1) },
    ],
  });
  registry.addPackage({ name: 'only-young', versions: [{ version: '0.1.0', publishedAt: ago(1) }] });
  registry.addPackage({
    name: 'scripted',
    versions: [{ version: '2.0.0', publishedAt: ago(60), scripts: { postinstall: "node -e \"require('fs').writeFileSync('../../SCRIPT-RAN', 'x')\"" } }],
  });
  registry.addPackage({
    name: 'upd',
    versions: [
      { version: '1.0.0', publishedAt: ago(300) },
      { version: '1.1.0', publishedAt: ago(30) },
      { version: '1.2.0', publishedAt: ago(2) },
    ],
  });
  registry.addPackage({ name: 'slow', versions: [{ version: '1.0.0', publishedAt: ago(100) }] });
});
afterAll(() => registry.close());

async function project(deps: Record<string, string> = { plain: '1.0.0' }) {
  const dir = tempDir('si-add-');
  const env = cleanEnv(registry.url);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', dependencies: deps }, null, 2) + '\n');
  expect((await npm(['install', '--package-lock-only', '--ignore-scripts'], { cwd: dir, env })).code).toBe(0);
  const files = () => [readFileSync(join(dir, 'package.json')), readFileSync(join(dir, 'package-lock.json'))];
  const lockVersion = (name: string) => JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8')).packages[`node_modules/${name}`]?.version;
  return { dir, env, files, lockVersion, run: (...args: string[]) => cli(args, { cwd: dir, env }) };
}

describe('safe-install add / update', () => {
  it('takes the previous version when the newest is a day old, says so, and installs', async () => {
    const p = await project();
    const res = await p.run('add', 'fresh');
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(p.lockVersion('fresh')).toBe('1.0.0');
    expect(JSON.parse(readFileSync(join(p.dir, 'package.json'), 'utf8')).dependencies.fresh).toBe('^1.0.0');
    expect(res.stdout).toMatch(/\+ fresh@1\.0\.0/);
    expect(res.stdout).toMatch(/fresh: chose 1\.0\.0; the newest match 1\.1\.0 is too young .*eligible/);
    expect(existsSync(join(p.dir, 'node_modules/fresh/package.json'))).toBe(true);
  });

  it('--json prints the change summary and the check on stdout, progress on stderr', async () => {
    const p = await project();
    const res = await p.run('add', 'fresh', '--json');
    expect(res.code, res.stderr).toBe(0);
    const doc = JSON.parse(res.stdout);
    expect(doc.changes.added).toEqual([{ name: 'fresh', version: '1.0.0' }]);
    expect(doc.changes.passedOver[0]).toMatchObject({ name: 'fresh', chosen: '1.0.0', newest: '1.1.0' });
    expect(doc.installed).toBe(true);
    expect(doc.check.packages.map((x: any) => x.name).sort()).toEqual(['fresh', 'plain']);
    expect(res.stderr).toContain('Installing with npm ci --ignore-scripts');
  });

  it('refuses a package with only a young version, with nothing changed on disk', async () => {
    const p = await project();
    const before = p.files();
    const res = await p.run('add', 'only-young');
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/npm could not resolve only-young: only-young@0\.1\.0 is too young \(published .*default policy requires 7d\), eligible /);
    const after = p.files();
    expect(after[0]?.equals(at(before, 0)) && after[1]?.equals(at(before, 1))).toBe(true);
    expect(existsSync(join(p.dir, 'node_modules'))).toBe(false);
  });

  it('an added package with an unlisted install script is installed without running it, and the summary says so', async () => {
    const p = await project();
    const res = await p.run('i', 'scripted', '-E');
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(res.stdout).toMatch(/new install scripts: scripted@2\.0\.0 postinstall/);
    expect(res.stdout).toMatch(/skipped +scripted@2\.0\.0/);
    expect(existsSync(join(p.dir, 'SCRIPT-RAN'))).toBe(false);
    expect(JSON.parse(readFileSync(join(p.dir, 'package.json'), 'utf8')).dependencies.scripted).toBe('2.0.0');
  });

  it('update moves within the range, but not to a version younger than the release age', async () => {
    const p = await project({ upd: '^1.0.0' });
    expect(p.lockVersion('upd')).toBe('1.2.0'); // plain npm took the day-old release
    writeFileSync(
      join(p.dir, 'package-lock.json'),
      readFileSync(join(p.dir, 'package-lock.json'), 'utf8')
        .replace(/1\.2\.0/g, '1.0.0')
        .replace(registry.integrityOf('upd', '1.2.0'), registry.integrityOf('upd', '1.0.0')),
    );
    const res = await p.run('update', 'upd');
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(p.lockVersion('upd')).toBe('1.1.0');
    expect(res.stdout).toMatch(/~ upd 1\.0\.0 -> 1\.1\.0/);
  });

  it('a failing check after resolution restores package.json and the lockfile byte for byte', async () => {
    const p = await project();
    writeFileSync(join(p.dir, 'safe-install.policy.json'), JSON.stringify({ requireProvenance: ['fresh'] }));
    const before = p.files();
    const res = await p.run('add', 'fresh');
    expect(res.code).toBe(1);
    expect(res.stdout).toContain('provenance-required');
    expect(res.stdout).toContain('restored byte for byte');
    const after = p.files();
    expect(after[0]?.equals(at(before, 0)) && after[1]?.equals(at(before, 1))).toBe(true);
    expect(existsSync(join(p.dir, 'node_modules'))).toBe(false);
  });

  it('Ctrl-C during resolution restores both files', async () => {
    const p = await project();
    const before = p.files();
    registry.fault('slow', { hang: true });
    try {
      const child = spawn(process.execPath, [BIN, 'add', 'slow'], { cwd: p.dir, env: p.env });
      let output = '';
      child.stdout.on('data', (d) => (output += d));
      child.stderr.on('data', (d) => (output += d));
      // npm is resolving: it has asked the registry for the package and waits for an answer that never comes.
      await waitFor(
        () => registry.requestCount('slow') > 0,
        () => `npm's request for slow:\n${output}`,
      );
      expect(output).toContain('Resolving with npm');
      child.kill('SIGINT');
      const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
      expect(output).toMatch(/Interrupted \(SIGINT\): add undone; package.json and package-lock.json are as before, byte for byte/);
      expect(code).toBe(130);
      const after = p.files();
      expect(after[0]?.equals(at(before, 0)) && after[1]?.equals(at(before, 1))).toBe(true);
    } finally {
      registry.clearFaults();
    }
  });
});
