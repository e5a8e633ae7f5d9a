import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import semver from 'semver';
import { readNpmLockfile } from '../../src/lockfile/npm.js';
import { MAX_NESTING } from '../../src/lockfile/npm-paths.js';
import { MAX_LOCKFILE_BYTES, readLockfile } from '../../src/lockfile/index.js';
import { lockfileError } from './helpers.js';
import type { LockedPackage, LockedTree } from '../../src/lockfile/types.js';
import { at } from '../../src/util/at.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/lockfiles');
const NPM_V3 = 'npm_cli@780afc50e3a3__package-lock.json';
const JQUERY_V3 = 'jquery_jquery@51eb576cca6f__package-lock.json';
const NPM_V1 = 'npm_cli@87a15597586d__package-lock.json';

type Raw = Record<string, any>;

function load(file: string): { path: string; text: string; raw: Raw; tree: LockedTree } {
  const path = join(FIXTURES, file);
  const text = readFileSync(path, 'utf8');
  return { path, text, raw: JSON.parse(text), tree: readNpmLockfile(path, text) };
}

/** Independent of the reader: the install path one level up, '' for top level, undefined for folders. */
function parentKey(key: string): string | undefined {
  const i = key.lastIndexOf('/node_modules/');
  if (i >= 0) return key.slice(0, i);
  return key.startsWith('node_modules/') ? '' : undefined;
}

/** Nearest ancestor key whose entry is not inBundle/bundled. */
function carrier(entries: Raw, key: string, flag: 'inBundle' | 'bundled'): string | undefined {
  let p = parentKey(key);
  while (p !== undefined && p !== '' && entries[p]?.[flag]) p = parentKey(p);
  return p;
}

function byPath(tree: LockedTree): Map<string, LockedPackage> {
  const m = new Map<string, LockedPackage>();
  for (const p of tree.packages) for (const path of p.paths) m.set(path, p);
  return m;
}

/** Dependents whose range is not satisfied by the copy they resolved to (aliases: the range after `npm:name@`). */
function unsatisfied(tree: LockedTree): string[] {
  const bad: string[] = [];
  for (const p of tree.packages) {
    for (const d of p.dependents) {
      const range = d.range.startsWith('npm:') ? d.range.slice(d.range.lastIndexOf('@') + 1) : d.range;
      if (!semver.validRange(range) || !semver.satisfies(p.version, range, { includePrerelease: true })) {
        bad.push(`${p.id} <- ${d.name} ${d.range}`);
      }
    }
  }
  return bad;
}

/** Every lockfileLine points at its first path's key, at the indentation of that nesting level. */
function badLines(tree: LockedTree, text: string, v1: boolean): string[] {
  const lines = text.split('\n');
  const bad: string[] = [];
  for (const p of tree.packages) {
    const key = at(p.paths, 0);
    const depth = key.split('node_modules/').length - 1;
    const expected = v1 ? `${' '.repeat(4 * depth)}${JSON.stringify(key.slice(key.lastIndexOf('node_modules/') + 13))}: {` : `    ${JSON.stringify(key)}: {`;
    if (p.lockfileLine === undefined || lines[p.lockfileLine - 1] !== expected) bad.push(`${p.id} -> ${p.lockfileLine}`);
  }
  return bad;
}

function v3(packages: Raw, lockfileVersion: unknown = 3): string {
  return JSON.stringify({ name: 'app', version: '1.0.0', lockfileVersion, requires: true, packages }, null, 2);
}

function v1(dependencies: Raw): string {
  return JSON.stringify({ name: 'app', version: '1.0.0', lockfileVersion: 1, requires: true, dependencies }, null, 2);
}

function read(text: string, opts?: { rootManifest?: unknown }): LockedTree {
  return readNpmLockfile('/proj/package-lock.json', text, opts);
}

function pkg(tree: LockedTree, path: string): LockedPackage {
  const p = byPath(tree).get(path);
  if (!p) throw new Error(`no package at ${path}`);
  return p;
}

const SHA = 'sha512-' + 'A'.repeat(86) + '==';
const reg = (name: string, version: string) => `https://registry.npmjs.org/${name}/-/${name.replace(/^@[^/]+\//, '')}-${version}.tgz`;

