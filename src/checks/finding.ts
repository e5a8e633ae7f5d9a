import type { Action, Finding, FindingCode } from '../types.js';
import { actionFor, type Policy } from '../policy/load.js';
import { CATALOG, defaultActionOf } from './catalog.js';

export function severityOf(action: Action): Finding['severity'] {
  return action === 'allow' ? 'info' : action === 'warn' ? 'warn' : 'error';
}

export interface FindingExtra {
  remedy?: string;
  data?: Record<string, unknown>;
  /** The situation of the catalog's `stricter` default holds (strict mode, provenance required, ...). */
  stricter?: boolean;
  /** A source code's default as the policy's `sources` says for this dependency (direct or transitive). */
  sourcesSay?: Action;
}

/**
 * Build a finding: its check and default action come from the catalog (catalog.ts); the policy's `actions` (by code,
 * then check) overrides the default.
 */
export function finding(policy: Policy, code: FindingCode, message: string, extra: FindingExtra = {}): Finding {
  const { stricter, sourcesSay, ...rest } = extra;
  const check = CATALOG[code].check;
  const action = actionFor(policy, check, code, sourcesSay ?? defaultActionOf(code, stricter));
  return { check, code, severity: severityOf(action), action, message, ...rest };
}
