// The interactive override: a person picks a held version, reads why it is held (and what changed), and
// approves it with a required reason and a bounded expiry, or declines. Keyboard only; fits 80 columns.
// Nothing is written here: approvals are returned and recorded by the caller, atomically.
//
// Every key counts, however fast it arrives. A fast typist, tmux `send-keys` or a paste delivers several keys
// before React has re-rendered: ink then calls the input handler of the previous render (its useEffect has not
// re-subscribed yet), or hands a whole chunk ("20d\r", "\x7f\x7f\x7f") to it as one string. A handler that reads
// state from its render (what ink-text-input does with `value`) loses or reorders those keys: "20d" + Enter was
// confirmed as the default expiry, and three Backspaces arriving together were dropped as "pasted control
// characters". So all the prompt's state lives in one reducer: each key is split out of its chunk (keysOf) and
// applied, in order, to the latest state (step), never to a render's copy. Side effects (loading the details,
// handing back the approvals) run from effects on that state.
import { useCallback, useEffect, useReducer, useState } from 'react';
import { Box, Text, render, useApp, useInput, type Key } from 'ink';
import { formatDuration, parseDuration } from '../util/duration.js';
import { displayText } from '../util/safe-text.js';
import { at } from '../util/at.js';

/** Names, versions, reasons and details come from the lockfile, the registry and tarballs: shown as inert text. */
const t = displayText;

export interface HeldItem {
  name: string;
  version: string;
  /** One line per finding that holds it. */
  reasons: string[];
  /** False when a finding may not be overridden (the reason says which). */
  overridable: boolean;
  /** Extra lines for the detail view (e.g. the inspect summary), loaded on demand. */
  details?: () => Promise<string[]>;
}

export interface PromptApproval {
  name: string;
  version: string;
  reason: string;
  expires: string;
}

interface Props {
  items: HeldItem[];
  defaultExpiry: string;
  maxExpiryMs: number;
  colour: boolean;
  onDone: (approvals: PromptApproval[]) => void;
}

type Screen = 'list' | 'detail' | 'reason' | 'expiry' | 'confirm';

/** One key, as the prompt understands it. */
export type PromptKey = { kind: 'char'; char: string } | { kind: 'enter' | 'backspace' | 'left' | 'right' | 'home' | 'end' | 'up' | 'down' | 'escape' | 'interrupt' };

/** What a text field holds at most (a reason is a sentence; a paste of a whole file is not one). */
export const FIELD_MAX = 500;

/**
 * The keys in what ink hands the input handler: one key, or a chunk of several that arrived together (typed
 * fast, sent by tmux, pasted). In a chunk, CR, LF and CRLF are Enter, DEL and BS are Backspace, Ctrl-C
 * interrupts; other control characters (C0, C1) are not text and are dropped. Escape sequences (arrows,
 * Delete) reach us one per call: ink's input parser splits them out of the chunk.
 */
export function keysOf(input: string, key: Key): PromptKey[] {
  if (key.return) return [{ kind: 'enter' }];
  if (key.escape) return [{ kind: 'escape' }];
  if (key.upArrow) return [{ kind: 'up' }];
  if (key.downArrow) return [{ kind: 'down' }];
  if (key.leftArrow) return [{ kind: 'left' }];
  if (key.rightArrow) return [{ kind: 'right' }];
  if (key.home) return [{ kind: 'home' }];
  if (key.end) return [{ kind: 'end' }];
  // ink names DEL (what the Backspace key sends on most terminals) "delete", as it does the forward-Delete
  // sequence ESC[3~, and gives both the same (empty) input: both erase the character before the caret, as in
  // ink-text-input. BS (Ctrl-H, some terminals' Backspace) is "backspace".
  if (key.backspace || key.delete) return [{ kind: 'backspace' }];
  if (key.tab || key.pageUp || key.pageDown) return [];
  // Ctrl-<letter> and Alt-<key> are commands, not text; none is one of ours except Ctrl-C (when ink lets it through).
  if (key.ctrl) return input === 'c' ? [{ kind: 'interrupt' }] : [];
  if (key.meta) return [];
  const keys: PromptKey[] = [];
  const chars = [...input];
  for (let i = 0; i < chars.length; i++) {
    const ch = at(chars, i);
    if (ch === '\r' || ch === '\n') {
      keys.push({ kind: 'enter' });
      if (ch === '\r' && chars[i + 1] === '\n') i++;
    } else if (ch === '\x7f' || ch === '\b') keys.push({ kind: 'backspace' });
    else if (ch === '\x03') keys.push({ kind: 'interrupt' });
    else if (!/[\x00-\x1f\x7f-\x9f]/.test(ch)) keys.push({ kind: 'char', char: ch });
  }
  return keys;
}

export interface PromptState {
  screen: Screen;
  cursor: number;
  reason: string;
  expiry: string;
  /** Where the caret is in the field being edited (reason or expiry), in code points. */
  caret: number;
  error: string;
  approved: PromptApproval[];
  /** Counts the visits to the detail view: each one asks for the details of the item under the cursor. */
  inspect: number;
  /** Set once: what the person approved (empty: declined). Keys after it are ignored. */
  done?: PromptApproval[];
}

