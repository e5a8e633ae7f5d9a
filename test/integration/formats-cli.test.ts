// The CI gate through the real CLI: several reports in one run, files written, annotations on stdout.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestRegistry } from '../registry/server.js';
import { cleanEnv, cli, tempDir, writeProject } from './helpers.js';

let registry: TestRegistry;
beforeAll(async () => {
  registry = await TestRegistry.start();
  registry.addPackage({ name: 'young', versions: [{ version: '1.0.0', publishedAt: new Date(Date.now() - 86_400_000).toISOString() }] });
});
afterAll(() => registry.close());

describe('check --format', () => {
  it('writes SARIF and JSON files and prints GitHub annotations on the lockfile line, with a step summary', async () => {
    const dir = tempDir('si-fmt-');
    writeProject(dir, registry, { young: '1.0.0' });
    const summary = join(dir, 'summary.md');
    writeFileSync(summary, '');
    const env = { ...cleanEnv(registry.url), GITHUB_STEP_SUMMARY: summary, CI: 'true' };
    const res = await cli(['check', '--format', 'sarif=out.sarif,json=out.json,github'], { cwd: dir, env });
    expect(res.code).toBe(1);
    const sarif = JSON.parse(readFileSync(join(dir, 'out.sarif'), 'utf8'));
    expect(sarif.version).toBe('2.1.0');
    const result = sarif.runs[0].results.find((r: any) => r.ruleId === 'too-young');
    const line = result.locations[0].physicalLocation.region.startLine;
    expect(readFileSync(join(dir, 'package-lock.json'), 'utf8').split('\n')[line - 1]).toContain('"node_modules/young"');
    expect(JSON.parse(readFileSync(join(dir, 'out.json'), 'utf8')).summary.quarantine).toBe(1);
    expect(res.stdout).toMatch(new RegExp(`::error file=package-lock.json,line=${line},title=too-young young@1.0.0::`));
    expect(readFileSync(summary, 'utf8')).toMatch(/\| young@1\.0\.0 \|/);
  });

  it('rejects two reports on stdout before asking the registry', async () => {
    const dir = tempDir('si-fmt-');
    writeProject(dir, registry, { young: '1.0.0' });
    const before = registry.requests.length;
    const res = await cli(['check', '--format', 'json,sarif'], { cwd: dir, env: cleanEnv(registry.url) });
    expect(res.code).toBe(2);
    expect(registry.requests.length).toBe(before);
  });
});
