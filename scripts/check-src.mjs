#!/usr/bin/env node
// src/ holds TypeScript sources only. A compiled file left there (src/types.js from a stray `tsc` run, say) is
// loaded in place of its .ts by vitest and dependency-cruiser, which resolve `./x.js` to x.js when it exists: the
// tests then run stale code. Run by `npm test` before the tests; exits 1 listing every such file.
//
// Usage: node scripts/check-src.mjs [dir]   (default: src/ next to this script's folder)
import { readdirSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Files under src/ that are meant to be there although they are not .ts/.tsx sources (paths relative to src/). */
const ALLOWED = new Set([
  // Types for @npmcli/redact, which ships none (a hand-written declaration, not tsc output).
  'util/npmcli-redact.d.ts',
  // Types for @npmcli/package-json, which ships none.
  'util/npmcli-package-json.d.ts',
]);

const root = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'src'));

/** A TypeScript source: .ts/.tsx/.mts/.cts, but not a declaration file (.d.ts, .d.mts...), which tsc emits. */
const isSource = (name) => /\.[cm]?tsx?$/.test(name) && !/\.d\.[cm]?ts$/.test(name);

const stray = [];
const walk = (dir) => {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path);
    else if (!isSource(entry.name) && !ALLOWED.has(relative(root, path).split(sep).join('/'))) stray.push(relative(process.cwd(), path));
  }
};

try {
  walk(root);
} catch (err) {
  console.error(`check-src: cannot read ${root}: ${err.message}`);
  process.exit(2);
}
if (stray.length) {
  console.error(`check-src: ${stray.length} file(s) under ${relative(process.cwd(), root) || '.'} that are not TypeScript sources:`);
  for (const f of stray.sort()) console.error(`  ${f}`);
  console.error('Vitest and dependency-cruiser load a compiled file in place of its .ts: delete them (or, for an intended file, add it to ALLOWED in scripts/check-src.mjs).');
  process.exit(1);
}
console.log(`check-src: ${relative(process.cwd(), root) || '.'} holds TypeScript sources only`);