export interface PromptContext {
  items: HeldItem[];
  defaultExpiry: string;
  maxExpiryMs: number;
}

export const initialPromptState: PromptState = { screen: 'list', cursor: 0, reason: '', expiry: '', caret: 0, error: '', approved: [], inspect: 0 };

const isApprovedIn = (approved: PromptApproval[], i: HeldItem) => approved.some((a) => a.name === i.name && a.version === i.version);

/** Apply one key to the state: pure, so keys that arrive together are applied one after another, in order. */
export function step(ctx: PromptContext, s: PromptState, k: PromptKey): PromptState {
  if (s.done) return s;
  if (k.kind === 'interrupt') return { ...s, done: [] };
  const item = ctx.items[s.cursor];
  if (!item) return { ...s, done: s.approved }; // nothing held (the prompt is not shown then): nothing to decide
  const ch = k.kind === 'char' ? k.char : undefined;
  switch (s.screen) {
    case 'list':
      if (k.kind === 'up') return { ...s, cursor: Math.max(0, s.cursor - 1) };
      if (k.kind === 'down') return { ...s, cursor: Math.min(ctx.items.length - 1, s.cursor + 1) };
      if (k.kind === 'enter') return { ...s, screen: 'detail', error: '', inspect: s.inspect + 1 };
      if (ch === 'c') return { ...s, done: s.approved };
      if (ch === 'q' || k.kind === 'escape') return { ...s, done: [] };
      return s;
    case 'detail':
      if (ch === 'a') {
        if (!item.overridable) return { ...s, error: 'this version cannot be approved (see the reasons)' };
        if (isApprovedIn(s.approved, item)) return { ...s, error: 'already approved in this session' };
        return { ...s, screen: 'reason', reason: '', expiry: '', caret: 0, error: '' };
      }
      if (ch === 'd' || ch === 'b' || k.kind === 'escape') return { ...s, screen: 'list' };
      return s;
    case 'confirm':
      if (ch === 'y') {
        const approved = [...s.approved, { name: item.name, version: item.version, reason: s.reason.trim(), expires: s.expiry.trim() }];
        const all = approved.length === ctx.items.filter((i) => i.overridable).length;
        return { ...s, approved, screen: 'list', done: all ? approved : undefined };
      }
      if (ch === 'n' || k.kind === 'escape') return { ...s, screen: 'list' };
      return s;
    case 'reason':
    case 'expiry':
      return editField(ctx, s, k);
  }
}

function editField(ctx: PromptContext, s: PromptState, k: PromptKey): PromptState {
  const field = s.screen === 'reason' ? 'reason' : 'expiry';
  const chars = [...s[field]];
  const at = Math.min(s.caret, chars.length);
  const set = (next: string[], caret: number) => ({ ...s, [field]: next.join(''), caret });
  switch (k.kind) {
    case 'char':
      if (chars.length >= FIELD_MAX) return { ...s, error: `at most ${FIELD_MAX} characters` };
      return set([...chars.slice(0, at), k.char, ...chars.slice(at)], at + 1);
    case 'backspace':
      return at > 0 ? set([...chars.slice(0, at - 1), ...chars.slice(at)], at - 1) : s;
    case 'left':
      return { ...s, caret: Math.max(0, at - 1) };
    case 'right':
      return { ...s, caret: Math.min(chars.length, at + 1) };
    case 'home':
      return { ...s, caret: 0 };
    case 'end':
      return { ...s, caret: chars.length };
    case 'escape':
      return { ...s, screen: 'detail' };
    case 'enter':
      return field === 'reason' ? submitReason(s) : submitExpiry(ctx, s);
    default:
      return s;
  }
}

function submitReason(s: PromptState): PromptState {
  if (!s.reason.trim()) return { ...s, error: 'a reason is required (what it fixes, why it cannot wait)' };
  return { ...s, error: '', screen: 'expiry', expiry: '', caret: 0 };
}

function submitExpiry(ctx: PromptContext, s: PromptState): PromptState {
  // An empty answer takes the policy's default expiry (and shows it, so a refused default can be edited).
  const expiry = s.expiry.trim() || ctx.defaultExpiry;
  const next = { ...s, expiry, caret: [...expiry].length };
  try {
    const ms = parseDuration(expiry);
    if (ms <= 0 || ms > ctx.maxExpiryMs) return { ...next, error: `between 1m and ${formatDuration(ctx.maxExpiryMs)} (policy)` };
  } catch {
    return { ...next, error: 'a duration such as 72h or 3d' };
  }
  return { ...next, error: '', screen: 'confirm' };
}

/** A one-line text field with a visible caret (inverse video), or the placeholder when empty. */
function Field({ value, caret, placeholder }: { value: string; caret: number; placeholder?: string }) {
  const chars = [...value];
  if (!chars.length && placeholder) {
    const [first, ...rest] = [...placeholder];
    return (
      <Text>
        <Text inverse>{first}</Text>
        <Text dimColor>{rest.join('')}</Text>
      </Text>
    );
  }
  return (
    <Text>
      {t(chars.slice(0, caret).join(''))}
      <Text inverse>{chars[caret] !== undefined ? t(chars[caret]) : ' '}</Text>
      {t(chars.slice(caret + 1).join(''))}
    </Text>
  );
}

