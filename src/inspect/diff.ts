// `safe-install inspect`: compare two unpacked package trees (the version under review and the one it is
// compared with) and say what a reviewer needs before trusting it: files added, removed and changed (with
// unified diffs of text files), install scripts, dependencies, publisher and provenance, minified or
// obfuscated new code, and network or process-spawning calls in install scripts and the files they run.
// The parts: types.ts (the report's shape), tree.ts (reading the files), heuristics.ts (minified code),
// install-surface.ts (what install scripts reach), util/line-diff.ts (the diffs).
//
// Nothing here runs, requires or imports anything from the package: files are only read as bytes.
import { formatBytes as formatLimit } from '../util/size.js';
import { lineDiff, splitLines, unifiedDiff, type DiffOp } from '../util/line-diff.js';
import { codeHeuristics } from './heuristics.js';
import { callKey, effectiveInstallScripts, installSurface } from './install-surface.js';
import { depMap, emptyTree, formatBytes, isCodePath, readPackageJson, readText, readTree, startsWithNodeShebang, type Tree } from './tree.js';
import {
  DEFAULT_LIMITS,
  DEPENDENCY_FIELDS,
  INSTALL_EVENTS,
  type CallFinding,
  type ChangedFile,
  type CodeFinding,
  type CodeReasonCode,
  type Concern,
  type DependencyChange,
  type FileInfo,
  type InspectInput,
  type InspectLimits,
  type InspectReport,
  type ScriptChange,
} from './types.js';

