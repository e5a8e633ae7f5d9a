// pnpm's own guards, kept in sync with the policy so a teammate's plain `pnpm install --frozen-lockfile` is
// guarded too. Measured with pnpm 10.34.9 and 9.15.9 (test/integration/init-pnpm.test.ts):
// - the root `pnpm:devPreinstall` script runs before pnpm fetches anything (also on `pnpm add`), and a failing
//   one fails the install with nothing downloaded: that is where `safe-install hook` runs the whole check;
// - pnpm 10 reads its settings from pnpm-workspace.yaml even without `packages`; `minimumReleaseAge` applies
//   when pnpm resolves, never to a locked version on a frozen install; `strictDepBuilds` fails the install on
//   an unlisted build (after linking, without running it);
// - pnpm 9 fails on a pnpm-workspace.yaml without `packages` and reads its build list from the package.json
//   `pnpm` field only; it has no minimumReleaseAge and no strict builds, and cannot have both
//   onlyBuiltDependencies and neverBuiltDependencies;
// - a .pnpmfile.cjs is not usable: adding one changes the lockfile's pnpmfileChecksum, so every frozen install
//   fails until the lockfile is re-made.
// What pnpm cannot express (globs, semver ranges) is left out, so strictDepBuilds refuses it: never wider than
// the policy.
import { isMap, isScalar, isSeq, parseDocument, type Document, type YAMLSeq } from 'yaml';
import { GuardError } from '../errors.js';
import { editPackageJson } from '../project/package-json-text.js';
import type { Policy } from '../policy/load.js';
import { HOOK } from './npm-settings.js';
import { nameOf, policyEntries } from './policy-entries.js';
import { itemText, seqOf, strings } from './yaml-doc.js';
import { type JsonObject, objectField, parsePackageDoc, prependHook } from './package-doc.js';

export const PNPM_HOOK_SCRIPT = 'pnpm:devPreinstall';
/** The comment on a minimumReleaseAgeExclude entry written for an approval: the next sync removes it. */
const APPROVAL_COMMENT = ' safe-install approval';

export interface PnpmGuardSettings {
  minReleaseAgeMinutes: number;
  /** Plain names (policy exclusions). */
  excludes: string[];
  /** `name@version` of live approvals (pnpm 10.19+ matches exact versions; older pnpm matches none: stricter). */
  approvals: { entry: string; expires: string }[];
  /** onlyBuiltDependencies entries: plain names, or `name@1.2.3 || 1.2.4` (pnpm 10.19+). */
  allow: string[];
  /** Names whose builds are denied (a denial wins). */
  deny: string[];
  notes: string[];
}

export function pnpmSettingsFromPolicy(policy: Policy, now = new Date()): PnpmGuardSettings {
  const e = policyEntries(policy, now);
  const notes = [
    ...e.excludes.other.map((p) => `minimumReleaseAgeExclude: "${p.text}" is not a plain name; pnpm keeps applying its age rule to it (safe-install honours it)`),
    ...e.denied.other.map((p) => `ignoredBuiltDependencies: "${p.text}" (a glob) cannot be written for pnpm; strictDepBuilds refuses such a build unless it is allowed`),
    ...e.allowed.other.map(
      (p) => `onlyBuiltDependencies: "${p.text}" (a glob or range) cannot be written for pnpm; a plain pnpm install refuses (pnpm 10) or skips (pnpm 9) it until exact entries are added`,
    ),
  ];
  const entry = (name: string, versions?: string[]) => (versions ? `${name}@${versions.join(' || ')}` : name);
  return {
    minReleaseAgeMinutes: e.minReleaseAgeMinutes,
    excludes: e.excludes.names,
    approvals: e.approvals.map((a) => ({ entry: entry(a.name, a.versions), expires: a.expires })),
    allow: [...new Set(e.allowed.entries.map((a) => entry(a.name, a.versions)))],
    deny: e.denied.names,
    notes,
  };
}

function addItems(doc: Document, seq: YAMLSeq, entries: string[]): void {
  const have = new Set(seq.items.map(itemText));
  for (const e of entries) if (!have.has(e)) seq.items.push(doc.createNode(e));
}

/**
 * pnpm-workspace.yaml (pnpm 10+) with the guard settings merged in: comments and every other key kept, a
 * stricter minimumReleaseAge kept, existing list entries kept (except that a denied name leaves the allow list).
 * `packageJsonPnpm` is the package.json `pnpm` field, whose build lists pnpm-workspace.yaml would override:
 * they are carried over so none is lost.
 */
