// The override prompt's states and keystrokes, through ink-testing-library. No sleeps racing the render: a test
// waits for the input handler to be attached and then for what it expects on the screen (by content, with a
// generous bound). Keys are written as a fast typist, tmux or a paste delivers them: several separate writes in
// one tick (each reaches the handler before React re-renders), or one chunk holding several keys.
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, render } from 'ink-testing-library';
import type { Key } from 'ink';
import { OverridePrompt, initialPromptState, keysOf, step, type HeldItem, type PromptApproval, type PromptContext } from '../../src/ui/override-prompt.js';

const ENTER = '\r';
const DOWN = '\u001B[B';
const LEFT = '\u001B[D';
const BACKSPACE = '\x7f'; // what the Backspace key sends on most terminals (ink calls it "delete")
const pause = () => new Promise((r) => setTimeout(r, 5));
// eslint-disable-next-line no-control-regex
const plain = (s: string | undefined) => (s ?? '').replace(/\x1b\[[0-9;]*m/g, '');
/** Generous: a loaded machine renders slowly; a correct prompt gets there long before. */
const BOUND_MS = 20_000;

async function poll(what: string, ok: () => boolean) {
  const end = Date.now() + BOUND_MS;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await pause();
  }
}

afterEach(() => cleanup());

/** Render, and wait until the prompt's input handler is attached (a key written before that would go nowhere). */
async function setup(items: HeldItem[]) {
  const done: { value?: PromptApproval[] } = {};
  const app = render(<OverridePrompt items={items} defaultExpiry="3d" maxExpiryMs={14 * 86_400_000} colour={false} onDone={(a) => (done.value = a)} />);
  await poll('the input handler', () => app.stdin.listenerCount('readable') > 0);
  /** Every key its own write, all in the same tick: no re-render in between. */
  const type = (...keys: string[]) => {
    for (const k of keys) app.stdin.write(k);
  };
  const frame = () => plain(app.lastFrame());
  /** Wait until the screen shows `text`; return the screen. */
  const until = async (text: string) => {
    await poll(`"${text}" on the screen; last frame:\n${frame()}`, () => frame().includes(text));
    return frame();
  };
  const finished = async () => {
    await poll('the prompt to finish', () => done.value !== undefined);
    return done.value;
  };
  return { app, done, type, until, frame, finished };
}

const ITEMS: HeldItem[] = [
  {
    name: 'fresh',
    version: '1.1.0',
    reasons: ['too-young: published 1.0d ago'],
    overridable: true,
    details: async () => ['compared with 1.0.0: 1 file changed', '! install-script-added: postinstall'],
  },
  { name: 'tampered', version: '2.0.0', reasons: ['integrity-mismatch: lockfile integrity differs'], overridable: false },
];

describe('override prompt', () => {
  it('lists held versions with their reason, and fits 80 columns', async () => {
    const { app, until } = await setup(ITEMS);
    const frame = await until('tampered@2.0.0');
    expect(frame).toContain('> fresh@1.1.0 - too-young: published 1.0d ago');
    expect(frame).toContain('tampered@2.0.0 - integrity-mismatch');
    for (const line of plain(app.lastFrame()).split('\n')) expect(line.length).toBeLessThanOrEqual(80);
  });

  it('approve: details (with the inspect summary), a required reason, the default expiry, confirm', async () => {
    const { type, until, finished } = await setup(ITEMS.slice(0, 1));
    type(ENTER);
    expect(await until('install-script-added')).toContain('install-script-added: postinstall');
    type('a');
    await until('Reason (required)');
    type(ENTER);
    expect(await until('a reason is required')).toContain('a reason is required');
    type('fixes CVE-2026-1', ENTER);
    expect(await until('Expires in')).toContain('Expires in (enter: 3d, max 14d)');
    type(ENTER);
    expect(await until('y/n')).toContain('Approve fresh@1.1.0 for 3d because "fixes CVE-2026-1"? y/n');
    type('y');
    expect(await finished()).toEqual([{ name: 'fresh', version: '1.1.0', reason: 'fixes CVE-2026-1', expires: '3d' }]);
  });

  it('an expiry beyond the policy maximum is refused', async () => {
    const { done, type, until } = await setup(ITEMS.slice(0, 1));
    type(ENTER, 'a', 'urgent', ENTER, '30d', ENTER);
    expect(await until('between 1m')).toContain('between 1m and 14d (policy)');
    expect(done.value).toBeUndefined();
  });

  it('a non-overridable version cannot be approved; q declines everything', async () => {
    const { type, until, finished } = await setup(ITEMS);
    type(DOWN);
    await until('> tampered');
    type(ENTER);
    expect(await until('cannot be approved')).toContain('cannot be approved');
    type('a');
    expect(await until('this version cannot be approved')).toContain('this version cannot be approved');
    type('d');
    await until('up/down');
    type('q');
    expect(await finished()).toEqual([]);
  });

  it('a pasted reason with a newline submits it, without control characters', async () => {
    const { type, until } = await setup(ITEMS.slice(0, 1));
    type(ENTER, 'a');
    await until('Reason (required)');
    type('pasted\x07 reason\r');
    expect(await until('Expires in')).toContain('Expires in');
    type(ENTER);
    expect(await until('y/n')).toContain('because "pasted reason"? y/n');
  });
});

