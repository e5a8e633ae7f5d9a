// The interactive override: a person picks a held version, reads why it is held (and what changed), and
// approves it with a required reason and a bounded expiry, or declines. Keyboard only; fits 80 columns.
// Nothing is written here: approvals are returned and recorded by the caller, atomically.
import { useState } from 'react';
import { Box, Text, render, useApp, useInput } from 'ink';
import TextInput from 'ink-text-input';
import { formatDuration, parseDuration } from '../policy/duration.js';
import { displayText } from '../util/safe-text.js';

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

export function OverridePrompt({ items, defaultExpiry, maxExpiryMs, colour, onDone }: Props) {
  const { exit } = useApp();
  const [cursor, setCursor] = useState(0);
  const [screen, setScreen] = useState<Screen>('list');
  const [reason, setReason] = useState('');
  const [expiry, setExpiry] = useState('');
  const [error, setError] = useState('');
  const [details, setDetails] = useState<string[] | undefined>();
  const [approved, setApproved] = useState<PromptApproval[]>([]);
  const item = items[cursor];
  const c = (name: string) => (colour ? name : undefined);
  const isApproved = (i: HeldItem) => approved.some((a) => a.name === i.name && a.version === i.version);

  const finish = (list: PromptApproval[]) => {
    onDone(list);
    exit();
  };

  useInput((input, key) => {
    if (screen === 'list') {
      if (key.upArrow) setCursor((x) => Math.max(0, x - 1));
      else if (key.downArrow) setCursor((x) => Math.min(items.length - 1, x + 1));
      else if (key.return) {
        setError('');
        setDetails(undefined);
        setScreen('detail');
        item.details?.().then(setDetails, (err: Error) => setDetails([`(could not inspect: ${err.message})`]));
      } else if (input === 'c') finish(approved);
      else if (input === 'q' || key.escape) finish([]);
    } else if (screen === 'detail') {
      if (input === 'a') {
        if (!item.overridable) setError('this version cannot be approved (see the reasons)');
        else if (isApproved(item)) setError('already approved in this session');
        else {
          setReason('');
          setExpiry('');
          setError('');
          setScreen('reason');
        }
      } else if (input === 'd' || input === 'b' || key.escape) setScreen('list');
    } else if (screen === 'confirm') {
      if (input === 'y') {
        const next = [...approved, { name: item.name, version: item.version, reason: reason.trim(), expires: expiry.trim() }];
        setApproved(next);
        setScreen('list');
        if (next.length === items.filter((i) => i.overridable).length) finish(next);
      } else if (input === 'n' || key.escape) setScreen('list');
    } else if (key.escape) setScreen('detail');
  });

  // Pasted text can carry a newline: treat it as Enter, and keep control characters out of the record.
  const typed = (set: (v: string) => void, submit: (v: string) => void) => (value: string) => {
    const nl = value.search(/[\r\n]/);
    const clean = (nl === -1 ? value : value.slice(0, nl)).replace(/[\x00-\x1f\x7f]/g, '');
    set(clean);
    if (nl !== -1) submit(clean);
  };
  const submitReason = (value: string) => {
    if (!value.trim()) return setError('a reason is required (what it fixes, why it cannot wait)');
    setError('');
    setScreen('expiry');
  };
  const submitExpiry = (typed: string) => {
    // An empty answer takes the policy's default expiry.
    const value = typed.trim() || defaultExpiry;
    setExpiry(value);
    try {
      const ms = parseDuration(value);
      if (ms <= 0 || ms > maxExpiryMs) return setError(`between 1m and ${formatDuration(maxExpiryMs)} (policy)`);
    } catch {
      return setError('a duration such as 72h or 3d');
    }
    setError('');
    setScreen('confirm');
  };

  return (
    <Box flexDirection="column" width={80}>
      <Text bold>Held versions: approve an urgent one, or decline</Text>
      {screen === 'list' && (
        <>
          {items.map((i, n) => (
            <Text key={`${i.name}@${i.version}`} color={n === cursor ? c('cyan') : undefined} dimColor={!i.overridable}>
              {n === cursor ? '>' : ' '} {isApproved(i) ? '[approved] ' : ''}
              {t(i.name)}@{t(i.version)} - {t(i.reasons[0] ?? '')}
            </Text>
          ))}
          <Text dimColor>up/down: choose  enter: details  c: continue  q: quit without approving</Text>
        </>
      )}
      {screen !== 'list' && (
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
      {screen === 'detail' && (
        <>
          {details === undefined && item.details && <Text dimColor>inspecting...</Text>}
          {details?.map((l, n) => (
            <Text key={n} wrap="truncate-end">
              {t(l)}
            </Text>
          ))}
          <Text dimColor>a: approve  d: decline (back)</Text>
        </>
      )}
      {screen === 'reason' && (
        <Box>
          <Text>Reason (required): </Text>
          <TextInput value={reason} onChange={typed(setReason, submitReason)} onSubmit={submitReason} />
        </Box>
      )}
      {screen === 'expiry' && (
        <Box>
          <Text>Expires in (enter: {defaultExpiry}, max {formatDuration(maxExpiryMs)}): </Text>
          <TextInput value={expiry} onChange={typed(setExpiry, submitExpiry)} onSubmit={submitExpiry} placeholder={defaultExpiry} />
        </Box>
      )}
      {screen === 'confirm' && (
        <Text>
          Approve {t(item.name)}@{t(item.version)} for {t(expiry.trim())} because "{t(reason.trim())}"? y/n
        </Text>
      )}
      {error && <Text color={c('red')}>{error}</Text>}
    </Box>
  );
}

/** Show the prompt on the terminal and resolve with what the person approved (empty: declined). */
export async function runOverridePrompt(items: HeldItem[], opts: { defaultExpiry: string; maxExpiryMs: number; colour: boolean }): Promise<PromptApproval[]> {
  let result: PromptApproval[] = [];
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
