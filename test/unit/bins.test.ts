// The bins check and what it is built on: bin names as npm normalizes them, the protected commands (static and
// on PATH), the check's decision by policy, and bin names two packages link into one folder.
import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { binNamesOf } from '../../src/util/bin-names.js';
import { shadowableCommands } from '../../src/checks/commands.js';
import { binConflicts, binDirOf, bins } from '../../src/checks/bins.js';
import { slimPackument } from '../../src/registry/facts.js';
import { readNpmLockfile } from '../../src/lockfile/npm.js';
import { readYarnLockfile } from '../../src/lockfile/yarn.js';
import { decide } from '../../src/verdict/verdict.js';
import type { LockedTree } from '../../src/lockfile/types.js';
import { NOW, facts, pkg, policy } from './helpers.js';
import { at } from '../../src/util/at.js';

const noPath = shadowableCommands('');
const ctx = (doc = {}) => ({ now: NOW, policy: policy(doc), commands: noPath });

describe('bin names, as npm links them', () => {
  it('a string bin is named after the package (without its scope); paths are reduced to their last part', () => {
    expect(binNamesOf({ name: '@evil/node', bin: 'cli.js' })).toEqual(['node']);
    expect(binNamesOf({ name: 'x', bin: { '../../bin/node': 'a.js', 'sub\\git': 'b.js', ok: 'c.js' } })).toEqual(['git', 'node', 'ok']);
    expect(binNamesOf({ name: 'x', bin: { '..': 'a.js', '': 'b.js', npm: 42 } })).toEqual([]);
    expect(binNamesOf({ name: 'x', bin: ['bin/npx'] })).toEqual(['npx']);
    expect(binNamesOf({ name: 'x', bin: 7 })).toEqual([]);
  });

  it('the registry facts record every version bin names; the npm lockfile reader the lockfile bins', () => {
    const doc = { name: 'evil', versions: { '1.0.0': { name: 'evil', version: '1.0.0', bin: { node: 'e.sh' } }, '0.9.0': { name: 'evil', version: '0.9.0' } }, time: {} };
    const f = slimPackument(doc, 'http://r.test/', NOW, new Set(['1.0.0']));
    expect(f.versions['1.0.0']?.bins).toEqual(['node']);
    expect(f.versions['0.9.0']).toBeDefined();
    expect(f.versions['0.9.0']?.bins).toBeUndefined();
    const lock = {
      lockfileVersion: 3,
      packages: { '': { name: 'app' }, 'node_modules/innocent': { version: '1.0.0', integrity: 'sha512-x', bin: { sh: 'index.js' } }, 'node_modules/plain': { version: '1.0.0' } },
    };
    const tree = readNpmLockfile('/p/package-lock.json', JSON.stringify(lock));
    expect(tree.packages.find((p) => p.name === 'innocent')!.bins).toEqual(['sh']);
    expect(tree.packages.find((p) => p.name === 'plain')!.bins).toBeUndefined();

    const berry = [
      '__metadata:\n  version: 8\n  cacheKey: 10c0\n',
      '"app@workspace:.":\n  version: 0.0.0-use.local\n  resolution: "app@workspace:."\n  dependencies:\n    innocent: "npm:^1.0.0"\n  languageName: unknown\n  linkType: soft\n',
      '"innocent@npm:^1.0.0":\n  version: 1.0.0\n  resolution: "innocent@npm:1.0.0"\n  bin:\n    git: index.js\n  checksum: 10c0/' + 'ab'.repeat(64) + '\n  languageName: node\n  linkType: hard\n',
    ].join('\n');
    const yarnTree = readYarnLockfile('/p/yarn.lock', berry);
    expect(yarnTree.packages.find((p) => p.name === 'innocent')!.bins).toEqual(['git']);
  });
});

