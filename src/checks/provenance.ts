// provenance: where the locked version advertises attestations, both bundles (SLSA provenance and npm's
// publish attestation) were verified offline against the shipped Sigstore trusted root; this check turns the
// outcome, the policy's requireProvenance patterns and the expected source repository into findings.
import type { Finding } from '../types.js';
import { matchesAny, matchesPattern } from '../policy/pattern.js';
import type { Check } from './types.js';
import { finding } from './finding.js';
import { fullVersion } from '../facts.js';

/** github.com/owner/repo from the many ways a repository is written (git+https, ssh, shorthand, .git). */
export function normalizeRepository(url: string | undefined): string | undefined {
  if (!url) return undefined;
  let s = url
    .trim()
    .replace(/^git\+/, '')
    .replace(/\.git$/, '')
    .replace(/\/+$/, '');
  s = s
    .replace(/^github:/, 'https://github.com/')
    .replace(/^git@([^:]+):/, 'https://$1/')
    .replace(/^(ssh|git):\/\/(git@)?/, 'https://');
  if (/^[\w.-]+\/[\w.-]+$/.test(s)) s = `https://github.com/${s}`;
  try {
    const u = new URL(s);
    return `${u.host}${u.pathname}`.toLowerCase();
  } catch {
    return s.toLowerCase();
  }
}

export const provenance: Check = {
  id: 'provenance',
  run(pkg, { facts, provenance: outcome }, { policy }): Finding[] {
    if (pkg.source !== 'registry' || !facts || facts === 'missing') return [];
    const v = fullVersion(facts, pkg.version);
    if (!v) return [];
    const out: Finding[] = [];
    const required = matchesAny(policy.provenance.require, pkg.name, pkg.version);
    if (!outcome) {
      if (required) {
        out.push(
          finding(policy, 'provenance-required', `the policy requires provenance for ${required.text}, and ${pkg.name}@${pkg.version} has none`, {
            remedy: 'use a version published with provenance, or ask the maintainers to publish from CI with provenance',
          }),
        );
      }
      return out;
    }
    if (outcome.kind === 'unavailable') {
      out.push(
        finding(policy, 'attestations-unavailable', outcome.message, {
          stricter: required !== undefined,
          remedy: 'the registry advertises attestations it does not serve (a mirror?); verify against the upstream registry',
        }),
      );
      return out;
    }
    if (outcome.kind === 'failed') {
      out.push(
        finding(policy, outcome.code, outcome.message, {
          stricter: required !== undefined,
          remedy: 'the attestation does not prove what it claims; do not install, and report it to the maintainers and the registry',
        }),
      );
      return out;
    }
    const id = outcome.identity ?? {};
    out.push(finding(policy, 'provenance-verified', outcome.message, { data: { ...id } }));
    const built = normalizeRepository(id.sourceRepository);
    const expected = policy.provenance.expectedRepository.find((e) => matchesPattern(e.pattern, pkg.name, pkg.version));
    if (expected && built !== normalizeRepository(expected.repository)) {
      out.push(
        finding(policy, 'provenance-repository-mismatch', `built from ${id.sourceRepository ?? 'an unknown repository'}, but the policy expects ${expected.repository} for ${expected.pattern.text}`, {
          stricter: true,
          remedy: 'a package built from another repository than expected may be a takeover; do not install',
        }),
      );
    } else if (!expected && built && v.repository && built !== normalizeRepository(v.repository)) {
      out.push(
        finding(policy, 'provenance-repository-mismatch', `built from ${id.sourceRepository}, but its package.json names ${v.repository}`, {
          remedy: 'check that the source repository is the project you expect (a fork or a renamed repository is common; a stranger is not)',
        }),
      );
    }
    return out;
  },
};
