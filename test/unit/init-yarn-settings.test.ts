// The yarn settings init writes: from the policy to .yarnrc.yml, package.json dependenciesMeta and the root
// workspace's yarn.lock entry (yarn 2+), never wider than the policy and never losing what was there; and which
// arrangement a project gets.
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { parseSyml } from '@yarnpkg/parsers';
import { compilePolicy } from '../../src/policy/load.js';
import { withHookPass } from '../../src/install/hook-pass.js';
import { arrangementOf } from '../../src/init/plan.js';
import { applyYarnLock, applyYarnPackageJson, applyYarnrc, hasYarnPlugin, yarnPluginSource, yarnSettingsFromPolicy } from '../../src/init/yarn-settings.js';

const NOW = new Date('2026-01-10T00:00:00Z');
const policy = (doc: object) => compilePolicy(doc as never, '/p/safe-install.policy.json');
const settings = (doc: object) => yarnSettingsFromPolicy(policy(doc), NOW);

describe('yarnSettingsFromPolicy', () => {
  it('writes names and exact versions; globs and ranges are left out with a note; a denial wins', () => {
    const s = settings({
      minimumReleaseAge: '3d',
      minimumReleaseAgeExclude: ['trusted', '@corp/*'],
      scripts: { allow: ['esbuild', 'sharp@0.33.5 || 0.33.4', '@swc/*', 'canvas@^2', 'both'], deny: ['core-js', 'both'] },
    });
    expect(s.minReleaseAgeMinutes).toBe(3 * 24 * 60);
    expect(s.excludes).toEqual(['trusted']);
    expect(s.built).toEqual({ esbuild: true, 'sharp@0.33.5': true, 'sharp@0.33.4': true, 'core-js': false, both: false });
    const notes = s.notes.join('\n');
    for (const p of ['"@swc/*"', '"canvas@^2"', '"@corp/*"']) expect(notes).toContain(p);
  });

  it('a live approval of a young version becomes a name@version descriptor; an expired one does not', () => {
    const s = settings({
      exceptions: [
        { package: 'fresh@1.1.0', checks: ['release-age'], reason: 'x', expires: '2026-01-12T00:00:00Z' },
        { package: 'old@2.0.0', checks: ['release-age'], reason: 'x', expires: '2026-01-01T00:00:00Z' },
      ],
    });
    expect(s.approvals).toEqual([{ entry: 'fresh@1.1.0', expires: '2026-01-12T00:00:00Z' }]);
  });
});

describe('applyYarnrc', () => {
  it('creates the settings and registers the plugin; idempotent', () => {
    const out = applyYarnrc(null, settings({}));
    expect(parse(out)).toEqual({ plugins: [{ path: '.yarn/plugins/safe-install.cjs' }], npmMinimalAgeGate: 10080, enableScripts: false });
    expect(hasYarnPlugin(out)).toBe(true);
    expect(applyYarnrc(out, settings({}))).toBe(out);
  });

  it("keeps comments, other keys and plugins, a stricter gate (minutes or a duration), and the user's preapproved entries", () => {
    const before = '# top\nnodeLinker: pnp # ours\nplugins:\n  - path: .yarn/plugins/other.cjs\n    spec: other\nnpmMinimalAgeGate: 14d\nnpmPreapprovedPackages:\n  - "@corp/*" # reviewed\n';
    const out = applyYarnrc(before, settings({ minimumReleaseAgeExclude: ['trusted'] }));
    expect(out).toContain('# top');
    expect(out).toContain('nodeLinker: pnp # ours');
    expect(out).toContain('npmMinimalAgeGate: 14d');
    expect(out).toContain('- "@corp/*" # reviewed');
    expect(parse(out)).toEqual({
      nodeLinker: 'pnp',
      plugins: [{ path: '.yarn/plugins/other.cjs', spec: 'other' }, { path: '.yarn/plugins/safe-install.cjs' }],
      npmMinimalAgeGate: '14d',
      npmPreapprovedPackages: ['@corp/*', 'trusted'],
      enableScripts: false,
    });
    // A weaker gate is raised; yarn's own default (1d) is never lowered by a shorter policy age.
    expect(parse(applyYarnrc('npmMinimalAgeGate: 60\n', settings({}))).npmMinimalAgeGate).toBe(10080);
    expect(parse(applyYarnrc(null, settings({ minimumReleaseAge: '2h' }))).npmMinimalAgeGate).toBe(1440);
    expect(parse(applyYarnrc('npmMinimalAgeGate: "30"\n', settings({ minimumReleaseAge: '2h' }))).npmMinimalAgeGate).toBe(120);
    expect(() => applyYarnrc('npmMinimalAgeGate: soon\n', settings({}))).toThrow(/npmMinimalAgeGate/);
  });

  it('approval entries are marked, and the sync after expiry removes them', () => {
    const live = settings({ exceptions: [{ package: 'fresh@1.1.0', checks: ['*'], reason: 'x', expires: '2026-01-12T00:00:00Z' }] });
    const once = applyYarnrc('npmPreapprovedPackages:\n  - mine\n', live);
    expect(once).toContain('- fresh@1.1.0 # safe-install approval until 2026-01-12T00:00:00Z');
    expect(applyYarnrc(once, live)).toBe(once);
    const after = yarnSettingsFromPolicy(policy({ exceptions: [{ package: 'fresh@1.1.0', checks: ['*'], reason: 'x', expires: '2026-01-12T00:00:00Z' }] }), new Date('2026-02-01T00:00:00Z'));
    expect(parse(applyYarnrc(once, after)).npmPreapprovedPackages).toEqual(['mine']);
  });
});

