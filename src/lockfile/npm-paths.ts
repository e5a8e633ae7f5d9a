// Install paths of npm's lockfile (`node_modules/a/node_modules/@s/b`): their segments, their depth, and the
// names they install under, each checked before another stage joins it to the project folder.
import type { LockfileError } from './errors.js';
import { malformed } from './registry-url.js';
import { isFolderName } from './graph.js';

export const NM = 'node_modules/';

/**
 * The deepest node_modules nesting read (`node_modules/a/node_modules/b` is 2). npm since v5 dedupes, so real
 * trees nest a handful of levels; a lockfile nested deeper is refused as malformed rather than walked (its
 * install paths, and the work per dependency, grow with the depth).
 */
export const MAX_NESTING = 100;

/** A name as it may appear as one node_modules segment: `name` or `@scope/name`. */
export function checkInstallName(file: string, name: string, where: string): void {
  if (!isFolderName(name)) throw malformed(file, `${where}: ${JSON.stringify(name)} is not a valid package folder name`);
}

/** The name a key installs under (`node_modules/a/node_modules/@s/b` -> `@s/b`), or undefined for folders. */
export function installNameOf(key: string): string | undefined {
  const i = key.lastIndexOf('/' + NM);
  if (i >= 0) return key.slice(i + 1 + NM.length);
  if (key.startsWith(NM)) return key.slice(NM.length);
  return undefined;
}

/** The install path one level up: `node_modules/a/node_modules/b` -> `node_modules/a`; `node_modules/a` -> `''`. */
export function parentPath(path: string): string | undefined {
  const i = path.lastIndexOf('/' + NM);
  if (i >= 0) return path.slice(0, i);
  return path.startsWith(NM) ? '' : undefined;
}

/** How many node_modules levels an install path nests: `node_modules/a/node_modules/b` is 2. */
export function nesting(path: string): number {
  let n = path.startsWith(NM) ? 1 : 0;
  for (let i = path.indexOf('/' + NM); i >= 0; i = path.indexOf('/' + NM, i + 1)) n++;
  return n;
}

export function tooDeep(file: string, where: string, depth: number): LockfileError {
  // `where` of a deep entry is as long as its nesting: name only its start.
  const at = where.length > 200 ? `${where.slice(0, 200)}...` : where;
  return malformed(file, `${at} is nested ${depth} node_modules levels deep (more than ${MAX_NESTING}); npm does not write such lockfiles: regenerate it with npm install`);
}
