// Why a JS file looks minified or obfuscated: long lines, density, escapes, javascript-obfuscator's names,
// eval/Function of a built string, a long base64 run, bidirectional control characters. Text in, reasons out.
import { DEFAULT_LIMITS, type CodeReason, type InspectLimits } from './types.js';
import { formatBytes } from './tree.js';

/** Why a JS text looks minified or obfuscated (empty when it does not). */
export function codeHeuristics(source: string, limits: InspectLimits = DEFAULT_LIMITS): CodeReason[] {
  const reasons: CodeReason[] = [];
  // An inline source map is one long base64 line that every compiler writes; it is not the code.
  const text = source.replace(/^\/\/[#@] sourceMappingURL=data:[^,\n]*;base64,[A-Za-z0-9+/=]*[ \t\r]*$/gm, '');
  const lines = text.split('\n');
  let longest = 0;
  let long = 0;
  for (const l of lines) {
    if (l.length > longest) longest = l.length;
    if (l.length > limits.longLine) long++;
  }
  if (longest > limits.longLine) {
    reasons.push({ code: 'long-lines', detail: `${long} line${long === 1 ? '' : 's'} over ${limits.longLine} characters (longest ${longest})` });
  }
  if (text.length >= limits.denseMinBytes) {
    const ws = text.match(/\s/g)?.length ?? 0;
    const ratio = (text.length - ws) / text.length;
    if (ratio > limits.denseRatio) reasons.push({ code: 'dense', detail: `${Math.round(ratio * 100)}% non-whitespace` });
  }
  const escapes = text.match(/\\x[0-9a-fA-F]{2}|\\u[0-9a-fA-F]{4}|\\u\{[0-9a-fA-F]+\}/g)?.length ?? 0;
  if (escapes >= limits.escapesMin && (escapes * 1000) / Math.max(1, text.length) >= limits.escapesPerKb) {
    reasons.push({ code: 'escapes', detail: `${escapes} hex/unicode escapes (${((escapes * 1000) / text.length).toFixed(0)} per 1000 characters)` });
  }
  const names = new Set(text.match(/\b_0x[0-9a-fA-F]{3,8}\b/g) ?? []);
  if (names.size >= limits.obfuscatorNamesMin) reasons.push({ code: 'obfuscator-names', detail: `${names.size} _0x... identifiers` });
  const dynamic = dynamicCode(text);
  if (dynamic.length) reasons.push({ code: 'dynamic-code', detail: dynamic.join('; ') });
  const blob = base64Blob(text, limits.base64MinChars);
  if (blob) reasons.push({ code: 'base64-blob', detail: `a base64 run of ${blob} characters (${formatBytes(Math.floor((blob * 3) / 4))} decoded)` });
  const bidi = text.match(/[\u202A-\u202E\u2066-\u2069]/g)?.length ?? 0;
  if (bidi) reasons.push({ code: 'bidi-control', detail: `${bidi} bidirectional control character${bidi === 1 ? '' : 's'} (text may not read as it runs)` });
  return reasons;
}

const STRING_BUILDING = /\+|\.join\s*\(|fromCharCode|atob\s*\(|Buffer\.from\s*\(|\.replace\s*\(|\.split\s*\(|\.reverse\s*\(|\.concat\s*\(|\$\{|decodeURIComponent\s*\(|unescape\s*\(|\.toString\s*\(/;

/** `eval(...)` (any argument that is not a plain literal) and `Function(...)` built from strings. */
function dynamicCode(text: string): string[] {
  const found = new Map<string, number>();
  for (const m of text.matchAll(/\b(eval|Function)\s*\(/g)) {
    const before = text.slice(Math.max(0, m.index - 1), m.index);
    if (before === '.' && m[1] === 'eval') continue; // obj.eval(...) is a method call
    const args = argumentText(text, m.index + m[0].length);
    const literal = /^\s*(['"`])[^'"`$]*\1\s*$/.test(args);
    const suspicious = m[1] === 'eval' ? !literal || STRING_BUILDING.test(args) : STRING_BUILDING.test(args);
    if (!suspicious) continue;
    const key = `${m[1]}(`;
    found.set(key, (found.get(key) ?? 0) + 1);
  }
  return [...found].map(([k, n]) => `${k} with a built string${n > 1 ? ` (${n} times)` : ''}`);
}

/** The text of a call's arguments (up to the matching parenthesis, at most 400 characters). */
function argumentText(text: string, from: number): string {
  let depth = 1;
  let i = from;
  const end = Math.min(text.length, from + 400);
  for (; i < end; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')' && --depth === 0) break;
  }
  return text.slice(from, i);
}

/** Length of the longest base64 run of at least `min` characters that is not an inline source map; 0 if none. */
function base64Blob(text: string, min: number): number {
  let longest = 0;
  const re = new RegExp(`[A-Za-z0-9+/]{${min},}={0,2}`, 'g');
  for (const m of text.matchAll(re)) {
    const prefix = text.slice(Math.max(0, m.index - 120), m.index);
    if (/sourceMappingURL=data:[^,\s]*;base64,$/.test(prefix)) continue;
    const s = m[0];
    // A real payload mixes cases and digits; long runs of one letter or path-like text do not.
    if (!/[A-Z]/.test(s) || !/[a-z]/.test(s) || !/[0-9]/.test(s)) continue;
    if (s.length > longest) longest = s.length;
  }
  return longest;
}