describe('applyYarnPackageJson', () => {
  it('merges built into dependenciesMeta: other fields kept, an existing built: false kept, a denied name denied in its version entries too', () => {
    const before = JSON.stringify({ name: 'app', dependenciesMeta: { a: { unplugged: true }, b: { built: false }, 'd@1.0.0': { built: true }, mine: { built: true } } }, null, 4) + '\n';
    const { text, notes } = applyYarnPackageJson(before, settings({ scripts: { allow: ['a', 'b'], deny: ['d'] } }));
    expect(JSON.parse(text).dependenciesMeta).toEqual({ a: { unplugged: true, built: true }, b: { built: false }, 'd@1.0.0': { built: false }, mine: { built: true }, d: { built: false } });
    expect(text.startsWith('{\n    "name"')).toBe(true);
    expect(notes.join('\n')).toContain('"mine" already says built: true');
    expect(applyYarnPackageJson(text, settings({ scripts: { allow: ['a', 'b'], deny: ['d'] } })).text).toBe(text);
  });
});

describe('applyYarnLock', () => {
  const lock = [
    '# This file is generated by running "yarn install" inside your project.',
    '# Manual changes might be lost - proceed with caution!',
    '',
    '__metadata:',
    '  version: 8',
    '  cacheKey: 10c0',
    '',
    '"app@workspace:.":',
    '  version: 0.0.0-use.local',
    '  resolution: "app@workspace:."',
    '  dependencies:',
    '    b: "npm:1.0.0"',
    '  languageName: unknown',
    '  linkType: soft',
    '',
  ].join('\n');

  it("writes package.json's dependenciesMeta into the root workspace's entry, and leaves an up-to-date lockfile alone", () => {
    const pkg = JSON.stringify({ dependenciesMeta: { b: { built: true }, 'a@1.0.0': { built: true }, a: { built: false, unplugged: true, other: 1 } } });
    const out = applyYarnLock(lock, pkg)!;
    const entry = (parseSyml(out) as Record<string, Record<string, unknown>>)['app@workspace:.'];
    expect(entry).toBeDefined();
    expect(Object.keys(entry?.dependenciesMeta as object)).toEqual(['a', 'a@1.0.0', 'b']); // stringifySyml sorts, as in yarn's own output
    expect(entry?.dependenciesMeta).toEqual({ 'a@1.0.0': { built: 'true' }, a: { built: 'false', unplugged: 'true' }, b: { built: 'true' } }); // syml reads text
    expect(applyYarnLock(out, pkg)).toBe(out);
    expect(applyYarnLock(lock, '{}')).toBe(lock);
    expect(applyYarnLock(out, '{}')).toBe(lock);
    expect(applyYarnLock('# yarn lockfile v1\n', pkg)).toBe('# yarn lockfile v1\n');
  });
});

