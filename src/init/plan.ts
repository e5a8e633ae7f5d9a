// What `init` (and a later policy edit) would write: each file's text before and after. Nothing is written here.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { GuardError } from '../errors.js';
import { loadNpmSettings } from '../project/npm-config.js';
import { readLockfile } from '../lockfile/index.js';
import { readProjectManifest } from '../project/package-json.js';
import { loadPolicy, POLICY_FILE } from '../policy/load.js';
import { policyLocks, SCHEMA_REF } from '../policy/edit.js';
import { diffLines, unifiedDiff } from '../util/line-diff.js';
import { transaction } from '../util/transaction.js';
import { displayText } from '../util/safe-text.js';
import { applyNpmrc, applyPackageJson, npmSettingsFromPolicy, NPMRC_MARKER } from './npm-settings.js';
import { applyPnpmPackageJson, applyWorkspaceYaml, pnpmSettingsFromPolicy, PNPM_HOOK_SCRIPT } from './pnpm-settings.js';
import { applyYarnLock, applyYarnPackageJson, applyYarnrc, hasYarnPlugin, YARN_PLUGIN_PATH, yarnPluginSource, yarnSettingsFromPolicy } from './yarn-settings.js';
import { githubWorkflow, WORKFLOW_PATH } from './workflow.js';
import { readRelease } from './release.js';
import { nameOf } from './policy-entries.js';
import { HOOK } from './npm-settings.js';
import { parsePackageManagerField } from '../project/package-manager.js';
import { existsSync, readFileSync } from 'node:fs';
import semver from 'semver';

const require = createRequire(import.meta.url);

export interface FileChange {
  path: string;
  before: string | null;
  after: string;
}

/** A file's text, or null when there is none (a parent that is not a folder counts: init cannot find one there). */
const read = (p: string) =>
  readFile(p, 'utf8').catch((err: NodeJS.ErrnoException) =>
    err.code === 'ENOENT' || err.code === 'ENOTDIR'
      ? null
      : Promise.reject(new GuardError('bad-config', `cannot read ${p}: ${err.message}`, { remedy: `init writes this file: make it a readable file (or remove what is there)`, cause: err })),
  );

/** Files init would change must be UTF-8: they are edited as text, and any other byte would not survive. */
async function assertEditable(changes: FileChange[]): Promise<void> {
  for (const c of changes) {
    if (c.before === null) continue;
    const bytes = await readFile(c.path);
    if (!Buffer.from(bytes.toString('utf8'), 'utf8').equals(bytes)) {
      throw new GuardError('bad-config', `${c.path} is not valid UTF-8: editing it would change bytes it holds`, { remedy: 'save it as UTF-8, then run this again' });
    }
  }
}

/**
 * Which arrangement init sets up: npm's, pnpm's (10+ settings in pnpm-workspace.yaml; 9 and older in
 * package.json), or yarn's (1: the root preinstall; 2+: a plugin and .yarnrc.yml).
 */
export interface Arrangement {
  pm: 'npm' | 'pnpm' | 'yarn';
  /** pnpm's major version from package.json packageManager; undefined when it does not say. */
  pnpmMajor?: number;
  /** yarn: 1 (classic) or 2+ (berry); `yarnFrom` says what decided it. */
  yarnMajor?: number;
  yarnFrom?: string;
}

