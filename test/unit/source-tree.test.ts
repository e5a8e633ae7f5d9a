// The two source-tree checks `npm test` runs before the tests: no compiled file under src/ (scripts/check-src.mjs)
// and the dependency rule (.dependency-cruiser.cjs, `npm run lint:deps`), each run on a small tree made to break it.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

const repo = resolve(import.meta.dirname, '..', '..');

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'si-src-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

describe('scripts/check-src.mjs', () => {
  const run = (dir: string) => spawnSync(process.execPath, [join(repo, 'scripts', 'check-src.mjs'), dir], { cwd: dir, encoding: 'utf8' });

  it('fails listing every compiled or declaration file under src/, and not the sources or the intended declaration', () => {
    const dir = tree({
      'types.ts': 'export type A = 1;\n',
      'types.js': 'export const A = 1;\n',
      'ui/prompt.tsx': 'export {};\n',
      'checks/index.d.ts': 'export {};\n',
      'checks/index.js.map': '{}\n',
      'util/npmcli-redact.d.ts': "declare module '@npmcli/redact';\n",
    });
    const r = run(dir);
    expect(r.status).toBe(1);
    const listed = r.stderr
      .split('\n')
      .filter((l) => l.startsWith('  '))
      .map((l) => l.trim());
    expect(listed).toEqual(['checks/index.d.ts', 'checks/index.js.map', 'types.js']);
  });

  it('passes a tree of TypeScript sources', () => {
    const r = run(tree({ 'types.ts': 'export type A = 1;\n', 'ui/prompt.tsx': 'export {};\n', 'util/npmcli-redact.d.ts': '\n' }));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('passes the real src/', () => {
    const r = spawnSync(process.execPath, [join(repo, 'scripts', 'check-src.mjs')], { cwd: repo, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});

describe('the dependency rule (.dependency-cruiser.cjs)', () => {
  interface Violation {
    from: string;
    to: string;
    rule: { name: string };
  }
  function cruise(files: Record<string, string>): Violation[] {
    const dir = tree({ 'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', jsx: 'react-jsx', strict: true }, include: ['src'] }), ...files });
    copyFileSync(join(repo, '.dependency-cruiser.cjs'), join(dir, '.dependency-cruiser.cjs'));
    const bin = join(repo, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
    const r = spawnSync(process.execPath, [bin, 'src', '--config', '.dependency-cruiser.cjs', '--output-type', 'json'], { cwd: dir, encoding: 'utf8', maxBuffer: 64 << 20 });
    if (r.stdout === '') throw new Error(`depcruise failed: ${r.stderr}`);
    const out = JSON.parse(r.stdout) as { summary: { violations: Violation[] } };
    return out.summary.violations;
  }
  const pairs = (vs: Violation[]) => vs.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`).sort();

  it('reports an upward import (type-only too), a check reading the registry, a peer import, a cycle and a folder with no layer', () => {
    const violations = cruise({
      'src/types.ts': 'export type Finding = { code: string };\n',
      'src/checks/types.ts': "import type { Finding } from '../types.js';\nexport interface CheckInput { f?: Finding }\n",
      // registry is below checks: a type-only import counts.
      'src/registry/client.ts': "import type { CheckInput } from '../checks/types.js';\nexport const client = (i: CheckInput) => i;\n",
      'src/checks/integrity.ts': "import { client } from '../registry/client.js';\nexport const run = client;\n",
      'src/report/text.ts': "import { ask } from '../ui/prompt.js';\nexport const text = ask;\n",
      'src/ui/prompt.tsx': 'export const ask = 1;\n',
      'src/install/a.ts': "import { b } from './b.js';\nexport const a = () => b;\n",
      'src/install/b.ts': "import { a } from './a.js';\nexport const b = () => a;\n",
      'src/newstage/x.ts': "import type { Finding } from '../types.js';\nexport type X = Finding;\n",
    });
    expect(pairs(violations)).toEqual([
      'checks-read-facts-not-the-registry: src/checks/integrity.ts -> src/registry/client.ts',
      'layer:registry: src/registry/client.ts -> src/checks/types.ts',
      'no-circular: src/install/a.ts -> src/install/b.ts', // a cycle is reported once
      'no-layer: src/newstage/x.ts -> src/types.ts',
      'peers:report, ui: src/report/text.ts -> src/ui/prompt.tsx',
    ]);
  });

  it('allows imports down the layers', () => {
    const violations = cruise({
      'src/types.ts': 'export type Finding = { code: string };\n',
      'src/util/text.ts': 'export const t = 1;\n',
      'src/facts.ts': "import { t } from './util/text.js';\nexport const f = t;\n",
      'src/registry/client.ts': "import { f } from '../facts.js';\nexport const client = f;\n",
      'src/checks/integrity.ts': "import { f } from '../facts.js';\nimport type { Finding } from '../types.js';\nexport const run = (x: Finding) => [x, f];\n",
      'src/pipeline.ts': "import { client } from './registry/client.js';\nimport { run } from './checks/integrity.js';\nexport const go = [client, run];\n",
      'src/cli/main.ts': "import { go } from '../pipeline.js';\nexport const main = go;\n",
    });
    expect(pairs(violations)).toEqual([]);
  });
});
