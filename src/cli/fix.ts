// `safe-install fix`: explicit, never implicit. Runs the check; for every quarantined version with a fallback,
// has npm rewrite the lockfile to the fallback (lockfile only, scripts off), keeps backups, re-checks, shows
// what changed, and restores both files when the result is not clean. Exit 0: everything held was replaced
// and the re-check passes; 1: something stays held (or --dry-run); 2: could not check, npm failed; 3
// (EXIT_NOT_CONFIRMED): not confirmed (no terminal without --yes, or answered no), nothing was changed.
import { join } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { runCheck, type CheckResult } from '../pipeline.js';
import { GuardError } from '../errors.js';
import { exitCodeOf } from '../verdict/exit-code.js';
import { colourWanted, makeStyle, toText } from '../report/text.js';
import { describeOutcome, describePlan, show } from '../quarantine/fix-text.js';
import { applyFix, assertNpmLockfile, planFix, readExact } from '../quarantine/fix.js';
import { toCheckOptions, type CommonFlags } from './options.js';
import { canPrompt, EXIT_NOT_CONFIRMED, ledgerNote, recordLedger } from './held.js';
import { recordReplaced } from '../quarantine/ledger.js';
import { displayText, mapStrings } from '../util/safe-text.js';

export interface FixFlags extends CommonFlags {
  yes?: boolean;
  dryRun?: boolean;
}

/** Rewriting lockfiles is npm-only for now; pnpm and yarn trees are checked and installed. */
function requireNpmLockfile(result: CheckResult, what: string): void {
  const format = result.tree.format;
  if (format.startsWith('npm')) return;
  throw new GuardError('bad-usage', `safe-install cannot ${what} a ${format} project yet: only npm lockfiles are rewritten by the guard`, {
    remedy: `run \`safe-install check\` (it reads ${format} lockfiles) as a gate before your package manager's frozen install`,
  });
}

export async function fixCommand(flags: FixFlags): Promise<number> {
  const out = (s: string) => process.stdout.write(s);
  const style = makeStyle(colourWanted(process.stdout, flags.color));
  const options = toCheckOptions(flags);
  const result = await runCheck(options);
  requireNpmLockfile(result, 'fix');
  if (exitCodeOf(result) === 2) {
    out(toText(result, style));
    out(style.red(`\nfix: the check did not complete, so nothing was changed (exit 2).\n`));
    return 2;
  }
  assertNpmLockfile(result.tree);
  const lockName = show(result.tree.lockfilePath);
  out(`${style.bold('safe-install fix')}  ${lockName} (${result.tree.format}), ${result.tree.packages.length} packages; as of ${result.now.toISOString()}\n`);
  if (exitCodeOf(result) === 0) {
    out(style.green(style.bold('\nNothing to fix: no version is held.\n')));
    return 0;
  }
  // What is held now goes in the ledger first, so a kept fix can record what replaced it.
  out(await recordLedger(result, style));

  const plan = planFix(result, await readExact(join(result.tree.root.dir, 'package.json'), 'package.json'));
  out(describePlan(plan, style));
  if (!plan.fixes.length) {
    out(style.red(style.bold(`\nNothing can be replaced: ${plan.unfixable.length} held version(s) stay blocked; nothing was changed (exit 1).\n`)));
    return 1;
  }
  if (result.tree.format === 'npm-v1') out(style.yellow(`\nnote: npm rewrites this lockfileVersion 1 file in its current format.\n`));

  if (flags.dryRun) {
    out(
      `\n${style.bold('Dry run: nothing was written.')} npm may also add, remove or move the fallbacks' own dependencies;\n` +
        `without --dry-run the exact lockfile diff is shown, and everything is undone if the re-check fails.\n`,
    );
    return 1;
  }
  if (!flags.yes) {
    if (!canPrompt(flags)) {
      out(`\nNot applied (exit ${EXIT_NOT_CONFIRMED}): with no one to confirm (no terminal, CI or --no-input), fix changes files only with --yes:\n  ${applyCommand(flags)}\n`);
      return EXIT_NOT_CONFIRMED;
    }
    if (!(await confirm(`\nRewrite ${show(plan.manifestPath)} and ${lockName} as above? [y/N] `))) {
      out(`Nothing was changed (exit ${EXIT_NOT_CONFIRMED}).\n`);
      return EXIT_NOT_CONFIRMED;
    }
  }

  out(style.bold(`\nBacking up ${show(plan.manifestPath)} and ${lockName}, then running npm (lockfile only, scripts off)\n`));
  // Under the project's lock (two fixes, or a fix and an edit, at once would undo each other's files).
  const outcome = await applyFix(plan, {
    before: result.tree,
    recheck: () => runCheck(options),
    progress: (line) => out(style.dim(`  ${displayText(line)}\n`)),
  });
  out(describeOutcome(plan, outcome, style));
  if (outcome.kept && !outcome.after.nowGiven) {
    const replaced = plan.fixes.filter((f) => !outcome.notReplaced.includes(f)).map((f) => ({ name: f.pkg.name, from: f.pkg.version, to: f.fallback }));
    try {
      const update = await recordReplaced(plan.projectDir, replaced, outcome.after.verdicts, outcome.after.now);
      for (const e of mapStrings(update.released, displayText).filter((e) => e.releasedBecause === 'replaced'))
        out(style.dim(`  ledger: ${e.name}@${e.version} released (replaced by ${e.replacedBy ?? 'another version'})\n`));
    } catch (err) {
      out(`${ledgerNote(err, style)}\n`);
    }
  }
  if (outcome.status === 'incomplete') return 2;
  if (outcome.status === 'rejected') return 1;
  return plan.unfixable.length ? 1 : 0;
}

function applyCommand(flags: FixFlags): string {
  const quote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
  const extra: string[] = [];
  if (flags.cwd) extra.push('-C', quote(flags.cwd));
  if (flags.policy) extra.push('--policy', quote(flags.policy));
  if (flags.registry) extra.push('--registry', quote(flags.registry));
  if (flags.now) extra.push('--now', quote(flags.now));
  return ['safe-install fix --yes', ...extra].join(' ');
}

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  // Ctrl-C or end of input at the prompt is a "no".
  const ac = new AbortController();
  rl.on('SIGINT', () => ac.abort());
  rl.on('close', () => ac.abort());
  try {
    return /^y(es)?$/i.test((await rl.question(question, { signal: ac.signal })).trim());
  } catch {
    process.stdout.write('\n');
    return false;
  } finally {
    rl.close();
  }
}
