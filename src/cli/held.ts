// What follows a check with held versions: the ledger is updated, releases are announced, and the person is
// told how to approve an urgent one (or, on a terminal outside CI, asked).
import { classifyError } from '../errors.js';
import type { CheckResult } from '../pipeline.js';
import { formatDuration } from '../util/duration.js';
import { recordVerdicts } from '../quarantine/ledger.js';
import semver from 'semver';
import { requiredAge } from '../checks/release-age.js';
import { approveManyCommandText, heldVersions, isAgeOnly } from '../quarantine/approve.js';
import type { LedgerEntry } from '../quarantine/ledger.js';
import { FAMILY_MIN, familyOf } from '../report/text.js';
import type { PackageFacts } from '../facts.js';
import type { PackageVerdict } from '../verdict/verdict.js';
import type { Style } from '../report/text.js';
import { displayText, mapStrings } from '../util/safe-text.js';
import { at } from '../util/at.js';

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

/**
 * Record a check's verdicts in the quarantine ledger, for the commands that install or edit state (the install,
 * the hook, add, update, fix): never `check`, the read-only CI gate. A run evaluated as of --now records nothing
 * (a date in the future would record releases that have not happened, one in the past first-seen times that are
 * not true); it says so.
 */
export async function recordLedger(result: CheckResult, style: Style, opts: { verbose?: boolean } = {}): Promise<string> {
  if (result.nowGiven) {
    return result.verdicts.some((v) => v.verdict === 'quarantine')
      ? style.dim(`Note: the quarantine ledger was not updated: this run is evaluated as of --now ${result.now.toISOString()}, not the present.`) + '\n'
      : '';
  }
  const lines: string[] = [];
  try {
    const update = await recordVerdicts(result.tree.root.dir, result.verdicts, result.now);
    lines.push(...releasedLines(update.released, style, opts));
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

/**
 * "Released from quarantine" lines: one per version, or (without --verbose) one per family of FAMILY_MIN or more
 * released for the same reason, naming each version.
 */
const RELEASED_LISTED = 3;

export function releasedLines(released: readonly LedgerEntry[], style: Style, opts: { verbose?: boolean } = {}): string[] {
  const why = (e: LedgerEntry) => (e.releasedBecause === 'approved' ? 'an approval waives what held it' : 'now old enough and passes every check');
  const shown = mapStrings([...released], displayText);
  const groups = new Map<string, LedgerEntry[]>();
  for (const e of shown) {
    const family = opts.verbose ? undefined : familyOf(e.name);
    const key = family === undefined ? `one:${e.name}@${e.version}` : `${family}\0${why(e)}`;
    groups.set(key, [...(groups.get(key) ?? []), e]);
  }
  const lines: string[] = [];
  for (const [key, list] of groups) {
    if (list.length < FAMILY_MIN) {
      for (const e of list) lines.push(style.green(`Released from quarantine: ${e.name}@${e.version} (held since ${e.firstSeen}; ${why(e)})`));
      continue;
    }
    const since = list.map((e) => e.firstSeen).sort()[0];
    // Named as the report names a family: the first few, then how many more (--verbose lists each on its own line).
    const names = list.map((e) => `${e.name}@${e.version}`);
    const listed = names.length > RELEASED_LISTED ? `${names.slice(0, RELEASED_LISTED).join(', ')} and ${names.length - RELEASED_LISTED} more` : names.join(', ');
    lines.push(style.green(`Released from quarantine: ${key.split('\0')[0]} (${list.length} versions, held since ${since}; ${why(at(list, 0))}): ${listed}`)); // a family has FAMILY_MIN versions or more
  }
  return lines;
}

/**
 * The exact non-interactive commands that approve the overridable held versions: one per version with
 * --verbose (or when there are few), else one per family, and `--all-held` when that takes more than one line.
 * A held direct dependency with no fallback also gets what the user can do instead: an older version through
 * `safe-install add`, or the date it becomes old enough.
 */
export function approveHints(result: CheckResult, style: Style, opts: { verbose?: boolean } = {}): string {
  const held = heldVersions(result);
  const can = held.filter((h) => h.overridable);
  if (!can.length) return '';
  const ms = result.policy.overrides.defaultExpiryMs;
  const lines = ['', `To install a held version anyway (an urgent patch), approve it with a reason; it is recorded and expires (max ${formatDuration(result.policy.overrides.maxExpiryMs)}):`];
  const commands: string[][] = [];
  const families = new Map<string, string[]>();
  for (const h of can) {
    const spec = `${h.verdict.pkg.name}@${h.verdict.pkg.version}`;
    const family = opts.verbose ? undefined : familyOf(h.verdict.pkg.name);
    if (family === undefined) commands.push([spec]);
    else {
      const list = families.get(family);
      if (list) list.push(spec);
      else {
        const fresh = [spec];
        families.set(family, fresh);
        commands.push(fresh);
      }
    }
  }
  // A family too small to group gets a line per version, as any other.
  const rows = commands.flatMap((c) => (c.length >= FAMILY_MIN ? [c] : c.map((x) => [x])));
  // --all-held waives release age only: it is offered for the versions that only wait for their age.
  const ageOnly = can.filter((h) => isAgeOnly(h.blocking)).length;
  if (ageOnly > 1 && (rows.length > 1 || ageOnly >= FAMILY_MIN)) {
    lines.push(
      `  ${style.bold(displayText(approveManyCommandText([], ms)))}   (${ageOnly === can.length ? `all ${ageOnly} at once` : `the ${ageOnly} held only for their release age; the others by name`})`,
      '  or name them:',
    );
  }
  for (const r of rows) lines.push(`  ${style.bold(displayText(approveManyCommandText(r, ms)))}`);
  const instead = directInstead(
    result,
    can.map((h) => h.verdict),
  );
  if (instead.length) lines.push('', 'Or, for a held direct dependency with no fallback in its range:', ...instead.map((l) => `  ${l}`));
  return lines.join('\n') + '\n';
}

/** For each held direct dependency whose too-young finding names no fallback: an older version to add, or the date. */
function directInstead(result: CheckResult, held: PackageVerdict[]): string[] {
  const out: string[] = [];
  for (const v of held) {
    if (!v.pkg.direct || v.pkg.source !== 'registry') continue;
    const young = v.findings.find((f) => f.code === 'too-young' && f.action !== 'allow');
    const data = young?.data as { fallback?: unknown; eligibleAt?: unknown } | undefined;
    if (!young || data?.fallback) continue;
    const other = v.findings.some((f) => (f.action === 'quarantine' || f.action === 'block') && f.code !== 'too-young');
    const facts = result.facts.get(v.pkg.name);
    const older = facts ? olderOldEnough(result, facts, v.pkg.version) : undefined;
    const wait = typeof data?.eligibleAt === 'string' ? `wait until ${data.eligibleAt}` : 'wait until it is old enough';
    const name = displayText(v.pkg.name);
    out.push(
      older
        ? `${name}@${displayText(v.pkg.version)}: safe-install add ${name}@${displayText(older)} (the newest version old enough; outside your range, so package.json changes), or ${wait}${other ? ' (it is also held for other reasons)' : ''}`
        : `${name}@${displayText(v.pkg.version)}: no older version is old enough; ${wait}${other ? ' (it is also held for other reasons)' : ''}`,
    );
  }
  return out;
}

/** The newest stable, non-deprecated version below `current` that the release-age rule already allows. */
function olderOldEnough(result: CheckResult, facts: PackageFacts, current: string): string | undefined {
  const now = result.now.getTime();
  return Object.keys(facts.versions)
    .filter((v) => semver.valid(v) && semver.prerelease(v) === null && semver.lt(v, current) && !facts.versions[v]?.deprecated)
    .sort(semver.rcompare)
    .find((v) => {
      const rule = requiredAge(result.policy, facts.name, v);
      const published = Date.parse(facts.versions[v]?.publishedAt ?? '');
      return !rule || (Number.isFinite(published) && now - published >= rule.ms);
    });
}
