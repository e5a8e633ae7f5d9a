// The project hook's pass: how `safe-install hook` (and the yarn 2+ plugin init writes) tells the install the guard
// itself is running, where the check already ran, from any other install (issue 14, bypass 5).
//
// A plain `SAFE_INSTALL_RUNNING=1` was inherited by every script the guard ran, so a root script (or an allowed
// dependency's) that ran `npm ci` in another guarded project (a sub-project, an example folder) switched that
// project's hook off. Now the marker is a pass: SAFE_INSTALL_RUNNING holds the path of a file the guard creates
// for one package-manager step of one run (a random name in the temporary folder, mode 0600), and the file holds
// the project root that step installs. The hook skips only when the file exists, names its own project root, and
// it can delete it: each pass lets one hook through, once, and only in that project. A nested install elsewhere
// runs its hook (another root), as does a second install of the same project (the pass is used up); a left-over
// or hand-set marker (`=1`) is no pass. The scripts the guard runs get no marker at all, except the root event
// where init puts the hook (`preinstall`, `pnpm:devPreinstall`) and the yarn 2+ installs, whose plugin runs first.
import { randomBytes } from 'node:crypto';
import { lstatSync, readFileSync, realpathSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, isAbsolute, join } from 'node:path';
import { GuardError } from '../errors.js';

/** Set in the environment of the package manager the guard starts when its project hook may run there. */
export const GUARD_ENV = 'SAFE_INSTALL_RUNNING';

/** The pass file's name: the plugin (yarnPluginSource) tests the same pattern. */
export const PASS_NAME = /^safe-install-pass-[0-9a-f]{32}$/;

/**
 * Run `fn` with an environment carrying a one-use pass for the hook of the project at `root`; the pass is
 * removed afterwards whether a hook used it or not.
 */
export async function withHookPass<T>(root: string, fn: (env: { [GUARD_ENV]: string }) => Promise<T>): Promise<T> {
  const file = join(tmpdir(), `safe-install-pass-${randomBytes(16).toString('hex')}`);
  try {
    writeFileSync(file, realpathSync(root), { flag: 'wx', mode: 0o600 });
  } catch (err) {
    throw new GuardError('install-failed', `cannot write the project hook's pass ${file}: ${(err as Error).message}`, {
      remedy: 'make the temporary folder writable (TMPDIR); the step did not start',
    });
  }
  try {
    return await fn({ [GUARD_ENV]: file });
  } finally {
    try {
      unlinkSync(file);
    } catch {
      // used by the hook
    }
  }
}

/**
 * The hook's side: true (skip the check) only when `marker` is a pass file for the project at `root` and this
 * call used it up. Anything else (no marker, `1`, a path that is not a pass, another project's pass, one already
 * used) is false: the hook runs the whole check.
 */
export function claimHookPass(marker: string | undefined, root: string): boolean {
  if (!marker || !isAbsolute(marker) || !PASS_NAME.test(basename(marker))) return false;
  try {
    if (!lstatSync(marker).isFile()) return false;
    if (readFileSync(marker, 'utf8') !== realpathSync(root)) return false;
    unlinkSync(marker); // one use: a second hook under the same pass (a nested install of this project) checks
    return true;
  } catch {
    return false;
  }
}

/** `env` without the marker (undefined: left out by spawn), for every script the guard runs. */
export function withoutMarker<T extends Record<string, string | undefined>>(env: T): T & { [GUARD_ENV]: undefined } {
  return { ...env, [GUARD_ENV]: undefined };
}
