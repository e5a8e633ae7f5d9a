// yarn's arrangement, so a teammate's plain yarn install is guarded too. From yarn's sources, measured with yarn
// 1.22.22 and 4.18.1 (test/integration/init-yarn.test.ts):
// - yarn 1 runs the root `preinstall` before it fetches anything (src/cli/commands/install.js wrapLifecycle:
//   preinstall, then Install.init), and a failing one fails the install: `"preinstall": "safe-install hook"`
//   checks the locked tree there. yarn 1 has no age gate and no per-package script switch (all or nothing), so
//   the hook also refuses a tree in which a plain yarn 1 install would run a script the policy does not allow.
// - yarn 2+ (berry) runs the root workspace's preinstall only while linking, after the fetch step, so it guards
//   nothing. The first thing `Project.install` does is the plugins' `validateProject` hook ("Project
//   validation"): a reported error there ends the install before resolution and fetch. A committed plugin
//   (.yarn/plugins/safe-install.cjs, registered in .yarnrc.yml `plugins`) runs `safe-install hook` there.
//   berry's own settings in .yarnrc.yml add to it: `npmMinimalAgeGate` (minutes; applied when yarn resolves a
//   version, never to a locked one on `--immutable`), `npmPreapprovedPackages` (names and `name@version`
//   descriptors), `enableScripts: false` with package.json `dependenciesMeta.<name>.built: true` (yarn builds
//   exactly those; `built: false` never builds). dependenciesMeta keys take a name or `name@<exact version>`
//   only: globs and ranges are left out, so yarn does not build them: never wider than the policy.
// - berry copies the root workspace's dependenciesMeta into its yarn.lock entry (Project.generateLockfile,
//   Manifest.exportTo), so `--immutable` refuses a package.json whose dependenciesMeta the lockfile lacks
//   (YN0028, measured): the entry is written too, with the same serializer (@yarnpkg/parsers stringifySyml).
import { parseSyml, stringifySyml } from '@yarnpkg/parsers';
import { isMap, isScalar, isSeq, parseDocument } from 'yaml';
import { GuardError } from '../errors.js';
import { editPackageJson } from '../project/package-json-text.js';
import { ageGateMs } from '../project/yarn-settings.js';
import type { Policy } from '../policy/load.js';
import { GUARD_ENV, PASS_NAME } from '../install/hook-pass.js';
import { nameOf, policyEntries } from './policy-entries.js';
import { itemText, seqOf } from './yaml-doc.js';
import { isObject } from '../util/is-object.js';
import { type JsonObject, objectField, parsePackageDoc } from './package-doc.js';

export const YARN_PLUGIN_PATH = '.yarn/plugins/safe-install.cjs';
/** The comment on an npmPreapprovedPackages entry written for an approval: the next sync removes it. */
const APPROVAL_COMMENT = ' safe-install approval';
/** yarn 4's own npmMinimalAgeGate default (1d, for lockfiles of yarn 4.15+): init never writes a lower one. */
const YARN_DEFAULT_GATE_MINUTES = 24 * 60;

export interface YarnGuardSettings {
  minReleaseAgeMinutes: number;
  /** Plain names (policy exclusions). */
  excludes: string[];
  /** `name@version` descriptors of live approvals. */
  approvals: { entry: string; expires: string }[];
  /** dependenciesMeta keys (a name, or `name@1.2.3`) -> built. A denial (false) wins. */
  built: Record<string, boolean>;
  notes: string[];
}

export function yarnSettingsFromPolicy(policy: Policy, now = new Date()): YarnGuardSettings {
  const e = policyEntries(policy, now);
  const notes = [
    ...e.excludes.other.map((p) => `npmPreapprovedPackages: "${p.text}" is not a plain name; yarn keeps applying its age gate to it (safe-install honours it)`),
    ...e.denied.other.map((p) => `dependenciesMeta: "${p.text}" (a glob) cannot be written for yarn; with enableScripts: false yarn builds it only if it is allowed by name`),
    ...e.allowed.other.map(
      (p) => `dependenciesMeta: "${p.text}" (a glob or range) cannot be written for yarn; a plain yarn install does not build it (enableScripts: false) until exact entries are added`,
    ),
  ];
  // dependenciesMeta and npmPreapprovedPackages take one version per key.
  const built: Record<string, boolean> = {};
  for (const a of e.allowed.entries) for (const key of a.versions ? a.versions.map((v) => `${a.name}@${v}`) : [a.name]) built[key] = true;
  for (const d of e.denied.names) built[d] = false;
  return {
    minReleaseAgeMinutes: e.minReleaseAgeMinutes,
    excludes: e.excludes.names,
    approvals: e.approvals.flatMap((a) => a.versions.map((v) => ({ entry: `${a.name}@${v}`, expires: a.expires }))),
    built,
    notes,
  };
}

