import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readYarnLockfile, type YarnLockfileOptions } from '../../src/lockfile/yarn.js';
import { readLockfile } from '../../src/lockfile/index.js';
import { lockfileError } from './helpers.js';
import type { LockedPackage, LockedTree } from '../../src/lockfile/types.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/lockfiles');
const V1 = 'vuejs_core@914e2e3880e5__yarn.lock';
const BERRY = 'nodejs_corepack@b856c516c3d0__yarn.lock';

function load(file: string): { text: string; tree: LockedTree } {
  const path = join(FIXTURES, file);
  const text = readFileSync(path, 'utf8');
  return { text, tree: readYarnLockfile(path, text) };
}

function read(text: string, opts?: YarnLockfileOptions): LockedTree {
  return readYarnLockfile('/proj/yarn.lock', text, opts);
}

function byId(tree: LockedTree, id: string): LockedPackage {
  const p = tree.packages.find((x) => x.id === id);
  if (!p) throw new Error(`no package ${id} in ${tree.packages.map((x) => x.id).join(', ')}`);
  return p;
}

function lineOf(text: string, line: string): number {
  const i = text.split('\n').indexOf(line);
  if (i < 0) throw new Error(`no line ${line}`);
  return i + 1;
}

/**
 * Independent of the parsers: the entries of a yarn.lock as text. Each key line (column 0, not a comment)
 * starts an entry; its descriptors are the comma-separated, possibly quoted, parts; fields are the
 * two-space-indented `name value` (v1) or `name: value` (berry) lines below it.
 */
function scan(text: string): { line: number; descriptors: string[]; fields: Record<string, string> }[] {
  const out: { line: number; descriptors: string[]; fields: Record<string, string> }[] = [];
  text.split('\n').forEach((l, i) => {
    if (l === '' || l.startsWith('#') || l.startsWith('__metadata')) return;
    if (!l.startsWith(' ')) {
      const key = l.replace(/:\s*$/, '');
      out.push({ line: i + 1, descriptors: key.split(', ').map((d) => d.replace(/^"|"$/g, '')), fields: {} });
      return;
    }
    const m = /^ {2}([a-zA-Z]+):? "?([^"]*)"?$/.exec(l);
    const [, field, value] = m ?? [];
    const last = out.at(-1);
    if (last && field !== undefined && value !== undefined) last.fields[field] = value;
  });
  return out;
}

const SHA = (c: string) => 'sha512-' + c.repeat(86) + '==';
const REG = 'https://registry.yarnpkg.com';

describe('vuejs/core yarn.lock v1', () => {
  const { text, tree } = load(V1);
  const entries = scan(text);

  it('reads one package per entry, every descriptor exactly once, with its line', () => {
    expect(tree.format).toBe('yarn-v1');
    expect(entries).toHaveLength(912);
    expect(tree.packages).toHaveLength(entries.length);
    const all = tree.packages.flatMap((p) => p.paths);
    expect(all.sort()).toEqual(entries.flatMap((e) => e.descriptors).sort());
    for (const e of entries) {
      const p = tree.packages.find((x) => x.paths[0] === e.descriptors[0])!;
      expect(p.lockfileLine, e.descriptors[0]).toBe(e.line);
      expect(p.version).toBe(e.fields.version);
      expect(p.integrity).toBe(e.fields.integrity);
      expect(p.resolved).toBe(e.fields.resolved);
      expect(p.source).toBe('registry');
    }
    expect(new Set(tree.packages.map((p) => p.id)).size).toBe(tree.packages.length);
  });

  it('without package.json, takes the entries nothing depends on as the direct ones', () => {
    const direct = tree.packages.filter((p) => p.direct);
    expect(direct.length).toBeGreaterThan(10);
    for (const p of tree.packages) {
      const others = p.dependents.filter((d) => d.name !== '(root)');
      expect(p.direct, p.id).toBe(others.length === 0);
      if (p.direct) expect(p.dependents).toEqual(p.paths.map((d) => ({ name: '(root)', range: d.slice(d.indexOf('@', 1) + 1) })));
    }
    expect(tree.packages.filter((p) => p.dev)).toEqual([]);
    expect(byId(tree, '@babel/code-frame@7.12.11').dependents).toEqual([{ name: 'eslint', range: '7.12.11' }]);
  });

  it('marks packages reached only through optionalDependencies optional', () => {
    const fsevents = tree.packages.filter((p) => p.name === 'fsevents');
    expect(fsevents.length).toBeGreaterThan(0);
    for (const p of fsevents) expect(p.optional, p.id).toBe(true);
    expect(byId(tree, '@babel/code-frame@7.12.11').optional).toBe(false);
  });
});

