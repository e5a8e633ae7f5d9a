// `safe-install hook`: the project hook for a plain install (set up by init). npm runs it as the root preinstall,
// after the dependencies are extracted (npm's own min-release-age and strict-allow-scripts guard resolution and
// scripts): the hook runs every other check and, when something is blocked or held, removes it from
// node_modules and fails the install. pnpm (9 and 10) runs it as `pnpm:devPreinstall`, before it fetches
// anything: the hook checks the locked tree and fails the install, so nothing is downloaded. yarn 1 runs it as
// the root preinstall, also before fetching; yarn 2+ through the plugin init writes (validateProject, before
// resolution and fetch). yarn 1 cannot skip one package's install scripts, so there the hook also refuses a tree
// with a package whose scripts the policy does not allow. Under safe-install's own install of this project it does
// nothing (no double run): only with the one-use pass that install carries (src/install/hook-pass.ts), never for
// an install a script starts, in another project or this one.
import { rm } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import { runCheck } from '../pipeline.js';
import { exitCodeOf } from '../verdict/exit-code.js';
import { colourWanted, makeStyle, toText } from '../report/text.js';
import { claimHookPass, GUARD_ENV } from '../install/hook-pass.js';
import { approveHints, recordLedger } from './held.js';
import { toCheckOptions, type CommonFlags } from './options.js';
import { displayText } from '../util/safe-text.js';
import { holdsGuard, keepGuardCopy, withoutNodeModules } from '../util/guard-copy.js';
import { projectRoot } from '../lockfile/index.js';

export async function hookCommand(flags: CommonFlags): Promise<number> {
  if (claimHookPass(process.env[GUARD_ENV], flags.cwd ?? process.cwd())) return 0;
  const write = (s: string) => process.stderr.write(s);
  const style = makeStyle(colourWanted(process.stderr, flags.color));
  // Before anything can fail: the copy the next step runs from when node_modules is gone.
  let copy: string | undefined;
  try {
    copy = await keepGuardCopy(projectRoot(flags.cwd ?? '.'));
  } catch {
    copy = undefined; // the check below says what is wrong with the project
  }
  const result = await runCheck(toCheckOptions({ ...flags, input: false }));
  const checked = exitCodeOf(result);
  // yarn 1 runs every dependency's install scripts or none: one the policy does not allow would run.
  const yarn1Scripts =
    result.tree.format === 'yarn-v1'
      ? result.verdicts.filter((v) => v.findings.some((f) => f.code === 'install-script-unlisted' || f.code === 'install-script-denied')).map((v) => `${v.pkg.name}@${v.pkg.version}`)
      : [];
  const code = checked === 0 && yarn1Scripts.length ? 1 : checked;
  if (code === 0) {
    write(style.green(`safe-install hook: ${result.verdicts.length} packages checked, none held\n`));
    return 0;
  }
  write(toText(result, style, flags));
  write(await recordLedger(result, style, flags));
  if (yarn1Scripts.length) {
    write(
      style.red(`yarn 1 cannot leave out one package's install scripts, so a plain yarn install would run those of ${displayText(yarn1Scripts.join(', '))}, which the policy does not allow.`) +
        '\nAllow them (`safe-install scripts allow <name>`), or install with `safe-install` in place of yarn install: it runs only the allowed scripts.\n',
    );
  }
  const held = result.verdicts.filter((v) => v.verdict === 'block' || v.verdict === 'quarantine');
  const removed: string[] = [];
  const kept: string[] = [];
  // Only install folders under this project's node_modules, from an npm lockfile (the hook is npm's): never a
  // path a crafted lockfile entry could point elsewhere. Never the guard itself, the folder the running code is in
  // (by realpath): it stays held and the install is refused, but the commands that approve or fix what is held
  // run from it (issue 19). Never by name: a node_modules/safe-install that is not the running guard (a lockfile
  // that swapped its tarball, an alias) is removed like anything held, or the printed next step would run it.
  const top = resolve(result.tree.root.dir, 'node_modules') + sep;
  for (const v of result.tree.format.startsWith('npm') ? held : []) {
    for (const path of v.pkg.paths) {
      const abs = resolve(result.tree.root.dir, path);
      if (!abs.startsWith(top)) continue;
      if (holdsGuard(abs)) {
        kept.push(path);
        continue;
      }
      await rm(abs, { recursive: true, force: true });
      removed.push(path);
    }
  }
  if (removed.length) write(style.red(`Removed from node_modules: ${displayText(removed.join(', '))}\n`));
  if (kept.length) write(style.yellow(`Kept in node_modules: ${displayText(kept.join(', '))} (the guard itself: held, but the commands below run from it)\n`));
  if (result.tree.format.startsWith('pnpm')) write(style.red('Nothing was fetched: pnpm runs this hook before it downloads anything.\n'));
  if (result.tree.format.startsWith('yarn')) write(style.red('Nothing was fetched: yarn runs this hook before it downloads anything.\n'));
  if (checked === 1) write(approveHints(result, style, flags));
  if (copy) write(withoutNodeModules(style));
  write(style.red(`The install is refused (safe-install hook, exit ${code}).\n`));
  return code;
}