/** Whether a .yarnrc.yml `plugins` entry (a path, or `{ path, spec }`) is the safe-install plugin. */
const isOurPlugin = (item: unknown) => {
  const json = isScalar(item) || isMap(item) ? item.toJSON() : item;
  const path = typeof json === 'string' ? json : (json as { path?: unknown } | null)?.path;
  return typeof path === 'string' && path.replace(/^\.\//, '') === YARN_PLUGIN_PATH;
};

/** Whether this .yarnrc.yml registers the safe-install plugin (what init writes; the sync looks for it). */
export function hasYarnPlugin(text: string | null): boolean {
  if (!text) return false;
  const doc = parseDocument(text);
  const plugins = doc.errors.length ? undefined : doc.get('plugins', true);
  return isSeq(plugins) && plugins.items.some(isOurPlugin);
}

/**
 * .yarnrc.yml (yarn 2+) with the plugin registered and the guard settings merged in: comments and every other
 * key kept, a stricter npmMinimalAgeGate kept, the user's own npmPreapprovedPackages entries kept.
 */
export function applyYarnrc(text: string | null, s: YarnGuardSettings): string {
  const doc = parseDocument(text ?? '');
  if (doc.errors.length) throw new GuardError('bad-config', `.yarnrc.yml is not valid YAML: ${doc.errors[0]?.message}`, { remedy: 'fix .yarnrc.yml' });
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) doc.contents = doc.createNode({}) as never;
  if (!isMap(doc.contents)) throw new GuardError('bad-config', '.yarnrc.yml is not a mapping', { remedy: 'fix .yarnrc.yml' });

  const plugins = seqOf(doc, 'plugins');
  if (!plugins.items.some(isOurPlugin)) plugins.items.push(doc.createNode({ path: YARN_PLUGIN_PATH }));

  // Never lower a gate: a stricter value in the file stays, and without one yarn's own default (1d) is the floor.
  const current = doc.get('npmMinimalAgeGate');
  const existing = current === undefined || current === null ? undefined : ageGateMs(current, '.yarnrc.yml npmMinimalAgeGate') / 60_000;
  if (existing !== undefined ? s.minReleaseAgeMinutes > existing : s.minReleaseAgeMinutes > 0) {
    doc.set('npmMinimalAgeGate', Math.max(s.minReleaseAgeMinutes, existing ?? YARN_DEFAULT_GATE_MINUTES));
  }

  const pre = seqOf(doc, 'npmPreapprovedPackages');
  // Approvals are re-written from the policy each time: an expired one leaves yarn's list too.
  pre.items = pre.items.filter((i) => !(isScalar(i) && i.comment?.startsWith(APPROVAL_COMMENT)));
  const have = new Set(pre.items.map(itemText));
  for (const e of s.excludes) if (!have.has(e)) pre.items.push(doc.createNode(e));
  for (const a of s.approvals) {
    if (have.has(a.entry)) continue;
    const node = doc.createNode(a.entry);
    node.comment = `${APPROVAL_COMMENT} until ${a.expires}`;
    pre.items.push(node);
  }
  if (!pre.items.length) doc.delete('npmPreapprovedPackages');

  // Dependencies build only where package.json dependenciesMeta says built: true.
  if (doc.get('enableScripts') !== false) doc.set('enableScripts', false);
  return doc.toString();
}

/**
 * package.json with dependenciesMeta `built` merged in: other fields of an entry (optional, unplugged) kept, an
 * existing `built: false` kept (a denial wins), and a denied name's version entries (`name@1.2.3`, which yarn
 * applies over the name's) denied too.
 */
export function applyYarnPackageJson(text: string, s: YarnGuardSettings): { text: string; notes: string[] } {
  const notes: string[] = [];
  parsePackageDoc(text); // a document that is not an object is the user's to fix (bad-config), not a crash
  const after = editPackageJson(text, (manifest) => {
    const doc = manifest as JsonObject;
    const meta: JsonObject = { ...objectField(doc, 'dependenciesMeta') };
    const denied = new Set(
      Object.entries(s.built)
        .filter(([, b]) => !b)
        .map(([k]) => nameOf(k)),
    );
    for (const [key, built] of Object.entries(s.built)) {
      const entry = objectField(meta, key, `"dependenciesMeta"."${key}"`) ?? {};
      meta[key] = { ...entry, built: entry.built === false ? false : built };
    }
    for (const key of Object.keys(meta)) {
      const entry = objectField(meta, key, `"dependenciesMeta"."${key}"`);
      if (!entry) continue;
      if (denied.has(nameOf(key)) && entry.built !== false) meta[key] = { ...entry, built: false };
      else if (entry.built === true && s.built[key] === undefined) {
        notes.push(`package.json dependenciesMeta "${key}" already says built: true: yarn builds it, and safe-install reads it as allowed (deny it with \`safe-install scripts deny ${nameOf(key)}\`)`);
      }
    }
    if (Object.keys(meta).length) doc.dependenciesMeta = meta;
  });
  return { text: after, notes };
}

/**
 * The committed yarn 2+ plugin: `safe-install hook` in `validateProject`, which `Project.install` runs before it
 * resolves or fetches anything (also for `yarn add` and `yarn up`); a failing hook becomes a reported error,
 * which ends the install there. Quiet only under safe-install's own install of this project: it uses the one-use
 * pass (src/install/hook-pass.ts) the guard gives that yarn, as `safe-install hook` would, so it needs no
 * safe-install to start there; any other install (one a script starts, in this project or another) is checked.
 */
