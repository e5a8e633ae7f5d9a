// `safe-install fix`: replace quarantined versions by their fallbacks (the newest version that passes and
// satisfies every dependent's range) the way npm itself would: npm's own resolver writes the lockfile,
// lockfile-only and with scripts off, so node_modules is never touched and nothing runs.
//
// - A dependency of the root package.json: `npm install <name>@<fallback> --save-exact` (npm resolves it and
//   writes its lockfile entry, dependencies included), then package.json's own bytes are put back and a plain
//   `npm install --package-lock-only` re-syncs the lockfile's root entry. npm keeps a locked version that
//   satisfies the range, and the fallback satisfies every dependent's range (the root's included), so the
//   net effect is the lockfile moves and package.json does not change at all. (`--no-save` with
//   `--package-lock-only` writes nothing; an override on a direct dependency must equal its spec, EOVERRIDE.)
// - Anything else (a transitive dependency, or a workspace's): an `overrides` entry
//   `"<name>@<held version>": "<fallback>"` in package.json, then `npm install --package-lock-only`. The key
//   only catches dependency ranges that admit the held version, and it stays so that npm never resolves the
//   held version again (remove it once the version is eligible). When the root also depends on that name
//   with a range admitting the held version (npm would refuse the top-level key, EOVERRIDE), the override is
//   scoped under each dependent instead: `"<dependent>": { "<name>@<held>": "<fallback>" }`.
//
// Before writing, package.json and the lockfile are backed up in the project's scratch folder
// (.safe-install/tmp/<name>.backup, ignored by git through the folder's own .gitignore); the result is re-checked;
// if npm fails, the re-check does not complete, a held version is still there or anything new is held, both
// files are restored byte for byte.
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import semver from 'semver';
import { GuardError } from '../errors.js';
import type { CheckResult } from '../pipeline.js';
import type { Finding } from '../types.js';
import type { LockedPackage, LockedTree } from '../lockfile/types.js';
import type { PackageVerdict } from '../verdict/verdict.js';
import { dependentRange } from '../checks/fallback.js';
import { runNpm } from '../install/npm.js';
import { editPackageJson } from '../project/package-json-text.js';
import { projectLockPath, scratchDir } from '../util/lock.js';
import { transaction } from '../util/transaction.js';
import { isObject } from '../util/is-object.js';

export const BACKUP_SUFFIX = '.backup';

/** Where fix keeps the backup of `file`: the project's scratch folder, never the project root. */
export function backupPath(projectDir: string, file: string): string {
  return join(scratchDir(projectDir), basename(file) + BACKUP_SUFFIX);
}
/** Every npm run: the lockfile only (node_modules untouched), no lifecycle script, no audit or funding calls. */
export const NPM_BASE_ARGS = ['install', '--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund'];
const DEP_FIELDS = ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies'] as const;
const ROOT = '(root)';

export type FixRoute =
  /** A dependency of the root package.json: installed exactly by npm, then package.json's range restored. */
  | { kind: 'direct'; field: (typeof DEP_FIELDS)[number]; key: string; spec: string; installSpec: string }
  /** Anything else: an `overrides` entry at `path` (top level, or under a dependent). */
  | { kind: 'override'; path: [string] | [string, string]; value: string };

export interface PlannedFix {
  pkg: LockedPackage;
  /** The findings that held it (action quarantine). */
  findings: Finding[];
  fallback: string;
  route: FixRoute;
}

export interface Unfixable {
  pkg: LockedPackage;
  verdict: 'quarantine' | 'block';
  findings: Finding[];
  /** Why fix does not replace it, and what the user can do. */
  reason: string;
}

export interface ManifestChange {
  /** e.g. `overrides["leaf@2.1.0"]`, `overrides.mid["leaf@2.1.0"]` */
  path: string;
  before?: unknown;
  after?: unknown;
}

export interface FixPlan {
  projectDir: string;
  manifestPath: string;
  lockfilePath: string;
  fixes: PlannedFix[];
  unfixable: Unfixable[];
  /** package.json as read. */
  manifestBefore: string;
  /** package.json with the override entries (=== manifestBefore when there are none). */
  manifestAfter: string;
  manifestChanges: ManifestChange[];
  /** The npm runs, in order (arguments after `npm`); a run marked restoreManifest first writes manifestAfter back. */
  npmRuns: { args: string[]; restoreManifest: boolean; why: string }[];
}

import { diffLockfiles, type VersionChange } from '../lockfile/diff.js';
export { diffLockfiles, type VersionChange };

