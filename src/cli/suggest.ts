// "Did you mean ...?" for a word or flag the CLI does not know, as commander words it for its own errors (the
// same measure: optimal string alignment distance, at most 3 edits, more than 40% of the longer word kept).

/** Edits (insert, delete, substitute, swap two neighbours) that turn `a` into `b`. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
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
