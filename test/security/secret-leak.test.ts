// Issue 15, "No secret shown": a registry URL with credentials (`registry=https://user:password@host/` in the
// project's .npmrc) and an `_authToken` line. The guard printed the URL in the text header, the JSON `registry`
// field and SARIF (which the generated workflow uploads to code scanning), stored it in its cache files, and
// `init` showed the `_authToken=` line in its diff. npm itself masks them (`npm config list` shows
// `(protected)`, its errors go through @npmcli/redact); the guard must do no worse in any output, error or
// file it writes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { TestRegistry } from '../registry/server.js';
import { lockWith, OLD, type RunResult } from '../integration/helpers.js';
import { attackProject, noStackTrace, type AttackProject } from './attack.js';

const USER = 'alice';
const PASSWORD = 'S3cr3tPa55word';
/** Not in npm's own token format (npm_...), so only the settings rule can catch it. */
const TOKEN = 'glpat-Tok3nValue9f8e7d';

/** Every form a credential could leak in: as is, URL-encoded, and as the Basic auth header value. */
const FORMS = [PASSWORD, TOKEN, Buffer.from(`${USER}:${PASSWORD}`).toString('base64'), Buffer.from(TOKEN).toString('base64')];

function leaks(text: string): string[] {
  return FORMS.filter((f) => text.includes(f));
}

let registry: TestRegistry;
let withCredentials: string;
beforeAll(async () => {
  registry = await TestRegistry.start();
  registry.addPackage({ name: 'young', versions: [{ version: '1.0.0', publishedAt: new Date(Date.now() - 86_400_000).toISOString() }] });
  registry.addPackage({ name: 'old', versions: [{ version: '1.0.0', publishedAt: OLD }] });
  withCredentials = registry.url.replace('http://', `http://${USER}:${PASSWORD}@`);
});
afterAll(() => registry.close());

/** A project whose .npmrc names the registry with a password and holds an auth token for it, locked by npm. */
async function project(): Promise<AttackProject> {
  const p = attackProject(registry, { dependencies: { young: '1.0.0', old: '1.0.0' } });
  // The project's .npmrc decides the registry (cleanEnv's npm_config_registry would win over it).
  delete p.env.npm_config_registry;
  const host = registry.url.replace(/^http:/, '');
  writeFileSync(join(p.dir, '.npmrc'), `registry=${withCredentials}\n${host}:_authToken=${TOKEN}\n`);
  await lockWith('npm', p.dir, withCredentials, p.env);
  return p;
}

function expectNoLeak(res: RunResult, what: string): void {
  expect(leaks(res.stdout), `${what}: stdout`).toEqual([]);
  expect(leaks(res.stderr), `${what}: stderr`).toEqual([]);
  expect(noStackTrace(res.stdout + res.stderr), what).toBe(true);
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...filesUnder(path));
    else out.push(path);
  }
  return out;
}

