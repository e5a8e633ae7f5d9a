// What the guard is doing while it works, on stderr. On a terminal: one line, redrawn in place (names checked of
// the total, the phase: checking, installing, running scripts) and erased before any other output. Without a
// terminal (CI logs): none of that; only when the registry part stalls (no name finished for STALL_MS while
// requests are out) one line saying what it waits for, repeated every REPEAT_MS while the stall lasts.
import type { CheckStatus } from '../pipeline.js';
import { describeWaiting, shortDuration } from '../registry/health.js';
import { displayText } from '../util/safe-text.js';

const STALL_MS = 1500;
const REPEAT_MS = 15_000;
const REDRAW_MS = 100;

let drawn = false;
let stream: NodeJS.WriteStream = process.stderr;

/** For tests of this module: write elsewhere. */
export function progressTo(s: NodeJS.WriteStream): void {
  stream = s;
}

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
    let lastDone = -1;
    let since = started;
    let said = 0;
    timer = setInterval(() => {
      const s = status();
      const now = Date.now();
      if (s.done !== lastDone) {
        lastDone = s.done;
        since = now;
        said = 0;
        return;
      }
      if (!s.waiting.length || now - since < STALL_MS || (said && now - said < REPEAT_MS)) return;
      said = now;
      stream.write(
        `safe-install: waiting for ${displayText(describeWaiting(s.waiting))}: ${s.done} of ${s.total} names checked, nothing answered for ${shortDuration(now - since)} (${s.bounds})\n`,
      );
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
