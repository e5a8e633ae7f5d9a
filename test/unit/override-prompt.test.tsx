// The override prompt's states and keystrokes, through ink-testing-library.
import { describe, expect, it } from 'vitest';
import { render } from 'ink-testing-library';
import { OverridePrompt, type HeldItem, type PromptApproval } from '../../src/ui/override-prompt.js';

const tick = () => new Promise((r) => setTimeout(r, 30));
const ENTER = '\r';
const DOWN = '\u001B[B';

/** Render, and wait for the first frame and the input handler (keys typed before it attaches are lost on a loaded machine). */
async function setup(items: HeldItem[]) {
  const done: { value?: PromptApproval[] } = {};
  const app = render(<OverridePrompt items={items} defaultExpiry="3d" maxExpiryMs={14 * 86_400_000} colour={false} onDone={(a) => (done.value = a)} />);
  const type = async (...keys: string[]) => {
    for (const k of keys) {
      app.stdin.write(k);
      await tick();
    }
  };
  /** Wait until the screen shows `text` (rendering is asynchronous; a loaded machine is slower). */
  const until = async (text: string) => {
    for (let i = 0; i < 100 && !app.lastFrame()!.includes(text); i++) await tick();
    return app.lastFrame()!;
  };
  await until(`${items[0].name}@${items[0].version}`);
  await tick();
  return { app, done, type, until };
}

const ITEMS: HeldItem[] = [
  { name: 'fresh', version: '1.1.0', reasons: ['too-young: published 1.0d ago'], overridable: true, details: async () => ['compared with 1.0.0: 1 file changed', '! install-script-added: postinstall'] },
  { name: 'tampered', version: '2.0.0', reasons: ['integrity-mismatch: lockfile integrity differs'], overridable: false },
];

describe('override prompt', () => {
  it('lists held versions with their reason, and fits 80 columns', async () => {
    const { app } = await setup(ITEMS);
    await tick();
    const frame = app.lastFrame()!;
    expect(frame).toContain('> fresh@1.1.0 - too-young: published 1.0d ago');
    expect(frame).toContain('tampered@2.0.0 - integrity-mismatch');
    for (const line of frame.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
  });

  it('approve: details (with the inspect summary), a required reason, the default expiry, confirm', async () => {
    const { done, type, until } = await setup(ITEMS.slice(0, 1));
    await type(ENTER);
    expect(await until('install-script-added')).toContain('install-script-added: postinstall');
    await type('a');
    await until('Reason (required)');
    await type(ENTER);
    expect(await until('a reason is required')).toContain('a reason is required');
    await type('fixes CVE-2026-1', ENTER);
    expect(await until('Expires in')).toContain('Expires in (enter: 3d, max 14d)');
    await type(ENTER);
    expect(await until('y/n')).toContain('Approve fresh@1.1.0 for 3d because "fixes CVE-2026-1"? y/n');
    await type('y');
    for (let i = 0; i < 100 && !done.value; i++) await tick();
    expect(done.value).toEqual([{ name: 'fresh', version: '1.1.0', reason: 'fixes CVE-2026-1', expires: '3d' }]);
  });

  it('an expiry beyond the policy maximum is refused', async () => {
    const { done, type, until } = await setup(ITEMS.slice(0, 1));
    await type(ENTER);
    await until('a: approve');
    await type('a');
    await until('Reason (required)');
    await type('urgent', ENTER);
    await until('Expires in');
    await type('30d', ENTER);
    expect(await until('between 1m')).toContain('between 1m and 14d (policy)');
    expect(done.value).toBeUndefined();
  });

  it('a non-overridable version cannot be approved; q declines everything', async () => {
    const { done, type, until } = await setup(ITEMS);
    await type(DOWN);
    await until('> tampered');
    await type(ENTER);
    expect(await until('cannot be approved')).toContain('cannot be approved');
    await type('a');
    expect(await until('this version cannot be approved')).toContain('this version cannot be approved');
    await type('d');
    await until('up/down');
    await type('q');
    for (let i = 0; i < 100 && !done.value; i++) await tick();
    expect(done.value).toEqual([]);
  });

  it('a pasted reason with a newline submits it, without control characters', async () => {
    const { type, until } = await setup(ITEMS.slice(0, 1));
    await type(ENTER);
    await until('a: approve');
    await type('a');
    await until('Reason (required)');
    await type('pasted reason\r');
    expect(await until('Expires in')).toContain('Expires in');
  });
});