describe('credentials in the registry URL and .npmrc (issue 15)', () => {
  it('appear in no report (text, json, sarif, github and its step summary, cyclonedx), and not in the cache folder', async () => {
    const p = await project();
    // The credentials are real settings here: npm installs through them.
    const plain = await p.npm('ci', '--ignore-scripts');
    expect(plain.code, plain.stderr).toBe(0);

    const text = await p.guard('check');
    expect(text.code, text.stderr).toBe(1); // young is held
    expectNoLeak(text, 'text');
    expect(text.stdout).toContain(`registry: http://${USER}:***@127.0.0.1`);

    const json = await p.guard('check', '--format', 'json');
    expectNoLeak(json, 'json');
    expect(JSON.parse(json.stdout).registry).toBe(withCredentials.replace(PASSWORD, '***'));

    const sarif = await p.guard('check', '--format', 'sarif');
    expectNoLeak(sarif, 'sarif');
    expect(JSON.parse(sarif.stdout).runs[0].properties.registry).toBe(withCredentials.replace(PASSWORD, '***'));

    const cdx = await p.guard('check', '--format', 'cyclonedx');
    expectNoLeak(cdx, 'cyclonedx');
    const bom = JSON.parse(cdx.stdout);
    expect(bom.metadata.properties).toContainEqual({ name: 'safe-install:registry', value: withCredentials.replace(PASSWORD, '***') });

    const summary = join(p.dir, 'summary.md');
    writeFileSync(summary, '');
    p.env.GITHUB_STEP_SUMMARY = summary;
    const gh = await p.guard('check', '--format', 'github,json=out.json,sarif=out.sarif,text=out.txt');
    delete p.env.GITHUB_STEP_SUMMARY;
    expect(gh.code).toBe(1);
    expect(readFileSync(summary, 'utf8')).toContain('young@1.0.0');
    expectNoLeak(gh, 'github');
    for (const f of ['out.json', 'out.sarif', 'out.txt', 'summary.md']) expect(leaks(readFileSync(join(p.dir, f), 'utf8')), f).toEqual([]);

    // The cache: no credential in any file's name or bytes.
    const cache = join(p.env.XDG_CACHE_HOME!, 'safe-install');
    const files = filesUnder(cache);
    expect(files.length).toBeGreaterThan(1);
    for (const file of files) {
      expect(leaks(relative(cache, file)), file).toEqual([]);
      expect(leaks(readFileSync(file).toString('latin1')), file).toEqual([]);
    }
    // ...and it still serves the next run (the entries are found under the masked key).
    const before = registry.requests.length;
    const again = await p.guard('check', '--offline');
    expect(again.code, again.stderr).toBe(1);
    expect(registry.requests.length).toBe(before);
  });

  it('two registries differing only in credentials do not share cache entries', async () => {
    const p = await project();
    expect((await p.guard('check')).code).toBe(1);
    // Another password for the same host: the cache has nothing for it.
    const other = registry.url.replace('http://', `http://${USER}:another-pass@`);
    const res = await p.guard('check', '--offline', '--registry', other);
    expect(res.code).toBe(2);
    expect(res.stdout + res.stderr).toMatch(/no cached metadata/);
    expectNoLeak(res, 'offline, other credentials');
    expect(res.stdout + res.stderr).not.toContain('another-pass');
  });

  it('init shows the .npmrc diff with the token and password masked', async () => {
    const p = await project();
    const res = await p.guard('init');
    expect(res.code).toBe(3); // not confirmed: nothing written without --yes and a terminal
    expect(res.stdout).toContain('.npmrc');
    expect(res.stdout).toContain('_authToken=***');
    expect(res.stdout).toContain(`registry=http://${USER}:***@`);
    expectNoLeak(res, 'init');
    // Nothing was written: the .npmrc still holds the real settings.
    expect(readFileSync(join(p.dir, '.npmrc'), 'utf8')).toContain(TOKEN);
  });

  it('appear in no error: registry failures, an answer that echoes them, an unreachable registry', async () => {
    const p = await project();
    const cases: [string, () => void, string[]][] = [
      ['500', () => registry.fault('young', { status: 500 }), []],
      ['401', () => registry.fault('young', { status: 401 }), []],
      ['echo', () => registry.fault('young', { status: 502, body: JSON.stringify({ error: `upstream ${withCredentials} refused Bearer ${TOKEN}, _authToken=${TOKEN}` }) }), []],
      ['malformed', () => registry.fault('young', { body: `not json ${withCredentials} ${TOKEN}` }), []],
      ['unreachable', () => {}, ['--registry', `http://${USER}:${PASSWORD}@127.0.0.1:9/`]],
    ];
    for (const [what, arrange, args] of cases) {
      registry.clearFaults();
      arrange();
      for (const format of ['text', 'json', 'sarif', 'github']) {
        const res = await p.guard('check', '--cache-ttl', '0', '--retries', '0', '--format', format, ...args);
        expect(res.code, `${what} ${format}: ${res.stdout}${res.stderr}`).toBe(2);
        expectNoLeak(res, `${what} ${format}`);
      }
    }
    registry.clearFaults();
  });
});