export function inspectTrees(input: InspectInput): InspectReport {
  const limits: InspectLimits = { ...DEFAULT_LIMITS, ...(input.limits ?? {}) };
  const notes = [...(input.notes ?? [])];
  const target = readTree(input.target.dir, { notUnpacked: input.target.notUnpacked, maxFileBytes: limits.maxFileBytes });
  const base = input.base ? readTree(input.base.dir, { notUnpacked: input.base.notUnpacked, maxFileBytes: limits.maxFileBytes }) : emptyTree();
  const huge = [...target.files].filter(([, f]) => f.tooLarge);
  if (huge.length) {
    notes.push(
      `${huge.length} file${huge.length === 1 ? ' is' : 's are'} larger than ${formatLimit(limits.maxFileBytes)}: hashed, not unpacked, read, diffed or scanned: ` +
        `${huge
          .slice(0, 5)
          .map(([p, f]) => `${p} (${formatBytes(f.size)})`)
          .join(', ')}${huge.length > 5 ? ', ...' : ''}; review ${huge.length === 1 ? 'it' : 'them'} by other means`,
    );
  }
  if (target.skipped.length) notes.push(`not regular files, not compared: ${target.skipped.slice(0, 10).join(', ')}${target.skipped.length > 10 ? ', ...' : ''}`);

  // ---- files
  const added: FileInfo[] = [];
  const removed: FileInfo[] = [];
  const changed: ChangedFile[] = [];
  let unchanged = 0;
  for (const [path, t] of target.files) {
    const b = base.files.get(path);
    if (!b) {
      added.push({ path, size: t.size, binary: t.binary, ...(t.tooLarge ? { tooLarge: true } : {}) });
    } else if (b.hash !== t.hash) {
      const entry: ChangedFile = { path, sizeBefore: b.size, sizeAfter: t.size, binary: b.binary || t.binary };
      addDiff(entry, base, target, limits);
      changed.push(entry);
    } else {
      unchanged++;
    }
  }
  for (const [path, b] of base.files) if (!target.files.has(path)) removed.push({ path, size: b.size, binary: b.binary });

  // ---- package.json of each side
  const targetPkg = readPackageJson(target, 'reviewed', notes);
  const basePkg = input.base ? readPackageJson(base, 'comparison', notes) : {};

  // ---- install scripts (effective: binding.gyp's implicit `node-gyp rebuild` included)
  const targetScripts = effectiveInstallScripts(targetPkg, target.files.has('binding.gyp'));
  const baseScripts = input.base ? effectiveInstallScripts(basePkg, base.files.has('binding.gyp')) : { scripts: {}, implicit: false };
  const scriptChanges: ScriptChange[] = [];
  for (const event of INSTALL_EVENTS) {
    const before = baseScripts.scripts[event];
    const after = targetScripts.scripts[event];
    const implicit = event === 'install' && targetScripts.implicit && after !== undefined ? { implicit: true } : {};
    if (before === undefined && after !== undefined) scriptChanges.push({ event, change: 'added', after, ...implicit });
    else if (before !== undefined && after === undefined) scriptChanges.push({ event, change: 'removed', before });
    else if (before !== undefined && after !== undefined && before !== after) scriptChanges.push({ event, change: 'changed', before, after, ...implicit });
  }

  // ---- what the install scripts run, and the network/process calls in it
  const targetRun = installSurface(target, targetPkg, targetScripts.scripts, limits);
  const baseRun = input.base ? installSurface(base, basePkg, baseScripts.scripts, limits) : { calls: [], files: [], truncated: false, unscanned: [] };
  for (const path of targetRun.unscanned) notes.push(`install scripts run ${path}, a binary or very large file: it was not scanned; review it by other means`);
  if (targetRun.truncated) notes.push(`install scripts lead to more than ${limits.maxFollowedFiles} files; only the first ${limits.maxFollowedFiles} were scanned`);
  // A new file the install scripts run is shown whole: it is what the reviewer most needs to read.
  for (const f of added) {
    if (!targetRun.files.includes(f.path) || f.binary || f.size > limits.diffMaxBytes) continue;
    const lines = splitLines(readText(target, f.path));
    if (lines.length > limits.diffMaxFileLines) continue;
    const ops = lines.map((line): DiffOp => ({ op: '+', line }));
    const { text, truncated } = unifiedDiff(f.path, ops, { context: 3, maxLines: limits.diffMaxLines, maxLineChars: limits.diffMaxLineChars, added: true });
    f.diff = text;
    if (truncated) f.diffTruncated = true;
  }
  const seen = new Set(baseRun.calls.map(callKey));
  const installCalls: CallFinding[] = targetRun.calls.map((c) => ({ ...c, new: !seen.has(callKey(c)) }));

  // ---- minified / obfuscated new or changed code
  const suspiciousCode: CodeFinding[] = [];
  const runFiles = new Set(targetRun.files);
  const candidates: { path: string; change: 'added' | 'changed' }[] = [
    ...added.map((f) => ({ path: f.path, change: 'added' as const })),
    ...changed.map((f) => ({ path: f.path, change: 'changed' as const })),
  ];
  for (const { path, change } of candidates) {
    const t = target.files.get(path)!;
    if (t.binary || !(isCodePath(path) || runFiles.has(path) || startsWithNodeShebang(target, path))) continue;
    if (t.size > limits.maxScanBytes) {
      notes.push(`${path}: ${formatBytes(t.size)}, too large to scan for obfuscation`);
      continue;
    }
    const reasons = codeHeuristics(readText(target, path), limits);
    if (!reasons.length) continue;
    let alreadyInBase: CodeReasonCode[] = [];
    const b = change === 'changed' ? base.files.get(path) : undefined;
    if (b && !b.binary && b.size <= limits.maxScanBytes) {
      const before = new Set(codeHeuristics(readText(base, path), limits).map((r) => r.code));
      alreadyInBase = reasons.map((r) => r.code).filter((c) => before.has(c));
    }
    suspiciousCode.push({ path, change, reasons, alreadyInBase });
  }

  // ---- dependencies
  const dependencies: DependencyChange[] = [];
  for (const field of DEPENDENCY_FIELDS) {
    const before = depMap(basePkg[field]);
    const after = depMap(targetPkg[field]);
    for (const [name, range] of Object.entries(after)) {
      if (!(name in before)) dependencies.push({ field, name, change: 'added', after: range });
      else if (before[name] !== range) dependencies.push({ field, name, change: 'changed', before: before[name], after: range });
    }
    for (const [name, range] of Object.entries(before)) if (!(name in after)) dependencies.push({ field, name, change: 'removed', before: range });
  }

  // ---- publisher and provenance
  const tMeta = input.target.meta;
  const bMeta = input.base?.meta;
  const publisher = {
    ...(bMeta?.publisher !== undefined ? { base: bMeta.publisher } : {}),
    ...(tMeta.publisher !== undefined ? { target: tMeta.publisher } : {}),
    changed: bMeta !== undefined && bMeta.publisher !== undefined && tMeta.publisher !== undefined && bMeta.publisher !== tMeta.publisher,
  };
  const provenance = {
    ...(bMeta ? { base: bMeta.provenance } : {}),
    target: tMeta.provenance,
    changed: bMeta !== undefined && bMeta.provenance !== tMeta.provenance,
  };
  if (bMeta && bMeta.publisher === undefined && tMeta.publisher === undefined) {
    notes.push('the registry names no publisher (_npmUser) for either version (a mirror may strip it): a change of publisher cannot be seen');
  } else if (bMeta && bMeta.publisher !== undefined && tMeta.publisher === undefined) {
    notes.push(`${bMeta.version} names its publisher (${bMeta.publisher}); ${tMeta.version} does not`);
  }

  // ---- the registry manifest's install scripts against the tarball's (manifest confusion)
  let manifestMismatch: string | undefined;
  if (tMeta.manifestInstallScripts) {
    const m = tMeta.manifestInstallScripts;
    const diffs = INSTALL_EVENTS.filter((e) => (m[e] ?? undefined) !== targetScripts.scripts[e]);
    if (diffs.length) {
      manifestMismatch = diffs
        .map(
          (e) =>
            `${e}: registry manifest ${m[e] === undefined ? 'has none' : JSON.stringify(m[e])}, tarball ${targetScripts.scripts[e] === undefined ? 'has none' : JSON.stringify(targetScripts.scripts[e])}`,
        )
        .join('; ');
    }
  }

  // ---- concerns, most serious first
  const concerns: Concern[] = [];
  const added_ = scriptChanges.filter((s) => s.change === 'added');
  const changed_ = scriptChanges.filter((s) => s.change === 'changed');
  if (manifestMismatch) concerns.push({ code: 'manifest-mismatch', message: `the tarball's install scripts differ from the registry manifest (${manifestMismatch})` });
  if (provenance.changed && provenance.base === true && !provenance.target) {
    concerns.push({ code: 'provenance-lost', message: `${bMeta!.version} was published with provenance; ${tMeta.version} is not` });
  }
  if (publisher.changed) concerns.push({ code: 'publisher-changed', message: `published by ${publisher.target}, ${bMeta!.version} by ${publisher.base}` });
  for (const s of added_) {
    concerns.push(
      s.implicit
        ? { code: 'binding-gyp-added', message: `binding.gyp appeared: npm will run \`node-gyp rebuild\` at install` }
        : { code: 'install-script-added', message: `new ${s.event} script: ${s.after}` },
    );
  }
  for (const s of changed_) concerns.push({ code: 'install-script-changed', message: `${s.event} script changed: ${s.before} -> ${s.after}` });
  if (!added_.some((s) => s.implicit) && target.files.has('binding.gyp') && !base.files.has('binding.gyp') && !targetScripts.implicit) {
    concerns.push({ code: 'binding-gyp-added', message: 'binding.gyp appeared (its commands run when the package is built with node-gyp)' });
  }
  const newCalls = installCalls.filter((c) => c.new);
  for (const kind of ['network', 'process'] as const) {
    const calls = newCalls.filter((c) => c.kind === kind);
    if (!calls.length) continue;
    const where = [...new Set(calls.map((c) => c.where))];
    const what = [...new Set(calls.map((c) => c.match))];
    concerns.push({
      code: kind === 'network' ? 'install-network-call' : 'install-process-call',
      message: `${kind === 'network' ? 'network' : 'process-spawning'} calls reached from install scripts, in ${where.join(', ')}: ${what.join(', ')}`,
    });
  }
  const freshCode = suspiciousCode.filter((f) => f.reasons.some((r) => !f.alreadyInBase.includes(r.code)));
  if (freshCode.length) {
    concerns.push({
      code: 'obfuscated-code',
      message: `minified or obfuscated new code in ${freshCode.length} file${freshCode.length === 1 ? '' : 's'}: ${freshCode
        .slice(0, 5)
        .map((f) => f.path)
        .join(', ')}${freshCode.length > 5 ? ', ...' : ''}`,
    });
  }
  const newDeps = dependencies.filter((d) => d.change === 'added' && d.field !== 'peerDependencies');
  if (newDeps.length) {
    const listed = newDeps
      .slice(0, 8)
      .map((d) => `${d.name}@${d.after}`)
      .join(', ');
    concerns.push({ code: 'dependency-added', message: `new dependencies: ${listed}${newDeps.length > 8 ? `, and ${newDeps.length - 8} more` : ''}` });
  }

  const byPath = (a: { path: string }, b: { path: string }) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
  return {
    name: input.name,
    version: tMeta.version,
    ...(input.registry ? { registry: input.registry } : {}),
    against: input.base ? { version: input.base.meta.version, reason: input.base.reason, detail: input.base.detail } : null,
    versions: { target: tMeta, base: bMeta ?? null },
    summary: { filesAdded: added.length, filesRemoved: removed.length, filesChanged: changed.length, filesUnchanged: unchanged, concerns },
    files: { added: added.sort(byPath), removed: removed.sort(byPath), changed: changed.sort(byPath) },
    installScripts: { changes: scriptChanges, target: targetScripts.scripts, base: baseScripts.scripts, filesRun: targetRun.files },
    installCalls,
    suspiciousCode: suspiciousCode.sort(byPath),
    dependencies,
    publisher,
    provenance,
    notes,
  };
}

