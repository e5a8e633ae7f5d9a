// How long `yaml` (what the pnpm reader used) and `js-yaml` (what it uses now, as pnpm itself does) take to parse
// a real pnpm lockfile, three times each in one process: `node bench/yaml-parsers.mjs [pnpm-lock.yaml]`.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const file = process.argv[2] ?? fileURLToPath(new URL('../test/fixtures/lockfiles/vuejs_core@ea494af99365__pnpm-lock.yaml', import.meta.url));
const text = readFileSync(file, 'utf8');
const yaml = require('yaml');
const jsYaml = require('js-yaml');
const time = (name, parse) => {
  const start = performance.now();
  parse();
  console.log(`${name.padEnd(40)} ${(performance.now() - start).toFixed(1)} ms`);
};
console.log(`${file} (${(text.length / 1024).toFixed(0)} KB)`);
for (let i = 0; i < 3; i++) {
  time('yaml parseAllDocuments + toJS (failsafe)', () => yaml.parseAllDocuments(text, { schema: 'failsafe', uniqueKeys: true, lineCounter: new yaml.LineCounter() }).map((d) => d.toJS()));
  time('js-yaml loadAll (failsafe)', () => jsYaml.loadAll(text, undefined, { schema: jsYaml.FAILSAFE_SCHEMA }));
}
