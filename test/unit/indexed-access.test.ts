// What turning on noUncheckedIndexedAccess made the code handle: an index that may be out of range is a case
// with its own outcome, and one the code knows to be in range is asserted (at, group), never read as undefined.
import { describe, expect, it } from 'vitest';
import { at, group } from '../../src/util/at.js';
import { initialPromptState, step, type PromptContext, type PromptKey } from '../../src/ui/override-prompt.js';

describe('at and group', () => {
  it('return the element or group that is there', () => {
    expect(at(['a', 'b'], 1)).toBe('b');
    expect(at(Buffer.from([7, 0]), 1)).toBe(0); // a falsy element is still there
    const m = /^(\w+)(?:@(\d+))?$/.exec('pkg@1');
    expect(m && group(m, 2)).toBe('1');
  });

  it('throw an internal error instead of returning undefined', () => {
    expect(() => at(['a'], 1)).toThrow('internal: index 1 is out of range (length 1)');
    expect(() => at([], 0)).toThrow(/out of range/);
    const m = /^(\w+)(?:@(\d+))?$/.exec('pkg');
    expect(() => m && group(m, 2)).toThrow('internal: capture group 2 did not take part in the match of pkg');
  });
});

describe('the held-versions prompt with no item under the cursor', () => {
  const ctx: PromptContext = { items: [], defaultExpiry: '7d', maxExpiryMs: 30 * 86_400_000 };
  const press = (...keys: PromptKey[]) => keys.reduce((s, k) => step(ctx, s, k), initialPromptState);

  it('ends without approving anything, whatever is pressed', () => {
    expect(press({ kind: 'enter' }).done).toEqual([]);
    expect(press({ kind: 'enter' }, { kind: 'char', char: 'a' }).done).toEqual([]);
    expect(press({ kind: 'down' }, { kind: 'enter' }, { kind: 'char', char: 'y' }).done).toEqual([]);
  });

  it('also when the cursor is past the list', () => {
    const one: PromptContext = { ...ctx, items: [{ name: 'a', version: '1.0.0', overridable: true, reasons: ['too-young: x'] }] };
    const s = step(one, { ...initialPromptState, cursor: 1, screen: 'detail' }, { kind: 'char', char: 'a' });
    expect(s.done).toEqual([]);
    expect(s.screen).toBe('detail');
  });
});