/** Fill in the diff of a changed text file. */
function addDiff(out: ChangedFile, base: Tree, target: Tree, limits: InspectLimits): void {
  if (out.binary) {
    out.diffOmitted = 'binary';
    return;
  }
  if (out.sizeBefore > limits.diffMaxBytes || out.sizeAfter > limits.diffMaxBytes) {
    out.diffOmitted = `too large to diff (${formatBytes(Math.max(out.sizeBefore, out.sizeAfter))})`;
    return;
  }
  const a = splitLines(readText(base, out.path));
  const b = splitLines(readText(target, out.path));
  if (a.length > limits.diffMaxFileLines || b.length > limits.diffMaxFileLines) {
    out.diffOmitted = `too many lines to diff (${Math.max(a.length, b.length)})`;
    return;
  }
  const { ops, exact } = lineDiff(a, b, limits.diffMaxEdits);
  if (!exact) out.diffApproximate = true;
  out.linesAdded = ops.filter((o) => o.op === '+').length;
  out.linesRemoved = ops.filter((o) => o.op === '-').length;
  const { text, truncated } = unifiedDiff(out.path, ops, { context: 3, maxLines: limits.diffMaxLines, maxLineChars: limits.diffMaxLineChars });
  out.diff = text;
  if (truncated) out.diffTruncated = true;
}