describe('arrangementOf (yarn)', () => {
  const project = (files: Record<string, string>) => {
    const dir = mkdtempSync(join(tmpdir(), 'si-arr-'));
    for (const [f, t] of Object.entries(files)) writeFileSync(join(dir, f), t);
    return dir;
  };
  it('yarn from packageManager or a yarn.lock without package-lock.json; 1 or 2+ from the version, the lockfile format or yarnPath', () => {
    expect(arrangementOf(project({}), 'yarn@1.22.22')).toMatchObject({ pm: 'yarn', yarnMajor: 1 });
    expect(arrangementOf(project({}), 'yarn@4.18.1+sha512.abc')).toMatchObject({ pm: 'yarn', yarnMajor: 4 });
    expect(arrangementOf(project({ 'yarn.lock': '# yarn lockfile v1\n' }), undefined)).toMatchObject({ pm: 'yarn', yarnMajor: 1 });
    expect(arrangementOf(project({ 'yarn.lock': '__metadata:\n  version: 8\n' }), undefined)).toMatchObject({ pm: 'yarn', yarnMajor: 2 });
    expect(arrangementOf(project({ 'yarn.lock': '', '.yarnrc.yml': 'yarnPath: .yarn/releases/yarn.cjs\n' }), undefined)).toMatchObject({ pm: 'yarn', yarnMajor: 2 });
    expect(arrangementOf(project({ 'yarn.lock': '', 'package-lock.json': '{}' }), undefined)).toEqual({ pm: 'npm' });
  });
});

describe('the plugin', () => {
  it("is quiet only with safe-install's one-use pass for this project, and reports a failing or missing hook as an error", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'si-plugin-'));
    const path = join(dir, 'plugin.cjs');
    writeFileSync(path, yarnPluginSource());
    const { createRequire } = await import('node:module');
    const plugin = createRequire(import.meta.url)(path) as { factory: () => { hooks: { validateProject: (p: object, r: object) => void } } };
    const errors: string[] = [];
    const report = { reportError: (_: number, m: string) => errors.push(m), reportWarning: () => undefined };
    const saved = { ...process.env };
    const other = mkdtempSync(join(tmpdir(), 'si-other-'));
    try {
      process.env.PATH = dir; // no safe-install here: the hook cannot start unless the plugin is quiet
      await withHookPass(dir, async (pass) => {
        process.env.SAFE_INSTALL_RUNNING = pass.SAFE_INSTALL_RUNNING;
        plugin.factory().hooks.validateProject({ cwd: dir }, report);
        expect(errors).toEqual([]);
        expect(existsSync(pass.SAFE_INSTALL_RUNNING)).toBe(false); // used up
        // The same pass again (a nested install of this project): the hook runs.
        plugin.factory().hooks.validateProject({ cwd: dir }, report);
        expect(errors).toHaveLength(1);
      });
      // Another project's pass, the old `1`, or no marker: the hook runs.
      await withHookPass(other, async (pass) => {
        process.env.SAFE_INSTALL_RUNNING = pass.SAFE_INSTALL_RUNNING;
        plugin.factory().hooks.validateProject({ cwd: dir }, report);
        expect(existsSync(pass.SAFE_INSTALL_RUNNING)).toBe(true);
      });
      process.env.SAFE_INSTALL_RUNNING = '1';
      plugin.factory().hooks.validateProject({ cwd: dir }, report);
      delete process.env.SAFE_INSTALL_RUNNING;
      plugin.factory().hooks.validateProject({ cwd: dir }, report);
      expect(errors).toHaveLength(4);
      for (const e of errors) expect(e).toMatch(/could not start \(ENOENT\)/);
      writeFileSync(join(dir, 'safe-install'), '#!/bin/sh\nexit 3\n', { mode: 0o755 });
      plugin.factory().hooks.validateProject({ cwd: dir }, report);
      expect(errors[4]).toMatch(/refused the install \(exit 3\)/);
    } finally {
      process.env = saved;
    }
    expect(readFileSync(path, 'utf8')).not.toContain("=== '1'");
  });
});
