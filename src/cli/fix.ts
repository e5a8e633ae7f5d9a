// `safe-install fix`: explicit, never implicit. Runs the check; for every quarantined version with a fallback,
// has npm rewrite the lockfile to the fallback (lockfile only, scripts off), keeps backups, re-checks, shows
// what changed, and restores both files when the result is not clean. Exit 0: everything held was replaced
// and the re-check passes; 1: something stays held (or --dry-run); 2: could not check, npm failed; 3
// (EXIT_NOT_CONFIRMED): not confirmed (no terminal without --yes, or answered no), nothing was changed.
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { runCheck, type CheckResult } from '../pipeline.js';
import { GuardError } from '../errors.js';
import { summarize } from '../report/summary.js';
import { exitCodeOf } from '../verdict/exit-code.js';
import { colourWanted, makeStyle, toText, type Style } from '../report/text.js';
import { applyFix, assertNpmLockfile, planFix, readExact, type FixOutcome, type FixPlan, type ManifestChange, type VersionChange } from '../quarantine/fix.js';
import { toCheckOptions, type CommonFlags } from './options.js';
import { canPrompt, EXIT_NOT_CONFIRMED, ledgerNote, recordLedger } from './held.js';
import { recordReplaced } from '../quarantine/ledger.js';
import { displayText, mapStrings } from '../util/safe-text.js';
import { shown } from '../report/shown.js';

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
      for (const e of mapStrings(update.released, displayText).filter((e) => e.releasedBecause === 'replaced')) out(style.dim(`  ledger: ${e.name}@${e.version} released (replaced by ${e.replacedBy ?? 'another version'})\n`));
    } catch (err) {
      out(`${ledgerNote(err, style)}\n`);
    }
  }
  if (outcome.status === 'incomplete') return 2;
  if (outcome.status === 'rejected') return 1;
  return plan.unfixable.length ? 1 : 0;
}