/** The yarn a project runs: packageManager's version, else the lockfile's format, else a .yarnrc.yml yarnPath. */
function yarnMajorOf(dir: string, version: string | undefined): { yarnMajor: number; yarnFrom: string } {
  if (version) return { yarnMajor: semver.major(version), yarnFrom: 'package.json packageManager' };
  let lock = '';
  try {
    lock = readFileSync(join(dir, 'yarn.lock'), 'utf8');
  } catch {
    // no lockfile yet
  }
  if (/^__metadata:/m.test(lock)) return { yarnMajor: 2, yarnFrom: 'yarn.lock (berry format)' };
  if (lock) return { yarnMajor: 1, yarnFrom: 'yarn.lock (yarn 1 format)' };
  let rc = '';
  try {
    rc = readFileSync(join(dir, '.yarnrc.yml'), 'utf8');
  } catch {
    // none
  }
  return /^yarnPath:/m.test(rc) ? { yarnMajor: 2, yarnFrom: '.yarnrc.yml yarnPath' } : { yarnMajor: 1, yarnFrom: 'no yarn.lock or yarnPath to say otherwise' };
}

/**
 * pnpm or yarn when package.json packageManager names it, or when its lockfile (pnpm-lock.yaml, yarn.lock) is
 * the project's lockfile (no package-lock.json beside it); npm otherwise.
 */
export function arrangementOf(dir: string, packageManagerField: unknown): Arrangement {
  const declared = parsePackageManagerField(packageManagerField);
  const lockfile = (name: string) => existsSync(join(dir, name)) && !existsSync(join(dir, 'package-lock.json'));
  const pm = declared ? declared.pm : lockfile('pnpm-lock.yaml') ? 'pnpm' : lockfile('yarn.lock') ? 'yarn' : 'npm';
  if (pm === 'yarn') return { pm, ...yarnMajorOf(dir, declared?.version) };
  if (pm !== 'pnpm') return { pm: 'npm' };
  return { pm: 'pnpm', ...(declared?.version && { pnpmMajor: semver.major(declared.version) }) };
}

export async function planInit(dir: string, opts: { ci?: string; policyPath?: string; now?: Date }): Promise<{ changes: FileChange[]; notes: string[]; arrangement: Arrangement }> {
  const plan = await planChanges(dir, opts);
  await assertEditable(plan.changes);
  return plan;
}

async function planChanges(dir: string, opts: { ci?: string; policyPath?: string; now?: Date }): Promise<{ changes: FileChange[]; notes: string[]; arrangement: Arrangement }> {
  const pkgPath = join(dir, 'package.json');
  const pkgText = await read(pkgPath);
  if (pkgText === null) throw new GuardError('bad-usage', `no package.json in ${dir}`, { remedy: 'run init in the project folder (-C <dir>)' });
  const policyPath = opts.policyPath ?? join(dir, POLICY_FILE);
  const policyText = await read(policyPath);
  const policyAfter = policyText ?? JSON.stringify({ $schema: SCHEMA_REF }, null, 2) + '\n';
  const changes: FileChange[] = [{ path: policyPath, before: policyText, after: policyAfter }];

  // The policy as it will be, with the project's own lists (package.json allowScripts) as inputs.
  const npm = await loadNpmSettings(dir);
  const manifest = await readProjectManifest(dir);
  const policy = await loadPolicy(dir, policyText === null ? undefined : policyPath, npm, { allowScripts: manifest?.allowScripts });
  const arrangement = arrangementOf(dir, (JSON.parse(pkgText) as { packageManager?: unknown }).packageManager);
  if (arrangement.pm === 'pnpm') {
    const { notes } = await planPnpm(dir, pkgText, policy, arrangement, changes, opts.now);
    await addWorkflow(changes, dir, opts.ci, 'pnpm', notes);
    return { changes: changes.filter((c) => c.before !== c.after), notes, arrangement };
  }
  if (arrangement.pm === 'yarn') {
    const { notes } = await planYarn(dir, pkgText, policy, arrangement, changes, opts.now);
    await addWorkflow(changes, dir, opts.ci, 'yarn', notes);
    return { changes: changes.filter((c) => c.before !== c.after), notes, arrangement };
  }
  const settings = npmSettingsFromPolicy(policy, opts.now);
  const npmrcPath = join(dir, '.npmrc');
  const npmrcText = await read(npmrcPath);
  changes.push({ path: npmrcPath, before: npmrcText, after: applyNpmrc(npmrcText ?? '', settings) });
  changes.push({ path: pkgPath, before: pkgText, after: applyPackageJson(pkgText, settings) });
  await addWorkflow(changes, dir, opts.ci, 'npm', settings.notes);
  // Packages whose scripts npm's strict mode will refuse until someone decides: say so now, not at the next install.
  try {
    const tree = readLockfile(dir);
    // Listed by name or by name@versions (npm matches the versions; a version not listed is refused).
    const listed = new Set([...Object.keys(settings.allowScripts), ...Object.keys(manifest?.allowScripts ?? {})].map(nameOf));
    const unlisted = [...new Set(tree.packages.filter((p) => p.hasInstallScript && p.source === 'registry' && !listed.has(p.name)).map((p) => p.name))];
    if (unlisted.length) {
      settings.notes.push(
        `${unlisted.join(', ')} ${unlisted.length === 1 ? 'has' : 'have'} install scripts in neither list: a plain npm ci will refuse the install until you run \`safe-install scripts allow <name>\` or \`safe-install scripts deny <name>\``,
      );
    }
  } catch {
    // no lockfile yet: nothing to warn about
  }
  return { changes: changes.filter((c) => c.before !== c.after), notes: settings.notes, arrangement };
}

