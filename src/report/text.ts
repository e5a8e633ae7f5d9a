// Human report: problems grouped by verdict, one line each with the reason and the next step. Colours only
// on a TTY and never with NO_COLOR. Long runs of the same code are folded so the output fits a CI log.
import { relative } from 'node:path';
import { formatDuration } from '../policy/duration.js';
import type { CheckResult } from '../pipeline.js';
import type { PackageVerdict } from '../verdict/verdict.js';
import type { Action, Finding } from '../types.js';
import { SAID_ONCE, summarize } from './summary.js';
import { shown } from './shown.js';
import { displayText } from '../util/safe-text.js';

export interface Style {
  red(s: string): string;
  yellow(s: string): string;
  green(s: string): string;
  dim(s: string): string;
  bold(s: string): string;
}

export function makeStyle(enabled: boolean): Style {
  const wrap = (open: number, close: number) => (s: string) => (enabled ? `\x1b[${open}m${s}\x1b[${close}m` : s);
  return { red: wrap(31, 39), yellow: wrap(33, 39), green: wrap(32, 39), dim: wrap(2, 22), bold: wrap(1, 22) };
}

export function colourWanted(stream: NodeJS.WriteStream, flag?: boolean): boolean {
  if (flag === false) return false;
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '') return false;
  if (process.env.FORCE_COLOR && process.env.FORCE_COLOR !== '0') return true;
  return Boolean(stream.isTTY);
}

const FOLD_AFTER = 15;

/**
 * `package manager: yarn 1.22.22 (from yarn.lock v1; /usr/lib/node_modules/yarn/bin/yarn.js, first on PATH)`:
 * which one, which version and what decided it. An install asks the package manager itself (`runs`); `check`
 * does not start it, so it says what the lockfile needs, or the version package.json declares.
 */
export function packageManagerLine(pm: CheckResult['packageManager']): string {
  const from = [pm.source === '--pm' ? `--pm and ${pm.lockfile}` : pm.source.startsWith('--lockfile') ? `--lockfile ${pm.lockfile}` : pm.lockfile];
  if (pm.declared) from.push(`package.json packageManager ${pm.pm}@${pm.declared}`);
  let what: string;
  if (pm.runs && pm.version) {
    what = `${pm.pm} ${pm.version}`;
    const where = pm.runs.via === 'PATH' ? 'first on PATH' : pm.runs.via === 'corepack' ? 'through corepack' : 'the one that started safe-install';
    return `package manager: ${what} (from ${from.join(' and ')}; ${displayText(pm.runs.path)}, ${where})`;
  }
  what = pm.version ? `${pm.pm} ${pm.version}` : pm.needs.label.startsWith(pm.pm) ? pm.needs.label : `${pm.pm} (${pm.needs.label})`;
  return `package manager: ${what} (from ${from.join(' and ')}; not started by check)`;
}

const GROUPS: { action: Action; title: string; mark: string }[] = [
  { action: 'block', title: 'Blocked', mark: 'x' },
  { action: 'quarantine', title: 'Quarantined', mark: '!' },
  { action: 'warn', title: 'Warnings', mark: '~' },
];