function show(path: string): string {
  return relative(process.cwd(), path) || path;
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

function json(x: unknown): string {
  return JSON.stringify(x);
}

export function describePlan(raw: FixPlan, style: Style): string {
  const plan = mapStrings(raw, displayText);
  const lines = ['', style.bold(`Held versions (${new Set([...plan.fixes, ...plan.unfixable].map((x) => x.pkg.id)).size})`)];
  const listed = new Set<string>();
  for (const f of plan.fixes) {
    const name = `${f.pkg.name}@${f.pkg.version}`;
    const codes = [...new Set(f.findings.map((x) => x.code))].join(', ');
    const how =
      f.route.kind === 'direct'
        ? `direct dependency ${json(f.route.key)}: ${json(f.route.spec)} in ${f.route.field} (allows it; package.json keeps its range)`
        : `override ${f.route.path.map(json).join(' > ')}: ${json(f.route.value)}`;
    if (listed.has(f.pkg.id)) lines.push(`      ${style.dim('and ' + how)}`);
    else lines.push(`  ${style.yellow('!')} ${style.bold(name)}  ${codes} -> ${style.green(`${f.pkg.name}@${f.fallback}`)}  ${style.dim(how)}`);
    listed.add(f.pkg.id);
  }
  for (const u of plan.unfixable) {
    lines.push(`  ${style.red('x')} ${style.bold(`${u.pkg.name}@${u.pkg.version}`)}  still blocked: ${u.reason}`);
  }
  if (plan.manifestChanges.length) {
    lines.push('', style.bold(`${show(plan.manifestPath)} (it keeps these lines; remove an override once its version is eligible)`));
    lines.push(...manifestLines(plan.manifestChanges, style));
  }
  if (plan.npmRuns.length) {
    lines.push('', style.bold(`npm, in ${relative(process.cwd(), plan.projectDir) || '.'}`));
    for (const run of plan.npmRuns) lines.push(`  npm ${run.args.join(' ')}`, `      ${style.dim(run.why)}`);
  }
  return lines.join('\n') + '\n';
}

function manifestLines(changes: ManifestChange[], style: Style): string[] {
  return changes.map((c) =>
    c.before === undefined
      ? `  ${style.green('+')} ${c.path}: ${json(c.after)}`
      : c.after === undefined
        ? `  ${style.red('-')} ${c.path}: ${json(c.before)}`
        : `  ${style.yellow('~')} ${c.path}: ${json(c.before)} -> ${json(c.after)}`,
  );
}

function versionLines(changes: VersionChange[], style: Style): string[] {
  if (!changes.length) return ['  (no package changed version)'];
  return changes.map((c) =>
    !c.before.length
      ? `  ${style.green('+')} ${c.name} ${c.after.join(', ')}`
      : !c.after.length
        ? `  ${style.red('-')} ${c.name} ${c.before.join(', ')}`
        : `  ${style.yellow('~')} ${c.name} ${c.before.join(', ')} -> ${c.after.join(', ')}`,
  );
}

export function describeOutcome(rawPlan: FixPlan, rawOutcome: FixOutcome, style: Style): string {
  // Names and versions from the lockfiles, messages from npm: printed as inert text.
  const plan = mapStrings(rawPlan, displayText);
  const { after, ...rest } = rawOutcome;
  const outcome: FixOutcome = { ...mapStrings(rest, displayText), after: shown(after) };
  const lock = show(plan.lockfilePath);
  const undone = outcome.kept ? '' : ' (undone below)';
  const lines = ['', style.bold(`${lock}: what npm changed${undone}`), ...versionLines(outcome.lockfileChanges, style)];
  lines.push('', style.bold(`${show(plan.manifestPath)}: what changed${undone}`));
  lines.push(...(outcome.manifestChanges.length ? manifestLines(outcome.manifestChanges, style) : ['  (nothing)']));

  const s = summarize(outcome.after);
  const counts = `${s.allow} allowed, ${s.warn} with warnings, ${s.quarantine} quarantined, ${s.block} blocked`;
  if (outcome.status === 'incomplete') {
    lines.push('', style.red(style.bold(`Re-check incomplete (${outcome.after.errors.length} error(s)):`)));
    for (const e of outcome.after.errors) lines.push(`  ${style.red('x')} ${e.message}${e.remedy ? style.dim(`  -> ${e.remedy}`) : ''}`);
    lines.push(style.red(`Restored ${show(plan.manifestPath)} and ${lock} byte for byte: nothing changed (exit 2).`));
    return lines.join('\n') + '\n';
  }
  if (outcome.status === 'rejected') {
    lines.push('', style.red(style.bold('Re-check failed:')));
    for (const f of outcome.notReplaced) lines.push(`  ${style.red('x')} npm kept ${f.pkg.name}@${f.pkg.version} (an existing override or another dependent's range may force it)`);
    for (const v of outcome.newlyHeld) {
      const f = v.findings.find((x) => x.action === v.verdict);
      lines.push(`  ${style.red('x')} ${v.pkg.name}@${v.pkg.version} is now ${v.verdict === 'block' ? 'blocked' : 'quarantined'}${f ? `: ${f.code}: ${f.message}` : ''}`);
      if (f?.remedy) lines.push(`      ${style.dim('-> ' + f.remedy)}`);
    }
    lines.push(style.red(`Restored ${show(plan.manifestPath)} and ${lock} byte for byte: nothing changed (exit 1).`));
    return lines.join('\n') + '\n';
  }
  const replaced = new Set(plan.fixes.map((f) => f.pkg.id)).size;
  lines.push('', `Re-check: ${counts}`);
  lines.push(style.green(style.bold(`Fixed: ${replaced} held version(s) replaced.`)));
  lines.push(style.dim(`Backups: ${show(outcome.backups.manifest)}, ${show(outcome.backups.lockfile)}`));
  lines.push(style.dim(`  to undo: mv ${show(outcome.backups.manifest)} ${show(plan.manifestPath)} && mv ${show(outcome.backups.lockfile)} ${lock}`));
  if (plan.unfixable.length) {
    lines.push('', style.red(style.bold(`Still blocked (${plan.unfixable.length}), exit 1:`)));
    for (const u of plan.unfixable) lines.push(`  ${style.red('x')} ${u.pkg.name}@${u.pkg.version}  ${u.reason}`);
  }
  return lines.join('\n') + '\n';
}
