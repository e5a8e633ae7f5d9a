// The CI gate's report formats: SARIF 2.1.0 (validated against the SARIF schema), GitHub workflow commands and
// job summary, and the --format parser. The CheckResult comes from the real pipeline against the loopback registry.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import Ajv04Module from 'ajv-draft-04';
import addFormatsModule from 'ajv-formats';
import type { Log } from 'sarif';
import { TestRegistry } from '../registry/server.js';
import { tempDir, writeProject } from '../integration/helpers.js';
import { runCheck, type CheckResult } from '../../src/pipeline.js';
import { GuardError } from '../../src/errors.js';
import type { FindingCode } from '../../src/types.js';
import { FINGERPRINT_KEY, toSarif } from '../../src/report/sarif.js';
import { CATALOG } from '../../src/checks/catalog.js';
import { cell, escapeData, escapeProperty, toGithubCommands, toGithubSummary, workflowCommand } from '../../src/report/github.js';
import { emitReports, formatsFromFlags, parseFormats } from '../../src/report/formats.js';
import { makeStyle } from '../../src/report/text.js';
import { at } from '../../src/util/at.js';

const require = createRequire(import.meta.url);
// CommonJS modules with a `default` export: under NodeNext the default import is the module object.
const Ajv04 = Ajv04Module.default;
const addFormats = addFormatsModule.default;
/** The SARIF 2.1.0 JSON schema as shipped by Microsoft's SARIF SDK (@microsoft/jest-sarif); it is draft-04. */
const SCHEMA_PATH = require.resolve('@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json');

const NOW = new Date('2026-06-15T12:00:00Z');
const OLD = '2024-01-01T00:00:00.000Z';
const YOUNG = '2026-06-14T12:00:00.000Z';

let registry: TestRegistry;
let home: string;
let dir: string;
let result: CheckResult;
let lockText: string[];
const savedEnv = { ...process.env };

function sarifValidator() {
  const schema = JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as Record<string, unknown>;
  // The schema's `language` pattern (`...-[a-zA-Z]{2}]?$`) is valid only as a non-unicode regular expression.
  const ajv = new Ajv04({ allErrors: true, strict: false, unicodeRegExp: false });
  addFormats(ajv);
  return ajv.compile(schema);
}

/** The 1-based line of the lockfile that opens `node_modules/<name>`. */
function lineOf(name: string): number {
  return lockText.findIndex((l) => l.includes(`"node_modules/${name}": {`)) + 1;
}

beforeAll(async () => {
  // Nothing of this machine's npm setup: empty user and global npmrc, no npm_config_* from the environment.
  home = tempDir('si-fmt-home-');
  writeFileSync(join(home, '.npmrc'), '');
  writeFileSync(join(home, 'global-npmrc'), '');
  for (const k of Object.keys(process.env)) if (/^npm_config_/i.test(k)) delete process.env[k];
  process.env.npm_config_userconfig = join(home, '.npmrc');
  process.env.npm_config_globalconfig = join(home, 'global-npmrc');
  delete process.env.GITHUB_STEP_SUMMARY;

  registry = await TestRegistry.start();
  registry.addPackage({
    name: 'young',
    versions: [
      { version: '1.0.0', publishedAt: OLD },
      { version: '1.1.0', publishedAt: YOUNG },
    ],
  });
  // The registry says another hash than the tarball's, which the lockfile records: an integrity mismatch.
  registry.addPackage({ name: 'tampered', versions: [{ version: '2.0.0', publishedAt: OLD, integrityOverride: 'sha512-' + Buffer.alloc(64, 7).toString('base64') }] });
  registry.addPackage({ name: 'clean', versions: [{ version: '3.0.0', publishedAt: OLD }] });
  registry.addPackage({ name: 'scripted', versions: [{ version: '4.0.0', publishedAt: OLD, scripts: { postinstall: 'node setup.js' } }] });

  // A project folder whose name needs escaping in a workflow command property, at the top of a "repository".
  dir = join(tempDir('si-fmt-'), 'repo 50%, a:b');
  mkdirSync(join(dir, '.git'), { recursive: true });
  mkdirSync(join(dir, 'app'));
  const project = join(dir, 'app');
  writeProject(project, registry, { young: '1.1.0', tampered: '2.0.0', clean: '3.0.0', scripted: '4.0.0' });
  const lockPath = join(project, 'package-lock.json');
  const lock = JSON.parse(readFileSync(lockPath, 'utf8'));
  lock.packages['node_modules/scripted'].hasInstallScript = true;
  writeFileSync(lockPath, JSON.stringify(lock, null, 2));
  // The test registry serves no signing keys or publisher data: the policy accepts that, so `clean` is allowed.
  writeFileSync(join(project, 'safe-install.policy.json'), JSON.stringify({ actions: { 'registry-no-keys': 'allow', 'trust-undecidable': 'allow' } }));
  lockText = readFileSync(lockPath, 'utf8').split('\n');

  result = await runCheck({ cwd: project, registry: registry.url, cacheDir: tempDir('si-fmt-cache-'), now: NOW, retries: 0 });
});

