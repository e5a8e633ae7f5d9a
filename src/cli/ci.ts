// `safe-install` / `safe-install ci`: the check, then `npm ci` with every script off, then only the allowed
// install scripts, then the project's own lifecycle. Held versions stop it before anything is downloaded.
import { runCheck, type CheckOptions, type CheckResult } from '../pipeline.js';
import { approve, heldVersions } from '../quarantine/approve.js';
import type { HeldItem } from '../ui/override-prompt.js';
import { formatDuration } from '../util/duration.js';
import { approveHints, canPrompt, recordLedger } from './held.js';
import { exitCodeOf } from '../verdict/exit-code.js';
import { colourWanted, makeStyle, toText, type Style } from '../report/text.js';
import { planScripts, type ScriptPlan } from '../install/plan.js';
import { describeProjectRuns } from '../install/project-scripts.js';
import { runnerFor } from '../install/runner.js';
import { removeLinks, shadowingBinsOnDisk, type ShadowOnDisk } from '../install/bins-on-disk.js';
import { defaultCommands } from '../checks/bins.js';
import { toCheckOptions, type CommonFlags } from './options.js';
import { humanStream, say } from './output.js';
import { phase } from './progress.js';
import { displayText, mapStrings } from '../util/safe-text.js';
import { GuardError } from '../errors.js';
import { interruptible, type Phase } from './interrupt.js';

export interface CiFlags extends CommonFlags {
  /** Only the check, and what the install would run: nothing installed, no file written. */
  dryRun?: boolean;
}

const CHECKING: Phase = { what: 'while checking', state: 'nothing was installed; node_modules was not touched.' };

export async function ciCommand(flags: CiFlags, npmArgs: string[]): Promise<number> {
  refusePassthrough(npmArgs);
  const style = makeStyle(colourWanted(humanStream(), flags.color));
  // The package manager that would run is asked first: a wrong one stops the run before anything is fetched.
  const options: CheckOptions = { ...toCheckOptions(flags), confirmPm: true };
  // The prompt and the approvals it records are not under this handler: approving is a transaction of its own.
  const first = await interruptible(CHECKING, () => runCheck(options));
  out(toText(first, style, flags));
  if (flags.dryRun) return dryRun(first, npmArgs, style);
  out(await recordLedger(first, style, flags));
  const { result, code } = await offerApprovals(first, options, flags, style);
  if (code !== 0) {
    if (code === 1) out(approveHints(result, style, flags));
    out(style.red(`Nothing was installed: node_modules was not touched.\n`));
    return code;
  }
  return interruptible(CHECKING, (setPhase) => installChecked(result, npmArgs, style, setPhase));
}

/**
 * Flags after `--` go to the package manager's install as given, after the guard's own: one that undoes the
 * guard's (scripts back on: the package manager takes the last --ignore-scripts) or makes the package manager
 * install nothing (a dry run, its version or help) while safe-install reports "Installed." is refused before
 * anything runs.
 */
export function refusePassthrough(args: readonly string[]): void {
  for (const arg of args) {
    const flag = arg.toLowerCase().replace(/_/g, '-').replace(/=.*$/, '');
    let why: string | undefined;
    let remedy: string | undefined;
    if (flag === '--ignore-scripts' || flag === '--no-ignore-scripts' || flag === '--enable-scripts' || flag === '--no-enable-scripts') {
      why = 'safe-install installs with every script off and then runs only the allowed install scripts; this flag would change that';
      remedy = "allow a package's scripts with `safe-install scripts allow <name>` (or deny them); nothing was installed";
    } else if (flag === '--dry-run') {
      why = "the package manager's dry run installs nothing while safe-install would go on as if it had";
      remedy = 'to check without installing: `safe-install --dry-run` (before `--`); nothing was installed';
    } else if (['-v', '--version', '-h', '--help', '-?', '--usage'].includes(flag)) {
      why = 'the package manager would print this and install nothing while safe-install would go on as if it had';
      remedy = "`safe-install --version`, `safe-install --help` (before `--`) are safe-install's own; nothing was installed";
    }
    if (why) throw new GuardError('bad-usage', `\`${displayText(arg)}\` after \`--\` is not passed to the package manager: ${why}`, { remedy });
  }
}

