// The hook's pass: one use, one project, and a marker that is not a pass file is never acted on.
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { claimHookPass, GUARD_ENV, withHookPass } from '../../src/install/hook-pass.js';
import { GuardError } from '../../src/errors.js';

describe('the project hook pass', () => {
  it('lets one hook of that project through, once', async () => {
    const root = mkdtempSync(join(tmpdir(), 'si-root-'));
    const other = mkdtempSync(join(tmpdir(), 'si-other-'));
    let file = '';
    await withHookPass(root, async (env) => {
      file = env[GUARD_ENV];
      expect(claimHookPass(file, other)).toBe(false); // another project's install
      expect(existsSync(file)).toBe(true);
      expect(claimHookPass(file, root)).toBe(true);
      expect(claimHookPass(file, root)).toBe(false); // used up: a nested install of the same project checks
    });
    expect(existsSync(file)).toBe(false);
  });

  it('is removed after the step whether a hook used it or not', async () => {
    const root = mkdtempSync(join(tmpdir(), 'si-root-'));
    let file = '';
    await expect(
      withHookPass(root, async (env) => {
        file = env[GUARD_ENV];
        throw new Error('step failed');
      }),
    ).rejects.toThrow('step failed');
    expect(existsSync(file)).toBe(false);
  });

  it('a pass that cannot be written is a GuardError naming it, and the step does not start', async () => {
    let started = false;
    const err = await withHookPass(join(tmpdir(), 'si-no-such-root', 'x'), async () => (started = true)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GuardError);
    expect((err as GuardError).message).toMatch(/cannot write the project hook's pass .*safe-install-pass-/);
    expect(started).toBe(false);
  });

  it('no marker, the old `1`, a relative path or a file that is not a pass: never skips, never deletes', () => {
    const root = mkdtempSync(join(tmpdir(), 'si-root-'));
    const precious = join(root, 'precious');
    writeFileSync(precious, realpathSync(root)); // even one holding the root
    for (const marker of [undefined, '', '1', 'safe-install-pass-0123456789abcdef0123456789abcdef', precious]) {
      expect(claimHookPass(marker, root)).toBe(false);
    }
    expect(existsSync(precious)).toBe(true);
    // A pass-named symlink to another file is not a pass either.
    const link = join(root, 'safe-install-pass-0123456789abcdef0123456789abcdef');
    symlinkSync(precious, link);
    expect(claimHookPass(link, root)).toBe(false);
    expect(existsSync(precious)).toBe(true);
  });
});
