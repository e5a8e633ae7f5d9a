// source: where a package does not come from the registry (git, a remote tarball, a local path), none of the
// registry's guarantees hold. Allowed for direct dependencies by default, blocked for transitive ones (a
// dependency that pulls code from an arbitrary URL is how exotic-source attacks work; pnpm's blockExoticSubdeps).
// "Direct" means the project's own package.json (the root's or a workspace's) asks for that exotic spec: a
// lockfile that turns a registry range into a URL is lockfile injection, not a choice the project made.
// A registry package must also be downloaded from the registry it was checked against: a lockfile `resolved` on
// another host (after npm's replace-registry-host) serves whatever that host likes under the checked name@version.
import type { Finding, FindingCode } from '../types.js';
import type { LockedPackage } from '../lockfile/types.js';
import type { Check, CheckInput } from './types.js';
import { finding } from './finding.js';
import { fullVersion } from '../facts.js';
import { isOnRegistry } from '../project/npm-config.js';
import { gitRepo, remoteUrl, specKind } from '../project/package-json.js';

const EXOTIC: Partial<Record<LockedPackage['source'], { code: FindingCode; what: string }>> = {
  git: { code: 'git-source', what: 'a git repository' },
  tarball: { code: 'tarball-source', what: 'a remote tarball' },
  file: { code: 'local-source', what: 'a local path' },
};

/** Which lockfile sources each kind of package.json spec may resolve to. */
const MAY_RESOLVE_TO: Record<string, LockedPackage['source'][]> = {
  git: ['git'],
  // A hosted-git tarball URL (codeload.github.com) is read as a git source.
  remote: ['tarball', 'git'],
  file: ['file', 'link'],
  directory: ['file', 'link'],
};

export const source: Check = {
  id: 'source',
  run(pkg, input, { policy }): Finding[] {
    if (pkg.source === 'registry') return offRegistry(pkg, input, policy);
    if (pkg.source === 'link') {
      return [finding(policy, 'workspace-link', `local link to ${pkg.resolved ?? pkg.paths[0] ?? 'a workspace'} (part of this project)`)];
    }
    if (pkg.source === 'bundled') {
      return [finding(policy, 'bundled', `bundled inside ${pkg.bundledIn ?? 'its parent'}'s tarball; covered by that tarball's checks`)];
    }
    const exotic = EXOTIC[pkg.source];
    if (!exotic) return [];
    const from = pkg.resolved ? ` (${pkg.resolved})` : '';
    if (pkg.direct && pkg.requested !== undefined && !pkg.requested.some((spec) => asksFor(spec, pkg))) {
      const asked = pkg.requested.length ? pkg.requested.map((s) => `"${s}"`).join(', ') : 'nothing';
      return [
        finding(
          policy,
          'source-mismatch',
          `package.json asks for ${asked} but the lockfile resolves it to ${exotic.what}${from}: only a package.json spec may choose a source other than the registry`,
          {
            remedy:
              'the lockfile was edited to swap the source (lockfile injection), or package.json changed without re-locking: restore the lockfile from version control or regenerate it from package.json, and review the diff',
            data: { requested: pkg.requested, resolved: pkg.resolved ?? null, source: pkg.source },
          },
        ),
      ];
    }
    const action = pkg.direct ? policy.sources.direct : policy.sources.transitive;
    return [
      finding(policy, exotic.code, `${pkg.direct ? 'direct' : 'transitive'} dependency from ${exotic.what}${from}: no registry age, integrity or signature applies`, {
        sourcesSay: action,
        remedy: pkg.direct
          ? 'pin it to a commit or move it to the registry'
          : `a dependency pulls it in from ${exotic.what}; ask its maintainers to publish it, or allow it with an exception (check "source")`,
      }),
    ];
  },
};

/**
 * A package.json spec that may legitimately resolve to the package's (non-registry) source. A tarball URL spec must
 * resolve to that URL itself, as npm's arborist requires (dep-valid: `resolved === fetchSpec`), and a git spec to
 * the same repository (and commit, when it names a full one): pnpm (`resolution.tarball`, `resolution.repo`) and
 * yarn 1 (`resolved`) download whatever the lockfile names under the spec's key.
 */
