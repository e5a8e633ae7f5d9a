// The CLI's one place for errors: environmental fs failures become clear GuardErrors naming the file; a genuine
// bug says "internal error" and where to report it, with the stack only under --debug / SAFE_INSTALL_DEBUG=1.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { classifyError, GuardError } from '../../src/errors.js';

const failure = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a failure');
};

describe('classifyError: real fs failures', () => {
  const dir = mkdtempSync(join(tmpdir(), 'si-classify-'));

  it('ENOTDIR names the file that stands where a folder should be', () => {
    writeFileSync(join(dir, 'file'), 'x');
    const e = classifyError(failure(() => readFileSync(join(dir, 'file', 'inner.json'))));
    expect(e).toBeInstanceOf(GuardError);
    expect(e!.code).toBe('file-system');
    expect(e!.message).toContain(`could not open ${join(dir, 'file', 'inner.json')}`);
    expect(e!.message).toContain(`${join(dir, 'file')} is a file, not a folder`);
    expect(e!.remedy).toContain(`move or remove the file ${join(dir, 'file')}`);
  });

  it('EISDIR: a folder where a file should be', () => {
    mkdirSync(join(dir, 'folder'));
    const e = classifyError(failure(() => readFileSync(join(dir, 'folder'))));
    expect(e!.message).toMatch(/folder where a file is expected \(EISDIR\)/);
    const named = classifyError(failure(() => writeFileSync(join(dir, 'folder'), 'x')));
    expect(named!.message).toContain(`could not open ${join(dir, 'folder')}`);
    expect(named!.remedy).toContain(`remove or rename the folder ${join(dir, 'folder')}`);
  });

  it('ENOENT through a dangling link names the link and its target', () => {
    symlinkSync(join(dir, 'nowhere'), join(dir, 'link'));
    const e = classifyError(failure(() => mkdirSync(join(dir, 'link', 'sub'), { recursive: true })));
    expect(e!.message).toContain(`${join(dir, 'link')} is a symbolic link to ${join(dir, 'nowhere')}, which does not exist`);
  });

  it('an error whose cause is an fs failure is classified by its cause', () => {
    const cause = failure(() => readFileSync(join(dir, 'folder')));
    expect(classifyError(new Error('wrapped', { cause }))!.code).toBe('file-system');
  });

  it('a bug (TypeError) and an unknown code are not classified', () => {
    expect(classifyError(new TypeError("Cannot read properties of null (reading 'name')"))).toBeUndefined();
    expect(classifyError(Object.assign(new Error('x'), { code: 'ECONNRESET' }))).toBeUndefined();
  });
});

describe('main: a genuine bug', () => {
  const saved = process.env.SAFE_INSTALL_DEBUG;
  afterEach(() => {
    vi.doUnmock('../../src/cli/quarantine.js');
    vi.resetModules();
    if (saved === undefined) delete process.env.SAFE_INSTALL_DEBUG;
    else process.env.SAFE_INSTALL_DEBUG = saved;
  });

  async function runBuggy(args: string[]): Promise<{ code: number; stderr: string }> {
    vi.resetModules();
    vi.doMock('../../src/cli/quarantine.js', () => ({
      quarantineCommand: async () => {
        const entries: ({ status: string } | null)[] = [null];
        return entries.filter((e) => e!.status === 'held').length;
      },
    }));
    const { main } = await import('../../src/cli/main.js');
    let stderr = '';
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stderr += String(chunk);
      return true;
    });
    try {
      return { code: await main(args), stderr };
    } finally {
      spy.mockRestore();
    }
  }

  it('says "internal error" and where to report it, exit 2, no stack', async () => {
    delete process.env.SAFE_INSTALL_DEBUG;
    const { code, stderr } = await runBuggy(['quarantine']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/^safe-install: internal error: Cannot read properties of null/);
    expect(stderr).toMatch(/this is a bug in safe-install.*please report it to https:\/\//);
    expect(stderr).toContain('--debug');
    expect(stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
  });

  it('--debug and SAFE_INSTALL_DEBUG=1 add the stack', async () => {
    delete process.env.SAFE_INSTALL_DEBUG;
    const flag = await runBuggy(['--debug', 'quarantine']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/TypeError: Cannot read properties of null[\s\S]*\n\s+at .+:\d+:\d+/);
    process.env.SAFE_INSTALL_DEBUG = '1';
    const env = await runBuggy(['quarantine']);
    expect(env.stderr).toMatch(/\n\s+at .+:\d+:\d+/);
  });
});
