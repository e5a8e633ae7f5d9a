import type { CheckResult } from '../pipeline.js';
import type { Action, Finding } from '../types.js';
import type { PackageVerdict } from '../verdict/verdict.js';
import { exitCodeOf } from '../verdict/exit-code.js';

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

/**
 * The action a package is counted under: its verdict, except that a warning about the registry or the lockfile
 * (SAID_ONCE, reported once for all) does not count against each package: a package whose own checks pass is
 * counted as allowed. Its verdict (JSON `packages[].verdict`) is unchanged.
 */
export function countedAs(v: Pick<PackageVerdict, 'verdict' | 'findings'>): Action {
  if (v.verdict === 'warn' && !v.findings.some((f) => f.action === 'warn' && !SAID_ONCE.has(f.code))) return 'allow';
  return v.verdict;
}

export function summarize(result: CheckResult): Summary {
  const count = (a: string) => result.verdicts.filter((v) => countedAs(v) === a).length;
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
export const SAID_ONCE: ReadonlySet<string> = new Set(['registry-no-keys', 'trust-undecidable', 'no-lockfile-integrity', 'advisories-unavailable']);

/** A finding about the registry or the lockfile, told once: its code and its message without the package's name. */
export interface SharedFinding {
  code: string;
  action: Exclude<Action, 'allow'>;
  check: string;
  message: string;
  remedy?: string;
  /** The packages it concerns, in lockfile order. */
  packages: PackageVerdict[];
}

/** A registry-wide finding's message without the package it was found on. */
function onceMessage(f: Pick<Finding, 'message'>): string {
  return f.message.replace(/ for \S+,/, ',');
}

/**
 * The SAID_ONCE findings of a run, one per code, message and action (two registries without keys are two
 * findings), each with the packages it concerns.
 */
export function sharedFindings(result: Pick<CheckResult, 'verdicts'>): SharedFinding[] {
  const out = new Map<string, SharedFinding>();
  for (const v of result.verdicts) {
    for (const f of v.findings) {
      if (f.action === 'allow' || !SAID_ONCE.has(f.code)) continue;
      const message = onceMessage(f);
      const key = `${f.code}\0${f.action}\0${message}`;
      const seen = out.get(key);
      if (seen) {
        if (seen.packages[seen.packages.length - 1] !== v) seen.packages.push(v);
      } else out.set(key, { code: f.code, action: f.action, check: f.check, message, ...(f.remedy ? { remedy: f.remedy } : {}), packages: [v] });
    }
  }
  return [...out.values()];
}
