import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPolicy } from '../../src/policy/load.js';
import { parseDuration } from '../../src/util/duration.js';
import { matchesPattern, parsePattern } from '../../src/policy/pattern.js';
import { GuardError } from '../../src/errors.js';

function project(policy?: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'si-policy-'));
  if (policy !== undefined) writeFileSync(join(dir, 'safe-install.policy.json'), policy);
  return dir;
}

describe('policy loading', () => {
  it('uses the shipped default when the project has no policy', async () => {
    const p = await loadPolicy(project(), undefined, undefined);
    expect(p.file).toBeUndefined();
    expect(p.ageRules[0]).toMatchObject({ ms: 7 * 86_400_000, source: 'default policy' });
    expect(p.sources).toEqual({ direct: 'allow', transitive: 'block' });
  });

  it('a project policy overrides field by field', async () => {
    const p = await loadPolicy(project(JSON.stringify({ minimumReleaseAge: '48h', actions: { 'too-young': 'block' } })), undefined, undefined);
    expect(p.ageRules[0]?.ms).toBe(48 * 3_600_000);
    expect(p.actions['too-young']).toBe('block');
    expect(p.actions['integrity-mismatch']).toBe('block'); // kept from the default
  });

  it.each([
    ['{ "minimumReleaseAge": "seven days" }', 'minimumReleaseAge'],
    ['{ "actions": { "too-young": "ignore" } }', 'actions.too-young'],
    ['{ "sourcez": {} }', 'sourcez'],
    ['{ "exceptions": [{ "package": "a", "checks": ["release-age"], "expires": "2030-01-01T00:00:00Z" }] }', 'reason'],
    ['{ "exceptions": [{ "package": "a", "checks": ["release-age"], "reason": "r", "expires": "soon" }] }', 'exceptions.0.expires'],
    ['{ "minimumReleaseAgeExclude": ["foo@not a range!"] }', 'minimumReleaseAgeExclude[0]'],
    ['{ "minimumReleaseAge": ', 'not valid JSON'],
    ['{ "registryMirrorOf": { "https://npm.corp.example/": "https://other.example/" } }', 'registryMirrorOf["https://npm.corp.example/"]: no keys are trusted for https://other.example/'],
    ['{ "registryMirrorOf": { "https://registry.npmjs.org": "https://registry.npmjs.org/" } }', 'not a mirror of itself'],
    ['{ "registryMirrorOf": { "npm.corp.example": "https://registry.npmjs.org/" } }', 'registryMirrorOf'],
    ['{ "registryMirrorOf": { "https://npm.corp.example/": 1 } }', 'registryMirrorOf'],
    ['{ "registryKeys": { "https://[bad/": [] } }', 'registryKeys["https://[bad/"]'],
  ])('a malformed policy %s is an error naming %s', async (text, field) => {
    const err = await loadPolicy(project(text), undefined, undefined).catch((e) => e);
    expect(err).toBeInstanceOf(GuardError);
    expect(err.code).toBe('bad-policy');
    expect(err.message).toContain(field);
  });

  it('registryMirrorOf: URLs compared as parsed, with a slash; the upstream is npm or a registry with pinned keys', async () => {
    const key = { keyid: 'k', key: 'AAAA' };
    const p = await loadPolicy(
      project(
        JSON.stringify({
          registryMirrorOf: { 'https://NPM.Corp.Example:443': 'https://registry.npmjs.org', 'http://127.0.0.1:4873/npm': 'https://upstream.example' },
          registryKeys: { 'https://Upstream.Example': [key] },
        }),
      ),
      undefined,
      undefined,
    );
    expect(p.registryMirrorOf).toEqual({ 'https://npm.corp.example/': 'https://registry.npmjs.org/', 'http://127.0.0.1:4873/npm/': 'https://upstream.example/' });
    expect(p.registryKeys).toEqual({ 'https://upstream.example/': [{ keyid: 'k', key: 'AAAA', expires: null }] });
    expect((await loadPolicy(project(), undefined, undefined)).registryMirrorOf).toEqual({});
  });

  it('an explicit --policy that does not exist is an error', async () => {
    const err = await loadPolicy(project(), '/nonexistent/policy.json', undefined).catch((e) => e);
    expect(err.code).toBe('bad-policy');
  });
});

