// scripts: which packages will want to run install scripts, and whether the policy lets them. Known before
// extraction from the lockfile flag and the registry manifest; the install runner checks the extracted
// package.json files again (a tarball can carry scripts its registry manifest does not show).
import type { Finding } from '../types.js';
import type { LockedPackage } from '../lockfile/types.js';
import { allowCommand, scriptStatus } from '../policy/scripts.js';
import type { Check, FactsInput } from './types.js';
import { finding } from './finding.js';

/** The install scripts the registry manifest declares (with the implicit node-gyp rebuild), or {}. */
export function declaredScripts(pkg: LockedPackage, facts: FactsInput): Record<string, string> {
  const v = facts && facts !== 'missing' ? facts.versions[pkg.version] : undefined;
  const scripts = { ...(v?.installScripts ?? {}) };
  if (v?.gypfile && !scripts.install && !scripts.preinstall) scripts.install = 'node-gyp rebuild';
  return scripts;
}

export const scripts: Check = {
  id: 'scripts',
  run(pkg, { facts }, { policy }): Finding[] {
    if (pkg.source === 'link') return []; // the project's own workspaces: their scripts are the project's
    const declared = declaredScripts(pkg, facts);
    const has = pkg.hasInstallScript || Object.keys(declared).length > 0;
    if (!has) return [];
    const scriptsText =
      Object.entries(declared)
        .map(([e, s]) => `${e}: ${s}`)
        .join('; ') || 'install scripts (per the lockfile)';
    const text = pkg.source === 'bundled' ? `bundled inside ${pkg.bundledIn ?? 'its parent'}, ${scriptsText}` : scriptsText;
    // A bundled package's scripts follow the allowlist like any other's: npm runs them when it builds the
    // parent (plain `npm ci`, and `npm rebuild <parent>` unless --no-rebuild-bundle), measured with npm 11.19.
    const { status, rule } = scriptStatus(policy, pkg.name, pkg.version);
    if (status === 'allowed') {
      return [finding(policy, 'install-script-allowed', `${text}: allowed by ${rule!.source} ("${rule!.pattern.text}")`, { data: { scripts: declared } })];
    }
    if (status === 'denied') {
      return [finding(policy, 'install-script-denied', `${text}: denied by ${rule!.source} ("${rule!.pattern.text}"); installed without running it`, { data: { scripts: declared } })];
    }
    const strict = policy.scripts.unlisted === 'block';
    return [
      finding(policy, 'install-script-unlisted', `${text}: not in the allowlist; ${strict ? 'strict mode refuses the install' : 'it will be installed without running it'}`, {
        stricter: strict,
        remedy: `review it, then \`${allowCommand(pkg.name)}\` (or \`safe-install scripts deny ${pkg.name}\` to silence this)`,
        data: { scripts: declared },
      }),
    ];
  },
};
