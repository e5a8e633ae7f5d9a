// npm's own guards, kept in sync with the policy so a teammate's plain `npm ci` is guarded too (npm 11):
// `min-release-age` and `min-release-age-exclude` refuse young versions at resolution, `strict-allow-scripts`
// plus package.json `allowScripts` refuse unapproved install scripts before extraction. What npm cannot express
// (globs, semver ranges) is left out, so npm's strict mode refuses it: never wider than the policy. Exact versions
// (`name@1.2.3 || 1.2.4`) npm matches against the lockfile's `resolved` URL (arborist script-allowed.js); without
// one (omit-lockfile-registry-resolved) it refuses a versioned allow, which is fail-closed too.
import { editPackageJson } from '../project/package-json-text.js';
import type { Policy } from '../policy/load.js';
import { PLAIN, policyEntries } from './policy-entries.js';
import { type JsonObject, objectField, parsePackageDoc, prependHook } from './package-doc.js';

export const NPMRC_MARKER = '# safe-install: the lines below are kept in sync with the policy (safe-install init)';
export const HOOK = 'safe-install hook';
const MANAGED = ['min-release-age', 'min-release-age-exclude', 'min-release-age-exclude[]', 'strict-allow-scripts'];

export interface NpmGuardSettings {
  minReleaseAgeDays: number;
  excludes: string[];
  allowScripts: Record<string, boolean>;
  /** What npm cannot express, said to the user. */
  notes: string[];
}

/** Plain package names: what npm's allowScripts and min-release-age-exclude can match safely. */
const plainName = (p: { name: string; range?: string }) => !p.range && PLAIN.test(p.name);

export function npmSettingsFromPolicy(policy: Policy, now = new Date()): NpmGuardSettings {
  const notes: string[] = [];
  const days = Math.ceil(Math.max(0, ...policy.ageRules.map((r) => r.ms)) / 86_400_000);
  const excludes: string[] = [];
  for (const p of policy.ageRules[0]?.exclude ?? []) {
    if (plainName(p)) excludes.push(p.name);
    else notes.push(`min-release-age-exclude: "${p.text}" is not a plain name; npm keeps applying its age rule to it (safe-install honours it)`);
  }
  // A live approval of a young version: npm can only exempt the whole name, until the next sync after expiry.
  for (const e of policy.exceptions) {
    if (Date.parse(e.expires) > now.getTime() && (e.checks.includes('release-age') || e.checks.includes('*')) && e.pattern.name && !e.pattern.name.includes('*')) {
      if (!excludes.includes(e.pattern.name)) excludes.push(e.pattern.name);
      notes.push(`min-release-age-exclude: ${e.pattern.name} while its approval lasts (until ${e.expires}); safe-install still holds other versions`);
    }
  }
  const allowScripts: Record<string, boolean> = {};
  const entries = policyEntries(policy, now);
  for (const a of entries.allowed.entries) allowScripts[a.versions ? `${a.name}@${a.versions.join(' || ')}` : a.name] = true;
  for (const p of entries.allowed.other) {
    notes.push(`allowScripts: "${p.text}" (a glob or range) cannot be written for npm; npm's strict mode refuses it until exact entries are added`);
  }
  // A denial wins; one of some versions denies the name (stricter).
  for (const name of entries.denied.names) allowScripts[name] = false;
  return { minReleaseAgeDays: days, excludes, allowScripts, notes };
}

/** The project .npmrc with the managed lines replaced (every other line kept as it was). */
export function applyNpmrc(text: string, s: NpmGuardSettings): string {
  const lines = text.split(/\r?\n/);
  let existingAge = 0;
  const kept = lines.filter((line) => {
    if (line.trim() === NPMRC_MARKER) return false;
    const m = /^\s*([^=#;\s]+)\s*=\s*(.*)$/.exec(line);
    const key = m?.[1];
    if (!m || key === undefined || !MANAGED.includes(key)) return true;
    if (key === 'min-release-age') existingAge = Number(m[2]) || 0;
    return false;
  });
  while (kept.at(-1)?.trim() === '') kept.pop();
  const block = [
    NPMRC_MARKER,
    // A stricter age already in the file stays: init never weakens a setting.
    `min-release-age=${Math.max(existingAge, s.minReleaseAgeDays)}`,
    ...s.excludes.map((e) => `min-release-age-exclude[]=${e}`),
    'strict-allow-scripts=true',
  ];
  return [...kept, ...(kept.length ? [''] : []), ...block, ''].join('\n');
}

/** package.json with allowScripts merged (existing entries kept; a denial wins) and the hook in preinstall. */
export function applyPackageJson(text: string, s: NpmGuardSettings): string {
  parsePackageDoc(text); // a document that is not an object is the user's to fix (bad-config), not a crash
  return editPackageJson(text, (manifest) => {
    const doc = manifest as JsonObject;
    const before = objectField(doc, 'allowScripts');
    const allow: JsonObject = { ...before };
    for (const [name, value] of Object.entries(s.allowScripts)) allow[name] = allow[name] === false ? false : value;
    if (Object.keys(allow).length || before) doc.allowScripts = allow;
    const scripts = objectField(doc, 'scripts') ?? {};
    doc.scripts = scripts;
    prependHook(scripts, 'preinstall', HOOK);
  });
}
