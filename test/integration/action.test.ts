// The GitHub Action, run the way the runner runs it: `node <action>/dist/action.mjs` with the inputs as INPUT_*
// environment variables (hyphens kept: INPUT_WORKING-DIRECTORY), the step's outputs file in GITHUB_OUTPUT, from
// a copy of only what the action's checkout holds (no node_modules: nothing is installed at CI time), against
// the loopback registry.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { TestRegistry } from '../registry/server.js';
import { cleanEnv, OLD, ROOT, run, tempDir, writeProject } from './helpers.js';

let registry: TestRegistry;
let actionDir: string;
let entry: string;

beforeAll(async () => {
  registry = await TestRegistry.start();
  registry.addPackage({ name: 'young', versions: [{ version: '1.0.0', publishedAt: new Date(Date.now() - 86_400_000).toISOString() }] });
  registry.addPackage({ name: 'plain', versions: [{ version: '1.0.0', publishedAt: OLD }] });
  // The action's checkout: action.yml, the bundle, and the data it reads beside it; nothing else.
  actionDir = tempDir('si-action-');
  const meta = parse(readFileSync(join(ROOT, 'action.yml'), 'utf8')) as { runs: { using: string; main: string } };
  for (const f of ['action.yml', 'package.json', 'policies', 'trust', meta.runs.main]) {
    mkdirSync(join(actionDir, f, '..'), { recursive: true });
    cpSync(join(ROOT, f), join(actionDir, f), { recursive: true });
  }
  entry = join(actionDir, meta.runs.main);
});
afterAll(() => registry.close());

async function runAction(workspace: string, inputs: Record<string, string>) {
  const outputs = join(tempDir('si-out-'), 'output');
  writeFileSync(outputs, '');
  const env: NodeJS.ProcessEnv = { ...cleanEnv(registry.url), CI: 'true', GITHUB_ACTIONS: 'true', GITHUB_OUTPUT: outputs, GITHUB_WORKSPACE: workspace };
  for (const [k, v] of Object.entries(inputs)) env[`INPUT_${k.toUpperCase()}`] = v;
  const res = await run(process.execPath, [entry], { cwd: workspace, env });
  return { ...res, outputs: readFileSync(outputs, 'utf8') };
}

describe('the GitHub Action', () => {
  it('action.yml declares the inputs the entry reads and runs the bundled file', () => {
    const meta = parse(readFileSync(join(ROOT, 'action.yml'), 'utf8')) as { inputs: Record<string, unknown>; outputs: Record<string, unknown>; runs: { using: string; main: string } };
    expect(Object.keys(meta.inputs).sort()).toEqual(['command', 'format', 'policy', 'working-directory']);
    expect(Object.keys(meta.outputs)).toEqual(['exit-code']);
    expect(meta.runs).toEqual({ using: 'node24', main: 'dist/action.mjs' });
    expect(existsSync(entry)).toBe(true);
  });

  it('check: writes the SARIF and the annotations in the working directory, exit 1 for a held version, passed through as the exit-code output', async () => {
    const ws = tempDir('si-ws-');
    const project = join(ws, 'app');
    mkdirSync(project);
    writeProject(project, registry, { young: '1.0.0' });
    const res = await runAction(ws, { command: 'check', format: 'sarif=safe-install.sarif,github', 'working-directory': 'app' });
    expect(res.code).toBe(1);
    expect(res.outputs).toBe('exit-code=1\n');
    expect(JSON.parse(readFileSync(join(project, 'safe-install.sarif'), 'utf8')).runs[0].results.map((r: { ruleId: string }) => r.ruleId)).toContain('too-young');
    expect(res.stdout).toMatch(/::error file=package-lock\.json,line=\d+,title=too-young young@1\.0\.0::/);
    expect(res.stderr).not.toMatch(/\n\s+at /); // no stack
  });

  it('the policy input is the policy used (a 0-day policy allows the young version: exit 0)', async () => {
    const ws = tempDir('si-ws-');
    writeProject(ws, registry, { young: '1.0.0' });
    writeFileSync(join(ws, 'relaxed.json'), JSON.stringify({ minimumReleaseAge: '0d' }));
    const res = await runAction(ws, { command: 'check', policy: 'relaxed.json' });
    expect(res.code).toBe(0);
    expect(res.outputs).toBe('exit-code=0\n');
  });

  it('ci: the guarded install with the real npm, from the action alone', async () => {
    const ws = tempDir('si-ws-');
    writeProject(ws, registry, { plain: '1.0.0' });
    const res = await runAction(ws, { command: 'ci' });
    expect(res.code).toBe(0);
    expect(res.outputs).toBe('exit-code=0\n');
    expect(existsSync(join(ws, 'node_modules', 'plain', 'package.json'))).toBe(true);
  });

  it('an unknown command (or a format with ci) is refused before the registry is asked: exit 2, an error annotation', async () => {
    const ws = tempDir('si-ws-');
    writeProject(ws, registry, { plain: '1.0.0' });
    const before = registry.requests.length;
    const bad = await runAction(ws, { command: 'publish' });
    expect(bad.code).toBe(2);
    expect(bad.stdout).toMatch(/^::error title=safe-install::input command: "publish" is not one of check, ci, install$/m);
    expect(bad.outputs).toBe('exit-code=2\n');
    const fmt = await runAction(ws, { command: 'ci', format: 'sarif=x.sarif' });
    expect(fmt.code).toBe(2);
    expect(fmt.stdout).toMatch(/::error title=safe-install::input format: only command check/);
    expect(registry.requests.length).toBe(before);
    expect(existsSync(join(ws, 'node_modules'))).toBe(false);
  });
});
