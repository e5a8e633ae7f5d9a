// `safe-install add <spec...>` (also `install`/`i <spec>`) and `safe-install update [pkg...]`: resolve with npm's
// own resolver, lockfile only and scripts off, with the release-age window applied during resolution; check the
// new lockfile with every check; show what changed; only then install the way `safe-install` does. If the check
// fails, or anything goes wrong (the final install, Ctrl-C, SIGTERM, SIGHUP included), package.json and the
// lockfile are restored byte for byte (util/transaction.ts).
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { GuardError } from '../errors.js';
import { runCheck } from '../pipeline.js';
import { readNpmLockfile } from '../lockfile/npm.js';
import type { LockedTree } from '../lockfile/types.js';
import { npmMajor, runNpm } from '../install/npm.js';
import { projectLockPath } from '../util/lock.js';
import { transaction } from '../util/transaction.js';
import { changesText, summarizeChanges } from '../report/changes.js';
import { colourWanted, makeStyle, toText } from '../report/text.js';
import { loadNpmSettings, type NpmSettings } from '../project/npm-config.js';
import { loadPolicy, type Policy } from '../policy/load.js';
import semver from 'semver';
import { RegistryClient } from '../registry/client.js';
import { defaultCacheDir } from '../registry/cache.js';
import { requiredAge } from '../checks/release-age.js';
import { formatDuration } from '../util/duration.js';
import { readProjectManifest } from '../project/package-json.js';
import { approveHints, recordLedger } from './held.js';
import { installChecked, offerApprovals } from './ci.js';
import { toCheckOptions, type CommonFlags } from './options.js';
import { humanOutputToStderr, humanStream, say } from './output.js';
import { toJson } from '../report/json.js';
import { displayText, mapStrings, redact } from '../util/safe-text.js';

export interface AddFlags extends CommonFlags {
  json?: boolean;
  saveDev?: boolean;
  saveOptional?: boolean;
  saveExact?: boolean;
  savePeer?: boolean;
}

export async function addCommand(kind: 'add' | 'update', specs: string[], flags: AddFlags, extraNpmArgs: string[] = []): Promise<number> {
  if (flags.json) {
    humanOutputToStderr();
    flags = { ...flags, input: false }; // stdout carries the JSON: no prompt on it
  }
  const style = makeStyle(colourWanted(humanStream(), flags.color));
  const out = say;
  const options = { ...toCheckOptions(flags), confirmPm: true };
  const dir = resolve(options.cwd);
  if (!existsSync(join(dir, 'package.json'))) throw new GuardError('bad-usage', `no package.json in ${dir}`, { remedy: 'run it in the project folder (-C <dir>)' });
  const other = ['pnpm-lock.yaml', 'yarn.lock'].find((f) => existsSync(join(dir, f)));
  if (other)
    throw new GuardError('bad-usage', `safe-install ${kind} works on npm projects for now, and this one has ${other}`, {
      remedy: 'use your package manager, then `safe-install check` before installing',
    });
  const lockPath = existsSync(join(dir, 'npm-shrinkwrap.json')) ? join(dir, 'npm-shrinkwrap.json') : join(dir, 'package-lock.json');
  const manifestPath = join(dir, 'package.json');
  const shown = `package.json and ${basename(lockPath)}`;
  // A transaction under the project's lock: both files are snapshotted as bytes and put back on a refusal, a
  // failure (the final install included) or an interrupt (SIGINT, SIGTERM, SIGHUP: npm's process group is
  // ended first, so it cannot write after the restore).
  return transaction({ label: kind, locks: [projectLockPath(dir)], lockOptions: { what: "this project's package.json and lockfile" }, files: [manifestPath, lockPath], relativeTo: dir }, async (t) => {
    const before = await readTreeIfAny(lockPath);
    const npmSettings = await loadNpmSettings(dir, { registry: options.registry });
    const manifest = await readProjectManifest(dir);
    const policy = await loadPolicy(dir, options.policy, npmSettings, { allowScripts: manifest?.allowScripts });
    const args = await resolutionArgs(kind, specs, flags, extraNpmArgs, policy.ageRules, options.now ?? new Date(), dir);
    out(style.bold(`Resolving with npm ${displayText(args.join(' '))}\n`));
    const res = await runNpm(args, { cwd: dir, stdio: 'pipe' });
    if (t.aborted) return 130; // the interrupt handler restores the files and exits
    if (res.code !== 0) {
      const young = /ETARGET|ENOVERSIONS|No matching version|No versions available|before|min-release-age/i.test(res.output);
      const why = young ? await tooYoungExplanation(specs, npmSettings, policy, options.now ?? new Date(), options.cacheDir, options.maxBodyBytes) : '';
      throw new GuardError('install-failed', `npm could not resolve ${specs.join(' ') || 'the update'}${why ? `: ${why}` : ''}\n${res.output.trim()}`, {
        remedy: young ? 'no version old enough matches: wait until one is eligible, or ask for an exception with a reason and retry' : 'fix what npm reported',
      });
    }

    let result = await runCheck(options);
    out(toText(result, style, flags));
    out(await recordLedger(result, style, flags));
    const requested = await requestedRanges(dir, kind, specs, result.tree);
    const changes = summarizeChanges(before, result, requested);
    out(changesText(changes, style, result.now));
    const approved = await offerApprovals(result, options, flags, style);
    result = approved.result;
    const code = approved.code;
    const report = (installed: boolean, exitCode: number) => {
      if (flags.json) process.stdout.write(JSON.stringify({ command: kind, specs, changes: mapStrings(changes, redact), installed, exitCode, check: toJson(result) }, null, 2) + '\n');
    };
    if (code !== 0) {
      await t.rollback();
      if (code === 1) out(approveHints(result, style, flags));
      out(style.red(`Refused: package.json and the lockfile are restored byte for byte; nothing was installed.\n`));
      report(false, code);
      return code;
    }
    // The install is part of the transaction: if it fails, the files go back to what node_modules was made from
    // before (npm ci may have replaced node_modules in part: `safe-install` installs the restored lockfile).
    let installed: number;
    try {
      installed = await installChecked(result, [], style);
    } catch (err) {
      if (t.aborted) throw err;
      await t.rollback();
      out(style.red(`\nThe install failed: ${shown} are restored byte for byte. node_modules may hold part of the new install: run \`safe-install\` to install the restored lockfile.\n`));
      throw err;
    }
    if (installed !== 0) {
      await t.rollback();
      out(style.red(`${shown} are restored byte for byte. node_modules may hold part of the new install: run \`safe-install\` to install the restored lockfile.\n`));
    }
    report(installed === 0, installed);
    return installed;
  });
}