describe('npm/cli v3 lockfile (workspaces, root bundleDependencies, tap bundle)', () => {
  const { text, raw, tree } = load(NPM_V3);
  const P: Raw = raw.packages;
  const keys = Object.keys(P).filter((k) => k !== '');
  const paths = byPath(tree);

  it('reads the format, the root, and every entry exactly once', () => {
    expect(tree.format).toBe('npm-v3');
    expect(tree.root).toEqual({ name: 'npm', version: '10.9.0', dir: FIXTURES });
    expect(keys).toHaveLength(1273);
    const all = tree.packages.flatMap((p) => p.paths);
    expect(new Set(all).size).toBe(all.length);
    expect(new Set(all)).toEqual(new Set(keys));
    expect(new Set(tree.packages.map((p) => p.id)).size).toBe(tree.packages.length);
  });

  it('has as many registry packages as distinct non-bundled registry entries', () => {
    const distinct = new Set<string>();
    for (const k of keys) {
      const e = P[k];
      if (e.link || parentKey(k) === undefined) continue; // links and workspace folders
      if (e.inBundle && carrier(P, k, 'inBundle') !== '') continue; // inside another package's tarball
      distinct.add([e.name ?? k.slice(k.lastIndexOf('node_modules/') + 13), e.version, e.resolved, e.integrity].join(' '));
    }
    const registry = tree.packages.filter((p) => p.source === 'registry');
    expect(registry).toHaveLength(distinct.size);
    expect(tree.packages.filter((p) => !['registry', 'bundled', 'link'].includes(p.source))).toEqual([]);
  });

  it("marks tap's bundled entries bundled, carried by tap, and the root's own bundleDependencies registry", () => {
    const inBundle = keys.filter((k) => P[k].inBundle);
    const carried = inBundle.filter((k) => carrier(P, k, 'inBundle') !== '');
    expect(inBundle).toHaveLength(356);
    expect(carried).toHaveLength(163);
    for (const k of carried) {
      const p = paths.get(k)!;
      expect(p.source, k).toBe('bundled');
      expect(p.bundledIn, k).toBe(paths.get(carrier(P, k, 'inBundle')!)!.id);
    }
    expect(new Set(carried.map((k) => paths.get(k)!.bundledIn))).toEqual(new Set(['tap@16.3.10']));
    for (const k of inBundle.filter((k) => !carried.includes(k))) {
      expect(paths.get(k)!.source, k).toBe('registry');
      expect(paths.get(k)!.bundledIn, k).toBeUndefined();
    }
    // Root bundleDependencies are also direct dependencies.
    expect(paths.get('node_modules/pacote')).toMatchObject({ source: 'registry', direct: true });
  });

  it('treats the 179 entries without resolved/integrity as folders or bundled, never skipped', () => {
    const bare = keys.filter((k) => P[k].resolved === undefined && P[k].integrity === undefined);
    expect(bare).toHaveLength(179);
    for (const k of bare) expect(['link', 'bundled'], k).toContain(paths.get(k)!.source);
  });

  it('reports each workspace once as a link, named by its package.json (npm omits it when it is the folder name)', () => {
    const links = keys.filter((k) => P[k].link);
    expect(links).toHaveLength(16);
    const linkPkgs = tree.packages.filter((p) => p.source === 'link');
    expect(linkPkgs).toHaveLength(16);
    for (const k of links) {
      const target = P[k].resolved as string;
      const p = paths.get(k)!;
      const name = P[target].name ?? target.slice(target.lastIndexOf('/') + 1);
      expect(p).toMatchObject({ source: 'link', name, version: P[target].version, id: `${name}@${target}`, aliases: [] });
      expect(p.paths.sort()).toEqual([k, target].sort());
    }
    expect(paths.get('node_modules/@npmcli/arborist')).toMatchObject({
      direct: true,
      dependents: [{ name: '(root)', range: '^8.0.0' }],
    });
  });

  it('counts dependencies of workspaces as direct', () => {
    let checked = 0;
    for (const ws of keys.filter((k) => parentKey(k) === undefined)) {
      const deps = { ...P[ws].dependencies, ...P[ws].optionalDependencies, ...P[ws].devDependencies };
      for (const [name, range] of Object.entries(deps)) {
        const nested = paths.get(`${ws}/node_modules/${name}`);
        const p = nested ?? paths.get(`node_modules/${name}`);
        expect(p, `${ws} -> ${name}`).toBeDefined();
        expect(p!.direct).toBe(true);
        expect(p!.dependents).toContainEqual({ name: '(root)', range });
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(100);
  });

  it('resolves every dependent to a copy whose version satisfies its range', () => {
    expect(unsatisfied(tree)).toEqual([]);
    const deps = tree.packages.reduce((n, p) => n + p.dependents.length, 0);
    expect(deps).toBeGreaterThan(2000);
  });

  it('keeps install scripts, aliases, flags and lines', () => {
    expect(
      tree.packages
        .filter((p) => p.hasInstallScript)
        .map((p) => p.name)
        .sort(),
    ).toEqual(['@npmcli/template-oss', 'fsevents']);
    expect(paths.get('node_modules/string-width-cjs')).toMatchObject({ name: 'string-width', id: 'string-width@4.2.3' });
    expect(paths.get('node_modules/string-width-cjs')!.aliases).toEqual(['string-width-cjs']);
    expect(paths.get('node_modules/fsevents')).toMatchObject({ dev: true, optional: true });
    expect(badLines(tree, text, false)).toEqual([]);
    // Packages come in lockfile order.
    const lines = tree.packages.map((p) => p.lockfileLine!);
    expect(lines).toEqual([...lines].sort((a, b) => a - b));
  });
});

describe('jquery v3 lockfile', () => {
  const { text, raw, tree } = load(JQUERY_V3);
  const P: Raw = raw.packages;
  const keys = Object.keys(P).filter((k) => k !== '');
  const paths = byPath(tree);

  it('has one registry package per distinct entry', () => {
    expect(keys).toHaveLength(820);
    const distinct = new Set(keys.map((k) => [P[k].name ?? k.slice(k.lastIndexOf('node_modules/') + 13), P[k].version, P[k].resolved, P[k].integrity].join(' ')));
    expect(tree.packages).toHaveLength(distinct.size);
    expect(tree.packages.every((p) => p.source === 'registry')).toBe(true);
  });

  it("marks exactly the root's devDependencies as direct", () => {
    const rootDeps = Object.keys(P[''].devDependencies);
    const expected = new Set(rootDeps.map((n) => paths.get(`node_modules/${n}`)!.id));
    expect(new Set(tree.packages.filter((p) => p.direct).map((p) => p.id))).toEqual(expected);
    expect(tree.packages.filter((p) => p.direct).every((p) => p.dev)).toBe(true);
  });

  it('reads the npm: alias of the root', () => {
    expect(paths.get('node_modules/promises-aplus-tests')).toMatchObject({
      id: '@mgol/promises-aplus-tests@2.1.2-mgol.2',
      name: '@mgol/promises-aplus-tests',
      aliases: ['promises-aplus-tests'],
      source: 'registry',
      direct: true,
      dependents: [{ name: '(root)', range: 'npm:@mgol/promises-aplus-tests@2.1.2-mgol.2' }],
    });
  });

  it('keeps install scripts, ranges and lines', () => {
    expect(
      tree.packages
        .filter((p) => p.hasInstallScript)
        .map((p) => p.name)
        .sort(),
    ).toEqual(['@swc/core', 'commitplease', 'core-js-bundle', 'fsevents']);
    expect(unsatisfied(tree)).toEqual([]);
    expect(badLines(tree, text, false)).toEqual([]);
  });
});

describe('npm/cli v1 lockfile (nested dependencies)', () => {
  const { text, raw, tree } = load(NPM_V1);
  const flat: Raw = {};
  const walk = (deps: Raw, prefix: string) => {
    for (const [name, e] of Object.entries<Raw>(deps)) {
      const key = `${prefix}node_modules/${name}`;
      flat[key] = e;
      if (e.dependencies) walk(e.dependencies, `${key}/`);
    }
  };
  walk(raw.dependencies, '');
  const keys = Object.keys(flat);
  const paths = byPath(tree);

  it('reads every nested entry exactly once', () => {
    expect(tree.format).toBe('npm-v1');
    expect(tree.root).toMatchObject({ name: 'npm', version: '6.13.7' });
    expect(keys).toHaveLength(1023);
    const all = tree.packages.flatMap((p) => p.paths);
    expect(new Set(all).size).toBe(all.length);
    expect(new Set(all)).toEqual(new Set(keys));
  });

  it('marks the 134 bundled entries bundled in their carrier, the rest registry', () => {
    const bundled = keys.filter((k) => flat[k].bundled);
    expect(bundled).toHaveLength(134);
    for (const k of bundled) {
      expect(paths.get(k)!.source, k).toBe('bundled');
      expect(paths.get(k)!.bundledIn, k).toBe(paths.get(carrier(flat, k, 'bundled')!)!.id);
    }
    const distinct = new Set(keys.filter((k) => !flat[k].bundled).map((k) => [k.slice(k.lastIndexOf('node_modules/') + 13), flat[k].version, flat[k].resolved, flat[k].integrity].join(' ')));
    expect(tree.packages.filter((p) => p.source === 'registry')).toHaveLength(distinct.size);
  });

  it('resolves requires through nested node_modules first', () => {
    // @babel/generator has its own lodash 4.17.15; the top-level lodash is 4.17.11.
    const nested = paths.get('node_modules/@babel/generator/node_modules/lodash')!;
    expect(nested.version).toBe('4.17.15');
    expect(nested.dependents).toContainEqual({ name: '@babel/generator', range: '^4.17.13' });
    expect(paths.get('node_modules/lodash')!.dependents.map((d) => d.name)).not.toContain('@babel/generator');
    expect(unsatisfied(tree)).toEqual([]);
  });

  it('points lines at the nested keys', () => {
    expect(badLines(tree, text, true)).toEqual([]);
  });

  it('without package.json, takes top-level entries nothing requires as direct', () => {
    const direct = tree.packages.filter((p) => p.direct);
    expect(direct.length).toBeGreaterThan(0);
    for (const p of direct) {
      expect(p.paths.some((k) => parentKey(k) === '')).toBe(true);
      expect(p.dependents).toContainEqual({ name: '(root)', range: '*' });
    }
  });

  it('with package.json, uses its ranges for the root', () => {
    const t = readNpmLockfile('x/package-lock.json', text, {
      rootManifest: { dependencies: { semver: '^7.3.2' }, devDependencies: { tap: '^14.10.6' } },
    });
    expect(
      t.packages
        .filter((p) => p.direct)
        .map((p) => p.id)
        .sort(),
    ).toEqual(['semver@7.3.2', 'tap@14.10.6']);
    expect(byPath(t).get('node_modules/semver')!.dependents).toContainEqual({ name: '(root)', range: '^7.3.2' });
  });
});

describe('synthetic v2/v3 lockfiles', () => {
  it('reads aliases (v3 and v2, where `packages` wins over the v1 section)', () => {
    const packages = {
      '': { name: 'app', version: '1.0.0', dependencies: { foo: 'npm:bar@^1.0.0', bar: '^2.0.0' } },
      'node_modules/foo': { name: 'bar', version: '1.0.0', resolved: reg('bar', '1.0.0'), integrity: SHA },
      'node_modules/bar': { version: '2.0.0', resolved: reg('bar', '2.0.0'), integrity: SHA },
    };
    for (const [version, format] of [
      [3, 'npm-v3'],
      [2, 'npm-v2'],
    ] as const) {
      const doc = JSON.parse(v3(packages, version));
      if (version === 2) doc.dependencies = { foo: { version: 'npm:bar@9.9.9' } };
      const t = read(JSON.stringify(doc, null, 2));
      expect(t.format).toBe(format);
      expect(t.packages.map((p) => p.id)).toEqual(['bar@1.0.0', 'bar@2.0.0']);
      expect(pkg(t, 'node_modules/foo')).toMatchObject({ name: 'bar', aliases: ['foo'], source: 'registry', direct: true });
      expect(pkg(t, 'node_modules/foo').dependents).toEqual([{ name: '(root)', range: 'npm:bar@^1.0.0' }]);
      expect(pkg(t, 'node_modules/bar').aliases).toEqual([]);
    }
  });

  it('classifies registry, mirror, tarball, git and file sources', () => {
    const t = read(
      v3({
        '': { name: 'app', version: '1.0.0' },
        'node_modules/a': { version: '1.0.0', resolved: reg('a', '1.0.0'), integrity: SHA },
        'node_modules/@s/b': { version: '2.0.0', resolved: 'https://npm.corp.example/artifactory/api/npm/npm/@s/b/-/b-2.0.0.tgz' },
        'node_modules/@s/enc': { version: '1.0.0', resolved: 'https://mirror.example/@s%2fenc/-/enc-1.0.0.tgz' },
        'node_modules/c': { version: '1.0.0', resolved: 'https://example.com/downloads/c.tgz', integrity: SHA },
        'node_modules/d': { version: '1.0.1', resolved: 'https://registry.npmjs.org/d/-/d-1.0.0.tgz' },
        'node_modules/e': { version: '1.0.0', resolved: 'git+ssh://git@github.com/o/e.git#0123abc' },
        'node_modules/f': { version: '1.0.0', resolved: 'file:vendor/f-1.0.0.tgz', integrity: SHA },
        'node_modules/g': { version: '3.0.0' },
        'node_modules/h': { version: '3.0.0', integrity: SHA },
      }),
    );
    const src = Object.fromEntries(t.packages.map((p) => [p.name, p.source]));
    expect(src).toEqual({
      a: 'registry',
      '@s/b': 'registry',
      '@s/enc': 'registry',
      c: 'tarball',
      d: 'tarball', // the URL's version is not the locked version
      e: 'git',
      f: 'file',
      g: 'registry',
      h: 'registry',
    });
    expect(pkg(t, 'node_modules/e').id).toBe('e@git+ssh://git@github.com/o/e.git#0123abc');
    expect(pkg(t, 'node_modules/c').id).toBe('c@https://example.com/downloads/c.tgz');
    expect(pkg(t, 'node_modules/f').id).toBe('f@file:vendor/f-1.0.0.tgz');
    // No resolved and no integrity: still a registry package, fields absent rather than invented.
    const g = pkg(t, 'node_modules/g');
    expect(g.id).toBe('g@3.0.0');
    expect('resolved' in g || 'integrity' in g).toBe(false);
    expect(pkg(t, 'node_modules/h')).toMatchObject({ integrity: SHA, id: 'h@3.0.0' });
    expect('resolved' in pkg(t, 'node_modules/h')).toBe(false);
  });

  it('reports workspaces and file: directories once as links, with their deps', () => {
    const t = read(
      v3({
        '': { name: 'app', version: '1.0.0', workspaces: ['./packages/*'], dependencies: { local: 'file:../local' } },
        '../local': { name: 'local-lib', version: '0.1.0', dependencies: { x: '^1.0.0' }, devDependencies: { y: '^1.0.0' } },
        '../local/node_modules/x': { version: '1.2.0' },
        'node_modules/local': { resolved: '../local', link: true },
        'node_modules/ws-a': { resolved: 'packages/a', link: true },
        'node_modules/other-name': { resolved: 'packages/c', link: true }, // `"other-name": "file:packages/c"`
        'node_modules/x': { version: '2.0.0' },
        'node_modules/y': { version: '1.0.0' },
        'packages/a': { name: 'ws-a', version: '0.0.1', dependencies: { x: '^2.0.0', z: '^1.0.0' }, devDependencies: { y: '^1.0.0' } },
        'packages/a/node_modules/z': { version: '1.0.0', hasInstallScript: true },
        'packages/b': { version: '0.0.2' }, // no name, not linked: named by its folder
        'packages/c': { version: '0.0.3' }, // npm omits `name` when it is the folder name
      }),
    );
    expect(t.packages.filter((p) => p.source === 'link').map((p) => p.id)).toEqual(['local-lib@../local', 'ws-a@packages/a', 'c@packages/c', 'b@packages/b']);
    expect(pkg(t, 'node_modules/other-name')).toMatchObject({ name: 'c', aliases: ['other-name'], paths: ['node_modules/other-name', 'packages/c'] });
    expect(pkg(t, 'node_modules/local')).toMatchObject({
      name: 'local-lib',
      aliases: ['local'],
      version: '0.1.0',
      resolved: '../local',
      direct: true,
      paths: ['../local', 'node_modules/local'],
      dependents: [{ name: '(root)', range: 'file:../local' }],
    });
    // A workspace's dependencies are direct; its nested copy wins over the top-level one.
    expect(pkg(t, 'packages/a/node_modules/z')).toMatchObject({ direct: true, hasInstallScript: true, dependents: [{ name: '(root)', range: '^1.0.0' }] });
    expect(pkg(t, 'node_modules/x').dependents).toEqual([{ name: '(root)', range: '^2.0.0' }]);
    // A file: directory is not a workspace: its deps are not direct, and it resolves inside its own folder.
    expect(pkg(t, '../local/node_modules/x')).toMatchObject({ direct: false, dependents: [{ name: 'local-lib', range: '^1.0.0' }] });
    expect(pkg(t, 'node_modules/y').dependents).toEqual([{ name: '(root)', range: '^1.0.0' }]);
    // Nothing is reported as a registry package for the link targets.
    expect(
      t.packages
        .filter((p) => p.source === 'registry')
        .map((p) => p.id)
        .sort(),
    ).toEqual(['x@1.2.0', 'x@2.0.0', 'y@1.0.0', 'z@1.0.0']);
  });

  it("treats the root's bundleDependencies as registry packages, a dependency's bundle as bundled", () => {
    const t = read(
      v3({
        '': { name: 'app', version: '1.0.0', dependencies: { rb: '^1.0.0', tool: '^1.0.0' }, bundleDependencies: ['rb'] },
        'node_modules/rb': { version: '1.0.0', resolved: reg('rb', '1.0.0'), integrity: SHA, inBundle: true, dependencies: { rbdep: '^1.0.0' } },
        'node_modules/rb/node_modules/rbdep': { version: '1.0.0', resolved: reg('rbdep', '1.0.0'), integrity: SHA, inBundle: true },
        'node_modules/tool': { version: '1.0.0', resolved: reg('tool', '1.0.0'), integrity: SHA, bundleDependencies: ['inner'], dependencies: { inner: '^2.0.0' } },
        'node_modules/tool/node_modules/inner': { version: '2.0.0', inBundle: true, dependencies: { deep: '*' } },
        'node_modules/tool/node_modules/inner/node_modules/deep': { version: '0.1.0', inBundle: true },
      }),
    );
    expect(pkg(t, 'node_modules/rb')).toMatchObject({ source: 'registry', id: 'rb@1.0.0', direct: true });
    expect(pkg(t, 'node_modules/rb/node_modules/rbdep')).toMatchObject({ source: 'registry', id: 'rbdep@1.0.0' });
    expect(pkg(t, 'node_modules/tool/node_modules/inner')).toMatchObject({
      source: 'bundled',
      bundledIn: 'tool@1.0.0',
      id: 'inner@node_modules/tool/node_modules/inner',
      dependents: [{ name: 'tool', range: '^2.0.0' }],
    });
    expect(pkg(t, 'node_modules/tool/node_modules/inner/node_modules/deep')).toMatchObject({ source: 'bundled', bundledIn: 'tool@1.0.0' });
  });

  it('keeps dependents from peers only when a copy is installed, and reads dev/optional as npm does', () => {
    const t = read(
      v3({
        '': { name: 'app', version: '1.0.0', dependencies: { p: '^1.0.0' }, devDependencies: { q: '^1.0.0' } },
        // A published package's devDependencies are never installed: no edge.
        'node_modules/p': { version: '1.0.0', peerDependencies: { q: '^1.0.0', missing: '^1.0.0' }, optionalDependencies: { o: '^1.0.0' }, devDependencies: { r: '^1.0.0' } },
        'node_modules/q': { version: '1.1.0', dev: true },
        'node_modules/o': { version: '1.0.0', optional: true },
        'node_modules/r': { version: '1.0.0', devOptional: true },
        'node_modules/s': { version: '1.0.0', dev: true },
        'node_modules/p/node_modules/s': { version: '1.0.0' },
        'node_modules/q/node_modules/s': { version: '1.0.0', dev: true },
      }),
    );
    expect(pkg(t, 'node_modules/q').dependents).toEqual([
      { name: '(root)', range: '^1.0.0' },
      { name: 'p', range: '^1.0.0' },
    ]);
    expect(pkg(t, 'node_modules/o')).toMatchObject({ optional: true, dev: false, dependents: [{ name: 'p', range: '^1.0.0' }] });
    expect(pkg(t, 'node_modules/r')).toMatchObject({ optional: false, dev: false, dependents: [] });
    expect(pkg(t, 'node_modules/q')).toMatchObject({ dev: true, optional: false });
    // Same name@version at three paths, one not dev: one package, not dev-only.
    expect(pkg(t, 'node_modules/s')).toMatchObject({ dev: false, paths: ['node_modules/s', 'node_modules/p/node_modules/s', 'node_modules/q/node_modules/s'] });
  });

  it('keeps ids unique when one name@version comes with two different integrities', () => {
    const t = read(
      v3({
        '': { name: 'app', version: '1.0.0' },
        'node_modules/a': { version: '1.0.0', integrity: SHA },
        'node_modules/b/node_modules/a': { version: '1.0.0', integrity: 'sha512-other' },
        'node_modules/b': { version: '1.0.0' },
      }),
    );
    expect(t.packages.map((p) => p.id)).toEqual(['a@1.0.0', 'a@1.0.0#2', 'b@1.0.0']);
  });

  it('points lines at keys, not at equal string values', () => {
    const text = v3({
      '': { name: 'app', version: '1.0.0', workspaces: ['packages/a'] },
      'node_modules/a': { resolved: 'packages/a', link: true },
      'node_modules/b': { version: '1.0.0', peerDependenciesMeta: { 'packages/a': { optional: true } } },
      'packages/a': { name: 'a', version: '1.0.0' },
    });
    const t = read(text);
    const lines = text.split('\n');
    for (const p of t.packages) expect(lines[p.lockfileLine! - 1]).toBe(`    ${JSON.stringify(p.paths[0])}: {`);
    expect(pkg(t, 'packages/a').lockfileLine).toBe(lines.indexOf('    "node_modules/a": {') + 1);
  });

  it('accepts a byte-order mark', () => {
    expect(read('\ufeff' + v3({ '': {}, 'node_modules/a': { version: '1.0.0' } })).packages).toHaveLength(1);
  });
});

describe('synthetic v1 lockfiles', () => {
  it('reads npm: aliases and version-field sources', () => {
    const t = read(
      v1({
        foo: { version: 'npm:bar@1.0.0', resolved: reg('bar', '1.0.0'), integrity: SHA },
        sc: { version: 'npm:@s/real@2.0.0', resolved: reg('@s/real', '2.0.0'), integrity: SHA },
        g: { version: 'github:o/g#0123abc', from: 'github:o/g' },
        h: { version: 'git+https://example.com/h.git#0123abc' },
        t: { version: 'https://example.com/t-1.0.0.tgz', integrity: SHA },
        ft: { version: 'file:vendor/ft-1.0.0.tgz', integrity: SHA },
        fd: { version: 'file:../fd' },
        plain: { version: '1.0.0' },
      }),
    );
    expect(pkg(t, 'node_modules/foo')).toMatchObject({ id: 'bar@1.0.0', name: 'bar', version: '1.0.0', aliases: ['foo'], source: 'registry' });
    expect(pkg(t, 'node_modules/sc')).toMatchObject({ id: '@s/real@2.0.0', aliases: ['sc'], source: 'registry' });
    expect(pkg(t, 'node_modules/g')).toMatchObject({ source: 'git', id: 'g@github:o/g#0123abc', resolved: 'github:o/g#0123abc' });
    expect(pkg(t, 'node_modules/h').source).toBe('git');
    expect(pkg(t, 'node_modules/t')).toMatchObject({ source: 'tarball', resolved: 'https://example.com/t-1.0.0.tgz' });
    expect(pkg(t, 'node_modules/ft').source).toBe('file');
    expect(pkg(t, 'node_modules/fd')).toMatchObject({ source: 'link', id: 'fd@file:../fd' });
    expect(pkg(t, 'node_modules/plain')).toMatchObject({ source: 'registry', id: 'plain@1.0.0', hasInstallScript: false });
  });

  it('resolves requires like node: own node_modules, then each ancestor', () => {
    const t = read(
      v1({
        a: { version: '1.0.0' },
        b: {
          version: '1.0.0',
          requires: { a: '^2.0.0', c: '^1.0.0' },
          dependencies: {
            a: { version: '2.0.0' },
            c: { version: '1.0.0', requires: { a: '^2.0.0', d: '^1.0.0' } },
          },
        },
        d: { version: '1.0.0', requires: { a: '^1.0.0' } },
      }),
      { rootManifest: { dependencies: { a: '^1.0.0', b: '^1.0.0' } } },
    );
    expect(pkg(t, 'node_modules/b/node_modules/a').dependents).toEqual([
      { name: 'b', range: '^2.0.0' },
      { name: 'c', range: '^2.0.0' },
    ]);
    expect(pkg(t, 'node_modules/a').dependents).toEqual([
      { name: '(root)', range: '^1.0.0' },
      { name: 'd', range: '^1.0.0' },
    ]);
    expect(pkg(t, 'node_modules/d')).toMatchObject({ direct: false, dependents: [{ name: 'c', range: '^1.0.0' }] });
    expect(t.packages.filter((p) => p.direct).map((p) => p.id)).toEqual(['a@1.0.0', 'b@1.0.0']);
  });

  it('bundled: carried by the nearest non-bundled ancestor', () => {
    const t = read(
      v1({
        tool: {
          version: '1.0.0',
          requires: { inner: '^1.0.0' },
          dependencies: {
            inner: { version: '1.0.0', bundled: true, dependencies: { deep: { version: '1.0.0', bundled: true } } },
          },
        },
      }),
    );
    expect(pkg(t, 'node_modules/tool/node_modules/inner/node_modules/deep')).toMatchObject({ source: 'bundled', bundledIn: 'tool@1.0.0' });
  });
});

describe('failing closed', () => {
  const malformed = (text: string, pattern: RegExp) => {
    const err = lockfileError(() => read(text));
    expect(err.code).toBe('malformed');
    expect(err.path).toBe('/proj/package-lock.json');
    expect(err.message).toMatch(pattern);
  };

  it('rejects malformed JSON and shapes, naming what is wrong', () => {
    malformed('{"lockfileVersion": 3, "packages": {', /not valid JSON/);
    malformed('[1, 2]', /not a JSON object/);
    malformed(JSON.stringify({ lockfileVersion: 3 }), /without a "packages" section/);
    malformed(JSON.stringify({ lockfileVersion: 3, packages: [] }), /"packages" must be an object/);
    malformed(v3({ 'node_modules/a': 'x' }), /packages\["node_modules\/a"\] must be an object/);
    malformed(v3({ 'node_modules/a': { resolved: reg('a', '1.0.0') } }), /packages\["node_modules\/a"\] has no version/);
    malformed(v3({ 'node_modules/a': { version: 1 } }), /packages\["node_modules\/a"\]\.version must be a string/);
    malformed(v3({ 'node_modules/a': { version: '1.0.0', hasInstallScript: 'yes' } }), /hasInstallScript must be true or false/);
    malformed(v3({ 'node_modules/a': { version: '1.0.0', dependencies: { b: 2 } } }), /dependencies\["b"\] must be a string/);
    malformed(v3({ 'node_modules/a': { version: '1.0.0', resolved: 'ftp://x/a.tgz' } }), /resolved "ftp:\/\/x\/a.tgz" is not/);
    malformed(v3({ 'node_modules/a': { link: true } }), /link without "resolved"/);
    malformed(v3({ 'node_modules/..': { version: '1.0.0' } }), /not a valid package folder name/);
    malformed(v1({ a: { resolved: reg('a', '1.0.0') } }), /dependencies\["a"\] has no version/);
    malformed(v1({ a: { version: '1.0.0', dependencies: { b: { version: '1.0.0', resolved: 'ftp://x' } } } }), /dependencies\["a"\]\.dependencies\["b"\]\.resolved "ftp:\/\/x" is not/);
    malformed(v1({ a: { version: '1.0.0', dependencies: { b: { version: 'npm:nope' } } } }), /is not npm:<name>@<version>/);
  });

  it('rejects unsupported lockfile versions', () => {
    for (const doc of [{ lockfileVersion: 4, packages: {} }, { lockfileVersion: '3', packages: {} }, { name: 'x' }]) {
      const err = lockfileError(() => read(JSON.stringify(doc)));
      expect(err.code).toBe('unsupported-version');
    }
  });
});

describe('readLockfile', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'safe-install-lockfile-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const project = (name: string, files: Record<string, string>) => {
    const d = join(dir, name);
    mkdirSync(d, { recursive: true });
    for (const [f, content] of Object.entries(files)) {
      if (content === '<dir>') mkdirSync(join(d, f));
      else writeFileSync(join(d, f), content);
    }
    return d;
  };
  const lock = (v: string) => v3({ '': { name: 'app' }, 'node_modules/a': { version: v } });

  it('prefers npm-shrinkwrap.json over package-lock.json, as npm does', () => {
    const d = project('both', { 'npm-shrinkwrap.json': lock('2.0.0'), 'package-lock.json': lock('1.0.0') });
    const t = readLockfile(d);
    expect(t.lockfilePath).toBe(join(d, 'npm-shrinkwrap.json'));
    expect(t.root.dir).toBe(d);
    expect(t.packages.map((p) => p.id)).toEqual(['a@2.0.0']);
    expect(readLockfile(d, 'package-lock.json').packages.map((p) => p.id)).toEqual(['a@1.0.0']);
  });

  it('reads package.json for the root ranges of a v1 lockfile', () => {
    const d = project('v1', {
      'package-lock.json': v1({ a: { version: '1.0.0' }, b: { version: '1.0.0', requires: { a: '1' } } }),
      'package.json': JSON.stringify({ name: 'app', dependencies: { a: '^1.0.0' } }),
    });
    expect(
      readLockfile(d)
        .packages.filter((p) => p.direct)
        .map((p) => p.id),
    ).toEqual(['a@1.0.0']);
  });

  it('fails with no-lockfile, unreadable, malformed', () => {
    const none = lockfileError(() => readLockfile(project('none', { 'yarn.lock': '' })));
    expect(none.code).toBe('no-lockfile');
    expect(none.message).toMatch(/found yarn.lock/);
    expect(lockfileError(() => readLockfile(project('x', {}), 'missing.json')).code).toBe('no-lockfile');
    expect(lockfileError(() => readLockfile(project('isdir', { 'package-lock.json': '<dir>' }))).code).toBe('unreadable');
    expect(lockfileError(() => readLockfile(project('bad', { 'package-lock.json': '{' }))).code).toBe('malformed');
  });
});

