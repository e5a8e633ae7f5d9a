// Starting the package manager: the same binary the user started us with when there is one, output to the
// terminal (or stderr when stdout carries JSON), each child registered (util/children.ts) so an interrupt can
// stop it before files are restored.
import { spawn } from 'node:child_process';
import { readFile, realpath, stat } from 'node:fs/promises';
import { basename, delimiter, dirname, join, resolve } from 'node:path';
import { GuardError } from '../errors.js';
import { ownProcessGroups, stopping, track } from '../util/children.js';
import type { PackageManager } from '../types.js';

import { GUARD_ENV } from './hook-pass.js';
import { group } from '../util/at.js';

export { GUARD_ENV };

export interface RunOptions {
  cwd: string;
  /** Where the tool's output goes; the default inherits the terminal. */
  stdio?: 'inherit' | 'pipe';
  /** Extra environment (e.g. yarn's YARN_ENABLE_SCRIPTS); the hook's marker only from here (withHookPass). */
  env?: Record<string, string>;
}

/** npm_execpath file names that identify each package manager. */
const EXEC_PATH: Record<PackageManager, RegExp> = {
  npm: /npm-cli\.js$/,
  pnpm: /pnpm\.(c?js|mjs)$/,
  yarn: /yarn(\.js|-[\d.]+\.c?js)$/,
};

/** The command that starts `pm`: under `npm exec`/`pnpm exec`/a script, npm_execpath names the one that started us. */
export function pmCommand(pm: PackageManager): { cmd: string; pre: string[] } {
  const execPath = process.env.npm_execpath;
  if (execPath && EXEC_PATH[pm].test(basename(execPath))) return { cmd: process.execPath, pre: [execPath] };
  return { cmd: process.platform === 'win32' ? `${pm}.cmd` : pm, pre: [] };
}

/**
 * The JavaScript file `pm` runs from (npm's bin/npm-cli.js...): npm_execpath when it names this package manager,
 * else the `pm` found on PATH with its symlinks resolved. Undefined when it cannot be told (a shell shim, say).
 */
export async function resolvePmScript(pm: PackageManager): Promise<string | undefined> {
  const execPath = process.env.npm_execpath;
  if (execPath && EXEC_PATH[pm].test(basename(execPath))) return execPath;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const real = await realpath(join(dir, pm)).catch(() => undefined);
    if (
      !real ||
      !(await stat(real).then(
        (s) => s.isFile(),
        () => false,
      ))
    )
      continue;
    // The first one on PATH is the one runPm starts: its script, or the script its shell shim starts.
    return /\.[cm]?js$/.test(real) ? real : scriptOfShim(real, pm);
  }
  return undefined;
}

/**
 * The script a shell shim starts (npm's cmd-shim: `"$basedir/../pnpm/bin/pnpm.cjs"`, or an absolute path); a
 * native executable (pnpm's standalone @pnpm/exe) is itself what the package manager reports as npm_execpath.
 */
async function scriptOfShim(file: string, pm: PackageManager): Promise<string | undefined> {
  const head = await readFile(file).then(
    (b) => b.subarray(0, 4096),
    () => undefined,
  );
  if (!head) return undefined;
  if (head[0] === 0x7f || (head[0] === 0x4d && head[1] === 0x5a)) return file; // ELF or PE
  const m = new RegExp(`["']?((?:\\$basedir|/)[^"'\\s]*/${pm}(?:-cli)?\\.[cm]?js)["']?`).exec(head.toString('utf8'));
  if (!m) return undefined;
  const script = resolve(group(m, 1).replace('$basedir', dirname(file)));
  return (await stat(script).then(
    (s) => s.isFile(),
    () => false,
  ))
    ? script
    : undefined;
}

let childOutput: 'stdout' | 'stderr' = 'stdout';
/** Where inherited package-manager output goes: the terminal's stdout, or stderr when stdout carries JSON. */
export function setChildOutput(to: 'stdout' | 'stderr'): void {
  childOutput = to;
}
export const inherited = () => (childOutput === 'stdout' ? 'inherit' : (['inherit', 2, 2] as ('inherit' | number)[]));

export function runPm(pm: PackageManager, args: string[], opts: RunOptions): Promise<{ code: number; output: string }> {
  const { cmd, pre } = pmCommand(pm);
  if (stopping()) return Promise.reject(new GuardError('install-failed', `interrupted: ${pm} was not started`));
  const detached = ownProcessGroups();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, [...pre, ...args], {
      cwd: opts.cwd,
      stdio: opts.stdio === 'pipe' ? ['ignore', 'pipe', 'pipe'] : inherited(),
      // No inherited marker: what this package manager runs is not the hook's pass unless the caller gave one.
      // corepack (when its shims are on PATH) must not write a packageManager field into the user's package.json.
      env: { COREPACK_ENABLE_AUTO_PIN: '0', ...process.env, ...opts.env, [GUARD_ENV]: opts.env?.[GUARD_ENV] },
      detached,
    });
    track(child, detached);
    let output = '';
    child.stdout?.on('data', (d) => (output += d));
    child.stderr?.on('data', (d) => (output += d));
    child.on('error', (err) => reject(new GuardError('install-failed', `could not start ${pm}: ${err.message}`, { remedy: `is ${pm} on PATH?` })));
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), output }));
  });
}