describe('every key counts, however fast it arrives', () => {
  it('keys typed one by one with no pause in between: "10d" then Enter is 10d, not the default', async () => {
    const { type, finished } = await setup(ITEMS.slice(0, 1));
    // The whole approval, one write per key, in one tick: each key must see the state the previous one left.
    type(ENTER, 'a', ...'urgent fix', ENTER, '1', '0', 'd', ENTER, 'y');
    expect(await finished()).toEqual([{ name: 'fresh', version: '1.1.0', reason: 'urgent fix', expires: '10d' }]);
  });

  it('the same keys in one chunk (tmux send-keys, a paste)', async () => {
    const { type, finished } = await setup(ITEMS.slice(0, 1));
    type(`${ENTER}aurgent fix${ENTER}10d${ENTER}y`);
    expect(await finished()).toEqual([{ name: 'fresh', version: '1.1.0', reason: 'urgent fix', expires: '10d' }]);
  });

  it('"20d" then Enter at once is refused as beyond the maximum, never confirmed as the default 3d', async () => {
    const { done, type, until, frame } = await setup(ITEMS.slice(0, 1));
    type(ENTER, 'a', 'urgent', ENTER);
    await until('Expires in');
    type('2', '0', 'd', ENTER);
    expect(await until('between 1m')).toContain('between 1m and 14d (policy)');
    expect(frame()).toContain('max 14d): 20d');
    expect(frame()).not.toContain('y/n');
    expect(done.value).toBeUndefined();
  });

  for (const [how, send] of [
    ['separate keys', (type: (...k: string[]) => void) => type(BACKSPACE, BACKSPACE, BACKSPACE, '4', '8', 'h', ENTER)],
    ['one chunk', (type: (...k: string[]) => void) => type(`${BACKSPACE.repeat(3)}48h${ENTER}`)],
    ['Ctrl-H as Backspace', (type: (...k: string[]) => void) => type('\b', '\b', '\b', '48h', ENTER)],
  ] as const) {
    it(`after an invalid expiry, Backspace erases it and the corrected expiry is recorded (${how})`, async () => {
      const { type, until, finished } = await setup(ITEMS.slice(0, 1));
      type(ENTER, 'a', 'urgent', ENTER, '20d', ENTER);
      await until('between 1m');
      send(type);
      expect(await until('y/n')).toContain('Approve fresh@1.1.0 for 48h because "urgent"? y/n');
      type('y');
      expect(await finished()).toEqual([{ name: 'fresh', version: '1.1.0', reason: 'urgent', expires: '48h' }]);
    });
  }

  it('the caret moves: a letter typed after Left goes where the caret is', async () => {
    const { type, until } = await setup(ITEMS.slice(0, 1));
    type(ENTER, 'a', 'urgnt', LEFT, LEFT, 'e', ENTER, '2d', ENTER);
    expect(await until('y/n')).toContain('for 2d because "urgent"? y/n');
  });
});

describe('keysOf and step (the reducer every key goes through)', () => {
  const key = (over: Partial<Key> = {}) => ({ ...({} as Key), ...over }) as Key;
  const ctx: PromptContext = { items: ITEMS.slice(0, 1), defaultExpiry: '3d', maxExpiryMs: 14 * 86_400_000 };
  const run = (...chunks: [string, Partial<Key>?][]) => chunks.flatMap(([input, k]) => keysOf(input, key(k))).reduce((s, k) => step(ctx, s, k), initialPromptState);

  it('a chunk splits into keys: CR, LF and CRLF are one Enter each, DEL and BS erase, other controls are dropped', () => {
    expect(keysOf('a\r\nb\nc\x7f\b\x1f\x9b', key())).toEqual([
      { kind: 'char', char: 'a' },
      { kind: 'enter' },
      { kind: 'char', char: 'b' },
      { kind: 'enter' },
      { kind: 'char', char: 'c' },
      { kind: 'backspace' },
      { kind: 'backspace' },
    ]);
    expect(keysOf('', key({ delete: true }))).toEqual([{ kind: 'backspace' }]);
    expect(keysOf('u', key({ ctrl: true }))).toEqual([]);
  });

  it("a pasted reason with CRLF submits once (the default expiry is not taken behind the person's back)", () => {
    const s = run(['', { return: true }], ['a'], ['line one\r\n']);
    expect(s).toMatchObject({ screen: 'expiry', reason: 'line one', expiry: '' });
  });

  it('Ctrl-C inside a chunk declines, and keys after the end change nothing', () => {
    const s = run(['', { return: true }], ['a'], ['why\x03\r3d\ry']);
    expect(s.done).toEqual([]);
    expect(s.approved).toEqual([]);
  });
});
