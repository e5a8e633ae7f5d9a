// "Did you mean ...?" for a word or flag the CLI does not know, as commander words it for its own errors (the
// same measure: optimal string alignment distance, at most 3 edits, more than 40% of the longer word kept).
import { at } from '../util/at.js';

/** Edits (insert, delete, substitute, swap two neighbours) that turn `a` into `b`. */
export function editDistance(a: string, b: string): number {
  // The (a.length + 1) x (b.length + 1) table in one array; every cell read (row i - 1 or i - 2, or this row left
  // of j) was written before, so each index is in range.
  const w = b.length + 1;
  const d: number[] = Array.from({ length: (a.length + 1) * w }, (_, k) => (k < w ? k : k % w === 0 ? k / w : 0));
  const cell = (i: number, j: number) => at(d, i * w + j);
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(cell(i - 1, j) + 1, cell(i, j - 1) + 1, cell(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, cell(i - 2, j - 2) + 1);
      d[i * w + j] = v;
    }
  }
  return cell(a.length, b.length);
}

/** The closest candidates to `word` (flags compared without their leading dashes), best first; empty when none is close. */
export function similar(word: string, candidates: readonly string[]): string[] {
  const strip = (s: string) => s.replace(/^--?/, '').replace(/=.*$/, '');
  const w = strip(word);
  let best = 4;
  let found: string[] = [];
  for (const c of new Set(candidates)) {
    const s = strip(c);
    if (s.length <= 1) continue;
    const dist = editDistance(w, s);
    const len = Math.max(w.length, s.length);
    if ((len - dist) / len <= 0.4) continue;
    if (dist < best) [best, found] = [dist, [c]];
    else if (dist === best) found.push(c);
  }
  return found.sort((a, b) => a.localeCompare(b));
}

/** "\n(Did you mean check?)", as commander ends its own errors, or ''. */
export function didYouMean(word: string, candidates: readonly string[]): string {
  const found = similar(word, candidates);
  if (!found.length) return '';
  return found.length === 1 ? `\n(Did you mean ${found[0]}?)` : `\n(Did you mean one of ${found.join(', ')}?)`;
}
