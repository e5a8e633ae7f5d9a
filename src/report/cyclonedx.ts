// `--format cyclonedx`: a CycloneDX 1.6 JSON bill of materials of the locked tree, built with the CycloneDX
// JavaScript library, so the evidence the guard gathered is kept with the build: every locked package with its
// integrity (as hashes), where it comes from, its verdict, and what was verified about it (registry signature,
// provenance source repository and commit, publish time and age). Custom facts are properties in the
// `safe-install:` namespace (CycloneDX's way for tool-specific data).
import { Bom, Component, ExternalReference, HashDictionary, Property } from '@cyclonedx/cyclonedx-library/Models';
import { ComponentScope, ComponentType, ExternalReferenceType, HashAlgorithm } from '@cyclonedx/cyclonedx-library/Enums';
import { JSON as CdxJson, JsonSerializer } from '@cyclonedx/cyclonedx-library/Serialize';
import { Spec1dot6 } from '@cyclonedx/cyclonedx-library/Spec';
import { PackageURL } from 'packageurl-js';
import ssri from 'ssri';
import type { CheckResult } from '../pipeline.js';
import type { Finding } from '../types.js';
import type { LockedPackage } from '../lockfile/types.js';
import { fullVersion, type PackageFacts } from '../facts.js';
import { formatDuration } from '../util/duration.js';
import { redacted } from './shown.js';
import { toolMetadata } from './sarif.js';
import { exitCodeOf } from '../verdict/exit-code.js';

const NS = 'safe-install';

/** SRI algorithm names -> CycloneDX hash algorithms; an SRI digest is base64, CycloneDX wants hex. */
const ALGORITHMS: Record<string, HashAlgorithm> = {
  sha1: HashAlgorithm['SHA-1'],
  sha256: HashAlgorithm['SHA-256'],
  sha384: HashAlgorithm['SHA-384'],
  sha512: HashAlgorithm['SHA-512'],
};

export function toCycloneDx(raw: CheckResult): string {
  const result = redacted(raw);
  const tool = toolMetadata();
  const bom = new Bom();
  bom.metadata.timestamp = result.now;
  bom.metadata.tools.components.add(new Component(ComponentType.Application, tool.name, { version: tool.version }));
  const site = new ExternalReference(tool.informationUri, ExternalReferenceType.Website);
  for (const c of bom.metadata.tools.components) c.externalReferences.add(site);
  const root = new Component(ComponentType.Application, result.tree.root.name ?? 'project', {
    ...(result.tree.root.version ? { version: result.tree.root.version } : {}),
    bomRef: 'root',
  });
  root.properties.add(new Property(`${NS}:lockfile`, `${result.tree.format}`));
  bom.metadata.component = root;
  bom.metadata.properties.add(new Property(`${NS}:registry`, result.npm.registry));
  bom.metadata.properties.add(new Property(`${NS}:exitCode`, String(exitCodeOf(result))));

  const seen = new Set<string>();
  for (const { pkg, verdict, findings } of result.verdicts) {
    const ref = bomRefOf(pkg, seen);
    const facts = result.facts.get(pkg.name);
    const component = new Component(ComponentType.Library, nameOf(pkg.name), {
      bomRef: ref,
      version: pkg.version,
      ...(groupOf(pkg.name) ? { group: groupOf(pkg.name) } : {}),
      purl: purlOf(pkg),
      hashes: hashesOf(pkg.integrity),
      scope: pkg.optional ? ComponentScope.Optional : ComponentScope.Required,
    });
    if (pkg.resolved) component.externalReferences.add(new ExternalReference(pkg.resolved, ExternalReferenceType.Distribution));
    const props: [string, string][] = [
      ['verdict', verdict],
      ['source', pkg.source],
      ['direct', String(pkg.direct)],
      ['dev', String(pkg.dev)],
      ...pkg.paths.map((p): [string, string] => ['path', p]),
      ...evidenceOf(pkg, facts, findings, result.now),
      ...findings.map((f): [string, string] => ['finding', `${f.code} (${f.action})`]),
    ];
    for (const [name, value] of props) component.properties.add(new Property(`${NS}:${name}`, value));
    bom.components.add(component);
    if (pkg.direct) root.dependencies.add(component.bomRef);
  }
  const serializer = new JsonSerializer(new CdxJson.Normalize.Factory(Spec1dot6));
  return serializer.serialize(bom, { sortLists: true, space: 2 }) + '\n';
}