export function OverridePrompt({ items, defaultExpiry, maxExpiryMs, colour, onDone }: Props) {
  const { exit } = useApp();
  const [s, dispatch] = useReducer((state: PromptState, keys: PromptKey[]) => keys.reduce((x, k) => step({ items, defaultExpiry, maxExpiryMs }, x, k), state), initialPromptState);
  const [details, setDetails] = useState<{ visit: number; lines: string[] } | undefined>();
  const item = items[s.cursor];
  const c = (name: string) => (colour ? name : undefined);
  const isApproved = (i: HeldItem) => isApprovedIn(s.approved, i);

  // One handler for the whole prompt, the same function for its whole life: it only queues the keys.
  useInput(useCallback((input: string, key: Key) => dispatch(keysOf(input, key)), []));

  // biome-ignore lint/correctness/useExhaustiveDependencies: runs once per visit to the details (s.inspect), for the item under the cursor then; the list does not change while the prompt is open
  useEffect(() => {
    if (!s.inspect) return;
    const visit = s.inspect;
    items[s.cursor]?.details?.().then(
      (lines) => setDetails({ visit, lines }),
      (err: Error) => setDetails({ visit, lines: [`(could not inspect: ${err.message})`] }),
    );
  }, [s.inspect]);

  // biome-ignore lint/correctness/useExhaustiveDependencies: runs once, when the answer is final; onDone and exit are the caller's and ink's, not state
  useEffect(() => {
    if (!s.done) return;
    onDone(s.done);
    exit();
  }, [s.done]);

  const shown = details?.visit === s.inspect ? details.lines : undefined;
  return (
    <Box flexDirection="column" width={80}>
      <Text bold>Held versions: approve an urgent one, or decline</Text>
      {s.screen === 'list' && (
        <>
          {items.map((i, n) => (
            <Text key={`${i.name}@${i.version}`} color={n === s.cursor ? c('cyan') : undefined} dimColor={!i.overridable}>
              {n === s.cursor ? '>' : ' '} {isApproved(i) ? '[approved] ' : ''}
              {t(i.name)}@{t(i.version)} - {t(i.reasons[0] ?? '')}
            </Text>
          ))}
          <Text dimColor>up/down: choose enter: details c: continue q: quit without approving</Text>
        </>
      )}
      {s.screen !== 'list' && item && (
        <>
          <Text bold color={c('yellow')}>
            {t(item.name)}@{t(item.version)}
          </Text>
          {item.reasons.map((r) => (
            <Text key={r} wrap="wrap">
              - {t(r)}
            </Text>
          ))}
          {!item.overridable && <Text color={c('red')}>This version cannot be approved: a finding above may not be overridden.</Text>}
        </>
      )}
      {s.screen === 'detail' && item && (
        <>
          {shown === undefined && item.details && <Text dimColor>inspecting...</Text>}
          {shown?.map((l, n) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: the lines are fixed once read and may repeat: their place is their identity
            <Text key={n} wrap="truncate-end">
              {t(l)}
            </Text>
          ))}
          <Text dimColor>a: approve d: decline (back)</Text>
        </>
      )}
      {s.screen === 'reason' && (
        <Box>
          <Text>Reason (required): </Text>
          <Field value={s.reason} caret={s.caret} />
        </Box>
      )}
      {s.screen === 'expiry' && (
        <Box>
          <Text>
            Expires in (enter: {defaultExpiry}, max {formatDuration(maxExpiryMs)}):{' '}
          </Text>
          <Field value={s.expiry} caret={s.caret} placeholder={defaultExpiry} />
        </Box>
      )}
      {s.screen === 'confirm' && item && (
        <Text>
          Approve {t(item.name)}@{t(item.version)} for {t(s.expiry.trim())} because "{t(s.reason.trim())}"? y/n
        </Text>
      )}
      {s.error && <Text color={c('red')}>{s.error}</Text>}
    </Box>
  );
}

/** Show the prompt on the terminal and resolve with what the person approved (empty: declined). */
export async function runOverridePrompt(items: HeldItem[], opts: { defaultExpiry: string; maxExpiryMs: number; colour: boolean }): Promise<PromptApproval[]> {
  let result: PromptApproval[] = [];
  if (!items.length) return result;
  // Ink turns raw mode on only after its first render; a key pressed as the prompt appears would meet a
  // cooked terminal (echoed, Enter turned into a newline ink does not read as Enter) and be lost.
  const stdin = process.stdin;
  if (stdin.isTTY) stdin.setRawMode(true);
  const app = render(<OverridePrompt items={items} {...opts} onDone={(a) => (result = a)} />);
  try {
    await app.waitUntilExit();
  } finally {
    if (stdin.isTTY) stdin.setRawMode(false);
  }
  return result;
}