describe('deeply nested lockfiles', () => {
  /** A v1 lockfile: p0 > p1 > ... > p<depth-1>, each requiring the next. */
  const deepV1 = (depth: number): string => {
    // Built as text: JSON.stringify itself recurses per level.
    let inner = '';
    for (let i = depth - 1; i >= 0; i--) {
      const requires = i < depth - 1 ? `,"requires":{"p${i + 1}":"1.0.0"}` : '';
      inner = `{"p${i}":{"version":"1.0.0","integrity":"${SHA}"${requires}${inner ? `,"dependencies":${inner}` : ''}}}`;
    }
    return `{"name":"app","version":"1.0.0","lockfileVersion":1,"requires":true,"dependencies":${inner}}`;
  };
  const deepPath = (depth: number) => Array.from({ length: depth }, (_, i) => `node_modules/p${i}`).join('/');

  it(`reads a v1 lockfile nested ${MAX_NESTING} levels, resolving every edge to its nested copy`, () => {
    const t = read(deepV1(MAX_NESTING), { rootManifest: { dependencies: { p0: '1.0.0' } } });
    expect(t.packages).toHaveLength(MAX_NESTING);
    const last = pkg(t, deepPath(MAX_NESTING));
    expect(last.dependents).toEqual([{ name: `p${MAX_NESTING - 2}`, range: '1.0.0' }]);
    expect(last.lockfileLine).toBe(1); // one-line JSON
  });

  for (const depth of [MAX_NESTING + 1, 4000, 12_000]) {
    it(`refuses a v1 lockfile nested ${depth} levels (no stack overflow, no quadratic walk)`, () => {
      const err = lockfileError(() => read(deepV1(depth)));
      expect(err.code).toBe('malformed');
      expect(err.message).toContain(`is nested ${MAX_NESTING + 1} node_modules levels deep (more than ${MAX_NESTING})`);
      expect(err.message).toContain('regenerate it with npm install');
      expect(err.message.length).toBeLessThan(600);
    });
  }

  it('refuses a v2/v3 install path nested too deep', () => {
    expect(() => read(v3({ '': { name: 'app' }, [deepPath(MAX_NESTING)]: { version: '1.0.0' } }))).not.toThrow();
    const err = lockfileError(() => read(v3({ '': { name: 'app' }, [deepPath(4000)]: { version: '1.0.0' } })));
    expect(err.code).toBe('malformed');
    expect(err.message).toContain(`is nested 4000 node_modules levels deep (more than ${MAX_NESTING})`);
  });

  it('resolves through missing intermediate folders and scoped names as Node does', () => {
    const t = read(
      v3({
        '': { name: 'app', dependencies: { a: '1' } },
        'node_modules/a': { version: '1.0.0', dependencies: { '@s/b': '1' } },
        'node_modules/a/node_modules/x/node_modules/y': { version: '1.0.0', dependencies: { '@s/b': '2', a: '1' } },
        'node_modules/@s/b': { version: '1.0.0' },
        'node_modules/a/node_modules/x/node_modules/@s/b': { version: '2.0.0' },
      }),
    );
    expect(pkg(t, 'node_modules/@s/b').dependents).toEqual([{ name: 'a', range: '1' }]);
    expect(pkg(t, 'node_modules/a/node_modules/x/node_modules/@s/b').dependents).toEqual([{ name: 'y', range: '2' }]);
    expect(pkg(t, 'node_modules/a').dependents).toEqual([
      { name: '(root)', range: '1' },
      { name: 'y', range: '1' },
    ]);
  });
});

describe('lockfile size', () => {
  it(`refuses a lockfile over ${MAX_LOCKFILE_BYTES >> 20} MiB without reading it whole`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'safe-install-big-'));
    try {
      writeFileSync(join(dir, 'package.json'), '{}');
      // Sparse: the size costs no disk.
      writeFileSync(join(dir, 'package-lock.json'), '{');
      truncateSync(join(dir, 'package-lock.json'), MAX_LOCKFILE_BYTES + 1);
      const err = lockfileError(() => readLockfile(dir));
      expect(err.code).toBe('malformed');
      expect(err.message).toContain(`the lockfile is larger than ${MAX_LOCKFILE_BYTES >> 20} MiB`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