async function addWorkflow(changes: FileChange[], dir: string, ci: string | undefined, pm: 'npm' | 'pnpm' | 'yarn' = 'npm', notes: string[] = []): Promise<void> {
  if (ci === 'github') {
    const wfPath = join(dir, WORKFLOW_PATH);
    const version = (require('../../package.json') as { version: string }).version;
    const release = readRelease(version);
    if (!release) {
      notes.push(
        `${WORKFLOW_PATH}: this safe-install has no release data (a development build), so the workflow runs npx --yes safe-install@${version}, not the action pinned by commit SHA, and npx does not check its integrity; docs/guide/pinning-the-guard.md shows how to pin it`,
      );
    }
    changes.push({ path: wfPath, before: await read(wfPath), after: githubWorkflow({ version, release, pm }) });
  } else if (ci !== undefined) {
    throw new GuardError('bad-usage', `--ci ${ci} is not supported (supported: github)`);
  }
}

/**
 * pnpm's arrangement: the hook in `pnpm:devPreinstall` (pnpm 9 and 10 run it before fetching), and pnpm's own
 * settings where that pnpm reads them: pnpm-workspace.yaml for pnpm 10+ (pnpm 9 fails on a settings-only
 * pnpm-workspace.yaml), the package.json `pnpm` field's build list for pnpm 9 and older.
 */
async function planPnpm(dir: string, pkgText: string, policy: Awaited<ReturnType<typeof loadPolicy>>, a: Arrangement, changes: FileChange[], now?: Date): Promise<{ notes: string[] }> {
  const s = pnpmSettingsFromPolicy(policy, now);
  const legacy = a.pnpmMajor !== undefined && a.pnpmMajor < 10;
  const pkgPath = join(dir, 'package.json');
  const pkg = applyPnpmPackageJson(pkgText, s, { legacyBuilds: legacy });
  changes.push({ path: pkgPath, before: pkgText, after: pkg.text });
  const notes = [...s.notes, ...pkg.notes];
  if (legacy) {
    notes.push(
      `pnpm ${a.pnpmMajor} (package.json packageManager) has no minimumReleaseAge and no strictDepBuilds, and reads no settings from pnpm-workspace.yaml: ` +
        'the hook (pnpm:devPreinstall, before anything is fetched) is its only age and integrity guard, and an unlisted build is skipped silently',
    );
  } else {
    const wsPath = join(dir, 'pnpm-workspace.yaml');
    const wsText = await read(wsPath);
    const pj = (JSON.parse(pkgText) as { pnpm?: Record<string, unknown> }).pnpm;
    changes.push({ path: wsPath, before: wsText, after: applyWorkspaceYaml(wsText, s, pj) });
    if (pj?.neverBuiltDependencies) {
      notes.push(
        'package.json pnpm.neverBuiltDependencies: its names are now denied in pnpm-workspace.yaml (ignoredBuiltDependencies); remove it from package.json, pnpm refuses it beside onlyBuiltDependencies',
      );
    }
    if (a.pnpmMajor === undefined) {
      notes.push(
        'package.json has no packageManager naming a pnpm version: the pnpm 10 arrangement (pnpm-workspace.yaml) was chosen; pnpm 9 fails on a pnpm-workspace.yaml without `packages`. ' +
          'For pnpm 9 set "packageManager": "pnpm@9.x.y" and run init again',
      );
    }
  }
  if (/\bignore-scripts\s*=\s*true\b/.test((await read(join(dir, '.npmrc'))) ?? '')) {
    notes.push('.npmrc sets ignore-scripts=true: pnpm then skips pnpm:devPreinstall, so the hook cannot guard a plain install (use `safe-install` in place of pnpm install)');
  }
  return { notes };
}

