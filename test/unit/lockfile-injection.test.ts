// Issue 14, bypasses 1 and 2, stage by stage: the integrity rule (every digest must be the registry's), where the
// package manager downloads from (npm's replace-registry-host, scoped registries, yarn and pnpm as written), and
// which exotic sources the project's own package.json asks for, in every lockfile format.
import { describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compareIntegrity, integrity } from '../../src/checks/integrity.js';
import { source } from '../../src/checks/source.js';
import { isOnRegistry, npmDownloadUrl, type NpmSettings } from '../../src/project/npm-config.js';
import { projectAsks, specKind } from '../../src/project/package-json.js';
import { downloadOf } from '../../src/pipeline.js';
import { readLockfile } from '../../src/lockfile/index.js';
import { tempDir } from '../integration/helpers.js';
import { NOW, facts, pkg, policy } from './helpers.js';
import { at } from '../../src/util/at.js';

const ctx = () => ({ now: NOW, policy: policy({}) });
const A = 'sha512-' + Buffer.alloc(64, 1).toString('base64');
const B = 'sha512-' + Buffer.alloc(64, 2).toString('base64');
const SHA1_HEX = 'aa'.repeat(20);
const SHA1 = 'sha1-' + Buffer.from(SHA1_HEX, 'hex').toString('base64');
const reg = (v: { integrity?: string; shasum?: string }) => ({ ...v, signatures: [], installScripts: {} });

describe('compareIntegrity: every digest listed must be one the registry publishes', () => {
  it("a second digest that is not the registry's is a mismatch, whichever comes first", () => {
    expect(compareIntegrity(`${A} ${B}`, reg({ integrity: A }))).toBe('mismatch');
    expect(compareIntegrity(`${B} ${A}`, reg({ integrity: A }))).toBe('mismatch');
    expect(compareIntegrity(`${A} sha1-${Buffer.alloc(20, 9).toString('base64')}`, reg({ integrity: A, shasum: SHA1_HEX }))).toBe('mismatch');
  });

  it("digests that are all the registry's match (sha512 and the legacy shasum together)", () => {
    expect(compareIntegrity(A, reg({ integrity: A }))).toBe('match');
    expect(compareIntegrity(`${SHA1} ${A}`, reg({ integrity: A, shasum: SHA1_HEX }))).toBe('match');
    expect(compareIntegrity(SHA1, reg({ integrity: A, shasum: SHA1_HEX }))).toBe('match');
  });

  it('nothing comparable: md5 only, garbage, empty, an algorithm the registry publishes none of, no registry hash', () => {
    expect(compareIntegrity('md5-' + Buffer.alloc(16, 1).toString('base64'), reg({ integrity: A }))).toBe('uncomparable');
    expect(compareIntegrity('not an integrity', reg({ integrity: A }))).toBe('uncomparable');
    expect(compareIntegrity('', reg({ integrity: A }))).toBe('uncomparable');
    expect(compareIntegrity(`${A} md5-${Buffer.alloc(16, 1).toString('base64')}`, reg({ integrity: A }))).toBe('uncomparable');
    expect(compareIntegrity(`${A} sha256-${Buffer.alloc(32, 1).toString('base64')}`, reg({ integrity: A }))).toBe('uncomparable');
    expect(compareIntegrity(A, reg({ shasum: SHA1_HEX }))).toBe('uncomparable');
    expect(compareIntegrity(A, reg({}))).toBe('uncomparable');
  });
});