export function yarnPluginSource(): string {
  return `// Written by \`safe-install init\`: every \`yarn install\` runs \`safe-install hook\` (the whole check of the locked
// tree) before yarn resolves or fetches anything, and stops when it fails. safe-install's own install of this
// project skips it: that yarn carries a one-use pass (a file naming this project) in ${GUARD_ENV}.
const { spawnSync } = require('child_process');
const { existsSync, lstatSync, readFileSync, realpathSync, unlinkSync } = require('fs');
const path = require('path');

function usePass(pass, cwd) {
  if (!pass || !path.isAbsolute(pass) || !${PASS_NAME}.test(path.basename(pass))) return false;
  try {
    if (!lstatSync(pass).isFile() || readFileSync(pass, 'utf8') !== realpathSync(cwd)) return false;
    unlinkSync(pass);
    return true;
  } catch {
    return false;
  }
}

module.exports = {
  name: 'safe-install',
  factory: () => ({
    hooks: {
      validateProject(project, { reportError }) {
        const win = process.platform === 'win32';
        // yarn's portable paths ("/C:/x" on Windows) back to native ones.
        const cwd = win ? project.cwd.replace(/^\\/([A-Za-z]:)/, '$1') : project.cwd;
        if (usePass(process.env.${GUARD_ENV}, cwd)) return;
        // The project's own copy (node-modules linker), else the one on PATH.
        const local = path.join(cwd, 'node_modules', '.bin', win ? 'safe-install.cmd' : 'safe-install');
        const cmd = existsSync(local) ? local : 'safe-install';
        const res = spawnSync(cmd, ['hook'], { cwd, stdio: 'inherit', shell: win });
        if (res.error) {
          reportError(0, \`safe-install hook could not start (\${res.error.code || res.error.message}): install safe-install where yarn finds it (a global install, or node_modules/.bin), or run \\\`npx safe-install\\\` in place of yarn install. Nothing was fetched.\`);
        } else if (res.status !== 0) {
          reportError(0, \`safe-install hook refused the install (exit \${res.status === null ? res.signal : res.status}); its report is above. Nothing was fetched.\`);
        }
      },
    },
  }),
};
`;
}

const LOCK_HEADER = '# This file is generated by running "yarn install" inside your project.\n# Manual changes might be lost - proceed with caution!\n\n';
const META_FIELDS = ['built', 'optional', 'unplugged'] as const;

/**
 * dependenciesMeta as berry writes it into the workspace's lockfile entry (Manifest.exportTo, compatibilityMode
 * off): only built/optional/unplugged, entries with none of them left out. The order is stringifySyml's (sorted).
 */
function lockfileMeta(meta: unknown): Record<string, Record<string, boolean>> | undefined {
  if (!meta || typeof meta !== 'object' || Array.isArray(meta)) return undefined;
  const out: Record<string, Record<string, boolean>> = {};
  for (const [key, raw] of Object.entries(meta as Record<string, unknown>)) {
    if (!raw || typeof raw !== 'object') continue;
    const value: Record<string, boolean> = {};
    for (const f of META_FIELDS) {
      const v = (raw as Record<string, unknown>)[f];
      if (typeof v === 'boolean') value[f] = v;
    }
    if (Object.keys(value).length) out[key] = value;
  }
  return Object.keys(out).length ? out : undefined;
}

/** JSON with sorted keys and scalars as text: the lockfile's order is its serializer's, and parseSyml reads `true` as "true". */
const canonical = (v: unknown): string =>
  isObject(v)
    ? `{${Object.keys(v)
        .sort()
        .map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`)
        .join(',')}}`
    : JSON.stringify(v === undefined || v === null ? null : String(v));

/**
 * yarn.lock (berry) with the root workspace's entry carrying package.json's dependenciesMeta, as yarn itself
 * would write it; the text unchanged when it already does (or when it is not a berry lockfile).
 */
export function applyYarnLock(lockText: string | null, pkgText: string): string | null {
  if (lockText === null || !/^__metadata:/m.test(lockText)) return lockText;
  let lock: Record<string, Record<string, unknown>>;
  try {
    lock = parseSyml(lockText) as typeof lock;
  } catch (err) {
    throw new GuardError('bad-lockfile', `yarn.lock cannot be read: ${(err as Error).message}`, { remedy: 'fix yarn.lock (yarn install)' });
  }
  const root = Object.values(lock).find((e) => typeof e?.resolution === 'string' && e.resolution.endsWith('@workspace:.'));
  if (!root) return lockText;
  const want = lockfileMeta((JSON.parse(pkgText) as { dependenciesMeta?: unknown }).dependenciesMeta);
  if (canonical(root.dependenciesMeta) === canonical(want)) return lockText;
  if (want) root.dependenciesMeta = want;
  else delete root.dependenciesMeta;
  return LOCK_HEADER + stringifySyml(lock);
}