export interface FixOutcome {
  /** fixed: every planned version replaced and nothing new held; the files are kept (backups too). */
  status: 'fixed' | 'rejected' | 'incomplete';
  after: CheckResult;
  lockfileChanges: VersionChange[];
  manifestChanges: ManifestChange[];
  /** Planned fixes whose held version npm kept. */
  notReplaced: PlannedFix[];
  /** Held after the fix and not among the known unfixable ones (a new young dependency of a fallback...). */
  newlyHeld: PackageVerdict[];
  backups: { manifest: string; lockfile: string };
  /** False when the files were restored (the outcome was not kept). */
  kept: boolean;
}

// ------------------------------------------------------------------------------------------ planning

/** What fix would do with the check's result. Pure: reads nothing but the package.json text given. */
export function planFix(result: CheckResult, manifestText: string): FixPlan {
  const projectDir = result.tree.root.dir;
  const lockfilePath = result.tree.lockfilePath;
  const manifestPath = join(projectDir, 'package.json');
  const manifest = parseManifest(manifestText, manifestPath);
  const rootDeps = DEP_FIELDS.flatMap((field) => {
    const deps = manifest[field];
    if (!isObject(deps)) return [];
    return Object.entries(deps)
      .filter((e): e is [string, string] => typeof e[1] === 'string')
      .map(([key, spec]) => ({ field, key, spec }));
  });

  const fixes: PlannedFix[] = [];
  const unfixable: Unfixable[] = [];
  for (const v of result.verdicts) {
    if (v.verdict !== 'quarantine' && v.verdict !== 'block') continue;
    const held = v.findings.filter((f) => f.action === v.verdict);
    const stop = (reason: string) => unfixable.push({ pkg: v.pkg, verdict: v.verdict as 'quarantine' | 'block', findings: held, reason });
    if (v.verdict === 'block') {
      stop(`blocked (${codes(held)}): fix replaces only quarantined versions; ${held.find((f) => f.remedy)?.remedy ?? 'see the check report'}`);
      continue;
    }
    const young = v.findings.find((f) => f.code === 'too-young');
    const fallback = young?.data?.fallback;
    if (typeof fallback !== 'string') {
      const remedy = young?.remedy ?? held.find((f) => f.remedy)?.remedy;
      stop(`no fallback (${codes(held)})${remedy ? `: ${remedy}` : ''}`);
      continue;
    }
    const { pkg } = v;
    const direct = rootDeps.find((d) => pkg.paths.includes(`node_modules/${d.key}`));
    if (direct) {
      const range = dependentRange(direct.spec);
      if (range !== undefined && !semver.satisfies(fallback, range)) {
        stop(`package.json asks for ${direct.key}@${direct.spec}, which does not allow the fallback ${fallback}`);
        continue;
      }
      const installSpec = direct.key === pkg.name ? `${pkg.name}@${fallback}` : `${direct.key}@npm:${pkg.name}@${fallback}`;
      fixes.push({ pkg, findings: held, fallback, route: { kind: 'direct', ...direct, installSpec } });
      continue;
    }
    if (pkg.aliases.length) {
      stop(`installed under an alias (${pkg.aliases.join(', ')}) by a dependency; pin ${pkg.name}@${fallback} in package.json "overrides" by hand`);
      continue;
    }
    const key = `${pkg.name}@${pkg.version}`;
    // npm refuses (EOVERRIDE) a top-level override that would rewrite one of the root's own dependencies.
    const clash = rootDeps.find((d) => d.key === pkg.name && specAdmits(d.spec, pkg.version));
    if (!clash) {
      fixes.push({ pkg, findings: held, fallback, route: { kind: 'override', path: [key], value: fallback } });
      continue;
    }
    const parents = [...new Set(pkg.dependents.map((d) => d.name))];
    if (parents.includes(ROOT) || !parents.length) {
      stop(`an override for ${key} would clash with the root's own dependency ${clash.key}@${clash.spec} (npm EOVERRIDE); pin it by hand`);
      continue;
    }
    for (const parent of parents) fixes.push({ pkg, findings: held, fallback, route: { kind: 'override', path: [parent, key], value: fallback } });
  }

  // The override entries, written into package.json in its own indentation and line endings (npm's reader
  // records them).
  let manifestAfter = manifestText;
  const overrideRoutes = fixes.map((f) => f.route).filter((r): r is Extract<FixRoute, { kind: 'override' }> => r.kind === 'override');
  if (overrideRoutes.length) {
    manifestAfter = editPackageJson(manifestText, (doc) => {
      if (doc.overrides !== undefined && !isObject(doc.overrides)) {
        throw new GuardError('bad-config', `${manifestPath}: "overrides" must be an object`, { remedy: 'fix package.json' });
      }
      const overrides: Record<string, unknown> = (doc.overrides as Record<string, unknown> | undefined) ?? {};
      doc.overrides = overrides;
      for (const r of overrideRoutes) {
        // `[name]` or `[parent, name]`.
        const [parent, key] = r.path as [string, string?];
        if (key === undefined) {
          overrides[parent] = r.value;
          continue;
        }
        const existing = overrides[parent];
        // A string override for the parent itself becomes npm's `"."` form so the nested rule can sit beside it.
        const scoped: Record<string, unknown> = isObject(existing) ? existing : existing === undefined ? {} : { '.': existing };
        scoped[key] = r.value;
        overrides[parent] = scoped;
      }
    });
  }
  const manifestChanges = diffJson(manifest, JSON.parse(manifestAfter));

  const directs = fixes.map((f) => f.route).filter((r): r is Extract<FixRoute, { kind: 'direct' }> => r.kind === 'direct');
  const npmRuns: FixPlan['npmRuns'] = [];
  if (directs.length) {
    npmRuns.push({
      args: [...NPM_BASE_ARGS, '--save', '--save-exact', ...directs.map((d) => d.installSpec)],
      restoreManifest: false,
      why: 'npm resolves the fallbacks of direct dependencies (this run pins them in package.json for a moment)',
    });
    npmRuns.push({
      args: [...NPM_BASE_ARGS],
      restoreManifest: true,
      why: "package.json's own ranges are put back; npm keeps the locked fallbacks, which they allow",
    });
  } else if (fixes.length) {
    npmRuns.push({ args: [...NPM_BASE_ARGS], restoreManifest: false, why: 'npm applies the overrides to the lockfile' });
  }
  return { projectDir, manifestPath, lockfilePath, fixes, unfixable, manifestBefore: manifestText, manifestAfter, manifestChanges, npmRuns };
}