describe('the integrity check', () => {
  const f = facts('a', { '1.0.0': { integrity: A, shasum: SHA1_HEX } });
  const p = pkg({ name: 'a', version: '1.0.0' });
  const url = 'https://evil.test/a/-/a-1.0.0.tgz';

  it('blocks two digests, md5 only, and no integrity beside a URL; warns only when no URL is recorded either', () => {
    const two = at(integrity.run({ ...p, integrity: `${A} ${B}` }, { facts: f }, ctx()), 0);
    expect(two).toMatchObject({ code: 'integrity-mismatch', action: 'block' });
    expect(two.message).toContain(`lists ${B.slice(0, 20)}...`); // the foreign digest, not the registry's
    expect(integrity.run({ ...p, integrity: 'md5-AAAA' }, { facts: f }, ctx())[0]).toMatchObject({ code: 'integrity-uncomparable', action: 'block' });
    const none = integrity.run({ ...p, resolved: url }, { facts: f, download: { registry: 'http://r.test/', url } }, ctx());
    expect(none[0]).toMatchObject({ code: 'integrity-uncomparable', action: 'block' });
    expect(none[0]?.message).toContain(url);
    // No URL (omit-lockfile-registry-resolved without integrity, yarn berry): fetched by name@version from the registry.
    expect(integrity.run(p, { facts: f, download: { registry: 'http://r.test/' } }, ctx())[0]).toMatchObject({ code: 'no-lockfile-integrity', action: 'warn' });
    expect(integrity.run({ ...p, integrity: A }, { facts: f, download: { registry: 'http://r.test/', url } }, ctx())).toEqual([]);
  });
});

describe("where npm downloads a lockfile URL from (npm's replace-registry-host, as @npmcli/arborist applies it)", () => {
  const npm = (registry: string, replaceRegistryHost: string) => ({ registry, replaceRegistryHost });
  const PUBLIC = 'https://registry.npmjs.org/a/-/a-1.0.0.tgz';

  it('npmjs (the default) rewrites only registry.npmjs.org, onto the configured registry and its path', () => {
    expect(npmDownloadUrl(PUBLIC, npm('http://127.0.0.1:4873/', 'npmjs'))).toBe('http://127.0.0.1:4873/a/-/a-1.0.0.tgz');
    expect(npmDownloadUrl(PUBLIC, npm('https://art.corp/api/npm/npm/', 'npmjs'))).toBe('https://art.corp/api/npm/npm/a/-/a-1.0.0.tgz');
    expect(npmDownloadUrl('https://evil.test/a/-/a-1.0.0.tgz', npm('https://registry.npmjs.org/', 'npmjs'))).toBe('https://evil.test/a/-/a-1.0.0.tgz');
  });

  it('never, always, a hostname, a URL prefix; not a URL', () => {
    expect(npmDownloadUrl(PUBLIC, npm('http://127.0.0.1:4873/', 'never'))).toBe(PUBLIC);
    expect(npmDownloadUrl('https://evil.test/a/-/a-1.0.0.tgz', npm('http://127.0.0.1:4873/', 'always'))).toBe('http://127.0.0.1:4873/a/-/a-1.0.0.tgz');
    expect(npmDownloadUrl('https://old.corp/a/-/a-1.0.0.tgz', npm('https://new.corp/', 'old.corp'))).toBe('https://new.corp/a/-/a-1.0.0.tgz');
    expect(npmDownloadUrl('https://old.corp/npm/a/-/a-1.0.0.tgz', npm('https://new.corp/r/', 'https://old.corp/npm'))).toBe('https://new.corp/r/a/-/a-1.0.0.tgz');
    expect(npmDownloadUrl('https://old.corp/other/a/-/a-1.0.0.tgz', npm('https://new.corp/r/', 'https://old.corp/npm'))).toBe('https://old.corp/other/a/-/a-1.0.0.tgz');
    expect(npmDownloadUrl('not a url', npm('https://r.test/', 'npmjs'))).toBeUndefined();
  });

  it('on the registry: same origin and under its path; registry.yarnpkg.com is registry.npmjs.org', () => {
    expect(isOnRegistry('http://127.0.0.1:4873/a/-/a-1.0.0.tgz', 'http://127.0.0.1:4873/')).toBe(true);
    expect(isOnRegistry('http://127.0.0.1:4874/a/-/a-1.0.0.tgz', 'http://127.0.0.1:4873/')).toBe(false);
    expect(isOnRegistry('https://127.0.0.1:4873/a/-/a-1.0.0.tgz', 'http://127.0.0.1:4873/')).toBe(false);
    expect(isOnRegistry('https://art.corp/api/npm/npm/a/-/a-1.0.0.tgz', 'https://art.corp/api/npm/npm/')).toBe(true);
    expect(isOnRegistry('https://art.corp/api/npm/evil/a/-/a-1.0.0.tgz', 'https://art.corp/api/npm/npm/')).toBe(false);
    expect(isOnRegistry('https://registry.yarnpkg.com/a/-/a-1.0.0.tgz', 'https://registry.npmjs.org/')).toBe(true);
    expect(isOnRegistry('https://registry.npmjs.org.evil.test/a/-/a-1.0.0.tgz', 'https://registry.npmjs.org/')).toBe(false);
  });

  it('per package manager: npm rewrites, yarn 1 and pnpm download as written (pnpm resolves a bare path), berry names no URL', () => {
    const settings = { registry: 'http://127.0.0.1:4873/', replaceRegistryHost: 'npmjs', flat: {}, pnpmKeys: {} } as NpmSettings;
    const p = pkg({ name: 'a', version: '1.0.0', resolved: PUBLIC });
    expect(downloadOf(p, settings.registry, settings, 'npm', 'npm-v3').url).toBe('http://127.0.0.1:4873/a/-/a-1.0.0.tgz');
    expect(downloadOf(p, settings.registry, settings, 'yarn', 'yarn-v1').url).toBe(PUBLIC);
    expect(downloadOf(p, settings.registry, settings, 'pnpm', 'pnpm-v9').url).toBe(PUBLIC);
    expect(downloadOf({ ...p, resolved: 'a/-/a-1.0.0.tgz' }, settings.registry, settings, 'pnpm', 'pnpm-v9').url).toBe('http://127.0.0.1:4873/a/-/a-1.0.0.tgz');
    expect(downloadOf(p, settings.registry, settings, 'yarn', 'yarn-berry').url).toBeUndefined();
    expect(downloadOf({ ...p, resolved: undefined }, settings.registry, settings, 'npm', 'npm-v3').url).toBeUndefined();
  });
});

