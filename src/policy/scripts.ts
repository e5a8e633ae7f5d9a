// Whether a package's install scripts may run: a deny in any source wins, then an allow, else unlisted.
import type { Policy, ScriptRule } from './load.js';
import { matchesPattern } from './pattern.js';

export type ScriptStatus = { status: 'allowed' | 'denied' | 'unlisted'; rule?: ScriptRule };

export function scriptStatus(policy: Policy, name: string, version: string): ScriptStatus {
  const deny = policy.scripts.deny.find((r) => matchesPattern(r.pattern, name, version));
  if (deny) return { status: 'denied', rule: deny };
  const allow = policy.scripts.allow.find((r) => matchesPattern(r.pattern, name, version));
  if (allow) return { status: 'allowed', rule: allow };
  return { status: 'unlisted' };
}

/** The command that allows a package's scripts, shown wherever one is skipped. */
export function allowCommand(name: string): string {
  return `safe-install scripts allow ${name}`;
}
