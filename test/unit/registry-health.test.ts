// The host breaker (src/registry/health.ts) and the grouping of errors by cause (src/report/text.ts).
import { describe, expect, it } from 'vitest';
import { DOWN_AFTER, HostDownError, HostHealth, failureKind } from '../../src/registry/health.js';
import { groupErrors } from '../../src/report/text.js';
import { GuardError } from '../../src/errors.js';

const A = 'http://a.example:4873';
const B = 'https://b.example';
const timeout = Object.assign(new Error('network timeout'), { type: 'request-timeout', code: 'ETIMEDOUT' });
const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });

describe('HostHealth', () => {
  it('marks a host down after DOWN_AFTER connection failures in a row, aborting what is in flight, with one shared error', () => {
    const h = new HostHealth('each request waits up to 30s');
    const signal = h.signal(A);
    for (let i = 0; i < DOWN_AFTER - 1; i++) {
      h.attempt(A);
      h.failed(A, timeout);
      expect(() => h.check(A)).not.toThrow();
    }
    h.attempt(A);
    h.failed(A, refused);
    expect(signal.aborted).toBe(true);
    const err = h.stoppedFor(A)!;
    expect(err).toBeInstanceOf(HostDownError);
    expect(err.code).toBe('registry-down');
    expect(err.message).toContain('the registry host a.example:4873 is not answering');
    expect(err.message).toContain(`(${DOWN_AFTER - 1} x timed out, 1 x connection refused (ECONNREFUSED))`);
    expect(err.message).toContain('each request waits up to 30s');
    expect(() => h.check(A)).toThrow(err);
    // Another host is not affected.
    expect(() => h.check(B)).not.toThrow();
    expect(h.signal(B).aborted).toBe(false);
  });

  it('an answer in between (any status) resets the count; other errors (TLS, HTTP statuses) do not count', () => {
    const h = new HostHealth('');
    for (let i = 0; i < 10; i++) {
      h.failed(A, timeout);
      h.failed(A, Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }));
      h.answered(A);
    }
    expect(h.stoppedFor(A)).toBeUndefined();
    expect(failureKind(Object.assign(new Error('500'), { statusCode: 500 }))).toBeUndefined();
    expect(failureKind(Object.assign(new Error('x'), { code: 'ENOTFOUND' }))).toBe('host not found (ENOTFOUND)');
  });

  it('stopAll (the deadline) stops every host, known or not, with its error', () => {
    const h = new HostHealth('');
    const a = h.signal(A);
    const err = new HostDownError('deadline passed', 'raise it', 'deadline');
    h.stopAll(err);
    expect(a.aborted).toBe(true);
    expect(h.signal(B).aborted).toBe(true);
    expect(() => h.check(B)).toThrow(err);
  });
});

describe('groupErrors', () => {
  it('errors that differ only by package are one cause with the count and first names; others stay apart', () => {
    const R = 'http://r.example/';
    const errors = [
      ...['a', 'b', 'c', 'd', 'e'].map((p) => new GuardError('registry-error', `the registry answered 503 for ${p} from ${R}`, { pkg: p, remedy: 'retry later' })),
      new GuardError('registry-malformed', `malformed metadata for f from ${R}: not JSON`, { pkg: 'f', remedy: 'x' }),
      new GuardError('registry-error', `the registry answered 500 for g from ${R}`, { pkg: 'g', remedy: 'retry later' }),
    ];
    expect(groupErrors(errors)).toEqual([
      { message: `the registry answered 503 for 5 packages (a, b, c and 2 more) from ${R}`, remedy: 'retry later' },
      { message: `malformed metadata for f from ${R}: not JSON`, remedy: 'x' },
      { message: `the registry answered 500 for g from ${R}`, remedy: 'retry later' },
    ]);
  });
});