describe('the source check on registry packages', () => {
  const f = facts('@corp/a', { '1.0.0': { integrity: A, tarball: 'https://cdn.corp/dl/a-1.0.0.tgz' } });
  const p = pkg({ name: '@corp/a', version: '1.0.0', integrity: A });

  it('blocks a download off the registry checked, names the URL and the registry', () => {
    const finding = at(source.run(p, { facts: f, download: { registry: 'https://npm.corp/', url: 'https://evil.test/@corp/a/-/a-1.0.0.tgz' } }, ctx()), 0);
    expect(finding).toMatchObject({ code: 'resolved-off-registry', action: 'block', check: 'source' });
    expect(finding.message).toContain('https://evil.test/@corp/a/-/a-1.0.0.tgz');
    expect(finding.message).toContain('https://npm.corp/');
    const port = at(source.run(p, { facts: f, download: { registry: 'https://npm.corp/', url: 'https://mirror.corp:8443/@corp/a/-/a-1.0.0.tgz' } }, ctx()), 0);
    expect(port.remedy).toContain('replace-registry-host=mirror.corp)'); // npm matches the hostname, without the port
  });

  it('a scoped package whose URL npm rewrites to the default registry is off its scoped registry', () => {
    const settings = { registry: 'https://registry.npmjs.org/', replaceRegistryHost: 'npmjs', flat: { '@corp:registry': 'https://npm.corp/' }, pnpmKeys: {} } as NpmSettings;
    const q = { ...p, resolved: 'https://registry.npmjs.org/@corp/a/-/a-1.0.0.tgz' };
    const download = downloadOf(q, 'https://npm.corp/', settings, 'npm', 'npm-v3');
    expect(source.run(q, { facts: f, download }, ctx())[0]?.code).toBe('resolved-off-registry');
  });

  it("blocks another package's folder on the registry that ends like this version's tarball", () => {
    const q = pkg({ name: 'victim', version: '1.0.0', integrity: A });
    const g = facts('victim', { '1.0.0': { integrity: A } });
    expect(source.run(q, { facts: g, download: { registry: 'https://r.test/', url: 'https://r.test/victim/-/victim-1.0.0.tgz' } }, ctx())).toEqual([]);
    expect(source.run(q, { facts: g, download: { registry: 'https://r.test/', url: 'https://r.test/@evil/victim/-/victim-1.0.0.tgz' } }, ctx())[0]?.code).toBe('resolved-off-registry');
  });

  it("passes a URL on the registry, none at all, and the registry's own dist.tarball", () => {
    expect(source.run(p, { facts: f, download: { registry: 'https://npm.corp/', url: 'https://npm.corp/@corp/a/-/a-1.0.0.tgz' } }, ctx())).toEqual([]);
    expect(source.run(p, { facts: f, download: { registry: 'https://npm.corp/' } }, ctx())).toEqual([]);
    expect(source.run(p, { facts: f, download: { registry: 'https://npm.corp/', url: 'https://cdn.corp/dl/a-1.0.0.tgz' } }, ctx())).toEqual([]);
  });
});