export function applyWorkspaceYaml(text: string | null, s: PnpmGuardSettings, packageJsonPnpm?: Record<string, unknown>): string {
  const doc = parseDocument(text ?? '');
  if (doc.errors.length) throw new GuardError('bad-config', `pnpm-workspace.yaml is not valid YAML: ${doc.errors[0]?.message}`, { remedy: 'fix pnpm-workspace.yaml' });
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) doc.contents = doc.createNode({}) as never;
  if (!isMap(doc.contents)) throw new GuardError('bad-config', 'pnpm-workspace.yaml is not a mapping', { remedy: 'fix pnpm-workspace.yaml' });

  // A stricter age already in the file stays: init never weakens a setting.
  const existing = Number(doc.get('minimumReleaseAge'));
  const age = Math.max(Number.isFinite(existing) ? existing : 0, s.minReleaseAgeMinutes);
  if (doc.get('minimumReleaseAge') !== age) doc.set('minimumReleaseAge', age);

  const excl = seqOf(doc, 'minimumReleaseAgeExclude');
  // Approvals are re-written from the policy each time: an expired one leaves pnpm's list too.
  excl.items = excl.items.filter((i) => !(isScalar(i) && i.comment?.startsWith(APPROVAL_COMMENT)));
  addItems(doc, excl, s.excludes);
  for (const a of s.approvals) {
    const node = doc.createNode(a.entry);
    node.comment = `${APPROVAL_COMMENT} until ${a.expires}`;
    excl.items.push(node);
  }
  if (!excl.items.length) doc.delete('minimumReleaseAgeExclude');

  const pj = packageJsonPnpm ?? {};
  const never = doc.get('neverBuiltDependencies', true);
  const denied = new Set([...s.deny, ...strings(isSeq(never) || isScalar(never) ? never.toJSON() : undefined), ...strings(pj.neverBuiltDependencies), ...strings(pj.ignoredBuiltDependencies)]);
  const allowBuilds = doc.get('allowBuilds', true);
  if (isMap(allowBuilds)) {
    // pnpm 11's map: name -> true/false; an existing false stays.
    for (const a of [...s.allow, ...strings(pj.onlyBuiltDependencies)]) if (!denied.has(nameOf(a)) && allowBuilds.get(a) === undefined) allowBuilds.set(a, true);
    for (const d of denied) allowBuilds.set(d, false);
  } else {
    const only = seqOf(doc, 'onlyBuiltDependencies');
    only.items = only.items.filter((i) => !denied.has(nameOf(itemText(i))));
    addItems(
      doc,
      only,
      [...s.allow, ...strings(pj.onlyBuiltDependencies)].filter((a) => !denied.has(nameOf(a))),
    );
    // neverBuiltDependencies cannot sit beside onlyBuiltDependencies: its names move to ignoredBuiltDependencies
    // (still denied; every unlisted build is refused, which is stricter).
    doc.delete('neverBuiltDependencies');
    const ignored = seqOf(doc, 'ignoredBuiltDependencies');
    addItems(doc, ignored, [...denied]);
    if (!ignored.items.length) doc.delete('ignoredBuiltDependencies');
  }
  if (doc.get('strictDepBuilds') !== true) doc.set('strictDepBuilds', true);
  return doc.toString();
}

/**
 * package.json with the hook first in `pnpm:devPreinstall` (an existing script chained after it) and, for pnpm 9
 * and older (`legacyBuilds`), the build allowlist in the `pnpm` field, where pnpm 9 reads it.
 */
export function applyPnpmPackageJson(text: string, s: PnpmGuardSettings, opts: { legacyBuilds: boolean }): { text: string; notes: string[] } {
  const notes: string[] = [];
  parsePackageDoc(text); // a document that is not an object is the user's to fix (bad-config), not a crash
  const after = editPackageJson(text, (manifest) => {
    const doc = manifest as JsonObject;
    const scripts = objectField(doc, 'scripts') ?? {};
    doc.scripts = scripts;
    prependHook(scripts, PNPM_HOOK_SCRIPT, HOOK);
    if (opts.legacyBuilds) {
      const pnpm = objectField(doc, 'pnpm') ?? {};
      doc.pnpm = pnpm;
      if (pnpm.neverBuiltDependencies) {
        notes.push(
          'package.json pnpm.neverBuiltDependencies is set, and pnpm 9 cannot have it beside onlyBuiltDependencies: pnpm itself keeps building every other package (the hook still checks before anything is fetched)',
        );
      } else {
        // An empty list still matters: with it pnpm 9 builds nothing unlisted (without it, everything).
        const denied = new Set(s.deny);
        const only = strings(pnpm.onlyBuiltDependencies).filter((e) => !denied.has(nameOf(e)));
        for (const a of s.allow) if (!only.includes(a)) only.push(a);
        pnpm.onlyBuiltDependencies = only;
      }
    }
  });
  return { text: after, notes };
}
