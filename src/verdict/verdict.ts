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

/**
 * Findings only an exception naming the advisory's exact id may waive (`advisories: ["MAL-…"]`): an exception for
 * other checks, or for every check ("*"), does not; `safe-install approve` never offers them.
 */
export const WAIVED_BY_ID_ONLY: ReadonlySet<string> = new Set(['advisory-malware']);

type LiveException = Policy['exceptions'][number];

/** The advisory ids a finding of the advisories check names (data.advisories). */
function advisoryIds(f: Finding): string[] {
  const ids = f.check === 'advisories' ? f.data?.advisories : undefined;
  return Array.isArray(ids) ? ids.filter((i): i is string => typeof i === 'string') : [];
}

/**
 * Whether an exception covers a finding: by check (or "*"), as always; an exception that lists advisory ids covers
 * only advisory findings naming one of them; a malware finding only such an exception.
 */
export function exceptionCovers(e: Pick<LiveException, 'checks' | 'advisories'>, f: Finding): boolean {
  if (e.advisories?.length) {
    const ids = advisoryIds(f);
    return ids.some((i) => e.advisories!.includes(i));
  }
  if (WAIVED_BY_ID_ONLY.has(f.code)) return false;
  return e.checks.includes('*') || e.checks.includes(f.check as never);
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
    // Malware is waived only for a short, bounded time: an exception naming its id that runs past
    // overrides.maxExpiry from now does not apply (and says so).
    const boxed = (e: LiveException) => !WAIVED_BY_ID_ONLY.has(f.code) || Date.parse(e.expires) - now.getTime() <= policy.overrides.maxExpiryMs;
    const waiver = f.action !== 'allow' && overridable && live.find((e) => exceptionCovers(e, f) && boxed(e));
    const tooLong = !waiver && f.action !== 'allow' && overridable ? live.find((e) => exceptionCovers(e, f) && !boxed(e)) : undefined;
    if (waiver) {
      out.push({ ...f, action: 'allow', severity: 'info', data: { ...f.data, waivedBy: waiver.package, waivedAction: f.action } });
      const key = `${waiver.package}\0${waiver.expires}\0${(waiver.advisories ?? []).join(',')}`;
      if (applied.has(key)) continue;
      applied.add(key);
      out.push({
        check: 'policy',
        code: 'exception-applied',
        severity: 'info',
        action: 'allow',
        message: `exception for ${waiver.package} (${waiver.advisories?.length ? waiver.advisories.join(', ') : waiver.checks.join(', ')}) applies until ${waiver.expires}: ${waiver.reason}${waiver.approvedBy ? ` (approved by ${waiver.approvedBy})` : ''}`,
      });
    } else {
      out.push(f);
      if (tooLong) {
        out.push({
          check: 'policy',
          code: 'exception-expired',
          severity: 'warn',
          action: 'warn',
          message: `the exception for ${tooLong.package} (${(tooLong.advisories ?? []).join(', ')}) does not apply: it names malware and runs until ${tooLong.expires}, past the policy's overrides.maxExpiry from now`,
          remedy: 'give it an expiry within overrides.maxExpiry (renew it when it runs out), or remove it',
        });
      }
    }
  }
  for (const e of expired) {
    if (!findings.some((f) => f.action !== 'allow' && exceptionCovers(e, f))) continue;
    out.push({
      check: 'policy',
      code: 'exception-expired',
      severity: 'warn',
      action: 'warn',
      message: `the exception for ${e.package}${e.advisories?.length ? ` (${e.advisories.join(', ')})` : ''} (${e.reason}) expired ${e.expires} and no longer applies`,
      remedy: 'renew it with a new expiry and reason if it is still needed, or remove it',
    });
  }
  const verdict = out.reduce<Action>((acc, f) => (ACTION_RANK[f.action] > ACTION_RANK[acc] ? f.action : acc), 'allow');
  return { pkg, verdict, findings: out };
}