/** --dry-run: the check's report and what the install would run; no install, no ledger, no prompt, no file. */
async function dryRun(result: CheckResult, npmArgs: string[], style: Style): Promise<number> {
  const code = exitCodeOf(result);
  if (code === 1) out(approveHints(result, style));
  const runner = await runnerFor(result.packageManager.pm, result.tree.format);
  const would =
    code === 0
      ? `without --dry-run it would run ${runner.describe(npmArgs)}, then only the allowed install scripts`
      : code === 1
        ? 'without --dry-run the install would be refused (held or blocked versions above)'
        : 'the check did not complete, so the install would not run';
  out(style.bold(`\nDry run: nothing was installed and no file was written (node_modules is as it was); ${displayText(would)}.\n`));
  return code;
}

const out = say;

/**
 * After a check that held versions: on a terminal outside CI, ask a person (the ink prompt); approvals are
 * recorded in the policy and the check runs again. Returns the check to go on with and its exit code.
 */
export async function offerApprovals(result: CheckResult, options: CheckOptions, flags: CommonFlags, style: Style): Promise<{ result: CheckResult; code: number }> {
  const code = exitCodeOf(result);
  if (code !== 1 || !canPrompt(flags) || !heldVersions(result).some((h) => h.overridable)) return { result, code };
  const approvals = await promptForApprovals(result);
  if (!approvals.length) return { result, code };
  for (const a of approvals) {
    const rec = await approve(result, { spec: `${a.name}@${a.version}`, reason: a.reason, expires: a.expires, policyPath: flags.policy, now: result.now });
    out(style.green(displayText(`Approved ${rec.name}@${rec.version} until ${rec.expires} (by ${rec.approvedBy}), recorded in ${rec.policyFile}`)) + '\n');
  }
  const again = await runCheck(options);
  out(toText(again, style, flags));
  out(await recordLedger(again, style, flags));
  return { result: again, code: exitCodeOf(again) };
}

/** The install proper, for a tree whose check passed: the frozen install with scripts off, then the allowed scripts. */
export async function installChecked(result: CheckResult, npmArgs: string[], style: Style, setPhase: (p: Phase) => void = () => {}): Promise<number> {
  const dir = result.tree.root.dir;
  const runner = await runnerFor(result.packageManager.pm, result.tree.format);
  out(style.bold(`\nInstalling with ${runner.describe(npmArgs)}\n`));
  setPhase({
    what: `during ${displayText(runner.describe(npmArgs))}`,
    state: 'node_modules may be emptied or incomplete and no install script has run: run safe-install again to install.',
  });
  phase(`installing: ${runner.describe(npmArgs)} (${result.tree.packages.length} packages, every script off)...`);
  await runner.installWithoutScripts(dir, npmArgs);

  const installed = await runner.scan(result.tree);
  const plan = planScripts(installed, result.policy, result.facts);
  const allowed = plan.decisions.filter((d) => d.kind === 'run').map((d) => d.item);
  const shadows = await shadowingBinsOnDisk(result.tree, installed, allowed, result.facts, result.policy, defaultCommands(), result.now);
  const refusedBins = shadows.filter((s) => !s.allowed);
  if (refusedBins.length) {
    const removed = await removeLinks(dir, refusedBins);
    out(reportBins(shadows, style));
    out(style.red(style.bold(`\nInstall refused after extraction: no install script has run.\n`)));
    for (const s of refusedBins)
      out(`  x ${s.pkg ? `${s.pkg.name}@${s.pkg.version}` : (s.owner ?? 'an unknown package')}: bin "${s.bin}" shadows a command; allow it with the policy's bins.allow only if you trust it\n`);
    if (removed.length) out(`  removed ${removed.join(', ')}, so no later script runs it\n`);
    return 1;
  }
  if (plan.refusals.length) {
    out(reportScripts(plan, style, false));
    out(style.red(style.bold(`\nInstall refused after extraction: no install script has run.\n`)));
    for (const r of plan.refusals) out(`  x ${displayText(r)}\n`);
    return 1;
  }
  const projectScripts = result.policy.scripts.rootScripts;
  setPhase({
    what: 'while running the allowed install scripts',
    state: 'the packages are installed but not every allowed script has run: run safe-install again to finish.',
  });
  const toRun = allowed.map((i) => `${i.pkg.name}@${i.pkg.version}`);
  phase(
    `running install scripts: ${toRun.length ? `${toRun.length} allowed (${toRun.slice(0, 3).join(', ')}${toRun.length > 3 ? ` and ${toRun.length - 3} more` : ''})` : 'none allowed'}${projectScripts ? ", then the project's own" : ''}...`,
  );
  const projectRan = await runner.runAllowed(dir, allowed, result.tree, { projectScripts });
  out(reportScripts(plan, style, true));
  if (shadows.length) out(reportBins(shadows, style));
  if (projectRan.length)
    out(
      `  project scripts run:\n${describeProjectRuns(projectRan)
        .map((l) => `    ${displayText(l)}\n`)
        .join('')}`,
    );
  else if (!result.policy.scripts.rootScripts) out(`  project scripts not run (policy scripts.rootScripts is false)\n`);
  out(style.green(style.bold(`\nInstalled.\n`)));
  return 0;
}