/**
 * yarn's arrangement. yarn 1: the hook as the root `preinstall` (yarn 1 runs it before fetching anything); yarn 1
 * has no settings of its own to write. yarn 2+: the plugin that runs the hook before resolution and fetch, and
 * berry's own settings (.yarnrc.yml; package.json dependenciesMeta).
 */
async function planYarn(dir: string, pkgText: string, policy: Awaited<ReturnType<typeof loadPolicy>>, a: Arrangement, changes: FileChange[], now?: Date): Promise<{ notes: string[] }> {
  const pkgPath = join(dir, 'package.json');
  const notes: string[] = [];
  if (a.yarnMajor === 1) {
    changes.push({ path: pkgPath, before: pkgText, after: applyPackageJson(pkgText, { minReleaseAgeDays: 0, excludes: [], allowScripts: {}, notes: [] }) });
    notes.push(
      `yarn 1 (${a.yarnFrom}) has no age gate and no per-package script switch: the preinstall hook (before yarn fetches anything) is its only guard, ` +
        'so it refuses the install while a package with install scripts is not allowed (unlisted or denied: a plain yarn 1 install would run it); ' +
        '`safe-install` in place of yarn install runs only the allowed ones',
    );
    const rc = `${(await read(join(dir, '.yarnrc'))) ?? ''}\n${(await read(join(dir, '.npmrc'))) ?? ''}`;
    if (/^\s*"?ignore-scripts"?\s*[= ]\s*"?true\b/m.test(rc)) {
      notes.push('.yarnrc or .npmrc sets ignore-scripts: yarn 1 then skips the preinstall hook, so it cannot guard a plain install (use `safe-install` in place of yarn install)');
    }
    return { notes };
  }
  const s = yarnSettingsFromPolicy(policy, now);
  notes.push(...s.notes);
  const pkg = applyYarnPackageJson(pkgText, s);
  changes.push({ path: pkgPath, before: pkgText, after: pkg.text });
  notes.push(...pkg.notes);
  // yarn keeps the root's dependenciesMeta in yarn.lock too; --immutable refuses a lockfile that lacks it.
  const lockPath = join(dir, 'yarn.lock');
  const lockText = await read(lockPath);
  const lockAfter = applyYarnLock(lockText, pkg.text);
  if (lockText !== null && lockAfter !== null) changes.push({ path: lockPath, before: lockText, after: lockAfter });
  const rcPath = join(dir, '.yarnrc.yml');
  changes.push({ path: rcPath, before: await read(rcPath), after: applyYarnrc(await read(rcPath), s) });
  const pluginPath = join(dir, YARN_PLUGIN_PATH);
  changes.push({ path: pluginPath, before: await read(pluginPath), after: yarnPluginSource() });
  if (a.yarnFrom !== 'package.json packageManager') {
    notes.push(`yarn 2+ chosen from ${a.yarnFrom}; for yarn 1 set "packageManager": "yarn@1.22.22" and run init again`);
  }
  return { notes };
}