describe('durations and patterns', () => {
  it('parses durations', () => {
    expect(parseDuration('7d')).toBe(7 * 86_400_000);
    expect(parseDuration('48h')).toBe(48 * 3_600_000);
    expect(parseDuration(1440)).toBe(86_400_000);
    expect(() => parseDuration('7 days')).toThrow();
  });

  it('matches names, globs and ranges', () => {
    expect(matchesPattern(parsePattern('@swc/*'), '@swc/core', '1.0.0')).toBe(true);
    expect(matchesPattern(parsePattern('@swc/*'), '@swcx/core', '1.0.0')).toBe(false);
    expect(matchesPattern(parsePattern('sharp@^0.33'), 'sharp', '0.33.5')).toBe(true);
    expect(matchesPattern(parsePattern('sharp@^0.33'), 'sharp', '0.34.0')).toBe(false);
    expect(matchesPattern(parsePattern('foo@1.2.3 || 1.2.4'), 'foo', '1.2.4')).toBe(true);
    expect(parsePattern('@scope/name')).toEqual({ text: '@scope/name', name: '@scope/name' });
  });
});

describe('install-script lists kept elsewhere are inputs', () => {
  it('pnpm-workspace.yaml allowBuilds / onlyBuiltDependencies and package.json allowScripts; a denial anywhere wins', async () => {
    const { readPnpmBuilds } = await import('../../src/project/pnpm-settings.js');
    const { scriptStatus } = await import('../../src/policy/scripts.js');
    const dir = project(JSON.stringify({ scripts: { allow: ['core-js', 'sharp'] } }));
    writeFileSync(join(dir, 'pnpm-workspace.yaml'), 'packages: ["."]\nallowBuilds:\n  esbuild: true\n  core-js: false\nonlyBuiltDependencies:\n  - "@swc/core"\n');
    const pnpmBuilds = await readPnpmBuilds(dir, undefined);
    const p = await loadPolicy(dir, undefined, undefined, { builds: pnpmBuilds ? [pnpmBuilds] : [], allowScripts: { sharp: false } });
    expect(scriptStatus(p, 'esbuild', '0.24.2')).toMatchObject({ status: 'allowed', rule: { source: 'pnpm-workspace.yaml' } });
    expect(scriptStatus(p, '@swc/core', '1.0.0').status).toBe('allowed');
    expect(scriptStatus(p, 'core-js', '3.0.0')).toMatchObject({ status: 'denied', rule: { source: 'pnpm-workspace.yaml' } });
    expect(scriptStatus(p, 'sharp', '0.33.0')).toMatchObject({ status: 'denied', rule: { source: 'package.json allowScripts' } });
    expect(scriptStatus(p, 'other', '1.0.0').status).toBe('unlisted');
    // pnpm 9's package.json field when there is no pnpm-workspace.yaml list.
    const fromPkg = await readPnpmBuilds(project(), { onlyBuiltDependencies: ['esbuild'], neverBuiltDependencies: ['fsevents'] });
    expect(fromPkg).toEqual({ allow: ['esbuild'], deny: ['fsevents'], source: 'package.json pnpm' });
  });
});

describe('the policy validator built by npm run build', () => {
  it('accepts and refuses exactly what the schema compiled at run time does, with the same errors', async () => {
    const { createRequire } = await import('node:module');
    const { compileValidator } = await import('../../src/policy/load.js');
    const prebuilt = createRequire(import.meta.url)('../../dist/policy/policy-validator.cjs');
    const runtime = compileValidator();
    const docs: unknown[] = [
      {},
      { minimumReleaseAge: '7d', scripts: { allow: ['esbuild'], unlisted: 'block' } },
      { minimumReleaseAge: 90 },
      { bogus: 1 },
      { scripts: { unlisted: 'maybe' } },
      { exceptions: [{ package: 'a@1.0.0', checks: ['release-age'], reason: 'r', expires: '2026-12-01T00:00:00Z' }] },
      { exceptions: [{ package: 'a', checks: ['*'], reason: 'r', expires: 'not a date' }] },
      { actions: { 'too-young': 'explode' } },
      { trustPolicy: 'no-downgrade', trustPolicyExclude: ['x'] },
      { registryMirrorOf: { 'https://npm.corp.example/': 'https://registry.npmjs.org/' } },
      { registryMirrorOf: { 'npm.corp.example': 'https://registry.npmjs.org/' } },
    ];
    for (const doc of docs) {
      expect(prebuilt(doc), JSON.stringify(doc)).toBe(runtime!(doc));
      expect(prebuilt.errors ?? null).toEqual(runtime!.errors ?? null);
    }
    expect(docs.filter((d) => !prebuilt(d)).length).toBe(5);
  });
});
