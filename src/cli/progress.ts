// What the guard is doing while it works, on stderr. On a terminal: one line, redrawn in place (names checked of
// the total, the phase: checking, installing, running scripts) and erased before any other output. Without a
// terminal (CI logs): none of that; only when the registry part stalls (no answer from any registry for
// FIRST_ANSWER_MS at the start, or STALL_MS later, while requests are out) one line saying what it waits for,
// repeated every REPEAT_MS while the stall lasts.
import type { CheckStatus } from '../pipeline.js';
import { describeWaiting, shortDuration } from '../registry/health.js';
import { displayText } from '../util/safe-text.js';

const FIRST_ANSWER_MS = 1500;
const STALL_MS = 10_000;
const REPEAT_MS = 15_000;
const REDRAW_MS = 100;

let drawn = false;
const stream: NodeJS.WriteStream = process.stderr;

function onTerminal(): boolean {
  return Boolean(stream.isTTY) && process.env.TERM !== 'dumb';
}

/** Erase the progress line, if one is drawn (called before anything else is written). */
export function clearProgress(): void {
  if (!drawn) return;
  stream.write('\r\x1b[K');
  drawn = false;
}

function draw(text: string): void {
  const width = Math.max(20, (stream.columns || 80) - 1);
  // Names come from the lockfile: inert text, cut to the terminal's width so the line never wraps.
  const line = displayText(text);
  stream.write(`\r\x1b[K${line.length > width ? `${line.slice(0, width - 1)}…` : line}`);
  drawn = true;
}

/** Watches the registry part of a check (CheckOptions.watch): the function returned ends the watch. */
export function watchCheck(status: () => CheckStatus): () => void {
  const started = Date.now();
  let timer: NodeJS.Timeout;
  if (onTerminal()) {
    timer = setInterval(() => {
      const s = status();
      const host = s.waiting.length ? `; waiting for ${s.waiting.map((w) => w.host).join(', ')}` : '';
      draw(`safe-install: checking ${s.done}/${s.total} names (${shortDuration(Date.now() - started)}${host})`);
    }, REDRAW_MS);
  } else {
    let said = 0;
    timer = setInterval(() => {
      const s = status();
      const now = Date.now();
      // Quiet: no registry has answered anything for a while, with requests out. Before the first answer that
      // is said soon (a registry that accepts and never answers); once answers have come, only after a longer
      // silence (a slow registry, or a busy machine, is not worth a line in the log).
      const quiet = now - (s.lastAnswerAt ?? started);
      const limit = s.lastAnswerAt === undefined ? FIRST_ANSWER_MS : STALL_MS;
      if (!s.waiting.length || quiet < limit) {
        said = 0;
        return;
      }
      if (said && now - said < REPEAT_MS) return;
      said = now;
      stream.write(`safe-install: waiting for ${displayText(describeWaiting(s.waiting))}: ${s.done} of ${s.total} names checked, nothing answered for ${shortDuration(quiet)} (${s.bounds})\n`);
    }, 250);
  }
  timer.unref();
  return () => {
    clearInterval(timer);
    clearProgress();
  };
}

/**
 * A phase after the check (installing, running scripts): on a terminal, one line saying what runs now, written
 * before the package manager's or the scripts' own output; nothing without a terminal (the report says it).
 */
export function phase(text: string): void {
  if (!onTerminal()) return;
  clearProgress();
  stream.write(`safe-install: ${displayText(text)}\n`);
}
