// init edits the user's package.json: a field of the wrong type there is the user's to fix (a bad-config error
// naming it), never an internal error nor something init overwrites.
import { describe, expect, it } from 'vitest';
import { compilePolicy } from '../../src/policy/load.js';
import { applyPackageJson, HOOK } from '../../src/init/npm-settings.js';
import { applyPnpmPackageJson, PNPM_HOOK_SCRIPT, pnpmSettingsFromPolicy } from '../../src/init/pnpm-settings.js';
import { applyYarnPackageJson, yarnSettingsFromPolicy } from '../../src/init/yarn-settings.js';

const NOW = new Date('2026-01-10T00:00:00Z');
const policy = compilePolicy({ scripts: { allow: ['a'] } } as never, '/p/safe-install.policy.json');
const npm = (text: string) => applyPackageJson(text, { minReleaseAgeDays: 0, excludes: [], allowScripts: { a: true }, notes: [] });
const pnpm = (text: string) => applyPnpmPackageJson(text, pnpmSettingsFromPolicy(policy, NOW), { legacyBuilds: true }).text;
const yarn = (text: string) => applyYarnPackageJson(text, yarnSettingsFromPolicy(policy, NOW)).text;
const doc = (o: unknown) => JSON.stringify(o);

describe('init on a package.json with fields of the wrong type', () => {
  it.each([
    ['npm: "scripts" a string', () => npm(doc({ scripts: 'oops' })), /"scripts" is a string, not an object/],
    ['npm: "scripts" an array', () => npm(doc({ scripts: ['x'] })), /"scripts" is an array/],
    ['npm: "allowScripts" a number', () => npm(doc({ allowScripts: 1 })), /"allowScripts" is a number/],
    ['npm: "preinstall" a number', () => npm(doc({ scripts: { preinstall: 5 } })), /"scripts"\."preinstall" is a number, not a command/],
    ['npm: the document an array', () => npm('[]'), /the whole document\) is an array/],
    ['npm: the document null', () => npm('null'), /is null/],
    ['pnpm: "scripts" a string', () => pnpm(doc({ scripts: 'oops' })), /"scripts" is a string/],
    ['pnpm: "pnpm" a string', () => pnpm(doc({ pnpm: 'x' })), /"pnpm" is a string/],
    ['yarn: "dependenciesMeta" a string', () => yarn(doc({ dependenciesMeta: 'x' })), /"dependenciesMeta" is a string/],
    ['yarn: an entry of "dependenciesMeta" a boolean', () => yarn(doc({ dependenciesMeta: { a: true } })), /"dependenciesMeta"\."a" is a boolean/],
  ])('%s: a bad-config error naming the field', (_, run, message) => {
    expect(run).toThrow(expect.objectContaining({ name: 'GuardError', code: 'bad-config', message: expect.stringMatching(message) }));
  });

  it('still adds the hook where "scripts" is absent or null, and puts it first in an existing script', () => {
    expect(JSON.parse(npm(doc({ scripts: null }))).scripts).toEqual({ preinstall: HOOK });
    expect(JSON.parse(npm(doc({ scripts: { preinstall: 'echo hi' } }))).scripts).toEqual({ preinstall: `${HOOK} && echo hi` });
    expect(JSON.parse(npm(doc({ allowScripts: null }))).allowScripts).toEqual({ a: true });
    expect(JSON.parse(pnpm(doc({}))).scripts).toEqual({ [PNPM_HOOK_SCRIPT]: HOOK });
    expect(JSON.parse(yarn(doc({ dependenciesMeta: { b: { optional: true } } }))).dependenciesMeta).toEqual({ b: { optional: true }, a: { built: true } });
  });
});
