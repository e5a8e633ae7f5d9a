// Where each entry of an npm lockfile starts: the 1-based line of every entry key, for reports that point at it.
import { MAX_NESTING, NM } from './npm-paths.js';

/**
 * One pass over the text, tracking the stack of object keys, recording the 1-based line of every
 * entry key: keys directly inside top-level `packages` (v2/v3), or the install path of every key
 * at `dependencies[a].dependencies[b]...` (v1). Exact, unlike a text search: a key cannot be
 * confused with an equal string value or a key at another depth. Called only on valid JSON.
 */
export function scanEntryLines(text: string, fromPackages: boolean): Map<string, number> {
  const lines = new Map<string, number>();
  const stack: (string | null)[] = []; // the key each open container is the value of
  const isObj: boolean[] = [];
  let pendingKey: string | null = null;
  let expectKey = false;
  let line = 1;

  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x0a) {
      line++;
    } else if (c === 0x22 /* " */) {
      let j = i + 1;
      let escaped = false;
      while (j < text.length) {
        const d = text.charCodeAt(j);
        if (d === 0x5c /* \ */) {
          escaped = true;
          j += 2;
        } else if (d === 0x22) break;
        else j++;
      }
      if (expectKey) {
        const key: string = escaped ? JSON.parse(text.slice(i, j + 1)) : text.slice(i + 1, j);
        pendingKey = key;
        expectKey = false;
        const path = entryPathAt(stack, key, fromPackages);
        if (path !== undefined && !lines.has(path)) lines.set(path, line);
      }
      i = j;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      stack.push(pendingKey);
      isObj.push(c === 0x7b);
      pendingKey = null;
      expectKey = c === 0x7b;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
      isObj.pop();
      pendingKey = null;
      expectKey = false;
    } else if (c === 0x2c /* , */) {
      pendingKey = null;
      expectKey = isObj[isObj.length - 1] === true;
    }
  }
  return lines;
}

function entryPathAt(stack: (string | null)[], key: string, fromPackages: boolean): string | undefined {
  // stack[0] is the top-level object (null key); stack[1] is the top-level key, and so on.
  if (fromPackages) return stack.length === 2 && stack[1] === 'packages' ? key : undefined;
  // Deeper than the reader accepts (it refuses the lockfile): no path built, so the scan stays linear.
  if (stack.length > 2 * MAX_NESTING) return undefined;
  // v1: [null, 'dependencies', a, 'dependencies', b, 'dependencies'] -> node_modules/a/node_modules/b/node_modules/<key>
  if (stack.length % 2 !== 0 || stack.length < 2) return undefined;
  let path = '';
  for (let k = 1; k < stack.length; k += 2) {
    if (stack[k] !== 'dependencies') return undefined;
    const name = stack[k + 1];
    if (k + 1 < stack.length) path += `${NM}${name}/`;
  }
  return path + NM + key;
}
