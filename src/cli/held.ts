// What follows a check with held versions: the ledger is updated, releases are announced, and the person is
// told how to approve an urgent one (or, on a terminal outside CI, asked).
import { classifyError } from '../errors.js';
import type { CheckResult } from '../pipeline.js';
import { formatDuration } from '../policy/duration.js';
import { recordVerdicts } from '../quarantine/ledger.js';
import { approveCommandText, heldVersions } from '../quarantine/approve.js';
import type { Style } from '../report/text.js';
import { displayText, mapStrings } from '../util/safe-text.js';

/**
 * The exit code of a command that changes files only once confirmed (init, fix) and was not: no one to ask (no
 * terminal, CI, --no-input) without --yes, or the person answered no. Nothing was written. Not 1, which means
 * something is held or blocked, nor 2, which means something failed.
 */
export const EXIT_NOT_CONFIRMED = 3;

/** Prompt only for a person at a terminal: never in CI, without a TTY, or with --no-input. */
export function canPrompt(flags: { input?: boolean }): boolean {
  return Boolean(process.stdin.isTTY && process.stdout.isTTY) && !process.env.CI && flags.input !== false;
}

export async function recordLedger(result: CheckResult, style: Style): Promise<string> {
  const lines: string[] = [];
  try {
    const update = await recordVerdicts(result.tree.root.dir, result.verdicts, result.now);
    for (const e of mapStrings(update.released, displayText)) {
      const why = e.releasedBecause === 'approved' ? 'an approval waives what held it' : 'now old enough and passes every check';
      lines.push(style.green(`Released from quarantine: ${e.name}@${e.version} (held since ${e.firstSeen}; ${why})`));
    }
  } catch (err) {
    lines.push(ledgerNote(err, style));
  }
  return lines.length ? lines.join('\n') + '\n' : '';
}

/**
 * The ledger is a record, not a gate: a ledger that cannot be read or written does not change the verdicts or
 * the exit code; it is said plainly, with how to repair it (and it is never overwritten).
 */
export function ledgerNote(err: unknown, style: Style): string {
  const e = classifyError(err);
  const text = e ? `${displayText(e.message)}${e.remedy ? `\n  -> ${displayText(e.remedy)}` : ''}` : displayText((err as Error)?.message ?? String(err));
  return style.yellow(`Note: the quarantine ledger was not updated: ${text}`);
}

/** The exact non-interactive commands that approve each overridable held version. */
export function approveHints(result: CheckResult, style: Style): string {
  const held = heldVersions(result);
  const can = held.filter((h) => h.overridable);
  if (!can.length) return '';
  const ms = result.policy.overrides.defaultExpiryMs;
  const lines = ['', `To install a held version anyway (an urgent patch), approve it with a reason; it is recorded and expires (max ${formatDuration(result.policy.overrides.maxExpiryMs)}):`];
  for (const h of can) lines.push(`  ${style.bold(displayText(approveCommandText(h.verdict.pkg.name, h.verdict.pkg.version, ms)))}`);
  return lines.join('\n') + '\n';
}