/** Whether init set this project's package manager up (the marker npm's .npmrc carries, pnpm's hook script, yarn's plugin). */
async function initedHere(dir: string): Promise<boolean> {
  if ((await read(join(dir, '.npmrc')))?.includes(NPMRC_MARKER)) return true;
  if (hasYarnPlugin(await read(join(dir, '.yarnrc.yml')))) return true;
  const pkg = await read(join(dir, 'package.json'));
  try {
    return pkg !== null && String((JSON.parse(pkg) as { scripts?: Record<string, unknown> }).scripts?.[PNPM_HOOK_SCRIPT] ?? '').includes(HOOK);
  } catch {
    return false;
  }
}

export function diffText(c: FileChange, relativeTo: string): string {
  const path = c.path.startsWith(relativeTo) ? c.path.slice(relativeTo.length + 1) : c.path;
  // Shown as inert text with credentials masked: an .npmrc holds `//host/:_authToken=...` lines and registry URLs
  // with a password; a line ending's \r is not shown.
  const lines = (t: string) => (t.endsWith('\n') ? t.slice(0, -1) : t).split('\n').map((l) => displayText(l.replace(/\r$/, '')));
  const ops = diffLines(c.before === null ? [] : lines(c.before), lines(c.after));
  return unifiedDiff(path, ops, { context: 3, maxLines: 400, maxLineChars: 300, added: c.before === null }).text;
}

/**
 * Write a plan's files: all of them or none. One transaction under the project's lock (and the policy's own,
 * when it lives elsewhere): each file must still be what the plan was made from (a parallel edit between plan
 * and write stops it, instead of being overwritten), and a failure halfway, or an interrupt, puts back every file
 * already written, byte for byte (new files and the folders made for them are removed).
 */
export async function applyChanges(dir: string, changes: FileChange[], opts: { label?: string; policyPath?: string } = {}): Promise<void> {
  await transaction({ label: opts.label ?? 'init', locks: policyLocks(dir, opts.policyPath), lockOptions: { what: "this project's policy and settings" }, relativeTo: dir }, async (t) => {
    await t.track(...changes.map((c) => c.path));
    for (const c of changes) {
      const now = await read(c.path).catch(() => undefined);
      if (now !== c.before) {
        throw new GuardError('bad-usage', `${c.path} changed since its new content was worked out, so it was not written`, { remedy: 'run it again' });
      }
    }
    for (const c of changes) await t.write(c.path, c.after);
  });
}

/**
 * After an explicit policy edit (scripts allow|deny, approve): keep the package manager's settings in step, in
 * a project that init set up (npm: its .npmrc carries the marker; pnpm: the hook is in pnpm:devPreinstall; yarn 2+:
 * .yarnrc.yml registers the plugin; yarn 1 has no settings to keep in step).
 * Returns the files it changed. Read, planned and written under the project's lock (joining the edit's
 * transaction), so two edits at once each see the other's policy.
 */
export async function syncNpmSettings(dir: string, policyPath?: string): Promise<string[]> {
  return transaction({ label: 'settings sync', locks: policyLocks(dir, policyPath), lockOptions: { what: "this project's policy and settings" }, relativeTo: dir }, async () => {
    if (!(await initedHere(dir))) return [];
    const { changes } = await planInit(dir, { policyPath });
    const pmOnly = changes.filter((c) => ['.npmrc', 'package.json', 'pnpm-workspace.yaml', '.yarnrc.yml', 'yarn.lock'].some((f) => c.path === join(dir, f)));
    await applyChanges(dir, pmOnly, { label: 'settings sync', policyPath });
    return pmOnly.map((c) => c.path);
  });
}
