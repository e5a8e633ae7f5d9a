// The one place a check's result is made fit to print: every reporter (text, GitHub, SARIF, JSON, and the ci and
// hook output built on the text report) renders `shown(result)` or `redacted(result)`, never the raw result.
// Package names, versions, resolved URLs, paths and aliases come from the lockfile; messages carry registry
// and tarball text (publish times, script bodies, error answers); notices and errors name the registry URL,
// which can hold a password or token. See src/util/safe-text.ts for the two rules.
import type { CheckResult } from '../pipeline.js';
import { displayText, mapStrings, redact } from '../util/safe-text.js';

const SHOWN = new WeakSet<CheckResult>();
const REDACTED = new WeakSet<CheckResult>();
/** One copy per result and rule: `--format github` renders text, annotations and a summary from one check. */
const SHOWN_OF = new WeakMap<CheckResult, CheckResult>();
const REDACTED_OF = new WeakMap<CheckResult, CheckResult>();

function mapResult(result: CheckResult, fn: (s: string) => string): CheckResult {
  // The facts (kept for the install runner, never printed) and npm's flat settings (credentials) are not walked.
  const { facts, npm, ...rest } = result;
  return { ...mapStrings(rest, fn), facts, npm: { ...npm, registry: fn(npm.registry) } };
}

/** For text read by a person or a CI runner (text, GitHub, SARIF): credentials masked, control characters made visible. */
export function shown(result: CheckResult): CheckResult {
  if (SHOWN.has(result)) return result;
  const done = SHOWN_OF.get(result);
  if (done) return done;
  const out = mapResult(result, displayText);
  SHOWN_OF.set(result, out);
  SHOWN.add(out);
  REDACTED.add(out);
  return out;
}

/** For JSON (whose strings JSON itself escapes; the data is kept exact): credentials masked. */
export function redacted(result: CheckResult): CheckResult {
  if (REDACTED.has(result)) return result;
  const done = REDACTED_OF.get(result);
  if (done) return done;
  const out = mapResult(result, redact);
  REDACTED_OF.set(result, out);
  REDACTED.add(out);
  return out;
}
