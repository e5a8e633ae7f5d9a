// The JSON contract: {summary, packages: [{name, version, verdict, findings: [{check, code, severity, message}]}]}
// listing every locked package, allowed ones included. Other fields may be added, never removed.
// `summary.allow` counts the packages whose own checks pass: a warning about the registry or the lockfile (no
// signing keys, no publisher data; `sharedFindings`, said once) leaves a package's verdict `warn` but is not
// counted against it.
import type { CheckResult } from '../pipeline.js';
import type { Action } from '../types.js';
import { sharedFindings, summarize } from './summary.js';
import { redacted } from './shown.js';

export function toJson(raw: CheckResult): object {
  const result = redacted(raw);
  return {
    schemaVersion: 1,
    tool: 'safe-install',
    lockfile: result.tree.lockfilePath,
    format: result.tree.format,
    now: result.now.toISOString(),
    registry: result.npm.registry,
    ...(result.packageManager && {
      packageManager: {
        name: result.packageManager.pm,
        version: result.packageManager.version ?? null,
        declared: result.packageManager.declared ?? null,
        source: result.packageManager.source,
        lockfile: result.packageManager.lockfile,
        needs: result.packageManager.needs.range,
        runs: result.packageManager.runs ?? null,
        ownGuards: result.packageManager.guards,
      },
    }),
    policy: {
      file: result.policy.file ?? null,
      minimumReleaseAge: result.policy.ageRules.map((r) => ({ ms: r.ms, source: r.source, exclude: r.exclude.map((p) => p.text) })),
      unlistedScripts: result.policy.scripts.unlisted,
      ...(result.policy.scripts.unlistedSource && { unlistedScriptsSource: result.policy.scripts.unlistedSource }),
      trustPolicy: { mode: result.policy.trust.mode, source: result.policy.trust.source },
      settingsRead: result.policy.inputs,
    },
    summary: summarize(result),
    notices: result.notices,
    ...(result.advisories ? { advisorySources: result.advisories } : {}),
    sharedFindings: sharedFindings(result).map((sf) => ({
      code: sf.code,
      check: sf.check,
      action: sf.action,
      message: sf.message,
      ...(sf.remedy ? { remedy: sf.remedy } : {}),
      packages: sf.packages.map((v) => `${v.pkg.name}@${v.pkg.version}`),
    })),
    errors: result.errors.map((e) => ({ code: e.code, package: e.pkg ?? null, message: e.message, remedy: e.remedy ?? null })),
    packages: result.verdicts.map(({ pkg, verdict, findings }) => ({
      name: pkg.name,
      version: pkg.version,
      verdict: verdict as Action,
      source: pkg.source,
      ...(pkg.aliases.length ? { aliases: pkg.aliases } : {}),
      direct: pkg.direct,
      dev: pkg.dev,
      optional: pkg.optional,
      ...(pkg.integrity ? { integrity: pkg.integrity } : {}),
      ...(pkg.resolved ? { resolved: pkg.resolved } : {}),
      ...(pkg.bundledIn ? { bundledIn: pkg.bundledIn } : {}),
      hasInstallScript: pkg.hasInstallScript,
      paths: pkg.paths,
      ...(pkg.lockfileLine ? { lockfileLine: pkg.lockfileLine } : {}),
      findings: findings.map((f) => ({
        check: f.check,
        code: f.code,
        severity: f.severity,
        action: f.action,
        message: f.message,
        ...(f.remedy ? { remedy: f.remedy } : {}),
        ...(f.data ? { data: f.data } : {}),
      })),
    })),
  };
}