describe('protected commands', () => {
  it('the commands scripts rely on, wherever PATH is', () => {
    for (const c of ['node', 'npm', 'npx', 'pnpm', 'yarn', 'corepack', 'sh', 'bash', 'git', 'python', 'make', 'cc', 'gcc', 'env']) {
      expect(noPath.shadows(c, 'anything'), c).toBeDefined();
    }
    expect(noPath.shadows('tsc', 'anything')).toBeUndefined();
  });

  it('every command on PATH, except node_modules/.bin folders; a package may shadow its own global bin', () => {
    const dir = mkdtempSync(join(tmpdir(), 'si-cmd-'));
    const bin = join(dir, 'bin');
    const projectBin = join(dir, 'proj', 'node_modules', '.bin');
    const global = join(dir, 'lib', 'node_modules', 'typescript', 'bin');
    for (const d of [bin, projectBin, global]) mkdirSync(d, { recursive: true });
    writeFileSync(join(bin, 'curl'), '');
    writeFileSync(join(projectBin, 'esbuild'), '');
    writeFileSync(join(global, 'tsc'), '');
    symlinkSync(join(global, 'tsc'), join(bin, 'tsc'));
    const c = shadowableCommands([bin, projectBin, 'relative/bin'].join(':'));
    expect(c.shadows('curl', 'evil')).toContain(join(bin, 'curl'));
    expect(c.shadows('esbuild', 'evil')).toBeUndefined();
    expect(c.shadows('tsc', 'typescript')).toBeUndefined();
    expect(c.shadows('tsc', 'evil-tsc')).toContain('on PATH');
  });
});

describe('the bins check', () => {
  const evil = facts('evil', { '1.0.0': { bins: ['node'] } });

  it('blocks a bin that shadows a command, by the registry manifest or by the lockfile', () => {
    const f = at(bins.run(pkg({ name: 'evil', version: '1.0.0' }), { facts: evil }, ctx()), 0);
    expect(f).toMatchObject({ check: 'bins', code: 'bin-shadows-command', action: 'block' });
    expect(f.message).toContain('per the registry manifest');
    expect(f.remedy).toContain('"bins": { "allow": ["evil"] }');
    const g = at(bins.run(pkg({ name: 'innocent', version: '1.0.0', bins: ['sh', 'ok'] }), { facts: facts('innocent', { '1.0.0': {} }) }, ctx()), 0);
    expect(g).toMatchObject({ code: 'bin-shadows-command', action: 'block' });
    expect(g.message).toContain('"sh" (per the lockfile)');
  });

  it('bins.allow lets a named package in; a workspace link is never judged', () => {
    const f = at(bins.run(pkg({ name: 'evil', version: '1.0.0' }), { facts: evil }, ctx({ bins: { allow: ['evil@^1'] } })), 0);
    expect(f).toMatchObject({ action: 'allow', severity: 'info' });
    expect(bins.run(pkg({ name: 'evil', version: '1.0.0' }), { facts: evil }, ctx({ bins: { allow: ['evil@^2'] } }))[0]?.action).toBe('block');
    expect(bins.run(pkg({ name: 'ws', version: '1.0.0', source: 'link', bins: ['node'] }), { facts: undefined }, ctx())).toEqual([]);
  });

  it('the action follows the policy, and an exception for the bins check waives it', () => {
    expect(bins.run(pkg({ name: 'evil', version: '1.0.0' }), { facts: evil }, ctx({ actions: { 'bin-shadows-command': 'warn' } }))[0]?.action).toBe('warn');
    const doc = { exceptions: [{ package: 'evil', checks: ['bins' as const], reason: 'we ship node', expires: '2099-01-01T00:00:00Z' }] };
    const p = pkg({ name: 'evil', version: '1.0.0' });
    expect(decide(p, bins.run(p, { facts: evil }, ctx(doc)), policy(doc), NOW).verdict).toBe('allow');
    expect(() => policy({ bins: { allow: ['@@bad'] } })).toThrow(/bins\.allow\[0\]/);
  });

  it('two packages linking one name into one .bin folder are reported on both; nested folders are apart', () => {
    expect(binDirOf('node_modules/@s/a')).toBe('node_modules/.bin');
    expect(binDirOf('node_modules/a/node_modules/b')).toBe('node_modules/a/node_modules/.bin');
    const a = pkg({ name: 'a', version: '1.0.0', bins: ['tool'] });
    const b = pkg({ name: 'b', version: '2.0.0', bins: ['tool'] });
    const c = pkg({ name: 'c', version: '1.0.0', bins: ['tool'], paths: ['node_modules/a/node_modules/c'] });
    const tree: LockedTree = { lockfilePath: '/p/package-lock.json', format: 'npm-v3', root: { dir: '/p' }, workspaces: [], packages: [a, b, c] };
    const out = binConflicts(tree, (p) => p.bins ?? [], policy());
    expect([...out.keys()].map((p) => p.name).sort()).toEqual(['a', 'b']);
    expect(out.get(a)![0]).toMatchObject({ code: 'bin-name-conflict', action: 'warn' });
    expect(out.get(a)![0]?.message).toContain('as b@2.0.0 also does');
  });
});
