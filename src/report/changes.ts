// What a resolution changed, from the lockfiles before and after and the registry facts the check fetched:
// packages added, removed and bumped, new install scripts, new publishers, lost provenance, and newer matching
// versions that were passed over because they are too young.
import semver from 'semver';
import type { CheckResult } from '../pipeline.js';
import type { PackageFacts, VersionFacts, VersionSummary } from '../facts.js';
import type { LockedTree } from '../lockfile/types.js';
import { diffLockfiles } from '../lockfile/diff.js';
import { requiredAge } from '../checks/release-age.js';
import { formatDuration } from '../util/duration.js';
import type { Style } from './text.js';
import { displayText, mapStrings } from '../util/safe-text.js';

export interface ChangeSummary {
  added: { name: string; version: string }[];
  removed: { name: string; version: string }[];
  bumped: { name: string; from: string; to: string }[];
  newInstallScripts: { name: string; version: string; scripts: Record<string, string> }[];
  newPublishers: { name: string; version: string; from?: string; to?: string }[];
  lostProvenance: { name: string; version: string; previous: string }[];
  /** For a requested package: a newer version matching the range exists but is too young. */
  passedOver: { name: string; chosen: string; newest: string; publishedAt?: string; eligibleAt: string }[];
}

const scriptsOf = (v?: VersionFacts | VersionSummary) => {
  const s = { ...(v?.installScripts ?? {}) };
  if (v?.gypfile && !s.install && !s.preinstall) s.install = 'node-gyp rebuild';
  return s;
};
const hasProvenance = (v?: VersionFacts | VersionSummary) => Boolean(v?.attestationsUrl);

export function summarizeChanges(before: LockedTree | undefined, result: CheckResult, requested: Record<string, string>): ChangeSummary {
  const after = result.tree;
  const empty: LockedTree = { lockfilePath: '', format: after.format, root: after.root, workspaces: [], packages: [] };
  const facts = (name: string): PackageFacts | undefined => result.facts.get(name);
  const out: ChangeSummary = { added: [], removed: [], bumped: [], newInstallScripts: [], newPublishers: [], lostProvenance: [], passedOver: [] };
  for (const change of diffLockfiles(before ?? empty, after)) {
    const f = facts(change.name);
    const gone = change.before.filter((v) => !change.after.includes(v));
    const come = change.after.filter((v) => !change.before.includes(v));
    const [from] = gone;
    const [to] = come;
    if (gone.length === 1 && come.length === 1 && from !== undefined && to !== undefined) out.bumped.push({ name: change.name, from, to });
    else {
      for (const v of come) out.added.push({ name: change.name, version: v });
      for (const v of gone) out.removed.push({ name: change.name, version: v });
    }
    for (const v of come) {
      const now = f?.versions[v];
      // Compared with the highest version it replaces, if any.
      const prev = gone.length ? gone[gone.length - 1] : undefined;
      const was = prev ? f?.versions[prev] : undefined;
      const scripts = scriptsOf(now);
      if (Object.keys(scripts).length && JSON.stringify(scripts) !== JSON.stringify(scriptsOf(was))) out.newInstallScripts.push({ name: change.name, version: v, scripts });
      if (prev && was?.publisher !== now?.publisher && (was?.publisher || now?.publisher)) out.newPublishers.push({ name: change.name, version: v, from: was?.publisher, to: now?.publisher });
      if (prev && hasProvenance(was) && !hasProvenance(now)) out.lostProvenance.push({ name: change.name, version: v, previous: prev });
    }
  }
  for (const [name, range] of Object.entries(requested)) {
    const f = facts(name);
    const chosen = after.packages.find((p) => p.name === name && p.direct && p.source === 'registry')?.version;
    if (!f || !chosen || !semver.validRange(range)) continue;
    const newest = Object.keys(f.versions)
      .filter((v) => semver.valid(v) && !semver.prerelease(v) && semver.satisfies(v, range))
      .sort(semver.rcompare)[0];
    if (!newest || !semver.gt(newest, chosen)) continue;
    const rule = requiredAge(result.policy, name, newest);
    const publishedAt = f.versions[newest]?.publishedAt;
    const published = Date.parse(publishedAt ?? '');
    if (!rule || !Number.isFinite(published)) continue;
    out.passedOver.push({ name, chosen, newest, publishedAt, eligibleAt: new Date(published + rule.ms).toISOString() });
  }
  return out;
}

export function changesText(raw: ChangeSummary, style: Style, now: Date): string {
  // Names and versions from the lockfiles, scripts, publishers and times from the registry: inert text.
  const c = mapStrings(raw, displayText);
  const lines = ['', style.bold('What changed in the lockfile')];
  if (!c.added.length && !c.removed.length && !c.bumped.length) lines.push('  nothing');
  for (const a of c.added) lines.push(`  ${style.green('+')} ${a.name}@${a.version}`);
  for (const b of c.bumped) lines.push(`  ${style.yellow('~')} ${b.name} ${b.from} -> ${b.to}`);
  for (const r of c.removed) lines.push(`  ${style.red('-')} ${r.name}@${r.version}`);
  for (const s of c.newInstallScripts)
    lines.push(
      `  ${style.yellow('!')} new install scripts: ${s.name}@${s.version} ${Object.entries(s.scripts)
        .map(([e, x]) => `${e}: ${x}`)
        .join('; ')}`,
    );
  for (const p of c.newPublishers) lines.push(`  ${style.yellow('!')} new publisher: ${p.name}@${p.version} published by ${p.to ?? 'unknown'} (before: ${p.from ?? 'unknown'})`);
  for (const p of c.lostProvenance) lines.push(`  ${style.red('!')} lost provenance: ${p.name}@${p.version} has none; ${p.previous} had it`);
  for (const p of c.passedOver) {
    lines.push(
      `  ${style.dim('i')} ${p.name}: chose ${p.chosen}; the newest match ${p.newest} is too young (published ${p.publishedAt}), eligible ${p.eligibleAt} (in ${formatDuration(Date.parse(p.eligibleAt) - now.getTime())})`,
    );
  }
  return lines.join('\n') + '\n';
}