describe('the source check on direct exotic packages: package.json must ask for that source', () => {
  const tarball = pkg({ name: 'victim', version: '1.0.0', source: 'tarball', resolved: 'https://evil.test/victim.tgz' });
  const git = pkg({ name: 'g', version: '1.0.0', source: 'git', resolved: 'git+ssh://git@github.com/a/g.git#abc' });

  it('a registry range, version, dist-tag or npm: alias resolved elsewhere is blocked', () => {
    for (const spec of ['^1.0.0', '1.0.0', 'latest', 'npm:other@^1', '*']) {
      const finding = at(source.run({ ...tarball, requested: [spec] }, { facts: undefined }, ctx()), 0);
      expect(finding, spec).toMatchObject({ code: 'source-mismatch', action: 'block' });
    }
    expect(source.run({ ...tarball, requested: [] }, { facts: undefined }, ctx())[0]?.message).toContain('package.json asks for nothing');
    // A git spec does not choose a plain tarball URL.
    expect(source.run({ ...tarball, requested: ['github:a/victim'] }, { facts: undefined }, ctx())[0]?.code).toBe('source-mismatch');
  });

  it('the matching exotic spec keeps the old rule (sources.direct), as do yarn exec:/patch: specs and transitive packages', () => {
    expect(source.run({ ...tarball, requested: ['https://evil.test/victim.tgz'] }, { facts: undefined }, ctx())[0]).toMatchObject({ code: 'tarball-source', action: 'allow' });
    expect(source.run({ ...git, requested: ['github:a/g'] }, { facts: undefined }, ctx())[0]).toMatchObject({ code: 'git-source', action: 'allow' });
    expect(source.run({ ...git, requested: ['git+ssh://git@github.com/a/g.git'] }, { facts: undefined }, ctx())[0]?.code).toBe('git-source');
    expect(source.run({ ...tarball, requested: ['exec:./gen.js'] }, { facts: undefined }, ctx())[0]?.code).toBe('tarball-source');
    expect(source.run({ ...tarball, direct: false, requested: undefined }, { facts: undefined }, ctx())[0]).toMatchObject({ code: 'tarball-source', action: 'block' });
  });

  it('the same kind is not enough: another URL, another repository or commit, a workspace, a reference or a spec npm cannot read is blocked', () => {
    const SHA = 'a'.repeat(40);
    const pinned = { ...git, resolved: `git+ssh://git@github.com/a/g.git#${SHA}` };
    const mismatch = (p: typeof tarball, spec: string) => expect(source.run({ ...p, requested: [spec] }, { facts: undefined }, ctx())[0]?.code, spec).toBe('source-mismatch');
    mismatch(tarball, 'https://good.test/victim.tgz');
    mismatch(git, 'github:evil/g');
    mismatch(pinned, `github:a/g#${'b'.repeat(40)}`);
    mismatch(tarball, 'workspace:*');
    mismatch(git, 'link:../g');
    mismatch(tarball, '$victim');
    mismatch(tarball, 'catalog:');
    mismatch(tarball, 'beta%');
    expect(source.run({ ...pinned, requested: [`github:A/G#${SHA}`] }, { facts: undefined }, ctx())[0]?.code).toBe('git-source');
    expect(source.run({ ...tarball, requested: ['https://evil.test/victim.tgz#frag'] }, { facts: undefined }, ctx())[0]?.code).toBe('tarball-source');
    expect(source.run({ ...git, requested: ['patch:g@github%3Aa%2Fg#./p.patch'] }, { facts: undefined }, ctx())[0]?.code).toBe('git-source');
  });

  it("specKind is npm-package-arg's reading", () => {
    expect(specKind('a', '^1.0.0')).toBe('registry');
    expect(specKind('a', 'next')).toBe('registry');
    expect(specKind('a', 'npm:b@1')).toBe('registry');
    expect(specKind('a', 'github:x/y')).toBe('git');
    expect(specKind('a', 'x/y')).toBe('git');
    expect(specKind('a', 'https://x.test/a.tgz')).toBe('remote');
    expect(specKind('a', 'file:../a.tgz')).toBe('file');
    expect(specKind('a', 'file:../a')).toBe('directory');
    expect(specKind('a', 'workspace:*')).toBe('unknown');
  });

  it('projectAsks reads the root and workspaces, and overrides, resolutions and pnpm overrides by the name they set', () => {
    const dir = tempDir('si-asks-');
    mkdirSync(join(dir, 'packages', 'w'), { recursive: true });
    writeFileSync(
      join(dir, 'package.json'),
      JSON.stringify({
        dependencies: { a: '^1' },
        overrides: { b: 'https://x.test/b.tgz', 'c@^1': 'github:x/c', d: { '.': 'file:../d.tgz', e: 'https://x.test/e.tgz' } },
        resolutions: { '**/f': 'https://x.test/f.tgz', 'g/@s/h': 'github:x/h' },
        pnpm: { overrides: { 'i@1>j': 'https://x.test/j.tgz' } },
      }),
    );
    writeFileSync(join(dir, 'packages', 'w', 'package.json'), JSON.stringify({ devDependencies: { a: 'https://x.test/a.tgz' } }));
    const asks = projectAsks(dir, ['packages/w'], { k: 'https://x.test/k.tgz' });
    expect(Object.fromEntries(asks)).toEqual({
      a: ['^1', 'https://x.test/a.tgz'],
      b: ['https://x.test/b.tgz'],
      c: ['github:x/c'],
      d: ['file:../d.tgz'],
      e: ['https://x.test/e.tgz'],
      f: ['https://x.test/f.tgz'],
      '@s/h': ['github:x/h'],
      j: ['https://x.test/j.tgz'],
      k: ['https://x.test/k.tgz'],
    });
  });
});

