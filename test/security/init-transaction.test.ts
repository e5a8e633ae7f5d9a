// Nothing lost: `safe-install init` writes all of its files or none. A target it cannot write (found only when it
// gets there, after the policy, .npmrc and package.json were written) puts every file back byte for byte and
// removes the new ones; a target it cannot even read stops it before it writes anything; and a file it would
// rewrite as text must be UTF-8 (a latin-1 byte would come back as U+FFFD). Each ends with exit 2, a plain
// message and no stack trace.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestRegistry } from '../registry/server.js';
import { cleanEnv, cli, npm, OLD, tempDir } from '../integration/helpers.js';
import { projectLockPath } from '../../src/util/lock.js';
import { noStackTrace } from './attack.js';

let registry: TestRegistry;

beforeAll(async () => {
  registry = await TestRegistry.start();
  registry.addPackage({ name: 'plain', versions: [{ version: '1.0.0', publishedAt: OLD }] });
});
afterAll(() => registry.close());

const crlf = (s: string) => Buffer.from(s.replace(/\n/g, '\r\n'), 'utf8');
/** A package.json init edits: CRLF line endings and a non-ASCII (UTF-8) description. */
const MANIFEST = crlf('{\n  "name": "app",\n  "version": "1.0.0",\n  "description": "café ☕",\n  "dependencies": {\n    "plain": "1.0.0"\n  }\n}\n');
const NPMRC = crlf('# the team settings\nsave-exact=true\n');
const FILES = ['package.json', 'package-lock.json', '.npmrc', 'safe-install.policy.json'] as const;

async function project(manifest: Buffer = MANIFEST) {
  const dir = tempDir('si-txn-init-');
  const env = cleanEnv(registry.url);
  writeFileSync(join(dir, 'package.json'), manifest);
  expect((await npm(['install', '--package-lock-only', '--ignore-scripts'], { cwd: dir, env })).code).toBe(0);
  writeFileSync(join(dir, 'package.json'), manifest);
  writeFileSync(join(dir, '.npmrc'), NPMRC);
  const files = () => Object.fromEntries(FILES.map((f) => [f, existsSync(join(dir, f)) ? readFileSync(join(dir, f)) : null]));
  return { dir, env, files, before: files() };
}

function expectSame(now: Record<string, Buffer | null>, before: Record<string, Buffer | null>, output: string): void {
  for (const f of FILES) {
    const a = now[f];
    const b = before[f];
    if (a === undefined || b === undefined) throw new Error(`${f} was not recorded`);
    expect(a === null ? b === null : b !== null && a.equals(b), `${f} changed\n${output}`).toBe(true);
  }
}

describe('init writes all of its files or none', () => {
  it('a target it cannot write (.github is a dangling link), found after three files were written: all put back', async () => {
    const p = await project();
    symlinkSync('nowhere', join(p.dir, '.github'));
    const res = await cli(['init', '--yes', '--ci', 'github'], { cwd: p.dir, env: p.env });
    const output = res.stdout + res.stderr;
    expectSame(p.files(), p.before, output);
    expect(res.code, output).toBe(2);
    // It got as far as the workflow: the policy, .npmrc and package.json were in its plan, written, and undone.
    expect(res.stdout).toContain('safe-install.policy.json');
    expect(res.stderr).toContain('safe-install init did not complete: safe-install.policy.json, .npmrc, package.json and .github/workflows/safe-install.yml are as before, byte for byte.');
    expect(res.stderr).toContain(`${join(p.dir, '.github')} is a symbolic link to nowhere, which does not exist`);
    expect(res.stderr).toContain('(error file-system: exit 2)');
    expect(noStackTrace(output)).toBe(true);
    expect(lstatSync(join(p.dir, '.github')).isSymbolicLink() && readlinkSync(join(p.dir, '.github'))).toBe('nowhere');
    expect(existsSync(projectLockPath(p.dir))).toBe(false);
  });

  it('a folder where the workflow file should go: stopped before anything is written', async () => {
    const p = await project();
    mkdirSync(join(p.dir, '.github/workflows/safe-install.yml'), { recursive: true });
    const res = await cli(['init', '--yes', '--ci', 'github'], { cwd: p.dir, env: p.env });
    const output = res.stdout + res.stderr;
    expectSame(p.files(), p.before, output);
    expect(res.code, output).toBe(2);
    expect(res.stderr).toMatch(/safe-install: cannot read .*\.github\/workflows\/safe-install\.yml: EISDIR/);
    expect(res.stderr).toContain('make it a readable file');
    expect(noStackTrace(output)).toBe(true);
  });

  it('a package.json with a latin-1 byte: refused, not rewritten with U+FFFD', async () => {
    const latin1 = Buffer.concat([MANIFEST.subarray(0, MANIFEST.indexOf('caf') + 3), Buffer.from([0xe9]), MANIFEST.subarray(MANIFEST.indexOf('caf') + 5)]);
    expect(latin1.toString('utf8')).toContain('\ufffd'); // not UTF-8
    const p = await project(latin1);
    const res = await cli(['init', '--yes'], { cwd: p.dir, env: p.env });
    const output = res.stdout + res.stderr;
    expectSame(p.files(), p.before, output);
    expect(res.code, output).toBe(2);
    expect(res.stderr).toMatch(/package\.json is not valid UTF-8: editing it would change bytes it holds/);
    expect(noStackTrace(output)).toBe(true);
  });
});
