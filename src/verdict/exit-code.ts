// The exit code of a run, from its verdicts: the rule check, ci, fix, scripts and the hook all exit by.
import type { PackageVerdict } from './verdict.js';

/** 0: everything may be installed; 1: something is blocked or quarantined; 2: the check did not complete. */
export function exitCodeOf(result: { errors: readonly unknown[]; verdicts: readonly Pick<PackageVerdict, 'verdict'>[] }): 0 | 1 | 2 {
  if (result.errors.length) return 2;
  return result.verdicts.some((v) => v.verdict === 'block' || v.verdict === 'quarantine') ? 1 : 0;
}
