// The lock between runs (util/lock.ts): a lock whose process is gone is broken, a live one is waited for and
// then refused with a message naming its holder, nested use in one call chain does not wait on itself, and
// concurrent chains exclude each other.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectLockPath, scratchDir, withLocks } from '../../src/util/lock.js';
import { GuardError } from '../../src/errors.js';

const dir = () => mkdtempSync(join(tmpdir(), 'si-lock-'));
const owner = (pid: number) => JSON.stringify({ pid, host: hostname(), command: 'safe-install scripts allow', since: '2026-01-01T00:00:00.000Z' });

describe('project lock', () => {
  it('breaks a lock left by a process that is gone (killed mid-edit), then removes its own', async () => {
    const d = dir();
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const lock = join(d, '.safe-install.lock');
    writeFileSync(lock, owner(Number(gone.stdout)));
    expect(await withLocks([lock], async () => existsSync(lock))).toBe(true);
    expect(readdirSync(d)).toEqual([]);
  });

  it('waits for a live holder, then stops with a message naming it and what to do', async () => {
    const d = dir();
    const lock = join(d, '.safe-install.lock');
    writeFileSync(lock, owner(process.ppid)); // alive: the process that started this test
    const err = await withLocks([lock], async () => 'ran', { waitMs: 300, what: "this project's policy and settings" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GuardError);
    expect((err as GuardError).message).toBe(
      `cannot change this project's policy and settings now: \`safe-install scripts allow\` (pid ${process.ppid}, since 2026-01-01T00:00:00.000Z) holds its lock ${lock} (waited 300 ms)`,
    );
    expect((err as GuardError).remedy).toContain(`remove ${lock}`);
    expect(existsSync(lock)).toBe(true); // a live holder's lock is never removed
  });

  it('is re-entrant within one call chain and exclusive between chains', async () => {
    const d = dir();
    const lock = join(d, 'x.lock');
    expect(await withLocks([lock], () => withLocks([lock], async () => 'nested'))).toBe('nested');
    let inside = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 6 }, () =>
        withLocks([lock], async () => {
          most = Math.max(most, ++inside);
          await new Promise((r) => setTimeout(r, 10));
          inside--;
        }),
      ),
    );
    expect(most).toBe(1);
    expect(readdirSync(d)).toEqual([]);
  });
});

describe('the scratch folder (.safe-install/tmp/)', () => {
  it('holds the project lock with its own .gitignore while held, and is removed again when nothing else is in it', async () => {
    const d = dir();
    const seen = await withLocks([projectLockPath(d)], async () => ({
      files: readdirSync(scratchDir(d)).sort(),
      ignore: readFileSync(join(scratchDir(d), '.gitignore'), 'utf8'),
    }));
    expect(seen.files).toEqual(['.gitignore', 'project.lock']);
    expect(seen.ignore.split('\n')).toContain('*');
    expect(readdirSync(d)).toEqual([]);
  });

  it('is kept, with its .gitignore, while it holds something else (a backup), and a ledger keeps .safe-install', async () => {
    const d = dir();
    await withLocks([projectLockPath(d)], async () => writeFileSync(join(scratchDir(d), 'package.json.backup'), '{}'));
    expect(readdirSync(scratchDir(d)).sort()).toEqual(['.gitignore', 'package.json.backup']);
    const e = dir();
    mkdirSync(join(e, '.safe-install'));
    writeFileSync(join(e, '.safe-install', 'quarantine.json'), '{"version":1,"entries":[]}');
    await withLocks([projectLockPath(e)], async () => undefined);
    expect(readdirSync(join(e, '.safe-install'))).toEqual(['quarantine.json']);
  });

  it('a .safe-install/tmp that is a link (a repository can ship one) is refused: nothing is written through it', async () => {
    const d = dir();
    const elsewhere = dir();
    mkdirSync(join(d, '.safe-install'));
    symlinkSync(elsewhere, join(d, '.safe-install', 'tmp'));
    const err = await withLocks([projectLockPath(d)], async () => 'ran').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GuardError);
    expect((err as GuardError).message).toContain(`${scratchDir(d)} is not a folder (a symbolic link)`);
    expect(readdirSync(elsewhere)).toEqual([]);
  });
});

describe('the scratch folder tidied away by one run while another makes it', () => {
  it('many runs taking and releasing the project lock at once: none fails on a folder removed under it', async () => {
    for (let round = 0; round < 30; round++) {
      const dir = mkdtempSync(join(tmpdir(), 'si-lock-race-'));
      // Each holder releases at once, so the folder is tidied away (rmdir .safe-install/tmp, then .safe-install)
      // while the others are between their steps of making it again.
      const runs = Array.from({ length: 8 }, () => withLocks([projectLockPath(dir)], async () => {}));
      const results = await Promise.allSettled(runs);
      expect(results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason))).toEqual([]);
      expect(existsSync(join(dir, '.safe-install'))).toBe(false);
    }
  });
});