/** For each requested name, the newest version and when it becomes eligible: npm's ETARGET says neither. */
async function tooYoungExplanation(specs: string[], npm: NpmSettings, policy: Policy, now: Date, cacheDir?: string, maxBodyBytes?: number): Promise<string> {
  const client = new RegistryClient({ settings: npm, cacheDir: cacheDir ?? defaultCacheDir(), concurrency: 4, timeoutMs: 30_000, retries: 1, offline: false, ttlMs: 0, maxBodyBytes });
  const parts: string[] = [];
  for (const spec of specs) {
    const name = specName(spec);
    const r = await client.facts(name).catch(() => undefined);
    if (r?.kind !== 'facts') continue;
    const newest = Object.entries(r.facts.versions)
      .filter(([v]) => semver.valid(v) && !semver.prerelease(v))
      .sort(([a], [b]) => semver.rcompare(a, b))[0];
    if (!newest) continue;
    const rule = requiredAge(policy, name, newest[0]);
    const t = Date.parse(newest[1].publishedAt ?? '');
    if (rule && Number.isFinite(t) && now.getTime() - t < rule.ms) {
      parts.push(
        `${name}@${newest[0]} is too young (published ${newest[1].publishedAt}; ${rule.source} requires ${formatDuration(rule.ms)}), eligible ${new Date(t + rule.ms).toISOString()}, and no older version matches`,
      );
    }
  }
  return parts.join('; ');
}

async function readTreeIfAny(path: string): Promise<LockedTree | undefined> {
  const text = await readFile(path, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    return readNpmLockfile(path, text);
  } catch {
    return undefined; // the check of the new lockfile reports any problem
  }
}

/** npm's own resolution, lockfile only, scripts off, nothing younger than the policy's release age. */
async function resolutionArgs(
  kind: 'add' | 'update',
  specs: string[],
  flags: AddFlags,
  extra: string[],
  ageRules: { ms: number; exclude: { name: string; range?: string }[] }[],
  now: Date,
  dir: string,
): Promise<string[]> {
  const args = kind === 'add' ? ['install', ...specs] : ['update', ...specs];
  if (flags.saveDev) args.push('--save-dev');
  if (flags.saveOptional) args.push('--save-optional');
  if (flags.saveExact) args.push('--save-exact');
  if (flags.savePeer) args.push('--save-peer');
  args.push('--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund', ...extra);
  const strictest = ageRules.reduce((m, r) => Math.max(m, r.ms), 0);
  if (strictest > 0) {
    // `before` is how npm applies an age window during resolution (npm 11 derives it from min-release-age too).
    args.push(`--before=${new Date(now.getTime() - strictest).toISOString()}`);
    // Exclusions by plain name (npm 11 honours min-release-age-exclude for `before`); the check still applies
    // every rule afterwards, ranges included.
    if ((await npmMajor(dir)) >= 11) {
      const names = ageRules.flatMap((r) => r.exclude.filter((p) => !p.range).map((p) => p.name));
      for (const n of new Set(names)) args.push(`--min-release-age-exclude=${n}`);
    }
  }
  return args;
}

/** The ranges package.json now asks for, for the packages named (all direct ones for a bare update). */
async function requestedRanges(dir: string, kind: 'add' | 'update', specs: string[], tree: LockedTree): Promise<Record<string, string>> {
  const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8'));
  const all: Record<string, string> = { ...pkg.optionalDependencies, ...pkg.devDependencies, ...pkg.peerDependencies, ...pkg.dependencies };
  const names = specs.length ? specs.map(specName) : kind === 'update' ? tree.packages.filter((p) => p.direct).map((p) => p.name) : [];
  return Object.fromEntries(
    names.flatMap((n) => {
      const range = all[n];
      return range ? [[n, range]] : [];
    }),
  );
}

function specName(spec: string): string {
  const at = spec.indexOf('@', spec.startsWith('@') ? 1 : 0);
  return at === -1 ? spec : spec.slice(0, at);
}