function asksFor(spec: string, pkg: LockedPackage): boolean {
  const kind = specKind(pkg.name, spec);
  // A workspace (pnpm and yarn `workspace:`) or a local link (`link:`, `portal:`) is this project's own folder:
  // never anything downloaded (pnpm installs a git or tarball `version` an edited lockfile gives it).
  if (/^(?:workspace|link|portal):/.test(spec)) return pkg.source === 'link';
  // yarn's exec: (a local generator script) and patch: (a patch on a base of any source) choose their source;
  // anything else npm cannot read (an unresolved reference or catalog, a typo) chooses none.
  if (kind === 'unknown') return /^(?:exec|patch):/.test(spec);
  if (!(MAY_RESOLVE_TO[kind]?.includes(pkg.source) ?? false)) return false;
  if (kind === 'remote') return pkg.resolved !== undefined && sameUrl(remoteUrl(pkg.name, spec) ?? spec, pkg.resolved);
  if (kind === 'git') {
    // The same repository (npm's dep-valid: same repo, and the same commit when the spec names one); pnpm and yarn 1
    // fetch whatever repository or commit the lockfile names under the spec's key.
    const asked = gitRepo(pkg.name, spec);
    const got = pkg.resolved === undefined ? undefined : gitRepo(pkg.name, pkg.resolved);
    return !!asked && !!got && asked.repo === got.repo && (!asked.commit || asked.commit === got.commit);
  }
  return true;
}

function offRegistry(pkg: LockedPackage, input: CheckInput, policy: Parameters<Check['run']>[2]['policy']): Finding[] {
  const d = input.download;
  if (!d?.url || (isOnRegistry(d.url, d.registry) && isVersionTarball(d.url, d.registry, pkg))) return [];
  // The registry's own dist.tarball for the version (a registry may serve tarballs from another host).
  const facts = input.facts;
  const tarball = facts && facts !== 'missing' ? fullVersion(facts, pkg.version)?.tarball : undefined;
  if (tarball && sameUrl(tarball, d.url)) return [];
  let host = d.url;
  let hostname = d.url;
  try {
    ({ host, hostname } = new URL(d.url));
  } catch {
    // not a URL: quoted whole
  }
  return [
    finding(
      policy,
      'resolved-off-registry',
      `the lockfile resolves it to ${d.url}${d.how ? ` (${d.how})` : ''}, which is not on the registry it was checked against (${d.registry}): the install would download it from ${host}, which can serve anything under this name and version`,
      {
        remedy: `if ${host} is a mirror of your registry, make the check and the install use the same one (set registry=, or npm's replace-registry-host=${hostname}); otherwise the lockfile was tampered with: restore it from version control or regenerate it from package.json`,
        data: { resolved: d.url, registry: d.registry },
      },
    ),
  ];
}

/**
 * The URL's path under the registry is exactly `<name>/-/<basename>-<version>.tgz` (the registry's own layout), not
 * another package's folder that merely ends the same way (`/@evil/victim/-/victim-1.0.0.tgz` for victim).
 */
function isVersionTarball(url: string, registry: string, pkg: LockedPackage): boolean {
  try {
    const prefix = new URL(registry).pathname.replace(/\/?$/, '/');
    const path = decodeURIComponent(new URL(url).pathname);
    const base = pkg.name.startsWith('@') ? pkg.name.slice(pkg.name.indexOf('/') + 1) : pkg.name;
    return path === `${prefix}${pkg.name}/-/${base}-${pkg.version}.tgz`;
  } catch {
    return false;
  }
}

function sameUrl(a: string, b: string): boolean {
  try {
    const x = new URL(a);
    const y = new URL(b);
    x.hash = '';
    y.hash = '';
    return x.href === y.href;
  } catch {
    return false;
  }
}
