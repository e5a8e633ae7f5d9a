// A recorded, time-boxed "yes" from a person: an exception in the policy for exactly one held version, naming
// the checks it waives, the reason, the expiry, who approved it and when. Used by `approve` and the prompt.
import { spawnSync } from 'node:child_process';
import { userInfo } from 'node:os';
import { GuardError } from '../errors.js';
import { editPolicy, policyLocks } from '../policy/edit.js';
import { transaction } from '../util/transaction.js';
import { formatDuration, parseDuration } from '../util/duration.js';
import type { CheckResult } from '../pipeline.js';
import type { PackageVerdict } from '../verdict/verdict.js';
import { WAIVED_BY_ID_ONLY } from '../verdict/verdict.js';
import type { CheckId } from '../types.js';
import { at } from '../util/at.js';

export function parseSpec(spec: string): { name: string; version: string } {
  const at = spec.lastIndexOf('@');
  if (at <= 0) throw new GuardError('bad-usage', `"${spec}" is not name@version`, { remedy: 'e.g. safe-install approve left-pad@1.3.1 --reason "..."' });
  return { name: spec.slice(0, at), version: spec.slice(at + 1) };
}

/** Who approves: git user.email in the project, else the OS user. */
export function approver(cwd: string): string {
  const git = spawnSync('git', ['config', 'user.email'], { cwd, encoding: 'utf8' });
  const email = git.status === 0 ? git.stdout.trim() : '';
  if (email) return email;
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'unknown';
  }
}

/** The held versions of a run, each with the findings that hold it and whether any of them may be waived. */
export function heldVersions(result: CheckResult): { verdict: PackageVerdict; overridable: boolean; blocking: string[] }[] {
  return result.verdicts
    .filter((v) => v.verdict === 'quarantine' || v.verdict === 'block')
    .filter((v) => !v.findings.some((f) => f.code === 'metadata-unavailable'))
    .map((v) => {
      const blocking = v.findings.filter((f) => f.action === 'quarantine' || f.action === 'block').map((f) => f.code);
      const overridable = !blocking.some((c) => result.policy.overrides.nonOverridable.includes(c) || WAIVED_BY_ID_ONLY.has(c));
      return { verdict: v, overridable, blocking };
    });
}

export function approveCommandText(name: string, version: string, expiresMs: number): string {
  return approveManyCommandText([`${name}@${version}`], expiresMs);
}

/** One `approve` command for several held versions (`--all-held` when `specs` is empty). */
export function approveManyCommandText(specs: readonly string[], expiresMs: number): string {
  return `safe-install approve ${specs.length ? specs.join(' ') : '--all-held'} --reason "..." --expires ${formatDuration(expiresMs)}`;
}

export interface Approval {
  name: string;
  version: string;
  checks: CheckId[];
  reason: string;
  expires: string;
  approvedBy: string;
  approvedAt: string;
  policyFile: string;
}

export async function approve(result: CheckResult, opts: { spec: string; reason?: string; expires?: string; policyPath?: string; now?: Date }): Promise<Approval> {
  const done = await approveMany(result, { specs: [opts.spec], reason: opts.reason, expires: opts.expires, policyPath: opts.policyPath, now: opts.now });
  return at(done, 0); // one spec: approved, or approveMany throws
}

export interface ApproveManyOptions {
  /** name@version of held versions; duplicates count once. */
  specs: readonly string[];
  /** Every version held for its release age alone; anything held for another reason is left held (`refused`). */
  allHeld?: boolean;
  reason?: string;
  expires?: string;
  policyPath?: string;
  now?: Date;
}

/**
 * Approve several held versions with one reason and one expiry, as one edit of the policy: every spec is
 * checked first (held, overridable), and either all are recorded or none is. With `allHeld`, every version this
 * check holds for its release age alone; the others are returned in `refused` and stay held.
 */
/** Held for its release age alone (`too-young`): what waiting would release. */
export function isAgeOnly(blocking: readonly string[]): boolean {
  return blocking.length > 0 && blocking.every((c) => c === 'too-young');
}

export interface NotApproved {
  name: string;
  version: string;
  /** What holds it besides its age. */
  codes: string[];
  /** false: policy overrides.nonOverridable protects it. */
  overridable: boolean;
}