function codes(findings: Finding[]): string {
  return [...new Set(findings.map((f) => f.code))].join(', ') || 'held';
}

/** Would npm's override matching (semver.intersects of the edge's range with the key) catch this version? */
function specAdmits(spec: string, version: string): boolean {
  const range = dependentRange(spec);
  if (range === undefined) return !/^(git|https?|file|link|github):|\//.test(spec); // a tag: npm accepts the override
  return semver.intersects(range, version);
}

function parseManifest(text: string, path: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new GuardError('bad-config', `${path} is not valid JSON: ${(err as Error).message}`, { remedy: 'fix package.json' });
  }
  if (!isObject(doc)) throw new GuardError('bad-config', `${path} is not a JSON object`, { remedy: 'fix package.json' });
  return doc;
}

function label(path: string[]): string {
  return path.map((p, i) => (/^[A-Za-z_$][\w$]*$/.test(p) ? (i ? '.' : '') + p : `[${JSON.stringify(p)}]`)).join('');
}

/** Entry-level differences of two JSON values (objects compared key by key, anything else as a whole). */
export function diffJson(before: unknown, after: unknown, path: string[] = []): ManifestChange[] {
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
    return keys.flatMap((k) => diffJson(before[k], after[k], [...path, k]));
  }
  return [{ path: label(path), ...(before !== undefined && { before }), ...(after !== undefined && { after }) }];
}

// ------------------------------------------------------------------------------------------ applying

export interface ApplyDeps {
  /** Runs the check again on the rewritten files. */
  recheck(): Promise<CheckResult>;
  /** The lockfile before, as checked. */
  before: LockedTree;
  /** Runs npm (default: the install runner's, output captured). */
  npm?(args: string[], cwd: string): Promise<{ code: number; output: string }>;
  /** Progress lines ("running npm ..."). */
  progress?(line: string): void;
}

/** The project's own lockfile, the one npm writes; fix never rewrites another file. */
export function assertNpmLockfile(tree: LockedTree): void {
  const name = basename(tree.lockfilePath);
  if (dirname(tree.lockfilePath) !== tree.root.dir || (name !== 'package-lock.json' && name !== 'npm-shrinkwrap.json')) {
    throw new GuardError('bad-usage', `fix rewrites the lockfile npm uses, and ${tree.lockfilePath} is not one`, {
      remedy: 'run fix in the project folder (-C <dir>) without --lockfile',
    });
  }
}

/** Read a file as text, refusing one whose bytes would not survive the round trip (so a restore is exact). */
export async function readExact(path: string, what: string): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    throw new GuardError('bad-config', missing ? `${path} does not exist: fix needs the project's ${what}` : `cannot read ${path}: ${(err as Error).message}`, {
      remedy: missing ? 'run fix in the project folder (-C <dir>)' : `make ${path} readable`,
    });
  }
  const text = bytes.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(bytes)) {
    throw new GuardError('bad-config', `${path} is not valid UTF-8`, { remedy: `fix the ${what}'s encoding` });
  }
  return text;
}

