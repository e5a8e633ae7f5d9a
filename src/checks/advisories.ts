// advisories: a locked version that an advisory names. Malware (an OSV MAL- id, or a GitHub advisory with CWE-506
// or a title "Malware in …") is blocked whatever its age and whatever any exception for other checks says: only
// an exception naming that advisory's exact id, until it expires, lets it through. Other advisories
// (vulnerabilities) are reported with their severity and the fixed versions; they block only from the policy's
// severity threshold (advisories.block). When no source answered for the package, one warning says so for the run.
import semver from 'semver';
import type { Finding } from '../types.js';
import type { LockedPackage } from '../lockfile/types.js';
import type { Check } from './types.js';
import { finding } from './finding.js';
import { actionFor } from '../policy/load.js';
import { findFallback, dependentRange } from './fallback.js';
import { SEVERITY_RANK, type Advisory } from '../advisories/advisory.js';

function idsText(a: Advisory): string {
  const others = a.ids.filter((i) => i !== a.id && !i.startsWith('npm:'));
  return others.length ? `${a.id} (${others.join(', ')})` : a.id;
}

/** The lowest fixed version that satisfies every dependent's range, if any. */
function fixedInRange(pkg: LockedPackage, a: Advisory): string | undefined {
  const ranges = pkg.dependents.map((d) => dependentRange(d.range)).filter((r): r is string => r !== undefined);
  return a.fixed.filter((f) => semver.gt(f, pkg.version, { loose: true }) && ranges.every((r) => semver.satisfies(f, r, { loose: true }))).sort(semver.compare)[0];
}

export const advisories: Check = {
  id: 'advisories',
  run(pkg, { facts, advisories: input }, { policy }): Finding[] {
    // Bundled copies too (they come inside another package's tarball): the version an advisory names, all the same.
    if ((pkg.source !== 'registry' && pkg.source !== 'bundled') || !input) return [];
    const inside = pkg.source === 'bundled' ? ` (it comes inside ${pkg.bundledIn ?? 'another package'}'s tarball: update or remove that package)` : '';
    if (input.unavailable !== undefined) {
      return [
        finding(policy, 'advisories-unavailable', `no advisory source answered, so versions named by malware or vulnerability advisories cannot be recognised: ${input.unavailable}`, {
          remedy:
            'check the network to the OSV API (--osv-url) and the registry, or use an offline database (--advisories-db, `safe-install advisories update`); to require advisories, set actions."advisories-unavailable": "block"',
        }),
      ];
    }
    const hits = input.advisories.filter((a) => a.affects(pkg.version));
    if (!hits.length) return [];
    const all = input.advisories;
    const registryFacts = facts && facts !== 'missing' ? facts : undefined;
    const clean = (v: string) => !all.some((a) => a.affects(v));
    const out: Finding[] = [];
    for (const a of hits.sort((x, y) => (x.kind === y.kind ? x.id.localeCompare(y.id) : x.kind === 'malware' ? -1 : 1))) {
      const data: Record<string, unknown> = { advisories: a.ids, id: a.id, url: a.url, summary: a.summary, sources: a.sources, ...(a.severity ? { severity: a.severity } : {}) };
      if (a.kind === 'malware') {
        const fallback = registryFacts ? findFallback(pkg, registryFacts, clean) : undefined;
        const use = inside
          ? `remove it${inside}`
          : fallback
            ? `use ${pkg.name}@${fallback} (the newest version within every dependent's range that no advisory names)`
            : `no version within every dependent's range is free of advisories: remove ${pkg.name} or change the ranges that pull it in`;
        const advice = a.advice ? ` If it was ever installed: ${a.advice}` : ' If it was ever installed, treat the machine as compromised and rotate every secret it held, from another machine.';
        // Never weakened by the policy's actions (compilePolicy refuses anything but block for this code).
        out.push({
          check: 'advisories',
          code: 'advisory-malware',
          severity: 'error',
          action: 'block',
          message: `${pkg.name}@${pkg.version} is malware: ${idsText(a)}: ${a.summary} (${a.url})`,
          remedy: `${use}.${advice}`,
          data: { ...data, fallback: fallback ?? null },
        });
        continue;
      }
      const threshold = policy.advisories.block;
      const severe = threshold !== undefined && (a.severity === undefined || SEVERITY_RANK[a.severity] >= SEVERITY_RANK[threshold]);
      const fixed = fixedInRange(pkg, a);
      const fallback = !fixed && registryFacts ? findFallback(pkg, registryFacts, clean) : undefined;
      const action = severe ? 'block' : actionFor(policy, 'advisories', 'advisory-vulnerability', 'warn');
      const f = finding(
        policy,
        'advisory-vulnerability',
        `${idsText(a)} (${a.severity ?? 'severity unknown'}): ${a.summary}${a.fixed.length ? `; fixed in ${a.fixed.join(', ')}` : '; no fixed version named'} (${a.url})`,
        {
          remedy: inside
            ? `a fixed copy must come from the package that bundles it${inside}`
            : fixed
              ? `update to ${pkg.name}@${fixed} or later (it satisfies every dependent's range)`
              : fallback
                ? `use ${pkg.name}@${fallback} (the newest version within every dependent's range that no advisory names)`
                : `no fixed version satisfies every dependent's range; update the dependents, or add an exception naming ${a.id} with a reason and an expiry`,
          data: { ...data, fixed: a.fixed, fallback: fixed ?? fallback ?? null, ...(severe ? { threshold } : {}) },
          // At or above the policy's threshold it blocks; otherwise the policy's action for the code, else warn.
          sourcesSay: action,
        },
      );
      // The threshold decides, whatever actions say for the code.
      out.push(severe ? { ...f, action: 'block', severity: 'error' } : f);
    }
    return out;
  },
};
