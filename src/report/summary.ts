import type { CheckResult } from '../pipeline.js';

export interface Summary {
  packages: number;
  registryPackages: number;
  allow: number;
  warn: number;
  quarantine: number;
  block: number;
  errors: number;
  exitCode: 0 | 1 | 2;
  durationMs: number;
  requests: { network: number; revalidated: number; cache: number };
}

/** 0: everything may be installed; 1: something is blocked or quarantined; 2: the check did not complete. */
export function exitCodeOf(result: Pick<CheckResult, 'errors' | 'verdicts'>): 0 | 1 | 2 {
  if (result.errors.length) return 2;
  return result.verdicts.some((v) => v.verdict === 'block' || v.verdict === 'quarantine') ? 1 : 0;
}

export function summarize(result: CheckResult): Summary {
  const count = (a: string) => result.verdicts.filter((v) => v.verdict === a).length;
  return {
    packages: result.verdicts.length,
    registryPackages: result.verdicts.filter((v) => v.pkg.source === 'registry').length,
    allow: count('allow'),
    warn: count('warn'),
    quarantine: count('quarantine'),
    block: count('block'),
    errors: result.errors.length,
    exitCode: exitCodeOf(result),
    durationMs: result.stats.ms,
    requests: { network: result.stats.network, revalidated: result.stats.revalidated, cache: result.stats.cache },
  };
}

/**
 * Findings about the registry or the lockfile format rather than the package (no signing keys, no publisher data,
 * a berry lockfile that records no registry integrity): reporters say each once, with how many packages it concerns.
 */
export const SAID_ONCE: ReadonlySet<string> = new Set(['registry-no-keys', 'trust-undecidable', 'no-lockfile-integrity']);
