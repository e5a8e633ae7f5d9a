// `safe-install quarantine` (the ledger), `approve` (a recorded, time-boxed exception) and `approvals`.
// `quarantine` reads the ledger and the policy, writes nothing: a held version a live approval waives is listed
// as approved at once (the ledger records its release at the next install).
import { classifyError } from '../errors.js';
import { projectRoot } from '../lockfile/index.js';
import { runCheck } from '../pipeline.js';
import { loadPolicy, type Policy } from '../policy/load.js';
import { matchesPattern } from '../policy/pattern.js';
import { formatDuration } from '../util/duration.js';
import { approveMany } from '../quarantine/approve.js';
import { WAIVED_BY_ID_ONLY } from '../verdict/verdict.js';
import { LEDGER_FILE, readLedger, type LedgerEntry } from '../quarantine/ledger.js';
import { colourWanted, makeStyle } from '../report/text.js';
import { toCheckOptions, type CommonFlags } from './options.js';
import { displayText, mapStrings, redact } from '../util/safe-text.js';
import { at } from '../util/at.js';

export interface Approval {
  package: string;
  expires: string;
  reason: string;
  approvedBy?: string;
}

/**
 * The live approval (policy exception) that waives everything holding a held entry, if any: it matches the
 * name and version, has not expired, and covers the check of every holding finding, none of them a code the
 * policy makes non-overridable. The same rule as the verdict (verdict/verdict.ts decide).
 */
export function approvalFor(e: LedgerEntry, policy: Policy, now: number): Approval | undefined {
  if (e.status !== 'held' || !e.findings.length) return undefined;
  const live = policy.exceptions.filter((x) => Date.parse(x.expires) > now && matchesPattern(x.pattern, e.name, e.version));
  if (e.findings.some((f) => policy.overrides.nonOverridable.includes(f.code as never) || WAIVED_BY_ID_ONLY.has(f.code))) return undefined;
  const waiver = (f: { check: string }) => live.find((x) => x.checks.includes('*') || x.checks.includes(f.check as never));
  const [first] = e.findings;
  const x = first && e.findings.every((f) => waiver(f)) ? waiver(first) : undefined;
  if (!x) return undefined;
  return { package: x.package, expires: x.expires, reason: x.reason, ...(x.approvedBy && { approvedBy: x.approvedBy }) };
}

export async function quarantineCommand(flags: CommonFlags & { json?: boolean }): Promise<number> {
  const dir = projectRoot(flags.cwd ?? '.');
  const raw = await readLedger(dir);
  const now = Date.now();
  // Approvals count at once: they are read from the policy, not from the ledger (recorded at the next install).
  let policy: Policy | undefined;
  let policyNote = '';
  try {
    policy = await loadPolicy(dir, flags.policy, undefined);
  } catch (err) {
    const e = classifyError(err);
    policyNote = `Note: approvals are not shown: ${e ? e.message : (err as Error).message}\n`;
  }
  const approvals = new Map(raw.entries.map((e) => [e, policy && approvalFor(e, policy, now)] as const));
  if (flags.json) {
    const entries = raw.entries.map((e) => {
      const approval = approvals.get(e);
      return approval ? { ...e, approval } : e;
    });
    process.stdout.write(JSON.stringify(mapStrings({ ...raw, entries }, redact), null, 2) + '\n');
    if (policyNote) process.stderr.write(displayText(policyNote));
    return 0;
  }
  if (policyNote) process.stderr.write(displayText(policyNote));
  // Names, versions and messages recorded from the lockfile and the registry: printed as inert text.
  const shownApprovals = new Map([...approvals].map(([e, a]) => [e, a && mapStrings(a, displayText)] as const));
  const ledger = { ...raw, entries: raw.entries.map((e) => ({ entry: mapStrings(e, displayText), approval: shownApprovals.get(e) })) };
  const style = makeStyle(colourWanted(process.stdout, flags.color));
  const held = ledger.entries.filter((x) => x.entry.status === 'held' && !x.approval).map((x) => x.entry);
  const approved = ledger.entries.filter((x) => x.approval);
  const released = ledger.entries.filter((x) => x.entry.status === 'released').map((x) => x.entry);
  if (!ledger.entries.length) process.stdout.write(`The quarantine ledger (${LEDGER_FILE}) is empty.\n`);
  if (approved.length) process.stdout.write(style.bold(`Approved (${approved.length})\n`));
  for (const { entry: e, approval: a } of approved) {
    process.stdout.write(`  ${style.green('+')} ${style.bold(`${e.name}@${e.version}`)}  approved until ${a!.expires}${a!.approvedBy ? ` by ${a!.approvedBy}` : ''}: ${a!.reason}\n`);
    process.stdout.write(`      not held: it installs; held since ${e.firstSeen} for ${e.findings.map((f) => f.code).join(', ')}; the next install records its release\n`);
  }
  if (held.length) process.stdout.write(style.bold(`Held (${held.length})\n`));
  for (const e of held) {
    const waits = e.eligibleAt
      ? Date.parse(e.eligibleAt) > now
        ? `eligible ${e.eligibleAt} (in ${formatDuration(Date.parse(e.eligibleAt) - now)}), if it passes every other check`
        : `old enough since ${e.eligibleAt}: released by the next run if it passes every other check`
      : `waits for: ${e.findings.map((f) => f.code).join(', ')} (an approval or a new version)`;
    process.stdout.write(`  ${style.yellow('!')} ${style.bold(`${e.name}@${e.version}`)}  held since ${e.firstSeen}; ${waits}\n`);
    for (const f of e.findings) process.stdout.write(`      ${f.code}: ${f.message}\n`);
    process.stdout.write(`      fallback: ${e.fallback ? `${e.name}@${e.fallback} (safe-install fix)` : 'none'}\n`);
  }
  if (released.length) process.stdout.write(style.bold(`Released (${released.length})\n`));
  for (const e of released)
    process.stdout.write(`  ${style.green('+')} ${e.name}@${e.version}  held ${e.firstSeen}, released ${e.releasedAt}${e.releasedBecause === 'approved' ? ' (approved)' : ''}\n`);
  return 0;
}

