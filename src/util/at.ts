// Indexing where the code has already made sure the element is there (noUncheckedIndexedAccess types every
// `xs[i]` as possibly undefined). Each call says why the index is in range; if that reasoning is ever wrong,
// this is an internal error at the spot, not an `undefined` carried on into a verdict.

/** `xs[i]`, known to be present. */
export function at<T>(xs: ArrayLike<T>, i: number): T {
  const v = xs[i];
  if (v === undefined) throw new Error(`internal: index ${i} is out of range (length ${xs.length})`);
  return v;
}

/** Capture group `n` of a regex match whose pattern makes that group take part in every match. */
export function group(m: RegExpExecArray | RegExpMatchArray, n: number): string {
  const v = m[n];
  if (v === undefined) throw new Error(`internal: capture group ${n} did not take part in the match of ${m[0]}`);
  return v;
}
