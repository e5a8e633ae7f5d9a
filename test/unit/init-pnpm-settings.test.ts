// The pnpm settings init writes: from the policy to pnpm-workspace.yaml (pnpm 10+) and package.json (the hook;
// pnpm 9's build list), never wider than the policy and never losing what was there.
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { compilePolicy } from '../../src/policy/load.js';
import { applyPnpmPackageJson, applyWorkspaceYaml, pnpmSettingsFromPolicy } from '../../src/init/pnpm-settings.js';

const NOW = new Date('2026-01-10T00:00:00Z');
const policy = (doc: object) => compilePolicy(doc as never, '/p/safe-install.policy.json');
const settings = (doc: object) => pnpmSettingsFromPolicy(policy(doc), NOW);

describe('pnpmSettingsFromPolicy', () => {
  it('writes names and exact versions; globs and ranges are left out with a note; a denial wins', () => {
    const s = settings({
      minimumReleaseAge: '3d',
      minimumReleaseAgeExclude: ['trusted', '@corp/*'],
      scripts: { allow: ['esbuild', 'sharp@0.33.5 || 0.33.4', '@swc/*', 'canvas@^2', 'both'], deny: ['core-js', 'both'] },
    });
    expect(s.minReleaseAgeMinutes).toBe(3 * 24 * 60);
    expect(s.excludes).toEqual(['trusted']);
    expect(s.allow).toEqual(['esbuild', 'sharp@0.33.5 || 0.33.4']);
    expect(s.deny).toEqual(['core-js', 'both']);
    expect(s.notes.join('\n')).toContain('"@swc/*"');
    expect(s.notes.join('\n')).toContain('"canvas@^2"');
    expect(s.notes.join('\n')).toContain('"@corp/*"');
  });

  it('a live approval of a young version becomes an exact-version exclusion; an expired one does not', () => {
    const s = settings({
      exceptions: [
        { package: 'fresh@1.1.0', checks: ['release-age'], reason: 'x', expires: '2026-01-12T00:00:00Z' },
        { package: 'old@2.0.0', checks: ['release-age'], reason: 'x', expires: '2026-01-01T00:00:00Z' },
        { package: 'sig@1.0.0', checks: ['signature'], reason: 'x', expires: '2026-01-12T00:00:00Z' },
      ],
    });
    expect(s.approvals).toEqual([{ entry: 'fresh@1.1.0', expires: '2026-01-12T00:00:00Z' }]);
  });
});

