// The project's package.json as init edits it: JSON the user wrote, so every field it touches is checked before
// it is changed (a "scripts" that is a string is the user's to fix, not a crash nor something to overwrite).
import { GuardError } from '../errors.js';
import { isObject, type Json } from '../util/is-object.js';

export type JsonObject = Json;

function notAnObject(what: string, v: unknown): GuardError {
  const kind = v === null ? 'null' : Array.isArray(v) ? 'an array' : `a ${typeof v}`;
  return new GuardError('bad-config', `package.json ${what} is ${kind}, not an object: safe-install init will not change it`, {
    remedy: `fix package.json ${what} (or remove it), then run safe-install init again`,
  });
}

/** package.json's text parsed: a JSON object, or a bad-config error (the caller has already read it as JSON once). */
export function parsePackageDoc(text: string): JsonObject {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new GuardError('bad-config', `package.json is not valid JSON: ${(err as Error).message}`, { remedy: 'fix package.json' });
  }
  if (!isObject(doc)) throw notAnObject('(the whole document)', doc);
  return doc;
}

/** The object under `key` (undefined when absent or null); a field of another type is a bad-config error. */
export function objectField(doc: JsonObject, key: string, where = `"${key}"`): JsonObject | undefined {
  const v = doc[key];
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) throw notAnObject(where, v);
  return v;
}

/** Puts `hook` first in the script `name` (kept when already there); a script that is not a string is an error. */
export function prependHook(scripts: JsonObject, name: string, hook: string): void {
  const pre = scripts[name];
  if (pre === undefined || pre === null || pre === '') scripts[name] = hook;
  else if (typeof pre !== 'string') {
    throw new GuardError('bad-config', `package.json "scripts"."${name}" is a ${typeof pre}, not a command: safe-install init will not change it`, {
      remedy: `fix package.json "scripts"."${name}" (or remove it), then run safe-install init again`,
    });
  } else if (!pre.includes(hook)) scripts[name] = `${hook} && ${pre}`;
}
