// Line diffs as reviewers read them: the edit script between two lists of lines (jsdiff's Myers diff, bounded
// by an edit cap) and a unified diff of it (`--- a/p`, `+++ b/p`, `@@` hunks), cut to a readable length. Used by
// `inspect` (the files of two versions) and `init` (the files it would change).
import { diffArrays } from 'diff';

/** Past this many line edits a diff shows the changed region as removed then added. */
export const DEFAULT_MAX_EDITS = 2000;

/** A text's lines (`\n` or `\r\n`), without the empty one after a final line break. */
export function splitLines(text: string): string[] {
  const lines = text.split(/\r?\n/);
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

export interface DiffOp {
  op: ' ' | '-' | '+';
  line: string;
}

/**
 * A line diff (jsdiff's Myers diff, after trimming the common prefix and suffix). When more than `maxEdits`
 * edits would be needed, the differing middle is shown as removed then added.
 */
export function diffLines(a: string[], b: string[], maxEdits = DEFAULT_MAX_EDITS): DiffOp[] {
  return lineDiff(a, b, maxEdits).ops;
}

/** diffLines, and whether the edit cap was hit (the middle then shows as replaced wholesale). */
export function lineDiff(a: string[], b: string[], maxEdits: number): { ops: DiffOp[]; exact: boolean } {
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const head: DiffOp[] = a.slice(0, start).map((line) => ({ op: ' ', line }));
  const tail: DiffOp[] = a.slice(endA).map((line) => ({ op: ' ', line }));
  const A = a.slice(start, endA);
  const B = b.slice(start, endB);
  const exact = editScript(A, B, maxEdits);
  const middle = exact ?? [...A.map((line): DiffOp => ({ op: '-', line })), ...B.map((line): DiffOp => ({ op: '+', line }))];
  return { ops: [...head, ...middle, ...tail], exact: exact !== null };
}

/** The shortest edit script from A to B, or null when it takes more than `maxEdits` edits. */
function editScript(A: string[], B: string[], maxEdits: number): DiffOp[] | null {
  if (A.length === 0) return B.map((line) => ({ op: '+', line }));
  if (B.length === 0) return A.map((line) => ({ op: '-', line }));
  const changes = diffArrays(A, B, { maxEditLength: maxEdits });
  if (!changes) return null;
  const ops: DiffOp[] = [];
  for (const c of changes) {
    const op = c.added ? '+' : c.removed ? '-' : ' ';
    for (const line of c.value) ops.push({ op, line });
  }
  return ops;
}

/** A unified diff of `ops` (`--- a/path`, `+++ b/path`, `@@` hunks with `context` lines), cut at `maxLines`. */
export function unifiedDiff(path: string, ops: DiffOp[], opts: { context: number; maxLines: number; maxLineChars: number; added?: boolean }): { text: string; truncated: boolean } {
  const lines = [opts.added ? '--- /dev/null' : `--- a/${path}`, `+++ b/${path}`];
  // Positions (1-based) in a and b of every op.
  const posA: number[] = [];
  const posB: number[] = [];
  let ia = 1;
  let ib = 1;
  for (const o of ops) {
    posA.push(ia);
    posB.push(ib);
    if (o.op !== '+') ia++;
    if (o.op !== '-') ib++;
  }
  const changes = ops.map((o, i) => (o.op === ' ' ? -1 : i)).filter((i) => i >= 0);
  let truncated = false;
  let i = 0;
  while (i < changes.length) {
    const from = Math.max(0, changes[i]! - opts.context);
    let to = Math.min(ops.length - 1, changes[i]! + opts.context);
    let j = i + 1;
    while (j < changes.length && changes[j]! - opts.context <= to + 1) {
      to = Math.min(ops.length - 1, changes[j]! + opts.context);
      j++;
    }
    const slice = ops.slice(from, to + 1);
    const countA = slice.filter((o) => o.op !== '+').length;
    const countB = slice.filter((o) => o.op !== '-').length;
    const startA = countA === 0 ? posA[from]! - 1 : posA[from]!;
    const startB = countB === 0 ? posB[from]! - 1 : posB[from]!;
    lines.push(`@@ -${startA},${countA} +${startB},${countB} @@`);
    for (const o of slice) {
      const line = o.line.length > opts.maxLineChars ? `${o.line.slice(0, opts.maxLineChars)}... [${o.line.length - opts.maxLineChars} more characters]` : o.line;
      lines.push(`${o.op}${line}`);
    }
    if (lines.length > opts.maxLines) {
      truncated = true;
      break;
    }
    i = j;
  }
  if (lines.length > opts.maxLines) {
    truncated = true;
    lines.length = opts.maxLines;
  }
  if (truncated) lines.push(`... (diff cut at ${opts.maxLines} lines)`);
  return { text: lines.join('\n'), truncated };
}