/** The inspect summary a reviewer reads before approving: what changed against the locked or previous version. */
async function inspectSummary(name: string, version: string, cwd: string): Promise<string[]> {
  const { buildInspectReport } = await import('./inspect.js');
  const r = await buildInspectReport(`${name}@${version}`, { cwd });
  const lines = [
    `compared with ${r.against ? `${r.against.version} (${r.against.detail})` : 'nothing (first release)'}: ` +
      `${r.summary.filesAdded} files added, ${r.summary.filesRemoved} removed, ${r.summary.filesChanged} changed`,
  ];
  if (!r.summary.concerns.length) lines.push('no concerns: no new install scripts, calls, publisher or provenance changes, or obfuscated code');
  for (const c of r.summary.concerns.slice(0, 8)) lines.push(`! ${c.code}: ${displayText(c.message)}`);
  lines.push(`full report: safe-install inspect ${name}@${version}`);
  return lines;
}

async function promptForApprovals(result: CheckResult) {
  const cwd = result.tree.root.dir;
  const items: HeldItem[] = heldVersions(result).map((h) => ({
    name: h.verdict.pkg.name,
    version: h.verdict.pkg.version,
    overridable: h.overridable,
    reasons: h.verdict.findings.filter((f) => f.action === 'quarantine' || f.action === 'block').map((f) => `${f.code}: ${f.message}`),
    details: () => inspectSummary(h.verdict.pkg.name, h.verdict.pkg.version, cwd),
  }));
  // ink and React load only when a person is asked.
  const { runOverridePrompt } = await import('../ui/override-prompt.js');
  return runOverridePrompt(items, {
    defaultExpiry: formatDuration(result.policy.overrides.defaultExpiryMs),
    maxExpiryMs: result.policy.overrides.maxExpiryMs,
    colour: colourWanted(process.stdout),
  });
}

function reportBins(shadows: ShadowOnDisk[], style: Style): string {
  // Package and bin names come from the lockfile and the tarballs: printed as inert text.
  const lines = ['', style.bold('Bins that shadow a command')];
  for (const s of shadows) {
    const who = displayText(s.pkg ? `${s.pkg.name}@${s.pkg.version}` : (s.owner ?? 'an unknown package'));
    const mark = s.allowed ? style.yellow('~') : style.red('x');
    lines.push(`  ${mark} ${who}  ${s.finding.code}: ${displayText(s.finding.message)}${s.owner && !s.pkg ? ` (from ${displayText(s.owner)}, which the checked lockfile does not place there)` : ''}`);
  }
  return lines.join('\n') + '\n';
}

function reportScripts(raw: ScriptPlan, style: Style, ran: boolean): string {
  // Names from the lockfile, script bodies from the installed packages: printed as inert text.
  const plan = mapStrings(raw, displayText);
  const lines = ['', style.bold('Install scripts')];
  if (!plan.decisions.length) lines.push('  no installed dependency has install scripts');
  for (const f of plan.findings) lines.push(`  ${style.red('x')} ${f.item.pkg.name}@${f.item.pkg.version}  ${f.finding.code}: ${f.finding.message}`);
  for (const d of plan.decisions) {
    const what = Object.entries(d.item.scripts)
      .map(([e, s]) => `${e}: ${s}`)
      .join('; ');
    const name = `${d.item.pkg.name}@${d.item.pkg.version}`;
    if (d.kind === 'run') {
      lines.push(`  ${style.green(ran ? 'ran' : 'allowed')}      ${name}  ${what}  ${style.dim(`(${d.because})`)}`);
      // npm runs a git dependency's prepare only while fetching it, which happened with scripts off.
      if (d.item.scripts.prepare) lines.push(`           ${style.yellow('note')}: its prepare script was not run (npm runs it only when fetching a git dependency)`);
    } else if (d.why === 'unlisted') lines.push(`  ${style.yellow('skipped')}  ${name}  ${what}  ${style.dim(`(${d.because})`)}`);
    else if (d.why !== 'manifest-mismatch') lines.push(`  ${style.dim('skipped')}  ${name}  ${what}  ${style.dim(`(${d.because})`)}`);
  }
  return lines.join('\n') + '\n';
}
