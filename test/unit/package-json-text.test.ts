// package.json edits (init for npm, pnpm and yarn; fix's overrides) go through one module that reads the file
// with npm's own reader and writes it back in its own look: indentation, line endings, byte order mark.
import { describe, expect, it } from 'vitest';
import { editPackageJson, parsePackageJson } from '../../src/project/package-json-text.js';
import { applyPackageJson, type NpmGuardSettings } from '../../src/init/npm-settings.js';
import { applyPnpmPackageJson, type PnpmGuardSettings } from '../../src/init/pnpm-settings.js';
import { applyYarnPackageJson, type YarnGuardSettings } from '../../src/init/yarn-settings.js';

const npm: NpmGuardSettings = { minReleaseAgeDays: 1, excludes: [], allowScripts: { esbuild: true }, notes: [] };

describe('editPackageJson', () => {
  it('keeps tabs and CRLF line endings', () => {
    const text = '{\r\n\t"name": "app",\r\n\t"version": "1.0.0"\r\n}\r\n';
    const out = editPackageJson(text, (doc) => {
      doc.private = true;
    });
    expect(out).toBe('{\r\n\t"name": "app",\r\n\t"version": "1.0.0",\r\n\t"private": true\r\n}\r\n');
  });

  it('keeps four-space indentation and a byte order mark', () => {
    const text = '\uFEFF{\n    "name": "app",\n    "scripts": {\n        "test": "vitest"\n    }\n}\n';
    const out = editPackageJson(text, (doc) => {
      (doc.scripts as Record<string, string>).build = 'tsc';
    });
    expect(out).toBe('\uFEFF{\n    "name": "app",\n    "scripts": {\n        "test": "vitest",\n        "build": "tsc"\n    }\n}\n');
  });

  it('a file written on one line stays on one line', () => {
    expect(editPackageJson('{"name":"app"}', (doc) => void (doc.private = true))).toBe('{"name":"app","private":true}');
  });

  it('a blank line after the opening brace does not double every line break', () => {
    const out = editPackageJson('{\n\n  "name": "app"\n}\n', (doc) => void (doc.private = true));
    expect(out).toBe('{\n  "name": "app",\n  "private": true\n}\n');
  });

  it('refuses text that is not a JSON object', () => {
    expect(() => parsePackageJson('[1, 2]')).toThrow(/not a JSON object/);
    expect(() => parsePackageJson('{"name": ')).toThrow();
  });
});

describe("init's package.json edits keep the file's look and everything they do not set", () => {
  // A name in both dependencies and peerDependencies: @npmcli/package-json's update() would copy the peer range
  // over the dependency's on any update; init must leave both as written.
  const text = [
    '{',
    '\t"name": "app",',
    '\t"dependencies": { "react": "^18.2.0", "left-pad": "1.3.0" },',
    '\t"peerDependencies": { "react": ">=16" },',
    '\t"scripts": { "test": "vitest" }',
    '}',
    '',
  ].join('\r\n');

  const check = (out: string) => {
    expect(out).toContain('\r\n\t"name": "app",\r\n');
    expect(out).not.toMatch(/[^\r]\n/);
    const doc = JSON.parse(out) as Record<string, Record<string, string>>;
    expect(doc.dependencies).toEqual({ react: '^18.2.0', 'left-pad': '1.3.0' });
    expect(doc.peerDependencies).toEqual({ react: '>=16' });
    expect(doc.scripts!.test).toBe('vitest');
    return doc;
  };

  it('npm: the hook and allowScripts', () => {
    const doc = check(applyPackageJson(text, npm));
    expect(doc.scripts!.preinstall).toBe('safe-install hook');
    expect(doc.allowScripts).toEqual({ esbuild: true });
  });

  it('pnpm: the hook in pnpm:devPreinstall, pnpm 9 build list', () => {
    const s: PnpmGuardSettings = { minReleaseAgeMinutes: 1440, excludes: [], approvals: [], allow: ['esbuild'], deny: [], notes: [] };
    const doc = check(applyPnpmPackageJson(text, s, { legacyBuilds: true }).text);
    expect(doc.scripts!['pnpm:devPreinstall']).toBe('safe-install hook');
    expect(doc.pnpm).toEqual({ onlyBuiltDependencies: ['esbuild'] });
  });

  it('yarn 2+: dependenciesMeta', () => {
    const s: YarnGuardSettings = { minReleaseAgeMinutes: 1440, excludes: [], approvals: [], built: { esbuild: true }, notes: [] };
    const doc = check(applyYarnPackageJson(text, s).text);
    expect(doc.dependenciesMeta).toEqual({ esbuild: { built: true } });
  });
});
