// The text `safe-install fix` prints: the plan (held versions, their fallbacks, the package.json lines and npm
// runs), and the outcome (what npm changed, the re-check, backups). Names, versions and npm's messages are
// shown as inert text.
import { relative } from 'node:path';
import type { FixOutcome, FixPlan, ManifestChange, VersionChange } from './fix.js';
import { displayText, mapStrings } from '../util/safe-text.js';
import { shown } from '../report/shown.js';
import { summarize } from '../report/summary.js';
import type { Style } from '../report/text.js';

/** A path as the user reads it: relative to the current folder. */
export function show(path: string): string {
  return relative(process.cwd(), path) || path;
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