/** What the guard verified about one package: its registry signature, its provenance, its age. */
function evidenceOf(pkg: LockedPackage, facts: PackageFacts | undefined, findings: Finding[], now: Date): [string, string][] {
  if (pkg.source !== 'registry')
    return [
      ['signature', 'not-applicable'],
      ['provenance', 'not-applicable'],
    ];
  const v = facts ? fullVersion(facts, pkg.version) : undefined;
  const out: [string, string][] = [];
  const signatureFinding = findings.find((f) => f.check === 'signature');
  out.push(['signature', signatureFinding ? signatureFinding.code : !v ? 'not-checked' : v.signatures.length ? 'verified' : 'unsigned']);
  const verified = findings.find((f) => f.code === 'provenance-verified');
  const provenanceFinding = findings.find((f) => f.check === 'provenance' && f.code !== 'provenance-verified');
  out.push(['provenance', verified ? 'verified' : provenanceFinding ? provenanceFinding.code : v?.attestationsUrl ? 'not-checked' : 'none']);
  const id = (verified?.data ?? {}) as Record<string, unknown>;
  for (const key of ['sourceRepository', 'sourceCommit', 'sourceRef', 'workflow', 'builder'] as const) {
    const value = id[key];
    if (typeof value === 'string' && value) out.push([`provenance:${key}`, value]);
  }
  const publishedAt = v?.publishedAt ?? facts?.versions[pkg.version]?.publishedAt;
  const published = Date.parse(publishedAt ?? '');
  if (publishedAt && Number.isFinite(published)) {
    out.push(['publishedAt', publishedAt]);
    out.push(['age', now.getTime() >= published ? formatDuration(now.getTime() - published) : 'published after the check time']);
  }
  return out;
}

function hashesOf(integrity: string | undefined): HashDictionary {
  const hashes = new HashDictionary();
  if (!integrity) return hashes;
  const parsed = ssri.parse(integrity);
  for (const [algorithm, list] of Object.entries(parsed)) {
    const alg = ALGORITHMS[algorithm];
    const first = (list as ssri.Hash[])[0];
    if (!alg || !first) continue;
    hashes.set(alg, Buffer.from(first.digest, 'base64').toString('hex'));
  }
  return hashes;
}

function purlOf(pkg: LockedPackage): string {
  const qualifiers: Record<string, string> = {};
  if (pkg.source !== 'registry' && pkg.resolved) {
    if (pkg.source === 'git') qualifiers.vcs_url = pkg.resolved;
    else if (/^https?:/.test(pkg.resolved)) qualifiers.download_url = pkg.resolved;
  }
  return new PackageURL('npm', groupOf(pkg.name), nameOf(pkg.name), pkg.version, Object.keys(qualifiers).length ? qualifiers : undefined, undefined).toString();
}

function groupOf(name: string): string | undefined {
  return name.startsWith('@') && name.includes('/') ? name.slice(0, name.indexOf('/')) : undefined;
}

function nameOf(name: string): string {
  return name.startsWith('@') && name.includes('/') ? name.slice(name.indexOf('/') + 1) : name;
}

/** A package id can repeat across a tree (one version installed at two places is one entry; ids stay unique). */
function bomRefOf(pkg: LockedPackage, seen: Set<string>): string {
  let ref = pkg.id;
  for (let n = 2; seen.has(ref); n++) ref = `${pkg.id}#${n}`;
  seen.add(ref);
  return ref;
}