describe('readLockfile: a direct exotic package carries what package.json asks for, in every format', () => {
  const URL_ = 'https://evil.test/victim-1.0.0.tgz';
  const SRI = 'sha512-' + Buffer.alloc(64, 3).toString('base64');
  const project = (files: Record<string, string>) => {
    const dir = tempDir('si-req-');
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', dependencies: { victim: '^1.0.0' } }));
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    const victim = readLockfile(dir).packages.find((p) => p.name === 'victim')!;
    return { victim, findings: source.run(victim, { facts: undefined }, ctx()) };
  };
  const expectSwapCaught = ({ victim, findings }: ReturnType<typeof project>) => {
    expect(victim.source).toBe('tarball');
    expect(victim.direct).toBe(true);
    expect(victim.requested).toEqual(['^1.0.0']);
    expect(findings[0]).toMatchObject({ code: 'source-mismatch', action: 'block' });
  };

  it('npm v1, v2, v3', () => {
    expectSwapCaught(
      project({ 'package-lock.json': JSON.stringify({ name: 'app', version: '1.0.0', lockfileVersion: 1, requires: true, dependencies: { victim: { version: URL_, integrity: SRI } } }) }),
    );
    for (const lockfileVersion of [2, 3]) {
      const packages = { '': { name: 'app', version: '1.0.0', dependencies: { victim: '^1.0.0' } }, 'node_modules/victim': { version: '1.0.0', resolved: URL_, integrity: SRI } };
      expectSwapCaught(project({ 'package-lock.json': JSON.stringify({ name: 'app', version: '1.0.0', lockfileVersion, requires: true, packages }) }));
    }
  });

  it('pnpm 9 and 6', () => {
    expectSwapCaught(
      project({
        'pnpm-lock.yaml': `lockfileVersion: '9.0'\n\nimporters:\n\n  .:\n    dependencies:\n      victim:\n        specifier: ^1.0.0\n        version: 1.0.0\n\npackages:\n\n  victim@1.0.0:\n    resolution: {integrity: ${SRI}, tarball: ${URL_}}\n\nsnapshots:\n\n  victim@1.0.0: {}\n`,
      }),
    );
    expectSwapCaught(
      project({
        'pnpm-lock.yaml': `lockfileVersion: '6.0'\n\ndependencies:\n  victim:\n    specifier: ^1.0.0\n    version: 1.0.0\n\npackages:\n\n  /victim@1.0.0:\n    resolution: {integrity: ${SRI}, tarball: ${URL_}}\n    dev: false\n`,
      }),
    );
  });

  it('yarn 1 and yarn berry', () => {
    expectSwapCaught(project({ 'yarn.lock': `# yarn lockfile v1\n\n\nvictim@^1.0.0:\n  version "1.0.0"\n  resolved "${URL_}"\n  integrity ${SRI}\n` }));
    const berry =
      '__metadata:\n  version: 8\n  cacheKey: 10c0\n\n' +
      '"app@workspace:.":\n  version: 0.0.0-use.local\n  resolution: "app@workspace:."\n  dependencies:\n    victim: "npm:^1.0.0"\n  languageName: unknown\n  linkType: soft\n\n' +
      `"victim@npm:^1.0.0":\n  version: 1.0.0\n  resolution: "victim@${URL_}"\n  checksum: 10c0/${'ab'.repeat(64)}\n  languageName: node\n  linkType: hard\n`;
    expectSwapCaught(project({ 'yarn.lock': berry }));
  });
});