/**
 * Apply a plan: backups, npm, re-check, diff; restore both files unless the result is accepted. Throws
 * GuardError (exit 2) when npm fails or the re-check throws, after restoring.
 */
export async function applyFix(plan: FixPlan, deps: ApplyDeps): Promise<FixOutcome> {
  const npm = deps.npm ?? ((args: string[], cwd: string) => runNpm(args, { cwd, stdio: 'pipe' }));
  const backups = { manifest: backupPath(plan.projectDir, plan.manifestPath), lockfile: backupPath(plan.projectDir, plan.lockfilePath) };
  // One transaction under the project's lock: package.json, the lockfile and both backups are snapshotted as
  // bytes; undoing it (npm failed, the re-check did not pass, Ctrl-C, SIGTERM, SIGHUP) puts all four back,
  // an earlier fix's backups included. On an interrupt npm (its process group) is ended first.
  return transaction(
    {
      label: 'fix',
      locks: [projectLockPath(plan.projectDir)],
      lockOptions: { what: "this project's package.json and lockfile" },
      files: [plan.manifestPath, plan.lockfilePath, backups.manifest, backups.lockfile],
      relativeTo: plan.projectDir,
    },
    async (t) => {
      const manifestBefore = await readExact(plan.manifestPath, 'package.json');
      const lockBefore = await readExact(plan.lockfilePath, 'lockfile');
      if (manifestBefore !== plan.manifestBefore) {
        throw new GuardError('bad-usage', `${plan.manifestPath} changed while fix was running`, { remedy: 'run fix again' });
      }
      const restore = async () => {
        await t.rollback();
      };
      await t.write(backups.manifest, manifestBefore);
      await t.write(backups.lockfile, lockBefore);

      if (plan.manifestAfter !== manifestBefore) await t.write(plan.manifestPath, plan.manifestAfter);
      for (const run of plan.npmRuns) {
        if (run.restoreManifest) await t.write(plan.manifestPath, plan.manifestAfter);
        deps.progress?.(`npm ${run.args.join(' ')}`);
        let res: { code: number; output: string };
        try {
          res = await npm(run.args, plan.projectDir);
        } catch (err) {
          await restore();
          throw err;
        }
        if (res.code !== 0) {
          await restore();
          throw new GuardError('install-failed', `npm ${run.args.join(' ')} failed (exit ${res.code}):\n${tail(res.output)}`, {
            remedy: 'package.json and the lockfile were restored from the backups; fix what npm reported, or move to the fallback by hand',
          });
        }
      }

      let after: CheckResult;
      try {
        deps.progress?.('re-checking the new lockfile');
        after = await deps.recheck();
      } catch (err) {
        await restore();
        throw err;
      }
      const manifestNow = await readFile(plan.manifestPath, 'utf8');
      const manifestChanges = diffJson(JSON.parse(manifestBefore), JSON.parse(manifestNow));
      const lockfileChanges = diffLockfiles(deps.before, after.tree);

      const present = new Set(after.tree.packages.filter((p) => p.source === 'registry').map((p) => `${p.name}@${p.version}`));
      const seen = new Set<string>();
      const notReplaced = plan.fixes.filter((f) => {
        const id = `${f.pkg.name}@${f.pkg.version}`;
        if (!present.has(id) || seen.has(id)) return false;
        seen.add(id);
        return true;
      });
      const known = new Set(plan.unfixable.map((u) => `${u.pkg.name}@${u.pkg.version}`));
      const stillThere = new Set(notReplaced.map((f) => `${f.pkg.name}@${f.pkg.version}`));
      const newlyHeld = after.verdicts.filter((v) => {
        const id = `${v.pkg.name}@${v.pkg.version}`;
        return (v.verdict === 'quarantine' || v.verdict === 'block') && !known.has(id) && !stillThere.has(id);
      });
      const status: FixOutcome['status'] = after.errors.length ? 'incomplete' : notReplaced.length || newlyHeld.length ? 'rejected' : 'fixed';
      if (status !== 'fixed') await restore();
      return { status, after, lockfileChanges, manifestChanges, notReplaced, newlyHeld, backups, kept: status === 'fixed' };
    },
  );
}

function tail(output: string, lines = 20): string {
  const all = output.trimEnd().split('\n');
  return (all.length > lines ? ['...', ...all.slice(-lines)] : all).map((l) => `    ${l}`).join('\n');
}
