// Findings + policy exceptions -> one verdict per package. An exception waives named checks for matching
// packages until it expires; an expired exception stops applying and is reported, never silently dropped.
import { ACTION_RANK, type Action, type Finding } from '../types.js';
import type { LockedPackage } from '../lockfile/types.js';
import type { Policy } from '../policy/load.js';
import { matchesPattern } from '../policy/pattern.js';

export interface PackageVerdict {
  pkg: LockedPackage;
  verdict: Action;
  findings: Finding[];
}

export function decide(pkg: LockedPackage, findings: Finding[], policy: Policy, now: Date): PackageVerdict {
  const out: Finding[] = [];
  const applied = new Set<string>();
  const matching = policy.exceptions.filter((e) => matchesPattern(e.pattern, pkg.name, pkg.version));
  const live = matching.filter((e) => Date.parse(e.expires) > now.getTime());
  const expired = matching.filter((e) => Date.parse(e.expires) <= now.getTime());
  for (const f of findings) {
    // Some findings (a tampered tarball, a forged signature) no exception may waive.
    const overridable = !policy.overrides.nonOverridable.includes(f.code);
    const waiver = f.action !== 'allow' && overridable && live.find((e) => e.checks.includes('*') || e.checks.includes(f.check as never));
    if (waiver) {
      out.push({ ...f, action: 'allow', severity: 'info', data: { ...f.data, waivedBy: waiver.package, waivedAction: f.action } });
      if (applied.has(waiver.package + waiver.expires)) continue;
      applied.add(waiver.package + waiver.expires);
      out.push({
        check: 'policy',
        code: 'exception-applied',
        severity: 'info',
        action: 'allow',
        message: `exception for ${waiver.package} (${waiver.checks.join(', ')}) applies until ${waiver.expires}: ${waiver.reason}${waiver.approvedBy ? ` (approved by ${waiver.approvedBy})` : ''}`,
      });
    } else {
      out.push(f);
    }
  }
  for (const e of expired) {
    if (!findings.some((f) => f.action !== 'allow' && (e.checks.includes('*') || e.checks.includes(f.check as never)))) continue;
    out.push({
      check: 'policy',
      code: 'exception-expired',
      severity: 'warn',
      action: 'warn',
      message: `the exception for ${e.package} (${e.reason}) expired ${e.expires} and no longer applies`,
      remedy: 'renew it with a new expiry and reason if it is still needed, or remove it',
    });
  }
  const verdict = out.reduce<Action>((acc, f) => (ACTION_RANK[f.action] > ACTION_RANK[acc] ? f.action : acc), 'allow');
  return { pkg, verdict, findings: out };
}
