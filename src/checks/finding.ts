import type { Action, CheckId, Finding, FindingCode } from '../types.js';
import { actionFor, type Policy } from '../policy/load.js';

export function severityOf(action: Action): Finding['severity'] {
  return action === 'allow' ? 'info' : action === 'warn' ? 'warn' : 'error';
}

/** Build a finding whose action comes from the policy (by code, then check) or the given default. */
export function finding(
  policy: Policy,
  check: CheckId,
  code: FindingCode,
  defaultAction: Action,
  message: string,
  extra: { remedy?: string; data?: Record<string, unknown> } = {},
): Finding {
  const action = actionFor(policy, check, code, defaultAction);
  return { check, code, severity: severityOf(action), action, message, ...extra };
}