export function toText(raw: CheckResult, style: Style): string {
  const result = shown(raw);
  const s = summarize(result);
  const lines: string[] = [];
  const ages = result.policy.ageRules.map((r) => `${formatDuration(r.ms)} (${r.source})`).join(', ');
  lines.push(
    `${style.bold('safe-install check')}  ${relative(process.cwd(), result.tree.lockfilePath) || result.tree.lockfilePath} (${result.tree.format}), ${s.packages} packages, ${s.registryPackages} from the registry`,
  );
  lines.push(style.dim(`policy: ${result.policy.file ? relative(process.cwd(), result.policy.file) || result.policy.file : 'shipped default'}; minimum release age ${ages}; as of ${result.now.toISOString()}`));
  const pm = result.packageManager;
  if (pm) {
    lines.push(style.dim(`${packageManagerLine(pm)}${result.policy.inputs.length ? `; settings read: ${result.policy.inputs.join('; ')}` : ''}`));
  }
  lines.push(
    style.dim(
      `registry: ${result.npm.registry} - ${result.stats.names} names: ${result.stats.network} fetched, ${result.stats.revalidated} revalidated, ${result.stats.cache} from cache, in ${(result.stats.ms / 1000).toFixed(2)}s`,
    ),
  );

  if (result.errors.length) {
    lines.push('', style.red(style.bold(`Could not check (${result.errors.length})`)));
    for (const e of result.errors.slice(0, FOLD_AFTER)) {
      lines.push(`  ${style.red('x')} ${e.message}`);
      if (e.remedy) lines.push(`      ${style.dim('-> ' + e.remedy)}`);
    }
    if (result.errors.length > FOLD_AFTER) lines.push(`  ... and ${result.errors.length - FOLD_AFTER} more (--json lists all)`);
  }

  for (const group of GROUPS) {
    const members = result.verdicts.filter((v) => v.verdict === group.action && !isUnavailable(v));
    if (!members.length) continue;
    const colour = group.action === 'warn' ? style.yellow : style.red;
    lines.push('', colour(style.bold(`${group.title} (${members.length})`)));
    const byCode = new Map<string, { v: PackageVerdict; f: Finding }[]>();
    for (const v of members) {
      // An expired approval is listed with what it no longer waives.
      for (const f of v.findings.filter((f) => f.action === group.action || (f.code === 'exception-expired' && v.verdict === group.action))) {
        const list = byCode.get(f.code) ?? [];
        list.push({ v, f });
        byCode.set(f.code, list);
      }
    }
    for (const [code, items] of byCode) {
      if (SAID_ONCE.has(code)) {
        // A property of the registry, not of each package: one line, with how many it concerns.
        const { f } = items[0];
        // Counted over every package it concerns, including those listed under a stronger verdict.
        const n = result.verdicts.filter((v) => v.findings.some((x) => x.code === code)).length;
        lines.push(`  ${colour(group.mark)} ${code}: ${f.message.replace(/ for \S+,/, ',')} (${n} package${n === 1 ? '' : 's'})`);
        if (f.remedy) lines.push(`      ${style.dim('-> ' + f.remedy)}`);
        continue;
      }
      for (const { v, f } of items.slice(0, FOLD_AFTER)) {
        lines.push(`  ${colour(group.mark)} ${style.bold(label(v))}  ${code}: ${f.message}`);
        if (f.remedy) lines.push(`      ${style.dim('-> ' + f.remedy)}`);
      }
      if (items.length > FOLD_AFTER) lines.push(`  ... and ${items.length - FOLD_AFTER} more ${code} (--json lists all)`);
    }
  }

  const notes = [...result.notices, ...infoNotes(result), ...(result.packageManager?.guards ?? []).map((g) => `${result.packageManager.pm} itself: ${g}`)];
  if (notes.length) {
    lines.push('', style.bold('Notes'));
    for (const n of notes) lines.push(`  - ${n}`);
  }

  lines.push('');
  const counts = `${s.allow} allowed, ${s.warn} with warnings, ${s.quarantine} quarantined, ${s.block} blocked`;
  if (s.exitCode === 2) lines.push(style.red(style.bold(`Check incomplete: ${s.errors} error(s); nothing may be installed until it completes (exit 2). ${counts}`)));
  else if (s.exitCode === 1) lines.push(style.red(style.bold(`Install refused: ${counts} (exit 1)`)));
  else lines.push(style.green(style.bold(`OK: ${counts}`)));
  return lines.join('\n') + '\n';
}

function label(v: PackageVerdict): string {
  const alias = v.pkg.aliases.length ? ` (as ${v.pkg.aliases.join(', ')})` : '';
  return `${v.pkg.name}@${v.pkg.version}${alias}`;
}

function isUnavailable(v: PackageVerdict): boolean {
  return v.findings.some((f) => f.code === 'metadata-unavailable');
}

/** Allowed-but-notable things, counted rather than listed. */
function infoNotes(result: CheckResult): string[] {
  const counts = new Map<string, number>();
  for (const v of result.verdicts) for (const f of v.findings) if (f.action === 'allow') counts.set(f.code, (counts.get(f.code) ?? 0) + 1);
  const out: string[] = [];
  const say: Record<string, string> = {
    'workspace-link': 'local workspace or file: links (part of this project)',
    bundled: 'bundled packages (inside a dependency\'s tarball, checked with it)',
    'git-source': 'direct git dependencies (allowed by policy sources.direct)',
    'tarball-source': 'direct remote-tarball dependencies (allowed by policy sources.direct)',
    'local-source': 'direct local-path dependencies (allowed by policy sources.direct)',
    'exception-applied': 'policy exceptions applied',
    'provenance-verified': 'packages with verified provenance',
    'install-script-allowed': 'packages whose install scripts are allowed',
    'install-script-denied': 'packages whose install scripts are denied (installed without them)',
    'bin-shadows-command': 'packages allowed to link a bin named like a command (policy bins.allow)',
  };
  for (const [code, n] of counts) if (say[code]) out.push(`${say[code]}: ${n}`);
  for (const v of result.verdicts) {
    for (const f of v.findings) if (f.code === 'exception-applied') out.push(`${label(v)}: ${f.message}`);
  }
  return out;
}