describe('nodejs/corepack yarn.lock (berry)', () => {
  const { text, tree } = load(BERRY);
  const entries = scan(text);
  const resolutions = entries.flatMap((e) => e.fields.resolution ?? []);

  it('reads one registry package per npm: resolution, the patched ones merged into it', () => {
    expect(tree.format).toBe('yarn-berry');
    expect(tree.root.name).toBe('corepack');
    expect(entries).toHaveLength(355);
    const npm = resolutions.filter((r) => /^(?:@[^/]+\/)?[^@]+@npm:/.test(r));
    const patches = resolutions.filter((r) => r.includes('@patch:'));
    const workspaces = resolutions.filter((r) => r.includes('@workspace:'));
    expect(npm.length + patches.length + workspaces.length).toBe(entries.length);
    expect(patches).toHaveLength(4);
    expect(workspaces).toEqual(['corepack@workspace:.']);
    expect(tree.packages).toHaveLength(npm.length);
    expect(new Set(tree.packages.map((p) => p.id))).toEqual(new Set(npm.map((r) => r.replace('@npm:', '@'))));
    expect(tree.packages.every((p) => p.source === 'registry')).toBe(true);
    const all = tree.packages.flatMap((p) => p.paths);
    expect(all.sort()).toEqual(
      entries
        .filter((e) => !e.fields.resolution?.includes('@workspace:'))
        .flatMap((e) => e.descriptors)
        .sort(),
    );
  });

  it('records no integrity: the checksum hashes yarn’s zip, not the registry tarball', () => {
    expect(entries.filter((e) => e.fields.checksum).length).toBeGreaterThan(300);
    expect(tree.packages.filter((p) => p.integrity !== undefined)).toEqual([]);
  });

  it('reports a patch in `resolved` on the registry name@version it patches', () => {
    const clipanion = byId(tree, 'clipanion@3.2.1');
    expect(clipanion.resolved).toBe('clipanion@patch:clipanion@npm%3A3.2.1#~/.yarn/patches/clipanion-npm-3.2.1-fc9187f56c.patch::version=3.2.1&hash=687f75');
    expect(clipanion.paths).toEqual(['clipanion@npm:3.2.1', 'clipanion@patch:clipanion@npm%3A3.2.1#~/.yarn/patches/clipanion-npm-3.2.1-fc9187f56c.patch']);
    expect(clipanion.direct).toBe(true);
    expect(clipanion.lockfileLine).toBe(lineOf(text, '"clipanion@npm:3.2.1":'));
    expect(byId(tree, 'typescript@5.9.3').resolved).toMatch(/^typescript@patch:typescript@npm%3A5\.9\.3#optional!builtin<compat\/typescript>/);
    // Unpatched packages record nothing beyond name@version in `resolved`.
    expect(byId(tree, 'tslib@2.8.1').resolved).toBeUndefined();
  });

  it("marks the root workspace's dependencies direct, with npm-style ranges, and platform packages optional", () => {
    const rootDeps = text.slice(text.indexOf('"corepack@workspace:."'));
    const block = rootDeps.slice(rootDeps.indexOf('  dependencies:\n') + 16, rootDeps.indexOf('  dependenciesMeta:'));
    const names = block
      .trim()
      .split('\n')
      .map((l) =>
        l
          .trim()
          .replace(/^"/, '')
          .replace(/"?: .*$/, ''),
      );
    expect(names).toHaveLength(19);
    const direct = tree.packages.filter((p) => p.direct);
    expect(direct.map((p) => p.name).sort()).toEqual([...names].sort());
    expect(byId(tree, 'typescript@5.9.3').dependents).toEqual([{ name: '(root)', range: '^5.7.3' }]);
    for (const p of tree.packages.filter((x) => x.name.startsWith('@esbuild/'))) {
      expect(p.optional, p.id).toBe(true);
      expect(p.lockfileLine).toBe(lineOf(text, `"${p.name}@npm:${p.version}":`));
    }
    expect(byId(tree, 'fsevents@2.3.3').optional).toBe(true);
    expect(byId(tree, 'tslib@2.8.1').lockfileLine).toBeDefined();
  });
});

describe('synthetic yarn 1 lockfiles', () => {
  const header = '# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.\n# yarn lockfile v1\n\n\n';

  it('reads aliases, git, codeload, tarball and file: entries, and a sha1 from resolved when integrity is missing', () => {
    const text =
      header +
      `"@scope/real@^1.0.0", "alias@npm:@scope/real@^1.0.0":
  version "1.0.0"
  resolved "${REG}/@scope/real/-/real-1.0.0.tgz#0123456789abcdef0123456789abcdef01234567"
  integrity ${SHA('a')}
  dependencies:
    old "^0.1.0"
  optionalDependencies:
    native "^2.0.0"

old@^0.1.0:
  version "0.1.2"
  resolved "${REG}/old/-/old-0.1.2.tgz#89abcdef0123456789abcdef0123456789abcdef"

native@^2.0.0:
  version "2.0.0"
  resolved "${REG}/native/-/native-2.0.0.tgz"
  integrity ${SHA('b')}

"from-git@git+https://github.com/acme/from-git.git#v1":
  version "1.0.0"
  resolved "git+https://github.com/acme/from-git.git#0123456789abcdef0123456789abcdef01234567"

"from-github@acme/from-github":
  version "2.0.0"
  resolved "https://codeload.github.com/acme/from-github/tar.gz/0123456789abcdef0123456789abcdef01234567"

"remote@https://example.com/remote-3.0.0.tgz":
  version "3.0.0"
  resolved "https://example.com/remote-3.0.0.tgz#0123456789abcdef0123456789abcdef01234567"

"local@file:../local":
  version "0.0.1"
`;
    const tree = read(text);
    expect(tree.packages.map((p) => `${p.id} ${p.source}`)).toEqual([
      '@scope/real@1.0.0 registry',
      'old@0.1.2 registry',
      'native@2.0.0 registry',
      'from-git@git+https://github.com/acme/from-git.git#0123456789abcdef0123456789abcdef01234567 git',
      'from-github@https://codeload.github.com/acme/from-github/tar.gz/0123456789abcdef0123456789abcdef01234567 git',
      'remote@https://example.com/remote-3.0.0.tgz#0123456789abcdef0123456789abcdef01234567 tarball',
      'local@file:../local file',
    ]);
    const real = byId(tree, '@scope/real@1.0.0');
    expect(real).toMatchObject({ aliases: ['alias'], integrity: SHA('a'), lockfileLine: 5, direct: true, optional: false });
    expect(real.dependents).toEqual([
      { name: '(root)', range: '^1.0.0' },
      { name: '(root)', range: 'npm:@scope/real@^1.0.0' },
    ]);
    // yarn < 1.10 wrote no integrity: the resolved URL's sha1 is the registry's shasum.
    expect(byId(tree, 'old@0.1.2').integrity).toBe('sha1-iavN7wEjRWeJq83vASNFZ4mrze8=');
    expect(byId(tree, 'old@0.1.2').dependents).toEqual([{ name: '@scope/real', range: '^0.1.0' }]);
    expect(byId(tree, 'native@2.0.0')).toMatchObject({ optional: true, direct: false });
  });

  it('takes direct and dev from package.json and the workspaces', () => {
    const text =
      header +
      `a@^1.0.0:
  version "1.0.0"
  resolved "${REG}/a/-/a-1.0.0.tgz"
  integrity ${SHA('a')}
  dependencies:
    shared "^1.0.0"
    "@acme/ws" "^1.0.0"

b@^2.0.0:
  version "2.0.0"
  resolved "${REG}/b/-/b-2.0.0.tgz"
  integrity ${SHA('b')}
  dependencies:
    shared "^1.0.0"

shared@^1.0.0:
  version "1.0.0"
  resolved "${REG}/shared/-/shared-1.0.0.tgz"
  integrity ${SHA('c')}

stale@^9.0.0:
  version "9.0.0"
  resolved "${REG}/stale/-/stale-9.0.0.tgz"
  integrity ${SHA('d')}
`;
    const tree = read(text, {
      rootManifest: { name: 'app', version: '1.2.3', workspaces: ['packages/*'], dependencies: { a: '^1.0.0' }, devDependencies: { b: '^2.0.0' } },
      workspaces: [{ dir: 'packages/ws', manifest: { name: '@acme/ws', version: '1.0.0', devDependencies: { shared: '^1.0.0' } } }],
    });
    expect(tree.root).toEqual({ name: 'app', version: '1.2.3', dir: '/proj' });
    expect(tree.packages.map((p) => [p.id, p.source, p.direct, p.dev])).toEqual([
      ['a@1.0.0', 'registry', true, false],
      ['b@2.0.0', 'registry', true, true],
      ['shared@1.0.0', 'registry', true, false],
      ['stale@9.0.0', 'registry', false, false],
      ['@acme/ws@packages/ws', 'link', false, false],
    ]);
    expect(byId(tree, '@acme/ws@packages/ws')).toMatchObject({ version: '1.0.0', paths: ['node_modules/@acme/ws', 'packages/ws'] });
    expect(byId(tree, '@acme/ws@packages/ws').dependents).toEqual([{ name: 'a', range: '^1.0.0' }]);
    expect(byId(tree, 'shared@1.0.0').dependents).toEqual([
      { name: 'a', range: '^1.0.0' },
      { name: 'b', range: '^1.0.0' },
      { name: '(root)', range: '^1.0.0' },
    ]);
  });

  it('rejects merge conflicts and malformed entries', () => {
    const malformed = (text: string, pattern: RegExp) => {
      const err = lockfileError(() => read(text));
      expect(err.code, text).toBe('malformed');
      expect(err.message).toMatch(pattern);
    };
    const conflict = header + `<<<<<<< HEAD\na@^1.0.0:\n  version "1.0.0"\n=======\na@^1.0.0:\n  version "1.0.1"\n>>>>>>> branch\n`;
    malformed(conflict, /unresolved merge conflict markers/);
    malformed(header + 'a@^1.0.0:\n  version "1.0.0"\n  x\n', /not a valid yarn.lock/);
    malformed(header + 'a@^1.0.0:\n  resolved "https://r/a/-/a-1.0.0.tgz"\n', /entry "a@\^1.0.0".version is missing/);
    malformed(header + 'a@^1.0.0:\n  version "1.0.0"\n  resolved "ftp://x/a.tgz"\n', /resolved "ftp:\/\/x\/a.tgz" is not a URL/);
    malformed(header + 'a@^1.0.0:\n  version "1.0.0"\n  dependencies:\n    b true\n', /dependencies\["b"\] must be a string/);
    malformed(header + 'a@^1.0.0:\n  version "latest-ish"\n', /not a registry version/);
    malformed(header + 'nameonly:\n  version "1.0.0"\n', /"nameonly" is not <name>@<range>/);
    malformed(header + '"../x@file:../x":\n  version "1.0.0"\n', /"..\/x" is not a valid package name/);
  });
});

describe('synthetic yarn berry lockfiles', () => {
  const header = '# This file is generated by running "yarn install" inside your project.\n# Manual changes might be lost - proceed with caution!\n\n__metadata:\n  version: 8\n  cacheKey: 10c0\n\n';
  const checksum = '10c0/' + 'ab'.repeat(64);

  it('reads workspaces, aliases, link:, portal:, file:, exec:, git, tarball and patches', () => {
    const text =
      header +
      `"@acme/lib@workspace:^, @acme/lib@workspace:packages/lib":
  version: 0.0.0-use.local
  resolution: "@acme/lib@workspace:packages/lib"
  dependencies:
    real: "npm:^1.0.0"
  languageName: unknown
  linkType: soft

"app@workspace:.":
  version: 0.0.0-use.local
  resolution: "app@workspace:."
  dependencies:
    "@acme/lib": "workspace:^"
    alias: "npm:real@^1.0.0"
    dev-tool: "npm:^3.0.0"
    from-git: "https://github.com/acme/from-git.git#commit=0123456789abcdef"
    gen: "exec:./gen.js"
    linked: "link:../linked"
    local: "file:../local.tgz"
    patched: "patch:patched@npm%3A2.0.0#~/.yarn/patches/patched-npm-2.0.0-abc.patch"
    portal: "portal:../portal"
    remote: "https://example.com/remote-1.0.0.tgz"
  dependenciesMeta:
    real:
      built: true
  languageName: unknown
  linkType: soft

"alias@npm:real@^1.0.0, real@npm:^1.0.0":
  version: 1.0.0
  resolution: "real@npm:1.0.0"
  dependencies:
    native: "npm:^2.0.0"
  dependenciesMeta:
    native:
      optional: true
  checksum: ${checksum}
  languageName: node
  linkType: hard

"dev-tool@npm:^3.0.0":
  version: 3.0.0
  resolution: "dev-tool@npm:3.0.0"
  checksum: ${checksum}
  languageName: node
  linkType: hard

"from-git@https://github.com/acme/from-git.git#commit=0123456789abcdef":
  version: 4.0.0
  resolution: "from-git@https://github.com/acme/from-git.git#commit=0123456789abcdef"
  checksum: ${checksum}
  languageName: node
  linkType: hard

"gen@exec:./gen.js":
  version: 0.0.0
  resolution: "gen@exec:./gen.js#./gen.js::hash=abc&locator=app%40workspace%3A."
  languageName: node
  linkType: hard

"linked@link:../linked::locator=app%40workspace%3A.":
  version: 0.0.0-use.local
  resolution: "linked@link:../linked::locator=app%40workspace%3A."
  languageName: node
  linkType: soft

"local@file:../local.tgz::locator=app%40workspace%3A.":
  version: 5.0.0
  resolution: "local@file:../local.tgz#../local.tgz::hash=abc&locator=app%40workspace%3A."
  checksum: ${checksum}
  languageName: node
  linkType: hard

"native@npm:^2.0.0":
  version: 2.0.0
  resolution: "native@npm:2.0.0"
  conditions: os=darwin
  languageName: node
  linkType: hard

"patched@npm:2.0.0":
  version: 2.0.0
  resolution: "patched@npm:2.0.0"
  checksum: ${checksum}
  languageName: node
  linkType: hard

"patched@patch:patched@npm%3A2.0.0#~/.yarn/patches/patched-npm-2.0.0-abc.patch":
  version: 2.0.0
  resolution: "patched@patch:patched@npm%3A2.0.0#~/.yarn/patches/patched-npm-2.0.0-abc.patch::version=2.0.0&hash=123456"
  checksum: ${checksum}
  languageName: node
  linkType: hard

"portal@portal:../portal::locator=app%40workspace%3A.":
  version: 0.0.0-use.local
  resolution: "portal@portal:../portal::locator=app%40workspace%3A."
  languageName: node
  linkType: soft

"remote@https://example.com/remote-1.0.0.tgz":
  version: 1.0.0
  resolution: "remote@https://example.com/remote-1.0.0.tgz"
  checksum: ${checksum}
  languageName: node
  linkType: hard
`;
    const tree = read(text, {
      rootManifest: { name: 'app', version: '1.0.0', workspaces: ['packages/*'], dependencies: { '@acme/lib': 'workspace:^' }, devDependencies: { 'dev-tool': '^3.0.0' } },
      workspaces: [{ dir: 'packages/lib', manifest: { name: '@acme/lib', version: '1.5.0' } }],
    });
    expect(tree.format).toBe('yarn-berry');
    expect(tree.root).toEqual({ name: 'app', version: '1.0.0', dir: '/proj' });
    expect(tree.packages.map((p) => `${p.id} ${p.source}`)).toEqual([
      '@acme/lib@packages/lib link',
      'real@1.0.0 registry',
      'dev-tool@3.0.0 registry',
      'from-git@https://github.com/acme/from-git.git#commit=0123456789abcdef git',
      'gen@exec:./gen.js#./gen.js::hash=abc&locator=app%40workspace%3A. file',
      'linked@link:../linked::locator=app%40workspace%3A. link',
      'local@file:../local.tgz#../local.tgz::hash=abc&locator=app%40workspace%3A. file',
      'native@2.0.0 registry',
      'patched@2.0.0 registry',
      'portal@portal:../portal::locator=app%40workspace%3A. link',
      'remote@https://example.com/remote-1.0.0.tgz tarball',
    ]);
    expect(tree.packages.filter((p) => p.integrity !== undefined)).toEqual([]);
    const real = byId(tree, 'real@1.0.0');
    expect(real).toMatchObject({ aliases: ['alias'], direct: true, dev: false, lockfileLine: lineOf(text, '"alias@npm:real@^1.0.0, real@npm:^1.0.0":') });
    // A workspace's dependencies are the project's own, as in the npm reader: `(root)`.
    expect(real.dependents).toEqual([
      { name: '(root)', range: '^1.0.0' },
      { name: '(root)', range: 'npm:real@^1.0.0' },
    ]);
    expect(byId(tree, 'dev-tool@3.0.0')).toMatchObject({ direct: true, dev: true });
    expect(byId(tree, 'native@2.0.0')).toMatchObject({ optional: true, direct: false, dependents: [{ name: 'real', range: '^2.0.0' }] });
    expect(byId(tree, 'patched@2.0.0')).toMatchObject({
      resolved: 'patched@patch:patched@npm%3A2.0.0#~/.yarn/patches/patched-npm-2.0.0-abc.patch::version=2.0.0&hash=123456',
      direct: true,
      lockfileLine: lineOf(text, '"patched@npm:2.0.0":'),
    });
    expect(byId(tree, '@acme/lib@packages/lib')).toMatchObject({ version: '1.5.0', direct: true, dependents: [{ name: '(root)', range: 'workspace:^' }] });
  });

  it('rejects unsupported versions and malformed entries', () => {
    for (const v of ['3', '11', 'x']) {
      const err = lockfileError(() => read(`__metadata:\n  version: ${v}\n`));
      expect(err.code, v).toBe('unsupported-version');
    }
    const malformed = (text: string, pattern: RegExp) => {
      const err = lockfileError(() => read(header + text));
      expect(err.code, text).toBe('malformed');
      expect(err.message).toMatch(pattern);
    };
    malformed('"a@npm:^1.0.0":\n  version: [\n', /not a valid yarn.lock/);
    malformed('"a@npm:^1.0.0":\n  version: 1.0.0\n', /resolution is missing/);
    malformed('"@x@npm:^1.0.0":\n  version: 1.0.0\n  resolution: "@x@npm:1.0.0"\n', /"@x" is not a valid package name/);
    malformed('"a@npm:^1.0.0":\n  version: 1.0.0\n  resolution: "a@npm:1.0.1"\n', /does not match version "1.0.0"/);
    malformed('"a@jsr:^1.0.0":\n  version: 1.0.0\n  resolution: "a@jsr:1.0.0"\n', /protocol this tool cannot check/);
    malformed('"a@npm:^1.0.0":\n  version: 1.0.0\n  resolution: "a@npm:1.0.0"\n  dependencies: 3\n', /dependencies must be a mapping/);
    malformed('"a@patch:b@npm%3A1.0.0#x.patch":\n  version: 1.0.0\n  resolution: "a@patch:b@npm%3A1.0.0#x.patch::version=1.0.0&hash=1"\n', /patches "b", not "a"/);
    expect(lockfileError(() => read('__metadata: 3\n')).message).toMatch(/__metadata must be a mapping/);
  });
});

describe('readLockfile with yarn.lock', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'safe-install-yarn-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const project = (name: string, files: Record<string, string>) => {
    const d = join(dir, name);
    for (const [f, content] of Object.entries(files)) {
      mkdirSync(dirname(join(d, f)), { recursive: true });
      writeFileSync(join(d, f), content);
    }
    return d;
  };
  const v1 =
    '# yarn lockfile v1\n\n\n' +
    `a@^1.0.0:\n  version "1.0.0"\n  resolved "${REG}/a/-/a-1.0.0.tgz"\n  integrity ${SHA('a')}\n\n` +
    `b@^2.0.0:\n  version "2.0.0"\n  resolved "${REG}/b/-/b-2.0.0.tgz"\n  integrity ${SHA('b')}\n`;

  it('reads package.json and the workspaces it declares next to yarn.lock', () => {
    const d = project('ws', {
      'yarn.lock': v1,
      'package.json': JSON.stringify({ name: 'app', private: true, workspaces: ['packages/*', '!packages/skip'], devDependencies: { a: '^1.0.0' } }),
      'packages/one/package.json': JSON.stringify({ name: 'one', version: '1.0.0', dependencies: { b: '^2.0.0' } }),
      'packages/skip/package.json': JSON.stringify({ name: 'skip', dependencies: { a: '^1.0.0' } }),
      'packages/nomanifest/README': '',
    });
    const t = readLockfile(d);
    expect(t.format).toBe('yarn-v1');
    expect(t.root).toEqual({ name: 'app', dir: d });
    expect(t.packages.map((p) => [p.id, p.direct, p.dev])).toEqual([
      ['a@1.0.0', true, true],
      ['b@2.0.0', true, false],
      ['one@packages/one', false, false],
    ]);
  });

  it('refuses to guess between lockfiles, reads the one --lockfile names, ignores an empty yarn.lock', () => {
    const npmLock = JSON.stringify({ lockfileVersion: 3, packages: { '': {}, 'node_modules/c': { version: '3.0.0' } } });
    const d = project('both', { 'yarn.lock': v1, 'package-lock.json': npmLock, 'npm-shrinkwrap.json': npmLock });
    const err = lockfileError(() => readLockfile(d));
    expect(err.code).toBe('malformed');
    expect(err.message).toMatch(/more than one lockfile: npm-shrinkwrap.json, yarn.lock; pass --pm npm\|pnpm\|yarn or --lockfile/);
    expect(readLockfile(d, 'yarn.lock').format).toBe('yarn-v1');
    expect(readLockfile(project('named', { 'x__yarn.lock': v1 }), 'x__yarn.lock').format).toBe('yarn-v1');
    expect(readLockfile(project('empty-yarn', { 'yarn.lock': '', 'package-lock.json': npmLock })).format).toBe('npm-v3');
    const none = lockfileError(() => readLockfile(project('only-empty', { 'yarn.lock': '' })));
    expect(none.code).toBe('no-lockfile');
    expect(none.message).toMatch(/found yarn.lock \(empty\)/);
  });
});
