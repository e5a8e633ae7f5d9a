import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { depPathToFilename } from '@pnpm/dependency-path';
import { readPnpmLockfile } from '../../src/lockfile/pnpm.js';
import { readLockfile } from '../../src/lockfile/index.js';
import { lockfileError } from './helpers.js';
import type { LockedPackage, LockedTree } from '../../src/lockfile/types.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/lockfiles');
const V9 = 'vuejs_core@e2bede96134f__pnpm-lock.yaml';
const V6 = 'vuejs_core@ea494af99365__pnpm-lock.yaml';

type Raw = Record<string, any>;

function load(file: string): { text: string; raw: Raw; tree: LockedTree } {
  const path = join(FIXTURES, file);
  const text = readFileSync(path, 'utf8');
  return { text, raw: YAML.parse(text), tree: readPnpmLockfile(path, text) };
}

/** 1-based line of the first line equal to `line`. */
function lineOf(text: string, line: string): number {
  const i = text.split('\n').indexOf(line);
  if (i < 0) throw new Error(`no line ${line}`);
  return i + 1;
}

function read(text: string): LockedTree {
  return readPnpmLockfile('/proj/pnpm-lock.yaml', text);
}

function byPath(tree: LockedTree): Map<string, LockedPackage> {
  const m = new Map<string, LockedPackage>();
  for (const p of tree.packages) for (const path of p.paths) m.set(path, p);
  return m;
}

/** Where pnpm (9+) installs the entry with this v6/v9 key (pnpm's own folder naming, from @pnpm/dependency-path). */
function storePath(key: string): string {
  const at = nameAtVersion(key);
  return `node_modules/.pnpm/${depPathToFilename(key, 120)}/node_modules/${at.slice(0, at.lastIndexOf('@'))}`;
}

/** Package by lockfile key. */
function byKey(tree: LockedTree, keys: string[]): Map<string, LockedPackage> {
  const m = byPath(tree);
  return new Map(keys.map((k) => [k, m.get(storePath(k))!]));
}

function byId(tree: LockedTree, id: string): LockedPackage {
  const p = tree.packages.find((x) => x.id === id);
  if (!p) throw new Error(`no package ${id} in ${tree.packages.map((x) => x.id).join(', ')}`);
  return p;
}

