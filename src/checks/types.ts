import type { CheckId, Finding, LockedPackage, PackageFacts } from '../types.js';
import type { Policy } from '../policy/load.js';

export interface CheckContext {
  /** The instant the check evaluates as of (`--now`). */
  now: Date;
  policy: Policy;
}

/**
 * What the registry said about the package's name: its facts, `missing` (the registry has no such
 * package), or undefined (not a registry package, so nothing was fetched).
 */
export type FactsInput = PackageFacts | 'missing' | undefined;

/** A check is pure over its inputs: same package, facts, policy and instant -> same findings. */
export interface Check {
  id: CheckId;
  run(pkg: LockedPackage, facts: FactsInput, ctx: CheckContext): Finding[];
}
