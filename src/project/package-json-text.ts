// package.json edits as npm makes them: the text is parsed by @npmcli/package-json (npm's own reader, which
// records the file's indentation and line ending) and serialised as its `save` does. Only the text is made
// here: it is written by the caller's transaction (src/util/transaction.ts), atomic and under the project's
// lock, never by `save`, which writes in place. Keys are set on the document directly, not through `update`:
// its dependency step runs on every update and, where a name is in both dependencies and peerDependencies,
// copies the peer range over the dependency's (an init that only adds a script would change a range).
import type PackageJsonType from '@npmcli/package-json';
import { lazy } from '../util/lazy.js';
import { createRequire } from 'node:module';

// A plain require of a literal name, so the bundler (scripts/bundle.mjs) sees and includes each library.
const require = createRequire(import.meta.url);

const PackageJson = lazy<{ default: typeof PackageJsonType } | typeof PackageJsonType>(() => require('@npmcli/package-json'));
const INDENT = Symbol.for('indent');
const NEWLINE = Symbol.for('newline');
const BOM = '\uFEFF';

export type Manifest = Record<string, unknown>;

function load(text: string): PackageJsonType {
  const mod = PackageJson();
  const Ctor = 'default' in mod ? mod.default : mod;
  return new Ctor().fromJSON(text);
}

/** package.json text parsed as npm parses it (a leading BOM is allowed); throws on text that is not a JSON object. */
export function parsePackageJson(text: string): Manifest {
  const content = load(text).content;
  if (typeof content !== 'object' || content === null || Array.isArray(content)) throw new TypeError('the top level is not a JSON object');
  return content;
}

/**
 * package.json text after `change` edits the parsed document in place. The result keeps the file's
 * indentation, line endings and byte order mark; like npm's `save` it ends in a line break (none for a file
 * written on one line).
 */
export function editPackageJson(text: string, change: (doc: Manifest) => void): string {
  const doc = parsePackageJson(text);
  change(doc);
  return formatPackageJson(doc, text.startsWith(BOM));
}

/**
 * As @npmcli/package-json's `save` formats a document: its recorded indent (two spaces if none) and line ending
 * (one of them: a blank line after the opening brace is recorded as two, which would double every line break).
 */
function formatPackageJson(content: Record<string | symbol, unknown>, bom: boolean): string {
  const indent = typeof content[INDENT] === 'string' ? content[INDENT] : '  ';
  const recorded = typeof content[NEWLINE] === 'string' ? content[NEWLINE] : '\n';
  const newline = recorded === '' ? '' : recorded.includes('\r') ? '\r\n' : '\n';
  return (bom ? BOM : '') + `${JSON.stringify(content, null, indent)}\n`.replace(/\n/g, newline);
}