afterAll(async () => {
  await registry?.close();
  for (const k of Object.keys(process.env)) if (!(k in savedEnv)) delete process.env[k];
  Object.assign(process.env, savedEnv);
});

describe('the CheckResult the reports render', () => {
  it('has a quarantined, a blocked, a warned and an allowed package', () => {
    const verdict = Object.fromEntries(result.verdicts.map((v) => [v.pkg.name, v.verdict]));
    expect(result.errors).toEqual([]);
    expect(verdict).toEqual({ young: 'quarantine', tampered: 'block', clean: 'allow', scripted: 'warn' });
  });
});

describe('SARIF', () => {
  it('validates against the SARIF 2.1.0 schema, and a broken log does not', () => {
    const validate = sarifValidator();
    const log = toSarif(result);
    expect(validate(log), JSON.stringify(validate.errors, null, 2)).toBe(true);

    const broken = structuredClone(log) as unknown as { runs: { results: { level: string }[] }[]; version?: string };
    at(at(broken.runs, 0).results, 0).level = 'fatal';
    expect(validate(broken)).toBe(false);
    const noVersion = structuredClone(log) as unknown as Record<string, unknown>;
    delete noVersion.version;
    expect(validate(noVersion)).toBe(false);
  });

  it('has one rule per finding code, with help text, and a rule for every result', () => {
    const log = toSarif(result);
    const driver = at(log.runs, 0).tool.driver;
    expect(driver.name).toBe('safe-install');
    expect(driver.version).toBe(JSON.parse(readFileSync(resolve('package.json'), 'utf8')).version);
    expect(driver.informationUri).toMatch(/^https:\/\//);
    const ids = (driver.rules ?? []).map((r) => r.id);
    expect(ids.sort()).toEqual((Object.keys(CATALOG) as FindingCode[]).sort());
    for (const r of driver.rules ?? []) {
      expect(r.name).toMatch(/^[A-Z][A-Za-z]+$/);
      expect(r.shortDescription?.text).toBeTruthy();
      expect(r.fullDescription?.text).toBeTruthy();
      expect(r.help?.text).toContain('What to do');
      expect(r.help?.markdown).toContain('**What to do:**');
    }
    for (const res of at(log.runs, 0).results ?? []) {
      expect(ids).toContain(res.ruleId);
      expect(driver.rules![res.ruleIndex!]?.id).toBe(res.ruleId);
    }
    expect(driver.rules!.find((r) => r.id === 'too-young')!.help!.text).toContain('fallback');
  });

  it('reports warn, quarantine and block findings at the package line of the lockfile, with the right level', () => {
    const log = toSarif(result);
    const results = at(log.runs, 0).results ?? [];
    const by = (code: string) => results.filter((r) => r.ruleId === code);

    const young = by('too-young');
    expect(young).toHaveLength(1);
    expect(young[0]?.level).toBe('error');
    expect(young[0]?.message.text).toContain('young@1.1.0');
    const tampered = by('integrity-mismatch');
    expect(tampered).toHaveLength(1);
    expect(tampered[0]?.level).toBe('error');
    expect(tampered[0]?.message.text).toContain('tampered@2.0.0');
    const scripted = by('install-script-unlisted');
    expect(scripted).toHaveLength(1);
    expect(scripted[0]?.level).toBe('warning');
    // Allowed findings (and the allowed package) are omitted.
    expect(results.some((r) => (r.properties as { package: string }).package === 'clean')).toBe(false);
    expect(results.every((r) => r.level === 'error' || r.level === 'warning')).toBe(true);
    expect(by('registry-no-keys')).toEqual([]);

    for (const [res, name] of [
      [at(young, 0), 'young'],
      [at(tampered, 0), 'tampered'],
      [at(scripted, 0), 'scripted'],
    ] as const) {
      const loc = at(res.locations ?? [], 0).physicalLocation!;
      // Relative to the repository root (the folder holding .git), percent-encoded as a URI.
      expect(loc.artifactLocation).toEqual({ uri: 'app/package-lock.json', uriBaseId: '%SRCROOT%' });
      const line = loc.region!.startLine!;
      expect(line).toBe(lineOf(name));
      expect(lockText[line - 1]).toContain(`"node_modules/${name}"`);
    }
    const base = at(log.runs, 0).originalUriBaseIds?.['%SRCROOT%']?.uri ?? '';
    expect(decodeURIComponent(new URL(base).pathname)).toBe(dir + '/');
  });

  it('fingerprints are stable per package and code, and distinct between them', () => {
    const a = at(toSarif(result).runs, 0).results!;
    const b = at(toSarif(result).runs, 0).results!;
    const fp = (rs: typeof a) => rs.map((r) => r.partialFingerprints![FINGERPRINT_KEY]);
    expect(fp(a)).toEqual(fp(b));
    expect(new Set(fp(a)).size).toBe(a.length);
  });

  it('says the run succeeded, and when the check could not complete says so in the invocation', () => {
    expect(at(toSarif(result).runs, 0).invocations?.[0]).toMatchObject({ executionSuccessful: true, exitCode: 1 });

    const err = new GuardError('registry-timeout', 'timed out fetching young', { pkg: 'young', remedy: 'retry, or raise --timeout' });
    const failed: CheckResult = { ...result, errors: [err] };
    const log = toSarif(failed);
    expect(sarifValidator()(log)).toBe(true);
    const inv = at(at(log.runs, 0).invocations ?? [], 0);
    expect(inv.executionSuccessful).toBe(false);
    expect(inv.exitCode).toBe(2);
    const n = at(inv.toolExecutionNotifications ?? [], 0);
    expect(n.level).toBe('error');
    expect(n.descriptor?.id).toBe('registry-timeout');
    expect(n.message.text).toContain('timed out fetching young');
    expect(n.message.text).toContain('raise --timeout');
    expect(at(n.locations ?? [], 0).physicalLocation!.region!.startLine).toBe(lineOf('young'));
  });

  it('a lockfile outside the repository root is named by an absolute file URI', () => {
    const log = toSarif(result, { root: join(dir, 'elsewhere') });
    const loc = at(at(at(log.runs, 0).results ?? [], 0).locations ?? [], 0).physicalLocation!.artifactLocation!;
    expect(loc.uriBaseId).toBeUndefined();
    expect(loc.uri).toMatch(/^file:\/\//);
    expect(decodeURIComponent(new URL(loc.uri!).pathname)).toBe(join(dir, 'app', 'package-lock.json'));
    expect(sarifValidator()(log)).toBe(true);
  });
});

describe('GitHub workflow commands and job summary', () => {
  it('escapes messages and properties as GitHub requires', () => {
    expect(escapeData('50% done\r\nnext: a, b')).toBe('50%25 done%0D%0Anext: a, b');
    expect(escapeProperty('a:b,c%d\ne')).toBe('a%3Ab%2Cc%25d%0Ae');
    expect(workflowCommand('warning', { file: 'x,y.json', line: 3, title: 't:1' }, 'm\n::error::no')).toBe('::warning file=x%2Cy.json,line=3,title=t%3A1::m%0A::error::no');
  });

  it('annotates each finding the policy acts on at its lockfile line, strongest first', () => {
    const out = toGithubCommands(result);
    const lines = out.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    // The path has a space, a percent, a comma and a colon: escaped in the property.
    const file = 'repo 50%25%2C a%3Ab/app/package-lock.json';
    expect(lines[0]).toBe(
      `::error file=${file.replace('repo 50%25%2C a%3Ab/', '')},line=${lineOf('tampered')},title=integrity-mismatch tampered@2.0.0::` +
        escapeData(`tampered@2.0.0 blocked: ${findingOf('tampered', 'integrity-mismatch').message}\n-> ${findingOf('tampered', 'integrity-mismatch').remedy}`),
    );
    expect(lines[1]).toMatch(new RegExp(`^::error file=app/package-lock\\.json,line=${lineOf('young')},title=too-young young@1\\.1\\.0::young@1\\.1\\.0 quarantined: `));
    expect(lines[2]).toMatch(new RegExp(`^::warning file=app/package-lock\\.json,line=${lineOf('scripted')},title=install-script-unlisted scripted@4\\.0\\.0::`));
    // Every command is one line: the remedy's newline is escaped.
    expect(lines[0]).toContain('%0A-> ');

    // The repository root's own name is escaped when the path includes it.
    const fromAbove = toGithubCommands(result, { root: resolve(dir, '..') });
    expect(fromAbove.split('\n')[0]).toContain(`file=${file},line=`);
  });

  it('escapes a message with a newline, a colon, a comma and a percent so it cannot start another command', () => {
    const evil: CheckResult = {
      ...result,
      verdicts: result.verdicts.map((v) =>
        v.pkg.name !== 'scripted' ? v : { ...v, findings: v.findings.map((f) => (f.action === 'warn' ? { ...f, message: 'postinstall: curl x, 100%\n::error file=evil::owned' } : f)) },
      ),
    };
    const line = toGithubCommands(evil)
      .split('\n')
      .find((l) => l.includes('scripted@4.0.0'))!;
    // The registry's line break is shown as an escape (safe-text.ts), and the percent escaped as the toolkit does.
    expect(line).toContain('::scripted@4.0.0 warning: postinstall: curl x, 100%25\\n::error file=evil::owned');
    expect(
      toGithubCommands(evil)
        .split('\n')
        .filter((l) => l.startsWith('::error file=evil')),
    ).toEqual([]);
  });

  it('writes the report to a file and appends a summary table to $GITHUB_STEP_SUMMARY', async () => {
    const out = tempDir('si-fmt-out-');
    const summary = join(out, 'step-summary.md');
    writeFileSync(summary, '# earlier step\n');
    process.env.GITHUB_STEP_SUMMARY = summary;
    try {
      await emitReports(result, [{ format: 'github', path: join(out, 'gh.txt') }], makeStyle(false));
    } finally {
      delete process.env.GITHUB_STEP_SUMMARY;
    }
    const gh = readFileSync(join(out, 'gh.txt'), 'utf8');
    // The human report, fenced off by stop-commands, then the annotations.
    const token = /^::stop-commands::(\S+)\n/.exec(gh)![1];
    expect(gh).toContain(`\n::${token}::\n`);
    expect(gh).toContain('safe-install check');
    expect(gh.slice(gh.indexOf(`::${token}::`))).toContain('::error file=app/package-lock.json');

    const md = readFileSync(summary, 'utf8');
    expect(md.startsWith('# earlier step\n')).toBe(true);
    expect(md).toContain('### safe-install check: install refused (exit 1)');
    expect(md).toContain('**1 allowed, 1 with warnings, 1 quarantined, 1 blocked**');
    expect(md).toContain('| package | verdict | findings | message | remedy |');
    const rows = md.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| package') && !l.startsWith('| ---'));
    expect(rows.map((r) => r.split(' | ')[0])).toEqual(['| tampered@2.0.0', '| young@1.1.0', '| scripted@4.0.0']);
    expect(rows[0]).toContain('`integrity-mismatch`');
    expect(rows[1]).toContain('| quarantined |');
    expect(md).not.toContain('clean@3.0.0');
  });

  it('caps the summary table and escapes Markdown in cells', () => {
    const many: CheckResult = {
      ...result,
      verdicts: Array.from({ length: 130 }, (_, i) => {
        const v = result.verdicts.find((x) => x.pkg.name === 'scripted')!;
        return { ...v, pkg: { ...v.pkg, name: `p${i}`, id: `p${i}@1.0.0` } };
      }),
    };
    const md = toGithubSummary(many);
    expect(md.split('\n').filter((l) => /^\| p\d+@/.test(l))).toHaveLength(100);
    expect(md).toContain('and 30 more');
    expect(cell('a|b <img src=x> **c**\nd')).toBe('a\\|b &lt;img src=x&gt; \\*\\*c\\*\\*<br>d');
  });
});

describe('--format', () => {
  it('parses json=out.json,github', () => {
    expect(parseFormats('json=out.json,github', '/base')).toEqual([{ format: 'json', path: '/base/out.json' }, { format: 'github' }]);
    expect(parseFormats(['sarif=reports/r.sarif', 'text'], '/b')).toEqual([{ format: 'sarif', path: '/b/reports/r.sarif' }, { format: 'text' }]);
  });

  it('rejects two stdout formats, unknown names, empty entries and one file for two formats', () => {
    const bad = (v: string) => {
      try {
        parseFormats(v, '/b');
      } catch (err) {
        expect(err).toBeInstanceOf(GuardError);
        expect((err as GuardError).code).toBe('bad-usage');
        return (err as GuardError).message;
      }
      throw new Error(`accepted ${v}`);
    };
    expect(bad('json,github')).toContain('only one report can go to stdout');
    expect(bad('xml')).toContain('unknown --format "xml"');
    expect(bad('json,,text')).toContain('empty entry');
    expect(bad('sarif=')).toContain('needs a file name');
    expect(bad('json=a.out,sarif=a.out')).toContain('would both write');
  });

  it('--json is shorthand for --format json; no flag means text', () => {
    expect(formatsFromFlags({}, '/b')).toEqual([{ format: 'text' }]);
    expect(formatsFromFlags({ json: true }, '/b')).toEqual([{ format: 'json' }]);
    expect(formatsFromFlags({ json: true, format: 'sarif=x.sarif' }, '/b')).toEqual([{ format: 'sarif', path: '/b/x.sarif' }, { format: 'json' }]);
    expect(() => formatsFromFlags({ json: true, format: 'text' }, '/b')).toThrow(GuardError);
  });

  it('renders several formats in one run: files written whole, one on stdout', async () => {
    const out = tempDir('si-fmt-multi-');
    let stdout = '';
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stdout += String(chunk);
      return true;
    });
    try {
      await emitReports(result, parseFormats('json=out/r.json,sarif=out/r.sarif,text', out), makeStyle(false), { textSuffix: 'LEDGER\n' });
    } finally {
      spy.mockRestore();
    }
    expect(stdout).toContain('safe-install check');
    expect(stdout.endsWith('LEDGER\n')).toBe(true);
    const json = JSON.parse(readFileSync(join(out, 'out', 'r.json'), 'utf8'));
    expect(json.summary).toMatchObject({ allow: 1, warn: 1, quarantine: 1, block: 1, exitCode: 1 });
    const sarif = JSON.parse(readFileSync(join(out, 'out', 'r.sarif'), 'utf8')) as Log;
    expect(sarifValidator()(sarif)).toBe(true);
    expect(sarif.runs[0]?.results).toHaveLength(3);
  });
});

function findingOf(name: string, code: string) {
  return result.verdicts.find((v) => v.pkg.name === name)!.findings.find((f) => f.code === code)!;
}

describe('registry-wide warnings in the text report', () => {
  it('count every package they concern, also those listed under a stronger verdict (as --format github does)', async () => {
    const project = join(dir, 'app');
    const policy = join(tempDir('si-fmt-pol-'), 'policy.json');
    writeFileSync(policy, JSON.stringify({ actions: { 'registry-no-keys': 'warn', 'trust-undecidable': 'allow' } }));
    const warned = await runCheck({ cwd: project, registry: registry.url, cacheDir: tempDir('si-fmt-cache-'), now: NOW, retries: 0, policy });
    const { toText } = await import('../../src/report/text.js');
    const text = toText(warned, makeStyle(false));
    // young is quarantined and tampered blocked, yet the registry has no keys for them either.
    expect(warned.verdicts.filter((v) => v.verdict === 'warn').length).toBeLessThan(4);
    expect(text).toMatch(/registry-no-keys: .*\(4 packages\)/);
    expect(toGithubCommands(warned, { root: dir })).toMatch(/registry-no-keys \(4 packages\)/);
  });
});