/** Independent of the reader: the key a v9 reference points to (`1.0.0(peer@1)` under alias `a`, or `b@1.0.0`). */
function v9Key(alias: string, ref: string): string | undefined {
  if (ref.startsWith('link:')) return undefined;
  return /^(?:@[^/@]+\/)?[^/@(]+@/.test(ref) ? ref : `${alias}@${ref}`;
}

/** Name@version of a v9/v6 key without its parenthesised suffixes (and v6's leading slash). */
function nameAtVersion(key: string): string {
  const k = key.startsWith('/') ? key.slice(1) : key;
  const paren = k.indexOf('(');
  return paren < 0 ? k : k.slice(0, paren);
}

/** Every lockfileLine points at its package's key in `packages:`. */
function badLines(tree: LockedTree, text: string, packagesKey: (p: LockedPackage) => string): string[] {
  const lines = text.split('\n');
  const bad: string[] = [];
  for (const p of tree.packages.filter((x) => x.source !== 'link')) {
    const key = packagesKey(p);
    const l = p.lockfileLine === undefined ? undefined : lines[p.lockfileLine - 1];
    if (l !== `  ${key}:` && l !== `  '${key}':`) bad.push(`${p.id} -> ${p.lockfileLine}: ${l}`);
  }
  return bad;
}

const SHA = (c: string) => 'sha512-' + c.repeat(86) + '==';

describe('vuejs/core pnpm-lock.yaml 9.0 (workspaces, catalogs, peer suffixes)', () => {
  const { text, raw, tree } = load(V9);
  const snapshots: Raw = raw.snapshots;
  const packages: Raw = raw.packages;
  const paths = byKey(tree, Object.keys(snapshots));

  it('reads the format and one registry package per `packages:` key', () => {
    expect(tree.format).toBe('pnpm-v9');
    expect(Object.keys(packages)).toHaveLength(620);
    expect(Object.keys(snapshots)).toHaveLength(621);
    const registry = tree.packages.filter((p) => p.source === 'registry');
    expect(registry).toHaveLength(Object.keys(packages).length);
    expect(new Set(registry.map((p) => p.id))).toEqual(new Set(Object.keys(packages)));
    expect(new Set(tree.packages.map((p) => p.id)).size).toBe(tree.packages.length);
    expect(tree.packages.filter((p) => p.source !== 'registry' && p.source !== 'link')).toEqual([]);
  });

  it("installs every snapshot key once, at pnpm's store path, merging peer variants of one name@version", () => {
    const all = tree.packages.filter((p) => p.source === 'registry').flatMap((p) => p.paths);
    expect(all.sort()).toEqual(Object.keys(snapshots).map(storePath).sort());
    expect(new Set(all).size).toBe(all.length);
    const fdir = byId(tree, 'fdir@6.5.0');
    expect(fdir.paths).toEqual(['node_modules/.pnpm/fdir@6.5.0_picomatch@4.0.4/node_modules/fdir', 'node_modules/.pnpm/fdir@6.5.0_picomatch@4.0.5/node_modules/fdir']);
    expect(byId(tree, '@vitejs/plugin-vue@6.0.8').paths).toEqual(['node_modules/.pnpm/@vitejs+plugin-vue@6.0.8_vite@8.2.0_vue@packages+vue/node_modules/@vitejs/plugin-vue']);
    for (const key of Object.keys(snapshots)) expect(paths.get(key)!.id, key).toBe(nameAtVersion(key));
  });

  it('takes integrity from `resolution.integrity`, and records no install scripts (v9 has no requiresBuild)', () => {
    for (const [key, info] of Object.entries(packages)) expect(byId(tree, key).integrity, key).toBe(info.resolution.integrity);
    expect(tree.packages.filter((p) => p.hasInstallScript)).toEqual([]);
  });

  it("points lockfileLine at the package's `packages:` key", () => {
    expect(badLines(tree, text, (p) => `${p.name}@${p.version}`)).toEqual([]);
    expect(byId(tree, 'fdir@6.5.0').lockfileLine).toBe(2088);
  });

  it('makes a link package of every workspace, named as it is linked, with its links as paths', () => {
    const importers = Object.keys(raw.importers).filter((k) => k !== '.');
    const links = tree.packages.filter((p) => p.source === 'link');
    expect(links.map((p) => p.resolved).sort()).toEqual(importers.sort());
    const shared = links.find((p) => p.resolved === 'packages/shared')!;
    expect(shared.name).toBe('@vue/shared');
    expect(shared.id).toBe('@vue/shared@packages/shared');
    expect(shared.paths).toContain('packages/compiler-core/node_modules/@vue/shared');
    expect(shared.paths[shared.paths.length - 1]).toBe('packages/shared');
    expect(shared.dependents).toEqual([{ name: '(root)', range: 'workspace:*' }]);
    // A package's peer resolved to a workspace (`vue: link:packages/vue`): the dependent with its peer range.
    const vue = links.find((p) => p.resolved === 'packages/vue')!;
    expect(vue.name).toBe('vue');
    expect(vue.dependents).toContainEqual({ name: '@vitejs/plugin-vue', range: packages['@vitejs/plugin-vue@6.0.8'].peerDependencies.vue });
  });

  it("marks the importers' dependencies direct, with their specifiers (catalog: resolved to the catalog's range)", () => {
    const expected = new Map<string, Set<string>>();
    for (const importer of Object.values<Raw>(raw.importers)) {
      for (const field of ['dependencies', 'devDependencies', 'optionalDependencies']) {
        for (const [alias, { specifier, version }] of Object.entries<Raw>(importer[field] ?? {})) {
          const key = v9Key(alias, version);
          if (!key) continue;
          const range = specifier.startsWith('catalog:') ? raw.catalogs[specifier.slice(8) || 'default'][alias].specifier : specifier;
          const id = nameAtVersion(key);
          expected.set(id, new Set([...(expected.get(id) ?? []), range]));
        }
      }
    }
    const direct = tree.packages.filter((p) => p.direct && p.source === 'registry');
    expect(new Set(direct.map((p) => p.id))).toEqual(new Set(expected.keys()));
    for (const p of direct) {
      expect(new Set(p.dependents.filter((d) => d.name === '(root)').map((d) => d.range)), p.id).toEqual(expected.get(p.id));
    }
    expect(byId(tree, '@babel/parser@7.29.8').dependents).toContainEqual({ name: '(root)', range: '^7.29.8' });
  });

  it('records each dependent with the peer range, else the locked version (pnpm does not record ranges)', () => {
    for (const [key, snap] of Object.entries<Raw>(snapshots)) {
      const from = nameAtVersion(key);
      const fromName = from.slice(0, from.lastIndexOf('@'));
      const peers = packages[from].peerDependencies ?? {};
      for (const field of ['dependencies', 'optionalDependencies']) {
        for (const [alias, ref] of Object.entries<string>(snap[field] ?? {})) {
          const target = v9Key(alias, ref);
          if (!target) continue;
          const to = paths.get(target)!;
          const range = peers[alias] ?? (to.name === alias ? to.version : `npm:${to.name}@${to.version}`);
          expect(to.dependents, `${key} -> ${alias}`).toContainEqual({ name: fromName, range });
        }
      }
    }
  });

  it('computes dev (reached only from devDependencies) and takes optional from the snapshots', () => {
    // Independent walk over the raw snapshots.
    const walk = (fields: string[]) => {
      const seen = new Set<string>();
      const stack: string[] = [];
      for (const importer of Object.values<Raw>(raw.importers)) {
        for (const f of fields) for (const [a, { version }] of Object.entries<Raw>(importer[f] ?? {})) stack.push(v9Key(a, version) ?? '');
      }
      while (stack.length) {
        const k = stack.pop()!;
        if (!k || seen.has(k)) continue;
        seen.add(k);
        const s = snapshots[k] ?? {};
        for (const f of ['dependencies', 'optionalDependencies']) for (const [a, r] of Object.entries<string>(s[f] ?? {})) stack.push(v9Key(a, r) ?? '');
      }
      return seen;
    };
    const prod = walk(['dependencies', 'optionalDependencies']);
    const dev = walk(['devDependencies']);
    const keysOf = (id: string) => Object.keys(snapshots).filter((k) => nameAtVersion(k) === id);
    for (const p of tree.packages.filter((x) => x.source === 'registry')) {
      const keys = keysOf(p.id);
      expect(keys.map(storePath), p.id).toEqual(p.paths);
      expect(p.dev, p.id).toBe(keys.every((k) => !prod.has(k) && dev.has(k)));
      expect(p.optional, p.id).toBe(keys.every((k) => snapshots[k].optional === true));
    }
    expect(tree.packages.filter((p) => p.dev).length).toBeGreaterThan(500);
    const esbuildLinux = byId(tree, '@esbuild/linux-x64@0.28.1');
    expect(esbuildLinux.optional).toBe(true);
    expect(esbuildLinux.dependents).toEqual([{ name: 'esbuild', range: '0.28.1' }]);
  });
});

describe('vuejs/core pnpm-lock.yaml 6.0 (dev flags, requiresBuild)', () => {
  const { text, raw, tree } = load(V6);
  const packages: Raw = raw.packages;

  it('reads one registry package per distinct name@version key', () => {
    expect(tree.format).toBe('pnpm-v6');
    const distinct = new Set(Object.keys(packages).map(nameAtVersion));
    expect(Object.keys(packages)).toHaveLength(730);
    const registry = tree.packages.filter((p) => p.source === 'registry');
    expect(new Set(registry.map((p) => p.id))).toEqual(distinct);
    expect(registry).toHaveLength(distinct.size);
    expect(registry.flatMap((p) => p.paths).sort()).toEqual(Object.keys(packages).map(storePath).sort());
    expect(tree.packages.filter((p) => p.source === 'link')).toHaveLength(Object.keys(raw.importers).length - 1);
  });

  it('takes dev, optional and integrity from the entries; requiresBuild is not taken as install scripts', () => {
    const m = byKey(tree, Object.keys(packages));
    for (const [key, e] of Object.entries<Raw>(packages)) {
      const p = m.get(key)!;
      expect(p.integrity, key).toBe(e.resolution.integrity);
      expect(p.dev, key).toBe(e.dev === true);
      expect(p.optional, key).toBe(e.optional === true);
    }
    // 84 entries say requiresBuild, many with no install script on the registry (chalk, js-tokens): not trusted.
    expect(Object.values<Raw>(packages).filter((e) => e.requiresBuild === true)).toHaveLength(84);
    expect(tree.packages.filter((p) => p.hasInstallScript)).toEqual([]);
    expect(tree.packages.filter((p) => p.dev)).toHaveLength(699);
  });

  it('points lockfileLine at the key and resolves v6 references (`1.0.0(peer)`, `/name@1.0.0`)', () => {
    const keys = Object.keys(packages);
    expect(badLines(tree, text, (p) => keys.find((k) => storePath(k) === p.paths[0])!)).toEqual([]);
    const alias = byId(tree, '@rollup/plugin-alias@5.1.0');
    expect(alias.paths).toEqual(['node_modules/.pnpm/@rollup+plugin-alias@5.1.0_rollup@4.13.2/node_modules/@rollup/plugin-alias']);
    expect(alias.dependents).toEqual([{ name: '(root)', range: '^5.1.0' }]);
    expect(byId(tree, 'rollup@4.13.2').dependents).toContainEqual({ name: '@rollup/plugin-alias', range: '^1.20.0||^2.0.0||^3.0.0||^4.0.0' });
  });
});

describe('synthetic pnpm lockfiles', () => {
  it('9.0: aliases, peer suffixes, patches, links, file:, tarball, git, codeload, catalogs, dev and optional', () => {
    const tree = read(`lockfileVersion: '9.0'

settings:
  autoInstallPeers: true

catalogs:
  default:
    react:
      specifier: ^18.2.0
      version: 18.2.0

importers:

  .:
    dependencies:
      react:
        specifier: 'catalog:'
        version: 18.2.0
      old-react:
        specifier: npm:react@^17.0.0
        version: react@17.0.2
      uses-peer:
        specifier: ^1.0.0
        version: 1.0.0(react@18.2.0)
      local-dir:
        specifier: file:../local-dir
        version: file:../local-dir
      remote:
        specifier: https://example.com/remote-1.0.0.tgz
        version: https://example.com/remote-1.0.0.tgz
      from-git:
        specifier: git+https://github.com/acme/from-git.git#abc123
        version: git+https://github.com/acme/from-git.git#abc123
      from-github:
        specifier: github:acme/from-github
        version: https://codeload.github.com/acme/from-github/tar.gz/def456
      patched:
        specifier: 1.0.0
        version: 1.0.0(patch_hash=abcdef)
      '@acme/lib':
        specifier: workspace:*
        version: link:packages/lib
    devDependencies:
      dev-only:
        specifier: ^2.0.0
        version: 2.0.0
      with-tarball-url:
        specifier: ^3.0.0
        version: 3.0.0

  packages/lib:
    dependencies:
      uses-peer:
        specifier: ^1.0.0
        version: 1.0.0(react@17.0.2)
      shared:
        specifier: ^1.0.0
        version: 1.0.0

packages:

  react@18.2.0:
    resolution: {integrity: ${SHA('a')}}

  react@17.0.2:
    resolution: {integrity: ${SHA('b')}}

  uses-peer@1.0.0:
    resolution: {integrity: ${SHA('c')}}
    peerDependencies:
      react: '>=17'

  local-dir@file:../local-dir:
    resolution: {directory: ../local-dir, type: directory}
    version: 0.1.0

  remote@https://example.com/remote-1.0.0.tgz:
    resolution: {integrity: ${SHA('d')}, tarball: https://example.com/remote-1.0.0.tgz}
    version: 1.0.0

  from-git@git+https://github.com/acme/from-git.git#abc123:
    resolution: {commit: abc123, repo: https://github.com/acme/from-git.git, type: git}
    version: 2.0.0

  from-github@https://codeload.github.com/acme/from-github/tar.gz/def456:
    resolution: {tarball: https://codeload.github.com/acme/from-github/tar.gz/def456}
    version: 3.0.0

  patched@1.0.0:
    resolution: {integrity: ${SHA('e')}}

  dev-only@2.0.0:
    resolution: {integrity: ${SHA('f')}}

  with-tarball-url@3.0.0:
    resolution: {integrity: ${SHA('g')}, tarball: https://registry.example.com/with-tarball-url/-/with-tarball-url-3.0.0.tgz}

  shared@1.0.0:
    resolution: {integrity: ${SHA('h')}}

  '@esbuild/linux-x64@0.20.0':
    resolution: {integrity: ${SHA('i')}}
    cpu: [x64]
    os: [linux]

snapshots:

  react@18.2.0: {}

  react@17.0.2: {}

  uses-peer@1.0.0(react@18.2.0):
    dependencies:
      react: 18.2.0
      shared: 1.0.0

  uses-peer@1.0.0(react@17.0.2):
    dependencies:
      react: 17.0.2
      shared: 1.0.0

  local-dir@file:../local-dir: {}

  remote@https://example.com/remote-1.0.0.tgz: {}

  from-git@git+https://github.com/acme/from-git.git#abc123: {}

  from-github@https://codeload.github.com/acme/from-github/tar.gz/def456: {}

  patched@1.0.0(patch_hash=abcdef): {}

  dev-only@2.0.0:
    dependencies:
      shared: 1.0.0
    optionalDependencies:
      '@esbuild/linux-x64': 0.20.0

  with-tarball-url@3.0.0: {}

  shared@1.0.0: {}

  '@esbuild/linux-x64@0.20.0':
    optional: true
`);
    expect(tree.format).toBe('pnpm-v9');
    expect(tree.packages.map((p) => `${p.id} ${p.source}`)).toEqual([
      '@acme/lib@packages/lib link',
      'react@18.2.0 registry',
      'react@17.0.2 registry',
      'uses-peer@1.0.0 registry',
      'local-dir@file:../local-dir file',
      'remote@https://example.com/remote-1.0.0.tgz tarball',
      'from-git@https://github.com/acme/from-git.git#abc123 git',
      'from-github@https://codeload.github.com/acme/from-github/tar.gz/def456 git',
      'patched@1.0.0 registry',
      'dev-only@2.0.0 registry',
      'with-tarball-url@3.0.0 registry',
      'shared@1.0.0 registry',
      '@esbuild/linux-x64@0.20.0 registry',
    ]);
    const react17 = byId(tree, 'react@17.0.2');
    expect(react17.aliases).toEqual(['old-react']);
    expect(react17.dependents).toEqual([
      { name: 'uses-peer', range: '>=17' },
      { name: '(root)', range: 'npm:react@^17.0.0' },
    ]);
    expect(byId(tree, 'react@18.2.0').dependents).toContainEqual({ name: '(root)', range: '^18.2.0' });
    const peer = byId(tree, 'uses-peer@1.0.0');
    expect(peer.paths).toEqual(['node_modules/.pnpm/uses-peer@1.0.0_react@18.2.0/node_modules/uses-peer', 'node_modules/.pnpm/uses-peer@1.0.0_react@17.0.2/node_modules/uses-peer']);
    expect(peer.direct).toBe(true);
    expect(peer.integrity).toBe(SHA('c'));
    expect(byId(tree, 'patched@1.0.0').paths).toEqual(['node_modules/.pnpm/patched@1.0.0_patch_hash=abcdef/node_modules/patched']);
    expect(byId(tree, 'local-dir@file:../local-dir').paths).toEqual(['node_modules/.pnpm/local-dir@file+..+local-dir/node_modules/local-dir']);
    expect(byId(tree, 'local-dir@file:../local-dir')).toMatchObject({ version: '0.1.0', resolved: 'file:../local-dir', direct: true });
    expect(byId(tree, 'remote@https://example.com/remote-1.0.0.tgz')).toMatchObject({ version: '1.0.0', integrity: SHA('d') });
    expect(byId(tree, 'with-tarball-url@3.0.0').resolved).toBe('https://registry.example.com/with-tarball-url/-/with-tarball-url-3.0.0.tgz');
    const lib = byId(tree, '@acme/lib@packages/lib');
    expect(lib.paths).toEqual(['node_modules/@acme/lib', 'packages/lib']);
    expect(lib.dependents).toEqual([{ name: '(root)', range: 'workspace:*' }]);
    // dev: reached only from devDependencies; shared is also reached from prod, so it is not dev.
    expect(tree.packages.filter((p) => p.dev).map((p) => p.id)).toEqual(['dev-only@2.0.0', 'with-tarball-url@3.0.0', '@esbuild/linux-x64@0.20.0']);
    expect(byId(tree, 'shared@1.0.0')).toMatchObject({ dev: false, direct: true });
    expect(tree.packages.filter((p) => p.optional).map((p) => p.id)).toEqual(['@esbuild/linux-x64@0.20.0']);
    expect(byId(tree, 'shared@1.0.0').dependents).toEqual([
      { name: 'uses-peer', range: '1.0.0' },
      { name: 'dev-only', range: '1.0.0' },
      { name: '(root)', range: '^1.0.0' },
    ]);
  });

  it('6.0: `/name@version` keys, alias references, non-registry keys with name and version', () => {
    const text = `lockfileVersion: '6.0'

dependencies:
  alias:
    specifier: npm:real@^1.0.0
    version: /real@1.0.0
  peer-user:
    specifier: ^1.0.0
    version: 1.0.0(real@1.0.0)
  gitdep:
    specifier: github:acme/gitdep#abc123
    version: github.com/acme/gitdep/abc123
  tarball:
    specifier: https://example.com/t-1.0.0.tgz
    version: '@example.com/t-1.0.0.tgz'

devDependencies:
  '@scope/dev':
    specifier: ^2.0.0
    version: 2.0.0

packages:

  /real@1.0.0:
    resolution: {integrity: ${SHA('a')}}
    requiresBuild: true
    dev: false

  /peer-user@1.0.0(real@1.0.0):
    resolution: {integrity: ${SHA('b')}}
    peerDependencies:
      real: ^1.0.0
    dependencies:
      real: /real@1.0.0
    dev: false

  /@scope/dev@2.0.0:
    resolution: {integrity: ${SHA('c')}}
    dependencies:
      real: 1.0.0
    dev: true

  github.com/acme/gitdep/abc123:
    resolution: {tarball: https://codeload.github.com/acme/gitdep/tar.gz/abc123}
    name: gitdep
    version: 3.0.0
    dev: false

  '@example.com/t-1.0.0.tgz':
    resolution: {integrity: ${SHA('d')}, tarball: https://example.com/t-1.0.0.tgz}
    name: tarball
    version: 1.0.0
    dev: false
`;
    const tree = read(text);
    expect(tree.format).toBe('pnpm-v6');
    const real = byId(tree, 'real@1.0.0');
    expect(real).toMatchObject({ aliases: ['alias'], hasInstallScript: false, dev: false, direct: true, lockfileLine: lineOf(text, '  /real@1.0.0:') });
    expect(real.dependents).toEqual([
      { name: 'peer-user', range: '^1.0.0' },
      { name: '@scope/dev', range: '1.0.0' },
      { name: '(root)', range: 'npm:real@^1.0.0' },
    ]);
    expect(byId(tree, '@scope/dev@2.0.0')).toMatchObject({ dev: true, direct: true });
    expect(byId(tree, 'gitdep@https://codeload.github.com/acme/gitdep/tar.gz/abc123')).toMatchObject({ source: 'git', version: '3.0.0', direct: true });
    expect(byId(tree, 'tarball@https://example.com/t-1.0.0.tgz')).toMatchObject({ source: 'tarball', version: '1.0.0' });
  });

  it('5.4: `/name/version_peers` keys, specifiers, host-prefixed keys, link: and file:', () => {
    const text = `lockfileVersion: 5.4

importers:

  .:
    specifiers:
      foo: ^1.0.0
      bar: npm:@scope/bar@^2.0.0
      other-registry: ^1.0.0
      local: file:../local
      sibling: link:../sibling
    dependencies:
      foo: 1.0.0_react@18.2.0
      bar: /@scope/bar/2.0.0
      other-registry: registry.example.com/other-registry/1.0.0
      local: file:../local
      sibling: link:../sibling

  packages/a:
    specifiers:
      foo: ^1.0.0
    devDependencies:
      foo: 1.0.0_react@17.0.2

packages:

  /foo/1.0.0_react@18.2.0:
    resolution: {integrity: ${SHA('a')}}
    peerDependencies:
      react: '*'
    dependencies:
      '@scope/bar': 2.0.0
    requiresBuild: true
    dev: false

  /foo/1.0.0_react@17.0.2:
    resolution: {integrity: ${SHA('a')}}
    peerDependencies:
      react: '*'
    dependencies:
      '@scope/bar': 2.0.0
    dev: true

  /@scope/bar/2.0.0:
    resolution: {integrity: ${SHA('b')}}
    dev: false

  registry.example.com/other-registry/1.0.0:
    resolution: {integrity: ${SHA('c')}, registry: https://registry.example.com/}
    dev: false

  file:../local:
    resolution: {directory: ../local, type: directory}
    name: local
    version: 0.0.1
    dev: false
`;
    const tree = read(text);
    expect(tree.format).toBe('pnpm-v5');
    expect(tree.packages.map((p) => `${p.id} ${p.source}`)).toEqual([
      'a@packages/a link',
      'foo@1.0.0 registry',
      '@scope/bar@2.0.0 registry',
      'other-registry@1.0.0 registry',
      'local@file:../local file',
      'sibling@../sibling link',
    ]);
    const foo = byId(tree, 'foo@1.0.0');
    expect(foo).toMatchObject({
      paths: ['node_modules/.pnpm/foo@1.0.0_react@18.2.0/node_modules/foo', 'node_modules/.pnpm/foo@1.0.0_react@17.0.2/node_modules/foo'],
      hasInstallScript: false,
      dev: false,
      lockfileLine: lineOf(text, '  /foo/1.0.0_react@18.2.0:'),
    });
    expect(byId(tree, '@scope/bar@2.0.0').paths).toEqual(['node_modules/.pnpm/@scope+bar@2.0.0/node_modules/@scope/bar']);
    expect(byId(tree, 'other-registry@1.0.0').paths).toEqual(['node_modules/.pnpm/registry.example.com+other-registry@1.0.0/node_modules/other-registry']);
    expect(foo.dependents).toEqual([{ name: '(root)', range: '^1.0.0' }]);
    expect(byId(tree, '@scope/bar@2.0.0')).toMatchObject({ aliases: ['bar'], direct: true });
    expect(byId(tree, '@scope/bar@2.0.0').dependents).toContainEqual({ name: 'foo', range: '2.0.0' });
    expect(byId(tree, 'sibling@../sibling')).toMatchObject({ paths: ['node_modules/sibling', '../sibling'], direct: true });
  });

  it("pnpm 11: reads the env document's configDependencies as well", () => {
    const text = `---
lockfileVersion: '9.0'

importers:

  .:
    configDependencies:
      my-config:
        specifier: 1.0.0
        version: 1.0.0

packages:

  my-config@1.0.0:
    resolution: {integrity: ${SHA('a')}}

snapshots:

  my-config@1.0.0: {}

---
lockfileVersion: '9.0'

importers:

  .:
    dependencies:
      foo:
        specifier: ^1.0.0
        version: 1.0.0

packages:

  foo@1.0.0:
    resolution: {integrity: ${SHA('b')}}

snapshots:

  foo@1.0.0: {}
`;
    const tree = read(text);
    expect(byId(tree, 'my-config@1.0.0').paths).toEqual(['node_modules/.pnpm-config/my-config']);
    expect(tree.packages.map((p) => [p.id, p.direct, p.lockfileLine])).toEqual([
      ['my-config@1.0.0', true, lineOf(text, '  my-config@1.0.0:')],
      ['foo@1.0.0', true, lineOf(text, '  foo@1.0.0:')],
    ]);
  });

  it('keeps a copy recording another integrity apart (it fails the integrity check on its own)', () => {
    const tree = read(`lockfileVersion: '6.0'

packages:

  /a@1.0.0(x@1.0.0):
    resolution: {integrity: ${SHA('a')}}
    dev: false

  /a@1.0.0(x@2.0.0):
    resolution: {integrity: ${SHA('b')}}
    dev: false
`);
    expect(tree.packages.map((p) => [p.id, p.integrity])).toEqual([
      ['a@1.0.0', SHA('a')],
      ['a@1.0.0#2', SHA('b')],
    ]);
  });

  it('rejects malformed files, naming what is wrong', () => {
    const malformed = (text: string, pattern: RegExp) => {
      const err = lockfileError(() => read(text));
      expect(err.code, text).toBe('malformed');
      expect(err.message).toMatch(pattern);
    };
    const v9 = (body: string) => `lockfileVersion: '9.0'\n${body}`;
    malformed('', /empty/);
    malformed("lockfileVersion: '9.0'\npackages: [\n", /not valid YAML/);
    malformed('- a\n- b\n', /top level is not a mapping/);
    malformed(v9(`packages:\n  a@1.0.0:\n    resolution: {integrity: x}\n  a@1.0.0:\n    resolution: {integrity: y}\n`), /not valid YAML \(duplicated mapping key \(5:3\)\)/);
    malformed(v9('snapshots:\n  a@1.0.0: {}\n'), /snapshots\["a@1.0.0"\] has no entry packages\["a@1.0.0"\]/);
    malformed(v9('packages:\n  a@1.0.0: {}\nsnapshots:\n  a@1.0.0: {}\n'), /packages\["a@1.0.0"\] has no resolution/);
    malformed(v9('packages:\n  a@1.0.0:\n    resolution: {}\n'), /neither integrity nor tarball/);
    malformed(v9('packages:\n  a@1.0.0:\n    resolution: {type: custom:cdn, url: x}\n'), /type "custom:cdn" is not a resolution this tool can check/);
    malformed(v9('packages:\n  a@1.0.0:\n    resolution: {tarball: ftp://x/a.tgz}\n'), /tarball "ftp:\/\/x\/a.tgz" is not/);
    malformed(v9('packages:\n  a@1.0.0:\n    resolution: {integrity: x}\nsnapshots:\n  a@1.0.0:\n    dependencies:\n      b: 1.0.0\n'), /dependencies\["b"\] is "1.0.0", which has no entry/);
    malformed(v9('importers:\n  .:\n    dependencies:\n      b:\n        specifier: ^1.0.0\n        version: 1.0.0\n'), /importers\["."\].dependencies\["b"\] is "1.0.0", which has no entry/);
    malformed(v9('packages:\n  weird:\n    resolution: {integrity: x}\n'), /cannot tell the package name and version/);
    malformed(`lockfileVersion: '6.0'\npackages:\n  /a@1.0.0:\n    resolution: {integrity: x}\n    requiresBuild: maybe\n`, /requiresBuild must be true or false/);
    malformed(`lockfileVersion: '6.0'\npackages:\n  /a@1.0.0:\n    resolution: {integrity: x}\n    dev: maybe\n`, /dev must be true or false/);
    malformed(v9('packages: 3\n'), /packages must be a mapping/);
    malformed(v9('packages:\n  ../../x@1.0.0:\n    resolution: {integrity: x}\n'), /"..\/..\/x" is not a valid package name/);
    malformed(v9("importers:\n  .:\n    dependencies:\n      '../x':\n        specifier: link:../x\n        version: link:../x\n"), /"..\/x" is not a valid package name/);
    malformed(`---\nlockfileVersion: '9.0'\n---\nlockfileVersion: '9.0'\n---\nlockfileVersion: '9.0'\n`, /found 3/);
  });

  it('rejects unsupported lockfile versions', () => {
    for (const v of ["'7.0'", "'10.0'", '3', '4.0', "'9'", 'x']) {
      const err = lockfileError(() => read(`lockfileVersion: ${v}\npackages: {}\n`));
      expect(err.code, v).toBe('unsupported-version');
    }
    expect(lockfileError(() => read('importers: {}\n')).code).toBe('unsupported-version');
  });
});

describe('readLockfile with pnpm-lock.yaml', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'safe-install-pnpm-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const project = (name: string, files: Record<string, string>) => {
    const d = join(dir, name);
    mkdirSync(d, { recursive: true });
    for (const [f, content] of Object.entries(files)) writeFileSync(join(d, f), content);
    return d;
  };
  const pnpmLock = `lockfileVersion: '9.0'\nimporters:\n  .:\n    dependencies:\n      a:\n        specifier: ^1.0.0\n        version: 1.0.0\npackages:\n  a@1.0.0:\n    resolution: {integrity: ${SHA('a')}}\nsnapshots:\n  a@1.0.0: {}\n`;
  const npmLock = JSON.stringify({ lockfileVersion: 3, packages: { '': {}, 'node_modules/b': { version: '2.0.0' } } });

  it('finds pnpm-lock.yaml, and reads an explicit lockfile by its file name', () => {
    const d = project('pnpm', { 'pnpm-lock.yaml': pnpmLock });
    const t = readLockfile(d);
    expect(t.lockfilePath).toBe(join(d, 'pnpm-lock.yaml'));
    expect(t.format).toBe('pnpm-v9');
    expect(t.packages.map((p) => p.id)).toEqual(['a@1.0.0']);
    const other = project('named', { 'some__pnpm-lock.yaml': pnpmLock });
    expect(readLockfile(other, 'some__pnpm-lock.yaml').format).toBe('pnpm-v9');
  });

  it('refuses to guess between lockfiles unless --lockfile says which', () => {
    const d = project('both', { 'pnpm-lock.yaml': pnpmLock, 'package-lock.json': npmLock });
    const err = lockfileError(() => readLockfile(d));
    expect(err.code).toBe('malformed');
    expect(err.message).toMatch(/more than one lockfile: package-lock.json, pnpm-lock.yaml; pass --pm npm\|pnpm\|yarn or --lockfile/);
    expect(readLockfile(d, 'pnpm-lock.yaml').packages.map((p) => p.id)).toEqual(['a@1.0.0']);
    expect(readLockfile(d, 'package-lock.json').packages.map((p) => p.id)).toEqual(['b@2.0.0']);
  });

  it('treats an empty pnpm-lock.yaml as no lockfile (nothing is locked: pnpm would resolve afresh)', () => {
    const d = project('empty', { 'pnpm-lock.yaml': '' });
    const err = lockfileError(() => readLockfile(d));
    expect(err.code).toBe('no-lockfile');
    expect(err.message).toMatch(/found pnpm-lock.yaml \(empty\)/);
    expect(lockfileError(() => readLockfile(d, 'pnpm-lock.yaml')).code).toBe('no-lockfile');
    // An empty one next to a real lockfile does not make it ambiguous.
    expect(readLockfile(project('empty-and-npm', { 'pnpm-lock.yaml': '\n', 'package-lock.json': npmLock })).format).toBe('npm-v3');
  });
});
