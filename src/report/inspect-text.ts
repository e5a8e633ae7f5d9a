// The text report of `safe-install inspect`: what a reviewer reads before an override. Everything from the
// package (paths, scripts, diffs, publisher names) is shown as inert text.
import { neutralize } from '../util/safe-text.js';
import type { Style } from './text.js';
import { formatBytes } from '../inspect/tree.js';
import type { CallFinding, InspectReport, VersionMeta } from '../inspect/types.js';

const FOLD_FILES = 50;
const DIFF_LINES_PER_FILE = 120;
const DIFF_LINES_TOTAL = 800;

/**
 * Text from a package made safe for a terminal: control characters (escape sequences could rewrite what is
 * on screen) and bidirectional overrides are shown as escapes.
 */
export function clean(text: string): string {
  // Tabs (indentation in diffs) read as spaces. Not redacted: this is the package's own content under review,
  // never the user's settings, and masking would hide part of it (an exfiltration URL's user:password@ part)
  // from the reviewer. The registry URL is redacted where it is printed.
  return neutralize(text.replace(/\t/g, '  '));
}

export function formatInspectText(r: InspectReport, style: Style): string {
  const out: string[] = [];
  const id = `${r.name}@${r.version}`;
  const against = r.against ? `against ${clean(r.against.version)} (${clean(r.against.detail)})` : 'against nothing (no earlier version to compare with)';
  out.push(`${style.bold('safe-install inspect')}  ${clean(id)} ${against}`);
  out.push(style.dim(`registry: ${r.registry ?? '(unknown)'}; both tarballs were downloaded and compared; nothing from them was run`));

  // Versions
  out.push('', style.bold('Versions'));
  const metas: VersionMeta[] = [...(r.versions.base ? [r.versions.base] : []), r.versions.target];
  const width = Math.max(...metas.map((m) => m.version.length));
  for (const m of metas) {
    const parts = [
      m.publishedAt ? `published ${m.publishedAt}` : 'no publish time',
      m.publisher !== undefined ? `by ${clean(m.publisher)}` : 'publisher not given',
      `provenance: ${m.provenance ? 'yes' : 'no'}`,
      ...(m.deprecated ? [`deprecated: ${clean(m.deprecated)}`] : []),
    ];
    out.push(`  ${clean(m.version).padEnd(width)}  ${parts.join('  ')}${m === r.versions.target ? style.dim('  (reviewed)') : ''}`);
  }

  // Concerns
  const concerns = r.summary.concerns;
  if (concerns.length) {
    out.push('', style.red(style.bold(`Concerns (${concerns.length})`)));
    for (const c of concerns) out.push(`  ${style.red('!')} ${clean(c.message)}`);
  }

  // Install scripts
  const scripts = Object.entries(r.installScripts.target);
  if (scripts.length || r.installScripts.changes.length) {
    out.push('', style.bold('Install scripts'));
    for (const [event, command] of scripts) {
      const change = r.installScripts.changes.find((c) => c.event === event);
      const mark = change?.change === 'added' ? style.red('+') : change?.change === 'changed' ? style.red('~') : ' ';
      const was = change?.change === 'changed' ? style.dim(`  (was: ${clean(change.before ?? '')})`) : change?.change === 'added' ? style.dim('  (new)') : style.dim('  (unchanged)');
      out.push(`  ${mark} ${event}: ${clean(command)}${change?.implicit ? style.dim(' (implicit: binding.gyp)') : ''}${was}`);
    }
    for (const c of r.installScripts.changes.filter((c) => c.change === 'removed')) out.push(`  ${style.green('-')} ${c.event}: ${clean(c.before ?? '')}${style.dim('  (removed)')}`);
    if (r.installScripts.filesRun.length) out.push(style.dim(`    files they run: ${r.installScripts.filesRun.map(clean).join(', ')}`));
  }

  // Calls
  if (r.installCalls.length) {
    const fresh = r.installCalls.filter((c) => c.new).length;
    out.push('', style.bold(`Network and process calls reached from install scripts (${r.installCalls.length}, ${fresh} new)`));
    for (const c of r.installCalls) out.push(callLine(c, style));
  }

  // Code
  if (r.suspiciousCode.length) {
    out.push('', style.bold(`Minified or obfuscated code (${r.suspiciousCode.length})`));
    for (const f of r.suspiciousCode) {
      const fresh = f.reasons.filter((x) => !f.alreadyInBase.includes(x.code));
      const mark = fresh.length ? style.red('!') : style.dim('~');
      const reasons = f.reasons.map((x) => `${x.code}: ${x.detail}${f.alreadyInBase.includes(x.code) ? ' (as before)' : ''}`).join('; ');
      out.push(`  ${mark} ${clean(f.path)} (${f.change})  ${reasons}`);
    }
  }

  // Dependencies
  if (r.dependencies.length) {
    out.push('', style.bold(`Dependencies (${r.dependencies.length})`));
    for (const d of r.dependencies) {
      if (d.change === 'added') out.push(`  ${style.yellow('+')} ${d.field}  ${clean(d.name)} ${clean(d.after ?? '')}`);
      else if (d.change === 'removed') out.push(`  ${style.green('-')} ${d.field}  ${clean(d.name)} ${style.dim(`(was ${clean(d.before ?? '')})`)}`);
      else out.push(`  ${style.yellow('~')} ${d.field}  ${clean(d.name)} ${clean(d.before ?? '')} -> ${clean(d.after ?? '')}`);
    }
  }

  // Files
  const s = r.summary;
  out.push('', style.bold(`Files: ${s.filesAdded} added, ${s.filesRemoved} removed, ${s.filesChanged} changed, ${s.filesUnchanged} unchanged`));
  const fold = (n: number) => (n > FOLD_FILES ? [`    ... and ${n - FOLD_FILES} more (--json lists all)`] : []);
  for (const f of r.files.added.slice(0, FOLD_FILES)) {
    out.push(`  ${style.yellow('+')} ${clean(f.path)}  ${style.dim(`${formatBytes(f.size)}${f.binary ? ', binary' : ''}${f.tooLarge ? ', too large to unpack: hashed only' : ''}`)}`);
  }
  out.push(...fold(r.files.added.length));
  for (const f of r.files.removed.slice(0, FOLD_FILES)) out.push(`  ${style.green('-')} ${clean(f.path)}  ${style.dim(formatBytes(f.size))}`);
  out.push(...fold(r.files.removed.length));
  for (const f of r.files.changed.slice(0, FOLD_FILES)) {
    const detail = f.binary
      ? `binary, ${formatBytes(f.sizeBefore)} -> ${formatBytes(f.sizeAfter)}`
      : f.linesAdded !== undefined
        ? `+${f.linesAdded} -${f.linesRemoved ?? 0}${f.diffApproximate ? ' (too many edits to match line by line: shown as replaced)' : ''}`
        : `${formatBytes(f.sizeBefore)} -> ${formatBytes(f.sizeAfter)}${f.diffOmitted ? `, ${f.diffOmitted}` : ''}`;
    out.push(`  ${style.yellow('~')} ${clean(f.path)}  ${style.dim(detail)}`);
  }
  out.push(...fold(r.files.changed.length));

  // Diffs: files the install scripts run first, then package.json, then the rest.
  const run = new Set(r.installScripts.filesRun);
  const rank = (p: string) => (run.has(p) ? 0 : p === 'package.json' ? 1 : 2);
  const diffs = [
    ...r.files.added.filter((f) => f.diff).map((f) => ({ path: f.path, diff: f.diff!, truncated: f.diffTruncated === true })),
    ...r.files.changed.filter((f) => f.diff).map((f) => ({ path: f.path, diff: f.diff!, truncated: f.diffTruncated === true })),
  ].sort((a, b) => rank(a.path) - rank(b.path) || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  if (diffs.length) {
    out.push('', style.bold('Diffs'));
    let budget = DIFF_LINES_TOTAL;
    let shown = 0;
    for (const d of diffs) {
      if (budget <= 0) break;
      const lines = d.diff.split('\n');
      const take = Math.min(lines.length, DIFF_LINES_PER_FILE, budget);
      for (const line of lines.slice(0, take)) out.push(diffLine(line, style));
      if (take < lines.length) out.push(style.dim(`... ${lines.length - take} more lines of this diff (--json has up to ${lines.length}${d.truncated ? ', itself cut' : ''})`));
      budget -= take;
      shown++;
    }
    if (shown < diffs.length) out.push(style.dim(`... diffs of ${diffs.length - shown} more files not shown (--json has them)`));
  }

  if (r.notes.length) {
    out.push('', style.bold('Notes'));
    for (const n of r.notes) out.push(`  - ${clean(n)}`);
  }

  out.push('');
  out.push(
    concerns.length
      ? style.red(`${concerns.length} concern${concerns.length === 1 ? '' : 's'} for ${clean(id)}: read the sections above before trusting it.`)
      : style.green(`Nothing stood out in ${clean(id)}; the file list and diffs above are what changed.`),
  );
  return out.join('\n') + '\n';
}

function callLine(c: CallFinding, style: Style): string {
  const where = c.where.startsWith('scripts.') ? c.where : `${c.where}:${c.line}`;
  const mark = c.new ? style.red('!') : style.dim('~');
  return `  ${mark} ${clean(where)}  ${c.kind} ${clean(c.match)}  ${style.dim(clean(c.text))}${c.new ? '' : style.dim('  (as before)')}`;
}

function diffLine(line: string, style: Style): string {
  const text = clean(line);
  if (line.startsWith('+++') || line.startsWith('---')) return style.bold(text);
  if (line.startsWith('@@')) return style.dim(text);
  if (line.startsWith('+')) return style.green(text);
  if (line.startsWith('-')) return style.red(text);
  return text;
}
