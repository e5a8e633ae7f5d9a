// `safe-install hook`: the project hook for a plain install (set up by init). npm runs it as the root preinstall,
// after the dependencies are extracted (npm's own min-release-age and strict-allow-scripts guard resolution and
// scripts): the hook runs every other check and, when something is blocked or held, removes it from
// node_modules and fails the install. pnpm (9 and 10) runs it as `pnpm:devPreinstall`, before it fetches
// anything: the hook checks the locked tree and fails the install, so nothing is downloaded. Under safe-install
// itself it does nothing (no double run).
import { rm } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import { runCheck } from '../pipeline.js';
import { exitCodeOf } from '../report/summary.js';
import { colourWanted, makeStyle, toText } from '../report/text.js';
import { GUARD_ENV } from '../install/npm.js';
import { approveHints, recordLedger } from './held.js';
import { toCheckOptions, type CommonFlags } from './options.js';

export async function hookCommand(flags: CommonFlags): Promise<number> {
  if (process.env[GUARD_ENV] === '1') return 0;
  const write = (s: string) => process.stderr.write(s);
  const style = makeStyle(colourWanted(process.stderr, flags.color));
  const result = await runCheck(toCheckOptions({ ...flags, input: false }));
  const code = exitCodeOf(result);
  if (code === 0) {
    write(style.green(`safe-install hook: ${result.verdicts.length} packages checked, none held\n`));
    return 0;
  }
  write(toText(result, style));
  write(await recordLedger(result, style));
  const held = result.verdicts.filter((v) => v.verdict === 'block' || v.verdict === 'quarantine');
  const removed: string[] = [];
  // Only install folders under this project's node_modules, from an npm lockfile (the hook is npm's): never a
  // path a crafted lockfile entry could point elsewhere.
  const top = resolve(result.tree.root.dir, 'node_modules') + sep;
  for (const v of result.tree.format.startsWith('npm') ? held : []) {
    for (const path of v.pkg.paths) {
      const abs = resolve(result.tree.root.dir, path);
      if (!abs.startsWith(top)) continue;
      await rm(abs, { recursive: true, force: true });
      removed.push(path);
    }
  }
  if (removed.length) write(style.red(`Removed from node_modules: ${removed.join(', ')}\n`));
  if (result.tree.format.startsWith('pnpm')) write(style.red('Nothing was fetched: pnpm runs this hook before it downloads anything.\n'));
  if (code === 1) write(approveHints(result, style));
  write(style.red(`The install is refused (safe-install hook, exit ${code}).\n`));
  return code;
}