describe('applyWorkspaceYaml', () => {
  it('creates the settings in a new file', () => {
    const out = applyWorkspaceYaml(null, settings({ scripts: { allow: ['a'], deny: ['d'] } }));
    expect(parse(out)).toEqual({ minimumReleaseAge: 10080, onlyBuiltDependencies: ['a'], ignoredBuiltDependencies: ['d'], strictDepBuilds: true });
    expect(applyWorkspaceYaml(out, settings({ scripts: { allow: ['a'], deny: ['d'] } }))).toBe(out);
  });

  it('keeps comments, other keys, a stricter age and existing entries; an allowed name that is now denied leaves the allow list', () => {
    const before = '# top\npackages:\n  - "pkgs/*"\nminimumReleaseAge: 99999 # stricter\nonlyBuiltDependencies:\n  - mine # reviewed\n  - d\nstrictDepBuilds: false\n';
    const out = applyWorkspaceYaml(before, settings({ scripts: { allow: ['a'], deny: ['d'] } }));
    expect(out).toContain('# top');
    expect(out).toContain('minimumReleaseAge: 99999 # stricter');
    expect(out).toContain('- mine # reviewed');
    expect(parse(out)).toEqual({ packages: ['pkgs/*'], minimumReleaseAge: 99999, onlyBuiltDependencies: ['mine', 'a'], ignoredBuiltDependencies: ['d'], strictDepBuilds: true });
  });

  it("approval exclusions are marked, and the sync after expiry removes them (the user's own entries stay)", () => {
    const live = settings({ exceptions: [{ package: 'fresh@1.1.0', checks: ['*'], reason: 'x', expires: '2026-01-12T00:00:00Z' }] });
    const once = applyWorkspaceYaml('minimumReleaseAgeExclude:\n  - mine\n', live);
    expect(once).toContain('- fresh@1.1.0 # safe-install approval until 2026-01-12T00:00:00Z');
    expect(parse(once).minimumReleaseAgeExclude).toEqual(['mine', 'fresh@1.1.0']);
    expect(applyWorkspaceYaml(once, live)).toBe(once);
    const expired = pnpmSettingsFromPolicy(policy({ exceptions: [{ package: 'fresh@1.1.0', checks: ['*'], reason: 'x', expires: '2026-01-12T00:00:00Z' }] }), new Date('2026-02-01T00:00:00Z'));
    expect(parse(applyWorkspaceYaml(once, expired)).minimumReleaseAgeExclude).toEqual(['mine']);
  });

  it('moves neverBuiltDependencies (which pnpm refuses beside onlyBuiltDependencies) to ignoredBuiltDependencies, and carries package.json lists over', () => {
    const out = applyWorkspaceYaml('neverBuiltDependencies:\n  - nb\n', settings({}), { onlyBuiltDependencies: ['from-pkg'], ignoredBuiltDependencies: ['ig'] });
    expect(parse(out)).toEqual({ minimumReleaseAge: 10080, onlyBuiltDependencies: ['from-pkg'], ignoredBuiltDependencies: ['nb', 'ig'], strictDepBuilds: true });
  });

  it("writes into pnpm 11's allowBuilds map when the file uses it (an existing false stays)", () => {
    const out = applyWorkspaceYaml('allowBuilds:\n  x: false\n', settings({ scripts: { allow: ['a', 'x'], deny: ['d'] } }));
    expect(parse(out)).toEqual({ allowBuilds: { x: false, a: true, d: false }, minimumReleaseAge: 10080, strictDepBuilds: true });
  });

  it('refuses a file that is not YAML', () => {
    expect(() => applyWorkspaceYaml('a: [\n', settings({}))).toThrow(/not valid YAML/);
  });
});

describe('applyPnpmPackageJson', () => {
  it('puts the hook first in pnpm:devPreinstall, chaining an existing script; idempotent', () => {
    const s = settings({});
    const once = applyPnpmPackageJson('{\n    "name": "x",\n    "scripts": { "pnpm:devPreinstall": "node pre.js" }\n}\n', s, { legacyBuilds: false }).text;
    expect(JSON.parse(once).scripts['pnpm:devPreinstall']).toBe('safe-install hook && node pre.js');
    expect(once).toMatch(/^ {4}"name"/m); // indentation kept
    expect(applyPnpmPackageJson(once, s, { legacyBuilds: false }).text).toBe(once);
    expect(JSON.parse(once).pnpm).toBeUndefined();
  });

  it('pnpm 9: the build allowlist in the pnpm field (empty still means "build nothing unlisted"); neverBuiltDependencies cannot sit beside it', () => {
    const s = settings({ scripts: { allow: ['a'], deny: ['old'] } });
    expect(JSON.parse(applyPnpmPackageJson('{"pnpm":{"onlyBuiltDependencies":["old","mine"]}}', s, { legacyBuilds: true }).text).pnpm).toEqual({ onlyBuiltDependencies: ['mine', 'a'] });
    expect(JSON.parse(applyPnpmPackageJson('{}', settings({}), { legacyBuilds: true }).text).pnpm).toEqual({ onlyBuiltDependencies: [] });
    const never = applyPnpmPackageJson('{"pnpm":{"neverBuiltDependencies":["x"]}}', s, { legacyBuilds: true });
    expect(JSON.parse(never.text).pnpm).toEqual({ neverBuiltDependencies: ['x'] });
    expect(never.notes.join()).toContain('neverBuiltDependencies');
  });
});
