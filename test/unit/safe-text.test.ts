// What may be printed: credentials masked, attacker text inert, publish times strict.
import { describe, expect, it } from 'vitest';
import { displayText, mapStrings, neutralize, redact } from '../../src/util/safe-text.js';
import { publishTime } from '../../src/registry/facts.js';
import { GuardError } from '../../src/errors.js';

describe('redact', () => {
  it.each([
    ['registry: https://user:s3cret@host/ x', 'registry: https://user:***@host/ x'],
    ['https://tok3n@host/path', 'https://***@host/path'],
    ['//host/:_authToken=abc123', '//host/:_authToken=***'],
    ['//host/:_auth = dXNlcjpwYXNz', '//host/:_auth = ***'],
    ['"_password": "cGFzcw=="', '"_password": "***"'],
    ['npmAuthToken: "xyz"', 'npmAuthToken: "***"'],
    ['Authorization: Bearer abcdefghijk', 'Authorization: [REDACTED_AUTH_HEADER]'],
  ])('masks %j', (input, output) => {
    expect(redact(input)).toBe(output);
    expect(redact(output)).toBe(output);
  });

  it("npm's own matchers apply with no URL in the text (the cheap pre-test still sends them to @npmcli/redact)", () => {
    for (const secret of ['0f6f3bb8-2c1e-4c2a-9c1d-1a2b3c4d5e6f', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abcdefghijklmnopqrstuvwxyz123', 'Bearer dXNlcjpwYXNzd29yZA']) {
      const out = redact(`key ${secret} end`);
      expect(out).not.toContain(secret.split(/[\s.-]/).pop()!);
      expect(out).toMatch(/^key .+ end$/);
    }
  });

  it('masks npm tokens and leaves prose and plain URLs alone', () => {
    expect(redact(`token npm_${'a'.repeat(36)} here`)).toBe('token npm_*** here');
    expect(redact('check the auth token for this registry in your .npmrc')).toBe('check the auth token for this registry in your .npmrc');
    expect(redact('http://127.0.0.1:4873/ and http://[::1]:80/x')).toBe('http://127.0.0.1:4873/ and http://[::1]:80/x');
  });
});

describe('neutralize', () => {
  it('shows control characters, escape sequences, line breaks and bidi overrides as escapes', () => {
    expect(neutralize('a\n::error ::pwned\u001b[31m\r\t\u0007\u009b\u202e\u2028')).toBe('a\\n::error ::pwned\\x1b[31m\\r\\t\\x07\\x9b\\u202e\\u2028');
  });

  it('escapes a workflow command at the start, and only there', () => {
    expect(neutralize('::error ::x')).toBe('\\::error ::x');
    expect(neutralize('  ::warning ::x')).toBe('  \\::warning ::x');
    expect(neutralize('name ::x')).toBe('name ::x');
  });

  it('is idempotent and keeps ordinary text', () => {
    const once = neutralize('x\u001b[2Jy\n');
    expect(neutralize(once)).toBe(once);
    expect(neutralize('left-pad@1.3.0 published 2 days ago (2024-01-01T00:00:00.000Z)')).toBe('left-pad@1.3.0 published 2 days ago (2024-01-01T00:00:00.000Z)');
  });

  it('displayText does both', () => {
    expect(displayText('https://u:p4ss@h/\n::error ::x')).toBe('https://u:***@h/\\n::error ::x');
  });
});

describe('mapStrings', () => {
  it('maps strings in objects, arrays, maps, keys and errors; keeps other instances, shared references and cycles', () => {
    const when = new Date(0);
    const shared = { s: 'a\nb' };
    const cyclic: Record<string, unknown> = { name: '\u001b' };
    cyclic.self = cyclic;
    const err = new GuardError('registry-error', 'bad\nthing', { remedy: 'r\n', pkg: 'p' });
    const out = mapStrings({ when, list: [shared, shared], map: new Map([['k\n', 'v\n']]), data: { 'key\n': 1 }, cyclic, err }, neutralize);
    expect(out.when).toBe(when);
    expect(out.list[0]).toEqual({ s: 'a\\nb' });
    expect(out.list[0]).toBe(out.list[1]);
    expect([...out.map]).toEqual([['k\\n', 'v\\n']]);
    expect(Object.keys(out.data)).toEqual(['key\\n']);
    expect(out.cyclic.name).toBe('\\x1b');
    expect(out.cyclic.self).toBe(out.cyclic);
    expect(out.err).toBeInstanceOf(GuardError);
    expect([out.err.message, out.err.remedy, out.err.code]).toEqual(['bad\\nthing', 'r\\n', 'registry-error']);
    expect(err.message).toBe('bad\nthing'); // the original is untouched
  });
});

describe('publishTime', () => {
  it.each(['2024-01-01T00:00:00.000Z', '2024-01-01T00:00:00Z', '2024-02-29T12:30:59.123456Z', '2024-01-01T00:00:00+05:30'])('accepts %j', (t) => {
    expect(publishTime(t)).toBe(t);
  });

  it.each([
    '1',
    '2024',
    '2024-01-01',
    '2024-01-01T00:00:00',
    '2024-02-30T00:00:00Z',
    '2023-02-29T00:00:00Z',
    '2024-01-01T24:00:00Z',
    '2024-01-01T00:00:00Z\n::error ::pwned',
    'Mon Jan 01 2024 00:00:00 GMT+0000 (\n::error ::pwned)',
    ' 2024-01-01T00:00:00Z',
    'x'.repeat(1000),
  ])('rejects %j', (t) => {
    expect(publishTime(t)).toBeUndefined();
  });

  it('rejects what is not a string', () => {
    for (const v of [undefined, null, 1704067200000, {}, ['2024-01-01T00:00:00Z']]) expect(publishTime(v)).toBeUndefined();
  });
});

describe('FactsCache.cacheKey', () => {
  it('masks a credential, keeps registries that differ only in it apart, and is stable across processes sharing the folder', async () => {
    const { mkdtempSync, readdirSync, statSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { FactsCache } = await import('../../src/registry/cache.js');
    const dir = mkdtempSync(join(tmpdir(), 'si-key-'));
    const a = new FactsCache(dir);
    const b = new FactsCache(dir);
    expect(a.cacheKey('https://registry.example/')).toBe('https://registry.example/');
    const key = a.cacheKey('https://u:s3cret@registry.example/');
    expect(key).toMatch(/^https:\/\/u:\*\*\*@registry\.example\/#[0-9a-f]{32}$/);
    expect(b.cacheKey('https://u:s3cret@registry.example/')).toBe(key);
    expect(a.cacheKey('https://u:other@registry.example/')).not.toBe(key);
    expect(readdirSync(dir)).toEqual(['registry-hash.key']);
    expect(statSync(join(dir, 'registry-hash.key')).mode & 0o077).toBe(0);
    // Another cache folder, another key: the hash says nothing outside its folder.
    expect(new FactsCache(mkdtempSync(join(tmpdir(), 'si-key-'))).cacheKey('https://u:s3cret@registry.example/')).not.toBe(key);
  });
});

describe('the credentials of the settings', () => {
  it('are masked wherever they appear, bare or URL-encoded, once registered from npm settings', async () => {
    const { credentialsIn } = await import('../../src/project/npm-config.js');
    const { registerSecrets } = await import('../../src/util/safe-text.js');
    const flat = {
      '//127.0.0.1:9/:_authToken': 'bareTok3nZq81',
      '//other/:_auth': Buffer.from('bob:pa$$w0rd-b64').toString('base64'),
      '@corp:registry': 'https://tok3nAsUserQ7@corp.example/',
      registry: 'https://registry.example/',
      'fetch-retries': 2,
    };
    const found = credentialsIn(flat, 'https://alice:pl@in-pass9@registry.example/');
    expect(found).toEqual(expect.arrayContaining(['bareTok3nZq81', 'pa$$w0rd-b64', 'tok3nAsUserQ7']));
    expect(redact('the registry said: bad token bareTok3nZq81')).toBe('the registry said: bad token bareTok3nZq81');
    registerSecrets(found);
    expect(redact('the registry said: bad token bareTok3nZq81')).toBe('the registry said: bad token ***');
    expect(redact(`echo ${encodeURIComponent('pa$$w0rd-b64')} and pa$$w0rd-b64`)).toBe('echo *** and ***');
    expect(redact('ordinary text stays as it is')).toBe('ordinary text stays as it is');
  });
});
