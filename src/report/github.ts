// GitHub Actions: workflow commands (`::error file=...,line=...,title=...::message`) that annotate the lockfile
// line of each package the policy acts on, and a Markdown table for the job summary ($GITHUB_STEP_SUMMARY).
import { randomBytes } from 'node:crypto';
import type { CheckResult } from '../pipeline.js';
import { ACTION_RANK, type Action, type Finding } from '../types.js';
import type { PackageVerdict } from '../verdict/verdict.js';
import { packageLabel, relativeToRoot, repositoryRoot, reported } from './location.js';
import { SAID_ONCE, sharedFindings, summarize } from './summary.js';
import { shown } from './shown.js';

/** Rows in the summary table before "and N more". */
export const SUMMARY_ROWS = 100;
/** A table cell is cut after this many characters (the job summary is limited to 1 MiB per step). */
const CELL_MAX = 400;

/** Escape a workflow command's message, as GitHub's toolkit does (`escapeData`). */
export function escapeData(s: string): string {
  return s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** Escape a workflow command's property value, as GitHub's toolkit does (`escapeProperty`). */
export function escapeProperty(s: string): string {
  return escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

export function workflowCommand(kind: 'error' | 'warning' | 'notice', props: Record<string, string | number | undefined>, message: string): string {
  const p = Object.entries(props)
    .filter((e): e is [string, string | number] => e[1] !== undefined && e[1] !== '')
    .map(([k, v]) => `${k}=${escapeProperty(String(v))}`)
    .join(',');
  return `::${kind}${p ? ' ' + p : ''}::${escapeData(message)}`;
}

export interface GithubOptions {
  /** The repository root annotation paths are relative to (default: `repositoryRoot(lockfile)`). */
  root?: string;
}

/** One annotation per finding the policy acts on (strongest first: GitHub shows only the first few per step). */
export function toGithubCommands(raw: CheckResult, opts: GithubOptions = {}): string {
  const result = shown(raw);
  const root = opts.root ?? repositoryRoot(result.tree.lockfilePath);
  // Outside the repository GitHub cannot attach it to a file; the absolute path still says which one.
  const file = relativeToRoot(result.tree.lockfilePath, root) ?? result.tree.lockfilePath;
  const lines: { rank: number; line: string }[] = [];

  for (const e of result.errors) {
    const pkg = e.pkg === undefined ? undefined : result.tree.packages.find((p) => p.name === e.pkg || p.id === e.pkg);
    lines.push({
      rank: 4,
      line: workflowCommand(
        'error',
        { file, line: pkg?.lockfileLine, title: `safe-install could not complete the check (${e.code})` },
        `${e.message}${e.remedy ? `\n-> ${e.remedy}` : ''}\nNothing may be installed until the check completes (exit 2).`,
      ),
    });
  }

  for (const { pkg, findings } of result.verdicts) {
    for (const f of findings) {
      if (!reported(f) || SAID_ONCE.has(f.code)) continue;
      // Covered by the run-level error above.
      if (f.code === 'metadata-unavailable' && result.errors.length) continue;
      lines.push({
        rank: ACTION_RANK[f.action],
        line: workflowCommand(
          f.action === 'warn' ? 'warning' : 'error',
          { file, line: pkg.lockfileLine, title: `${f.code} ${packageLabel(pkg)}` },
          `${packageLabel(pkg)} ${verbOf(f.action)}: ${f.message}${f.remedy ? `\n-> ${f.remedy}` : ''}`,
        ),
      });
    }
  }
  for (const sf of sharedFindings(result)) {
    const n = sf.packages.length;
    lines.push({
      rank: ACTION_RANK[sf.action],
      line: workflowCommand(
        sf.action === 'warn' ? 'warning' : 'error',
        { file, title: `${sf.code} (${n} package${n === 1 ? '' : 's'})` },
        `${sf.message} (${n} package${n === 1 ? '' : 's'})${sf.remedy ? `\n-> ${sf.remedy}` : ''}`,
      ),
    });
  }
  // Stable sort: strongest first, in lockfile order within an action.
  return lines
    .sort((a, b) => b.rank - a.rank)
    .map((l) => l.line + '\n')
    .join('');
}

/**
 * What `--format github` prints: the human report (between stop-commands markers, so nothing a registry wrote
 * into a message can be taken for a workflow command) followed by the annotations.
 */
export function toGithubOutput(result: CheckResult, text: string, opts: GithubOptions = {}): string {
  const token = `safe-install-${randomBytes(12).toString('hex')}`;
  const body = text.endsWith('\n') || text === '' ? text : text + '\n';
  return `::stop-commands::${token}\n${body}::${token}::\n${toGithubCommands(result, opts)}`;
}

/** The job summary: counts, what could not be checked, registry-wide findings, and one row per held or warned package. */
export function toGithubSummary(raw: CheckResult, opts: GithubOptions = {}): string {
  const result = shown(raw);
  const s = summarize(result);
  const root = opts.root ?? repositoryRoot(result.tree.lockfilePath);
  const file = relativeToRoot(result.tree.lockfilePath, root) ?? result.tree.lockfilePath;
  const out: string[] = [];
  const outcome = s.exitCode === 2 ? 'check incomplete (exit 2)' : s.exitCode === 1 ? 'install refused (exit 1)' : 'OK (exit 0)';
  out.push(`### safe-install check: ${outcome}`, '');
  out.push(
    `${cell(file)} (${result.tree.format}), ${s.packages} packages, ${s.registryPackages} from the registry; ` +
      `policy: ${cell(result.policy.file ? (relativeToRoot(result.policy.file, root) ?? result.policy.file) : 'shipped default')}; as of ${result.now.toISOString()}`,
    '',
  );
  out.push(`**${s.allow} allowed, ${s.warn} with warnings, ${s.quarantine} quarantined, ${s.block} blocked**${s.errors ? `, **${s.errors} error(s)**` : ''}`, '');

  if (result.errors.length) {
    out.push('**Could not check** (nothing may be installed until the check completes):', '');
    for (const e of result.errors) out.push(`- ${cell(e.message)}${e.remedy ? ` → ${cell(e.remedy)}` : ''}`);
    out.push('');
  }

  const once = sharedFindings(result);
  if (once.length) {
    for (const sf of once) {
      const n = sf.packages.length;
      out.push(`- \`${sf.code}\`: ${cell(sf.message)} (${n} package${n === 1 ? '' : 's'})${sf.remedy ? ` → ${cell(sf.remedy)}` : ''}`);
    }
    out.push('');
  }

  const rows = result.verdicts
    .map((v) => ({ v, shown: v.findings.filter((f) => reported(f) && !SAID_ONCE.has(f.code)) }))
    .filter(({ v, shown }) => v.verdict !== 'allow' && shown.length > 0)
    .sort((a, b) => ACTION_RANK[b.v.verdict] - ACTION_RANK[a.v.verdict]);
  if (rows.length) {
    out.push('| package | verdict | findings | message | remedy |', '| --- | --- | --- | --- | --- |');
    for (const { v, shown } of rows.slice(0, SUMMARY_ROWS)) out.push(row(v, shown));
    if (rows.length > SUMMARY_ROWS) out.push('', `and ${rows.length - SUMMARY_ROWS} more (the JSON report, \`--format json\`, lists every package)`);
    out.push('');
  }
  if (result.notices.length) {
    out.push('Notes:', '');
    for (const n of result.notices) out.push(`- ${cell(n)}`);
    out.push('');
  }
  return out.join('\n') + '\n';
}

function row(v: PackageVerdict, shown: Finding[]): string {
  // The findings that decided the verdict come first; the message and remedy are theirs.
  const ordered = [...shown].sort((a, b) => ACTION_RANK[b.action] - ACTION_RANK[a.action]);
  const codes = [...new Set(ordered.map((f) => `\`${f.code}\``))].join(', ');
  const messages = [...new Set(ordered.map((f) => cell(f.message)))].join('<br>');
  const remedies = [...new Set(ordered.filter((f) => f.remedy).map((f) => cell(f.remedy!)))].join('<br>');
  return `| ${cell(packageLabel(v.pkg))} | ${verbOf(v.verdict)} | ${codes} | ${messages} | ${remedies} |`;
}

/**
 * Text for a Markdown table cell: HTML and Markdown specials escaped (registry content is untrusted), one line,
 * and not too long.
 */
export function cell(s: string): string {
  const cut = s.length > CELL_MAX ? s.slice(0, CELL_MAX - 1) + '…' : s;
  return cut
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([\\`*_[\]|~#!])/g, '\\$1')
    .replace(/\r?\n|\r/g, '<br>');
}

function verbOf(action: Action): string {
  return action === 'block' ? 'blocked' : action === 'quarantine' ? 'quarantined' : action === 'warn' ? 'warning' : 'allowed';
}
