// The one test for "a JSON object" (not null, not an array), used wherever parsed JSON or YAML is read.
export type Json = Record<string, unknown>;

export function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
