// Response bodies: a body past the large-body size waits for a slot before it is read on and parsed, a small
// one never takes a slot; a stalled body times out; a failing one stops the transfer.
import { describe, expect, it } from 'vitest';
import { BodyTimeoutError, BodyTooLargeError, countByte, formatBytes, readBody } from '../../src/registry/body.js';
import { limiter } from '../../src/registry/limit.js';

/** A body whose chunk i is produced only once gates[i] resolves; counts the chunks pulled. */
function body(chunks: (Buffer | string)[], gates: Record<number, Promise<void>> = {}, fail?: Error) {
  const s = {
    pulled: 0,
    destroyed: false,
    destroy() {
      s.destroyed = true;
    },
    async *[Symbol.asyncIterator]() {
      for (const [i, chunk] of chunks.entries()) {
        await gates[i];
        s.pulled++;
        yield chunk;
      }
      if (fail) throw fail;
    },
  };
  return s;
}

function gate() {
  let open!: () => void;
  const p = new Promise<void>((r) => (open = r));
  return { p, open };
}

const flush = async () => {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
};

const KB = (n: number, c = 'x') => Buffer.from(c.repeat(n * 1024));

describe('readBody', () => {
  it('a body under the large size never takes a slot', async () => {
    const none = limiter(0); // a large body would wait forever
    const text = await readBody(body([KB(1), KB(1)]), { large: 4096, largeSlots: none, timeoutMs: 60_000, maxBytes: Infinity }, (t) => t.length, 'x');
    expect(text).toBe(2048);
  });

  it('large bodies are read past the limit and parsed only as slots allow', async () => {
    const slots = limiter(1);
    const limits = { large: 1500, largeSlots: slots, timeoutMs: 60_000, maxBytes: Infinity };
    const gA = gate();
    const a = body([KB(1, 'a'), KB(1, 'a'), KB(1, 'a')], { 2: gA.p });
    const b = body([KB(1, 'b'), KB(1, 'b'), KB(1, 'b')]);
    const consumed: string[] = [];
    const ra = readBody(a, limits, (t) => consumed.push(t.charAt(0)), 'a');
    await flush();
    const rb = readBody(b, limits, (t) => consumed.push(t.charAt(0)), 'b');
    await flush();
    // a holds the only slot (stalled on its last chunk); b stopped right after passing the limit.
    expect(a.pulled).toBe(2);
    expect(b.pulled).toBe(2);
    expect(consumed).toEqual([]);
    gA.open();
    await Promise.all([ra, rb]);
    expect(b.pulled).toBe(3);
    expect(consumed).toEqual(['a', 'b']);
  });

  it('decodes UTF-8 split across chunks', async () => {
    const bytes = Buffer.from('{"n":"ü€"}');
    const text = await readBody(body([bytes.subarray(0, 7), bytes.subarray(7)]), { large: 1 << 20, largeSlots: limiter(1), timeoutMs: 60_000, maxBytes: Infinity }, JSON.parse, 'x');
    expect(text).toEqual({ n: 'ü€' });
  });

  it('a body that stops arriving times out and is destroyed', async () => {
    const never = new Promise<void>(() => {});
    const b = body([KB(1), KB(1)], { 1: never });
    await expect(readBody(b, { large: 1 << 20, largeSlots: limiter(1), timeoutMs: 20, maxBytes: Infinity }, (t) => t, 'the metadata of x')).rejects.toThrow(BodyTimeoutError);
    expect(b.destroyed).toBe(true);
  });

  it('a failing body rejects with its error and frees its slot', async () => {
    const slots = limiter(1);
    const limits = { large: 1000, largeSlots: slots, timeoutMs: 60_000, maxBytes: Infinity };
    const bad = body([KB(1), KB(1)], {}, new Error('premature close'));
    await expect(readBody(bad, limits, (t) => t, 'x')).rejects.toThrow('premature close');
    expect(bad.destroyed).toBe(true);
    await expect(readBody(body([KB(1), KB(1)]), limits, (t) => t.length, 'y')).resolves.toBe(2048);
  });

  it('a body past maxBytes stops being read, is destroyed and is never parsed', async () => {
    // An endless body: only the limit ends it.
    const s = {
      pulled: 0,
      destroyed: false,
      destroy() {
        s.destroyed = true;
      },
      async *[Symbol.asyncIterator]() {
        for (;;) {
          s.pulled++;
          yield KB(1);
        }
      },
    };
    let parsed = false;
    const limits = { large: 2048, largeSlots: limiter(1), huge: 4096, hugeSlots: limiter(1), maxBytes: 10 * 1024, timeoutMs: 60_000 };
    const err = await readBody(s, limits, () => (parsed = true), 'the metadata of x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BodyTooLargeError);
    expect((err as BodyTooLargeError).limit).toBe(10 * 1024);
    expect((err as Error).message).toBe('the metadata of x is larger than 10 KiB');
    expect(s.pulled).toBe(11);
    expect(s.destroyed).toBe(true);
    expect(parsed).toBe(false);
    // The slots were given back.
    await expect(readBody(body([KB(5)]), limits, (t) => t.length, 'y')).resolves.toBe(5120);
  });

  it('a body exactly at maxBytes is read', async () => {
    const limits = { large: 1024, largeSlots: limiter(1), maxBytes: 3 * 1024, timeoutMs: 60_000 };
    await expect(readBody(body([KB(1), KB(1), KB(1)]), limits, (t) => t.length, 'x')).resolves.toBe(3072);
  });

  it('only one body past the huge size is held at a time', async () => {
    const limits = { large: 1024, largeSlots: limiter(2), huge: 2048, hugeSlots: limiter(1), maxBytes: Infinity, timeoutMs: 60_000 };
    const gA = gate();
    const a = body([KB(1, 'a'), KB(1, 'a'), KB(1, 'a'), KB(1, 'a')], { 3: gA.p });
    const b = body([KB(1, 'b'), KB(1, 'b'), KB(1, 'b'), KB(1, 'b')]);
    const consumed: string[] = [];
    const ra = readBody(a, limits, (t) => consumed.push(t.charAt(0)), 'a');
    await flush();
    const rb = readBody(b, limits, (t) => consumed.push(t.charAt(0)), 'b');
    await flush();
    // a holds the huge slot (stalled on its last chunk); b has a large slot but stopped right after passing the huge size.
    expect(a.pulled).toBe(3);
    expect(b.pulled).toBe(3);
    gA.open();
    await Promise.all([ra, rb]);
    expect(b.pulled).toBe(4);
    expect(consumed).toEqual(['a', 'b']);
  });

  it('a body past the huge size goes to the sink chunk by chunk, in the huge slot, and is never concatenated', async () => {
    const limits = { large: 1024, largeSlots: limiter(2), huge: 2048, hugeSlots: limiter(1), maxBytes: 8 * 1024, timeoutMs: 60_000 };
    const written: number[] = [];
    const sink = () => ({ write: (c: Buffer) => written.push(c.length), end: () => `sink ${written.length}` });
    const consume = () => 'consumed';
    await expect(readBody(body([KB(1), KB(1), KB(1), KB(1)]), limits, consume, 'x', sink)).resolves.toBe('sink 4');
    expect(written).toEqual([1024, 1024, 1024, 1024]);
    // Under the huge size: parsed whole, unless `dense` says otherwise.
    await expect(readBody(body([KB(1), KB(1)]), limits, consume, 'x', sink)).resolves.toBe('consumed');
    written.length = 0;
    await expect(readBody(body([KB(1), KB(1)]), limits, consume, 'x', sink, () => true)).resolves.toBe('sink 2');
    // The limit still applies to a streamed body, and a sink that throws stops the transfer.
    await expect(readBody(body(Array.from({ length: 9 }, () => KB(1))), limits, consume, 'x', sink)).rejects.toThrow(BodyTooLargeError);
    const b = body([KB(1), KB(1), KB(1), KB(1)]);
    const bad = () => ({
      write: () => {
        throw new Error('bad JSON');
      },
      end: () => '',
    });
    await expect(readBody(b, limits, consume, 'x', bad)).rejects.toThrow('bad JSON');
    expect(b.destroyed).toBe(true);
  });

  it('countByte', () => {
    expect(countByte([Buffer.from('{"a":1,"b":[2,3]}'), Buffer.from(',,')], 0x2c)).toBe(4);
    expect(countByte([], 0x2c)).toBe(0);
  });

  it('formatBytes', () => {
    expect(formatBytes(128 << 20)).toBe('128 MiB');
    expect(formatBytes(2 ** 30)).toBe('1 GiB');
    expect(formatBytes(1500)).toBe('1500 bytes');
  });
});