export async function approveCommand(specs: string[], flags: CommonFlags & { reason?: string; expires?: string; allHeld?: boolean }): Promise<number> {
  const result = await runCheck(toCheckOptions(flags));
  const done = await approveMany(result, { specs, allHeld: flags.allHeld, reason: flags.reason, expires: flags.expires, policyPath: flags.policy, now: result.now });
  const list = mapStrings([...done], displayText);
  const a = at(list, 0); // approveMany throws a bad-usage error rather than approve nothing
  if (list.length === 1) {
    process.stdout.write(`Approved ${a.name}@${a.version} (waives ${a.checks.join(', ')}) until ${a.expires}\n`);
  } else {
    const checks = [...new Set(list.flatMap((x) => x.checks))];
    process.stdout.write(`Approved ${list.length} versions (waives ${checks.join(', ')}) until ${a.expires}\n`);
    process.stdout.write(`  ${list.map((x) => `${x.name}@${x.version}`).join(', ')}\n`);
  }
  process.stdout.write(`  reason: ${a.reason}\n  by ${a.approvedBy} at ${a.approvedAt}\n  recorded in ${a.policyFile}\n`);
  for (const r of mapStrings(done.refused ?? [], displayText)) {
    process.stdout.write(
      r.overridable
        ? `Not approved: ${r.name}@${r.version} is also held for ${r.codes.join(', ')}, which --all-held never waives; review it, then approve it by name if it must be installed (safe-install approve ${r.name}@${r.version} --reason "...")\n`
        : `Not approved: ${r.name}@${r.version}: ${r.codes.join(', ')} may not be overridden (policy overrides.nonOverridable); it stays held\n`,
    );
  }
  return 0;
}

export async function approvalsCommand(flags: CommonFlags & { json?: boolean }): Promise<number> {
  const dir = projectRoot(flags.cwd ?? '.');
  const policy = await loadPolicy(dir, flags.policy, undefined);
  const now = flags.now ? Date.parse(flags.now) : Date.now();
  const rows = mapStrings(
    policy.exceptions.map((e) => ({ ...e, pattern: undefined, live: Date.parse(e.expires) > now })),
    flags.json ? redact : displayText,
  );
  if (flags.json) {
    process.stdout.write(JSON.stringify({ approvals: rows.map(({ pattern, ...r }) => r) }, null, 2) + '\n');
    return 0;
  }
  const style = makeStyle(colourWanted(process.stdout, flags.color));
  const live = rows.filter((r) => r.live);
  const expired = rows.filter((r) => !r.live);
  if (!rows.length) process.stdout.write('No approvals (policy exceptions).\n');
  for (const r of live) {
    process.stdout.write(`${style.green('live')}     ${style.bold(r.package)}  waives ${r.checks.join(', ')} until ${r.expires} (${formatDuration(Date.parse(r.expires) - now)} left)\n`);
    process.stdout.write(`         ${r.reason}${r.approvedBy ? ` - ${r.approvedBy}${r.approvedAt ? ` at ${r.approvedAt}` : ''}` : ''}\n`);
  }
  for (const r of expired) {
    process.stdout.write(`${style.dim('expired')}  ${r.package}  expired ${r.expires}: no longer applies (${r.reason})\n`);
  }
  return 0;
}
