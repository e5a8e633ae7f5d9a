// npm run docs: writes the generated reference pages (docs/reference/*.md) from the built CLI's command definitions
// and the finding catalog (src/docs/reference.ts, run from dist/). test/unit/docs-fresh.test.ts fails when the
// committed pages differ from what this writes.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { referencePages } = await import('../dist/docs/reference.js');
for (const [path, text] of Object.entries(referencePages())) {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), text);
  console.log(`wrote ${path}`);
}