describe("readLockfile in a workspace project: each folder's spec counts for the copy that folder gets", () => {
  const GOOD = 'https://cdn.test/victim-2.0.0.tgz';
  const EVIL = 'https://evil.test/victim-1.0.0.tgz';
  const SRI = 'sha512-' + Buffer.alloc(64, 3).toString('base64');
  const project = (files: Record<string, string>) => {
    const dir = tempDir('si-ws-');
    mkdirSync(join(dir, 'packages', 'w'), { recursive: true });
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', workspaces: ['packages/*'], dependencies: { victim: GOOD } }));
    writeFileSync(join(dir, 'packages', 'w', 'package.json'), JSON.stringify({ name: 'w', version: '1.0.0', dependencies: { victim: '^1.0.0' } }));
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    const copies = readLockfile(dir).packages.filter((p) => p.name === 'victim');
    const codes = (url: string) => source.run(copies.find((p) => p.resolved === url)!, { facts: undefined }, ctx()).map((f) => f.code);
    return { copies, codes };
  };

  it('npm: the root asks for a URL, the workspace for ^1.0.0 (its nested copy swapped to a URL)', () => {
    const packages = {
      '': { name: 'app', version: '1.0.0', workspaces: ['packages/*'], dependencies: { victim: GOOD } },
      'node_modules/victim': { version: '2.0.0', resolved: GOOD, integrity: SRI },
      'node_modules/w': { resolved: 'packages/w', link: true },
      'packages/w': { name: 'w', version: '1.0.0', dependencies: { victim: '^1.0.0' } },
      'packages/w/node_modules/victim': { version: '1.0.0', resolved: EVIL, integrity: SRI },
    };
    const { copies, codes } = project({ 'package-lock.json': JSON.stringify({ name: 'app', version: '1.0.0', lockfileVersion: 3, requires: true, packages }) });
    expect(copies.map((p) => p.requested)).toEqual([[GOOD], ['^1.0.0']]);
    expect(codes(GOOD)).toEqual(['tarball-source']);
    expect(codes(EVIL)).toEqual(['source-mismatch']);
  });

  it('yarn 1: the entry locked for victim@^1.0.0 is what the workspace asks for', () => {
    const lock = `# yarn lockfile v1\n\n\n"victim@${GOOD}":\n  version "2.0.0"\n  resolved "${GOOD}"\n\nvictim@^1.0.0:\n  version "1.0.0"\n  resolved "${EVIL}"\n  integrity ${SRI}\n`;
    const { copies, codes } = project({ 'yarn.lock': lock });
    expect(copies.map((p) => p.requested)).toEqual([[GOOD], ['^1.0.0']]);
    expect(codes(GOOD)).toEqual(['tarball-source']);
    expect(codes(EVIL)).toEqual(['source-mismatch']);
  });
});
