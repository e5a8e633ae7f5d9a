// Human report: problems grouped by verdict, one line each with the reason and the next step. Colours only
// on a TTY and never with NO_COLOR. Long runs of the same code are folded so the output fits a CI log.
import { relative } from 'node:path';
import { formatDuration } from '../util/duration.js';
import type { CheckResult } from '../pipeline.js';
import type { PackageVerdict } from '../verdict/verdict.js';
import type { Action, Finding } from '../types.js';
import { countedAs, SAID_ONCE, sharedFindings, summarize } from './summary.js';
import { shown } from './shown.js';
import { displayText } from '../util/safe-text.js';
import { at } from '../util/at.js';

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
/** A family (a scope, or a name prefix before "-") is grouped from this many packages held for one reason. */
export const FAMILY_MIN = 3;
/** Names listed on a grouped line before "and N more". */
const NAMES_LISTED = 12;
const MARK: Record<Exclude<Action, 'allow'>, string> = { block: 'x', quarantine: '!', warn: '~' };

interface Item {
  v: PackageVerdict;
  f: Finding;
}

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

export interface TextOptions {
  /** One line per package and finding, nothing folded or grouped. */
  verbose?: boolean;
}

export function toText(raw: CheckResult, style: Style, opts: TextOptions = {}): string {
  const result = shown(raw);
  const s = summarize(result);
  const lines: string[] = [];
  const ages = result.policy.ageRules.map((r) => `${formatDuration(r.ms)} (${r.source})`).join(', ');
  lines.push(
    `${style.bold('safe-install check')}  ${relative(process.cwd(), result.tree.lockfilePath) || result.tree.lockfilePath} (${result.tree.format}), ${s.packages} packages, ${s.registryPackages} from the registry`,
  );
  lines.push(
    style.dim(`policy: ${result.policy.file ? relative(process.cwd(), result.policy.file) || result.policy.file : 'shipped default'}; minimum release age ${ages}; as of ${result.now.toISOString()}`),
  );
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
    // One line per distinct cause: the same failure for many packages is said once, with how many it stopped.
    const causes = groupErrors(result.errors);
    lines.push(
      '',
      style.red(style.bold(`Could not check (${result.errors.length}${causes.length < result.errors.length ? `; ${causes.length} distinct cause${causes.length === 1 ? '' : 's'}` : ''})`)),
    );
    for (const c of causes.slice(0, FOLD_AFTER)) {
      lines.push(`  ${style.red('x')} ${c.message}`);
      if (c.remedy) lines.push(`      ${style.dim('-> ' + c.remedy)}`);
    }
    if (causes.length > FOLD_AFTER) lines.push(`  ... and ${causes.length - FOLD_AFTER} more causes (--json lists every error)`);
  }

  const shared = sharedFindings(result);
  if (shared.length) {
    // A property of the registry or the lockfile, not of each package: one line each, with how many it concerns.
    lines.push('', style.bold('Registry and lockfile (each said once, for every package it concerns)'));
    for (const sf of shared) {
      const colour = sf.action === 'warn' ? style.yellow : style.red;
      const n = sf.packages.length;
      lines.push(`  ${colour(MARK[sf.action])} ${sf.code}: ${sf.message} (${n} package${n === 1 ? '' : 's'})`);
      if (sf.remedy) lines.push(`      ${style.dim('-> ' + sf.remedy)}`);
      if (opts.verbose) lines.push(`      ${style.dim(sf.packages.map((v) => label(v)).join(', '))}`);
    }
  }

  for (const group of GROUPS) {
    const members = result.verdicts.filter((v) => countedAs(v) === group.action && !isUnavailable(v));
    if (!members.length) continue;
    const colour = group.action === 'warn' ? style.yellow : style.red;
    lines.push('', colour(style.bold(`${group.title} (${members.length})`)));
    const byCode = new Map<string, Item[]>();
    let onlyShared = 0;
    for (const v of members) {
      // An expired approval is listed with what it no longer waives.
      const own = v.findings.filter((f) => !SAID_ONCE.has(f.code) && (f.action === group.action || (f.code === 'exception-expired' && v.verdict === group.action)));
      if (!own.length) onlyShared++;
      for (const f of own) {
        const list = byCode.get(f.code) ?? [];
        list.push({ v, f });
        byCode.set(f.code, list);
      }
    }
    for (const [code, items] of byCode) {
      const rows = opts.verbose ? items.map((it) => [it]) : groupItems(items);
      const shownRows = opts.verbose ? rows : rows.slice(0, FOLD_AFTER);
      for (const row of shownRows) {
        const [first] = row;
        if (!first) continue; // groupItems makes no empty row
        if (row.length === 1) {
          const { v, f } = first;
          lines.push(`  ${colour(group.mark)} ${style.bold(label(v))}  ${code}: ${f.message}`);
          if (f.remedy) lines.push(`      ${style.dim('-> ' + f.remedy)}`);
          continue;
        }
        lines.push(...groupLines(row, code, group.mark, colour, style));
      }
      const more = rows.slice(shownRows.length).reduce((n, r) => n + r.length, 0);
      if (more) lines.push(`  ... and ${more} more ${code} (--verbose or --json lists all)`);
    }
    if (onlyShared) {
      lines.push(`  ${colour(group.mark)} ${onlyShared} package${onlyShared === 1 ? '' : 's'} only for what is said above about the registry or the lockfile`);
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

/**
 * Errors that differ only by the package they name ("timed out fetching a from R", "... b from R") as one cause:
 * the message with the package replaced by how many packages and the first few names.
 */
export function groupErrors(errors: readonly CheckResult['errors'][number][]): { message: string; remedy?: string }[] {
  const groups = new Map<string, { pattern: string; remedy?: string; names: string[] }>();
  for (const e of errors) {
    let pattern = e.message;
    if (e.pkg) {
      // The package as the registry messages place it (`<name> from <registry>`); other messages stay as they are.
      const at = e.message.indexOf(` ${e.pkg} from `);
      if (at >= 0) pattern = `${e.message.slice(0, at + 1)}\0${e.message.slice(at + 1 + e.pkg.length)}`;
    }
    const key = `${e.code}\n${pattern}\n${e.remedy ?? ''}`;
    const g = groups.get(key) ?? { pattern, remedy: e.remedy, names: [] };
    if (e.pkg) g.names.push(e.pkg);
    groups.set(key, g);
  }
  return [...groups.values()].map((g) => {
    if (!g.pattern.includes('\0')) return { message: g.pattern, remedy: g.remedy };
    const n = g.names.length;
    const who = n === 1 ? at(g.names, 0) : `${n} packages (${g.names.slice(0, 3).join(', ')}${n > 3 ? ` and ${n - 3} more` : ''})`;
    return { message: g.pattern.replace('\0', who), remedy: g.remedy };
  });
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
    bundled: "bundled packages (inside a dependency's tarball, checked with it)",
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

/**
 * What a group of packages shares for one finding code: a lockfile-wide cause (resolved-off-registry: the same
 * foreign host for the same registry) or a package family (`@img/*`, `@esbuild/*`, `esbuild-*`). Undefined: none.
 */
export function groupKey(name: string, f: Pick<Finding, 'code' | 'data'>): string | undefined {
  if (f.code === 'resolved-off-registry') {
    const d = f.data as { resolved?: unknown; registry?: unknown } | undefined;
    try {
      return `host:${new URL(String(d?.resolved)).host} for ${String(d?.registry)}`;
    } catch {
      return undefined;
    }
  }
  return familyOf(name);
}

/** An operating system or CPU in a platform package's name (`esbuild-linux-64`, `lightningcss-darwin-arm64`). */
const PLATFORM = /-(linux|darwin|macos|win32|windows|freebsd|openbsd|netbsd|sunos|android|aix|x64|arm64|ia32|musl|gnu)(-|$)/;

/**
 * A package's family: its scope (`@img/sharp-linux-x64` -> `@img/*`), or for an unscoped platform package the
 * name before its first "-" (`esbuild-linux-64` -> `esbuild-*`); undefined for any other name (`ms`, `lodash-es`).
 */
export function familyOf(name: string): string | undefined {
  if (name.startsWith('@')) {
    const slash = name.indexOf('/');
    return slash > 1 ? `${name.slice(0, slash)}/*` : undefined;
  }
  const dash = name.indexOf('-');
  return dash > 0 && PLATFORM.test(name) ? `${name.slice(0, dash)}-*` : undefined;
}

/** Items of one code, in lockfile order, as rows: a group of FAMILY_MIN or more sharing a cause, or one item. */
function groupItems(items: Item[]): Item[][] {
  const byKey = new Map<string, Item[]>();
  for (const it of items) {
    const key = groupKey(it.v.pkg.name, it.f);
    if (key === undefined) continue;
    const list = byKey.get(key) ?? [];
    list.push(it);
    byKey.set(key, list);
  }
  const min = (key: string) => (key.startsWith('host:') ? 2 : FAMILY_MIN);
  const rows: Item[][] = [];
  const done = new Set<Item[]>();
  for (const it of items) {
    const key = groupKey(it.v.pkg.name, it.f);
    const list = key === undefined ? undefined : byKey.get(key);
    if (list && key !== undefined && list.length >= min(key)) {
      if (!done.has(list)) {
        done.add(list);
        rows.push(list);
      }
    } else rows.push([it]);
  }
  return rows;
}

/** A group's lines: what they share, their names, and the next step when they share one. */
function groupLines(row: Item[], code: string, mark: string, colour: (s: string) => string, style: Style): string[] {
  const first = at(row, 0); // a group has two items or more
  const key = groupKey(first.v.pkg.name, first.f) ?? '';
  const title = key.startsWith('host:') ? `${row.length} packages from ${key.slice(5).replace(/ for .*/, '')}` : `${key} (${row.length} packages)`;
  const messages = new Set(row.map((it) => it.f.message));
  const remedies = new Set(row.map((it) => it.f.remedy ?? ''));
  const names = row.map((it) => label(it.v));
  const listed = names.length > NAMES_LISTED ? `${names.slice(0, NAMES_LISTED).join(', ')} and ${names.length - NAMES_LISTED} more` : names.join(', ');
  const out = [`  ${colour(mark)} ${style.bold(title)}  ${code}: ${messages.size === 1 ? first.f.message : `${first.f.message} (${label(first.v)}; the others alike)`}`];
  out.push(`      ${listed}`);
  const eligible = row
    .map((it) => (it.f.data as { eligibleAt?: unknown } | undefined)?.eligibleAt)
    .filter((x): x is string => typeof x === 'string')
    .sort();
  if (remedies.size === 1 && first.f.remedy) out.push(`      ${style.dim('-> ' + first.f.remedy)}`);
  else if (eligible.length === row.length) out.push(`      ${style.dim(`-> the next step differs per package (--verbose shows each); all are old enough by ${eligible[eligible.length - 1]}`)}`);
  else out.push(`      ${style.dim('-> what to do differs per package: --verbose shows each')}`);
  return out;
}
