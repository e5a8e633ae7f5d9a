// After extraction: decide, from what is on disk, which install locations may run their scripts.
// Pure over its inputs so every rule is testable without npm.
import type { Finding } from '../types.js';
import type { PackageFacts } from '../facts.js';
import type { Policy } from '../policy/load.js';
import { allowCommand, scriptStatus } from '../policy/scripts.js';
import { finding } from '../checks/finding.js';
import type { InstalledScripts } from './lifecycle.js';

export type ScriptDecision = { kind: 'run'; item: InstalledScripts; because: string } | { kind: 'skip'; item: InstalledScripts; why: 'unlisted' | 'denied' | 'manifest-mismatch'; because: string };

export interface ScriptPlan {
  decisions: ScriptDecision[];
  /** Findings only the disk could reveal (manifest confusion). */
  findings: { item: InstalledScripts; finding: Finding }[];
  /** Reasons the install must stop before any script runs (strict mode, an allowed package whose tarball lies). */
  refusals: string[];
}

/** Scripts the registry manifest shows for that version; the implicit gyp build counts when it declares gypfile. */
function registryScripts(facts: PackageFacts | undefined, version: string): Record<string, string> | undefined {
  const v = facts?.versions[version];
  if (!v) return undefined;
  const out = { ...v.installScripts };
  if (v.gypfile && !out.install && !out.preinstall) out.install = 'node-gyp rebuild';
  return out;
}

function sameScripts(disk: Record<string, string>, reg: Record<string, string>): boolean {
  const keys = new Set([...Object.keys(disk), ...Object.keys(reg)]);
  for (const k of keys) {
    // An implicit `node-gyp rebuild` on disk for a binding.gyp is npm's doing, not the tarball's manifest.
    if (k === 'install' && disk[k] === 'node-gyp rebuild' && reg[k] === undefined) continue;
    if (disk[k] !== reg[k]) return false;
  }
  return true;
}

export function planScripts(installed: InstalledScripts[], policy: Policy, facts: Map<string, PackageFacts>): ScriptPlan {
  const plan: ScriptPlan = { decisions: [], findings: [], refusals: [] };
  for (const item of installed) {
    const { pkg } = item;
    const label = `${pkg.name}@${pkg.version} (${item.path})`;
    // A bundled package (inside its parent's tarball, never fetched, no registry manifest to compare) follows
    // the allowlist like any other: npm's own rebuild of an allowed parent would run it too (rebuild-bundle).
    const status = scriptStatus(policy, pkg.name, pkg.version);
    const reg = pkg.source === 'registry' ? registryScripts(facts.get(pkg.name), pkg.version) : undefined;
    if (reg && !sameScripts(item.scripts, reg)) {
      const shown =
        Object.entries(reg)
          .map(([e, s]) => `${e}: ${s}`)
          .join('; ') || 'none';
      const onDisk = Object.entries(item.scripts)
        .map(([e, s]) => `${e}: ${s}`)
        .join('; ');
      const f = finding(policy, 'manifest-scripts-mismatch', `the tarball's package.json has install scripts (${onDisk}) that the registry manifest does not show (${shown})`, {
        remedy: 'a tarball that hides scripts from its registry manifest is a known attack ("manifest confusion"); report it and do not allow it',
        data: { disk: item.scripts, registry: reg },
      });
      plan.findings.push({ item, finding: f });
      plan.decisions.push({ kind: 'skip', item, why: 'manifest-mismatch', because: f.message });
      if (status.status === 'allowed') plan.refusals.push(`${label}: allowed by ${status.rule!.source}, but its tarball's install scripts differ from the registry manifest; not run`);
      else if (status.status === 'unlisted' && policy.scripts.unlisted === 'block') plan.refusals.push(`${label}: has install scripts its registry manifest hides (strict mode)`);
      continue;
    }
    if (status.status === 'denied') {
      plan.decisions.push({ kind: 'skip', item, why: 'denied', because: `denied by ${status.rule!.source} ("${status.rule!.pattern.text}")` });
    } else if (status.status === 'allowed') {
      const inside = pkg.source === 'bundled' ? `bundled inside ${pkg.bundledIn}; ` : '';
      plan.decisions.push({ kind: 'run', item, because: `${inside}allowed by ${status.rule!.source} ("${status.rule!.pattern.text}")` });
    } else {
      plan.decisions.push({ kind: 'skip', item, why: 'unlisted', because: `not in the allowlist; to allow: ${allowCommand(pkg.name)}` });
      if (policy.scripts.unlisted === 'block') plan.refusals.push(`${label}: install scripts not in the allowlist (strict mode); to allow: ${allowCommand(pkg.name)}`);
    }
  }
  return plan;
}
