// A recorded, time-boxed "yes" from a person: an exception in the policy for exactly one held version, naming
// the checks it waives, the reason, the expiry, who approved it and when. Used by `approve` and the prompt.
import { spawnSync } from 'node:child_process';
import { userInfo } from 'node:os';
import { GuardError } from '../errors.js';
import { editPolicy, policyLocks } from '../policy/edit.js';
import { transaction } from '../util/transaction.js';
import { formatDuration, parseDuration } from '../policy/duration.js';
import type { CheckResult } from '../pipeline.js';
import type { PackageVerdict } from '../verdict/verdict.js';
import type { CheckId } from '../types.js';

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
      const overridable = !blocking.some((c) => result.policy.overrides.nonOverridable.includes(c));
      return { verdict: v, overridable, blocking };
    });
}

export function approveCommandText(name: string, version: string, expiresMs: number): string {
  return `safe-install approve ${name}@${version} --reason "..." --expires ${formatDuration(expiresMs)}`;
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

export async function approve(
  result: CheckResult,
  opts: { spec: string; reason?: string; expires?: string; policyPath?: string; now?: Date },
): Promise<Approval> {
  const { name, version } = parseSpec(opts.spec);
  const reason = (opts.reason ?? '').trim();
  if (!reason) throw new GuardError('bad-usage', 'an approval needs a reason (--reason "...")', { remedy: 'say why this version must be installed now, e.g. the CVE it fixes' });
  const held = heldVersions(result).find((h) => h.verdict.pkg.name === name && h.verdict.pkg.version === version);
  if (!held) {
    const locked = result.verdicts.some((v) => v.pkg.name === name && v.pkg.version === version);
    throw new GuardError('bad-usage', locked ? `${name}@${version} is not held: nothing to approve` : `${name}@${version} is not in the lockfile`, {
      remedy: 'run safe-install check to see what is held',
    });
  }
  if (!held.overridable) {
    const codes = held.blocking.filter((c) => result.policy.overrides.nonOverridable.includes(c));
    throw new GuardError('bad-usage', `${name}@${version} cannot be approved: ${codes.join(', ')} may not be overridden (policy overrides.nonOverridable)`, {
      remedy: 'find out why the package differs from what the registry signed; do not install it',
    });
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
  const checks = [...new Set(held.verdict.findings.filter((f) => f.action === 'quarantine' || f.action === 'block').map((f) => f.check))].filter((c) => c !== 'policy');
  const approval: Approval = {
    name,
    version,
    checks,
    reason,
    expires: new Date(now.getTime() + ms).toISOString(),
    approvedBy: approver(result.tree.root.dir),
    approvedAt: now.toISOString(),
    policyFile: '',
  };
  const root = result.tree.root.dir;
  // The exception and the package manager's settings that follow it change together, under the project's lock.
  await transaction({ label: 'approve', locks: policyLocks(root, opts.policyPath), lockOptions: { what: "this project's policy and settings" }, relativeTo: root }, async () => {
    const { path } = await editPolicy(root, opts.policyPath, (doc) => {
      doc.exceptions ??= [];
      doc.exceptions.push({
        package: `${name}@${version}`,
        checks: approval.checks,
        reason,
        expires: approval.expires,
        approvedBy: approval.approvedBy,
        approvedAt: approval.approvedAt,
      });
    });
    approval.policyFile = path;
    // In a project set up by init, npm's own settings follow the policy (npm exempts the name while it lasts).
    await (await import('../init/plan.js')).syncNpmSettings(root, opts.policyPath);
  });
  return approval;
}