export async function approveMany(result: CheckResult, opts: ApproveManyOptions): Promise<Approval[] & { refused?: NotApproved[] }> {
  const reason = (opts.reason ?? '').trim();
  if (!reason) throw new GuardError('bad-usage', 'an approval needs a reason (--reason "...")', { remedy: 'say why this version must be installed now, e.g. the CVE it fixes' });
  if (opts.allHeld && opts.specs.length) {
    throw new GuardError('bad-usage', 'give either name@version arguments or --all-held, not both', { remedy: 'e.g. safe-install approve --all-held --reason "..."' });
  }
  if (!opts.allHeld && !opts.specs.length) {
    throw new GuardError('bad-usage', 'approve needs name@version arguments or --all-held', {
      remedy: 'e.g. safe-install approve left-pad@1.3.1 --reason "...", or --all-held; safe-install check lists what is held',
    });
  }
  const nonOverridable = [...result.policy.overrides.nonOverridable, ...WAIVED_BY_ID_ONLY];
  const heldNow = heldVersions(result);
  let chosen: ReturnType<typeof heldVersions>;
  const refused: NotApproved[] = [];
  if (opts.allHeld) {
    // Only what time alone would release: a version also held for anything else (a trust downgrade, a missing
    // signature, a shadowing bin...) is never waived in bulk, hidden among young platform packages; it must be
    // named to be approved.
    chosen = heldNow.filter((h) => h.overridable && isAgeOnly(h.blocking));
    for (const h of heldNow.filter((h) => !chosen.includes(h))) {
      refused.push({ name: h.verdict.pkg.name, version: h.verdict.pkg.version, codes: h.blocking.filter((c) => c !== 'too-young'), overridable: h.overridable });
    }
    if (!chosen.length) {
      throw new GuardError(
        'bad-usage',
        heldNow.length
          ? `--all-held approves only versions held for their release age alone, and none is: ${refused.map((r) => `${r.name}@${r.version} (${r.codes.join(', ')})`).join('; ')}`
          : 'nothing is held: nothing to approve',
        {
          remedy: heldNow.length ? 'review each, then approve it by name (safe-install approve <name>@<version> --reason "...") if it may be overridden' : 'safe-install check shows every verdict',
        },
      );
    }
  } else {
    chosen = [];
    const seen = new Set<string>();
    for (const spec of opts.specs) {
      const { name, version } = parseSpec(spec);
      if (seen.has(`${name}@${version}`)) continue;
      seen.add(`${name}@${version}`);
      const held = heldNow.find((h) => h.verdict.pkg.name === name && h.verdict.pkg.version === version);
      if (!held) {
        const locked = result.verdicts.some((v) => v.pkg.name === name && v.pkg.version === version);
        throw new GuardError('bad-usage', `${name}@${version} is not ${locked ? 'held: nothing to approve' : 'in the lockfile'}${opts.specs.length > 1 ? ' (nothing was approved)' : ''}`, {
          remedy: 'run safe-install check to see what is held',
        });
      }
      if (!held.overridable) {
        const codes = held.blocking.filter((c) => nonOverridable.includes(c));
        throw new GuardError(
          'bad-usage',
          `${name}@${version} cannot be approved: ${codes.join(', ')} may not be overridden (policy overrides.nonOverridable)${opts.specs.length > 1 ? '; nothing was approved' : ''}`,
          {
            remedy: codes.includes('advisory-malware')
              ? 'a malware advisory names this version: use another one; for a false positive, add an exception naming the advisory id (advisories: ["MAL-…"]) with a reason and a short expiry'
              : 'find out why the package differs from what the registry signed; do not install it',
          },
        );
      }
      chosen.push(held);
    }
  }
  const { defaultExpiryMs, maxExpiryMs } = result.policy.overrides;
  let ms = defaultExpiryMs;
  if (opts.expires !== undefined) {
    try {
      ms = parseDuration(opts.expires);
    } catch (err) {
      throw new GuardError('bad-usage', `--expires: ${(err as Error).message}`);
    }
  }
  if (ms <= 0 || ms > maxExpiryMs) {
    throw new GuardError('bad-usage', `--expires must be more than 0 and at most ${formatDuration(maxExpiryMs)} (policy overrides.maxExpiry)`);
  }
  const now = opts.now ?? new Date();
  const approvedBy = approver(result.tree.root.dir);
  const expires = new Date(now.getTime() + ms).toISOString();
  const approvals: Approval[] = chosen.map((held) => ({
    name: held.verdict.pkg.name,
    version: held.verdict.pkg.version,
    checks: [...new Set(held.verdict.findings.filter((f) => f.action === 'quarantine' || f.action === 'block').map((f) => f.check))].filter((c) => c !== 'policy'),
    reason,
    expires,
    approvedBy,
    approvedAt: now.toISOString(),
    policyFile: '',
  }));
  const root = result.tree.root.dir;
  // The exceptions and the package manager's settings that follow them change together, under the project's lock.
  await transaction({ label: 'approve', locks: policyLocks(root, opts.policyPath), lockOptions: { what: "this project's policy and settings" }, relativeTo: root }, async () => {
    const { path } = await editPolicy(root, opts.policyPath, (doc) => {
      doc.exceptions ??= [];
      for (const a of approvals) {
        doc.exceptions.push({ package: `${a.name}@${a.version}`, checks: a.checks, reason, expires, approvedBy, approvedAt: a.approvedAt });
      }
    });
    for (const a of approvals) a.policyFile = path;
    // In a project set up by init, npm's own settings follow the policy (npm exempts the name while it lasts).
    await (await import('../init/plan.js')).syncNpmSettings(root, opts.policyPath);
  });
  return Object.assign(approvals, refused.length ? { refused } : {});
}
