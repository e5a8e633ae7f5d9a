// `safe-install inspect`: compare two unpacked package trees (the version under review and the one it is
// compared with) and say what a reviewer needs before trusting it: files added, removed and changed (with
// unified diffs of text files), install scripts, dependencies, publisher and provenance, minified or
// obfuscated new code, and network or process-spawning calls in install scripts and the files they run.
//
// Nothing here runs, requires or imports anything from the package: files are only read as bytes.
import { createHash } from 'node:crypto';
import { closeSync, lstatSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { join, posix } from 'node:path';
import { formatBytes as formatLimit } from '../util/size.js';

// ------------------------------------------------------------------------------------------- types

/** What the registry says about one version (from the packument), beside its unpacked tree. */
export interface VersionMeta {
  version: string;
  /** `time[version]` from the packument (ISO). */
  publishedAt?: string;
  /** `_npmUser.name`, when the registry serves it. */
  publisher?: string;
  /** `dist.attestations` is present (a provenance statement was published with it). */
  provenance: boolean;
  /** `dist.attestations.provenance.predicateType`, when present. */
  provenancePredicate?: string;
  integrity?: string;
  tarball?: string;
  deprecated?: string;
  /**
   * preinstall/install/postinstall as the registry manifest states them (npm installs by this, not by the
   * tarball's package.json), with `gypfile: true` meaning an implicit `install: node-gyp rebuild`.
   */
  manifestInstallScripts?: Record<string, string>;
}

/** Why this comparison version was chosen. */
export type BaseReason = 'against' | 'lockfile' | 'previous';

export interface FileInfo {
  path: string;
  size: number;
  binary: boolean;
  /** Larger than the unpack limit for one file: hashed as it was downloaded, never unpacked or read. */
  tooLarge?: boolean;
  /** For a new text file that install scripts run: its content as a diff against nothing (cut like any diff). */
  diff?: string;
  diffTruncated?: boolean;
}

export interface ChangedFile {
  path: string;
  sizeBefore: number;
  sizeAfter: number;
  binary: boolean;
  /** Lines added/removed (text files whose diff was computed). */
  linesAdded?: number;
  linesRemoved?: number;
  /** Unified diff (`--- a/p`, `+++ b/p`, hunks), capped at `diffMaxLines` lines; absent for binary or too-large files. */
  diff?: string;
  diffTruncated?: boolean;
  /** More than `diffMaxEdits` line edits: the changed region is shown as removed then added, not line by line. */
  diffApproximate?: boolean;
  /** Why there is no diff (binary, too large). */
  diffOmitted?: string;
}

export type InstallEvent = 'preinstall' | 'install' | 'postinstall';
export const INSTALL_EVENTS: readonly InstallEvent[] = ['preinstall', 'install', 'postinstall'];

export interface ScriptChange {
  event: InstallEvent;
  change: 'added' | 'removed' | 'changed';
  before?: string;
  after?: string;
  /** The command is npm's implicit `node-gyp rebuild` for a binding.gyp (no install script written). */
  implicit?: boolean;
}

export type CallKind = 'network' | 'process';

/** A network or process-spawning call found in an install script or a file it runs. */
export interface CallFinding {
  /** `scripts.postinstall` for the command itself, else the file path in the package. */
  where: string;
  /** The install event whose command leads here. */
  event: InstallEvent;
  line: number;
  kind: CallKind;
  /** What matched: `https`, `child_process`, `curl`, `fetch(`, ... */
  match: string;
  /** The line, trimmed and cut to a readable length. */
  text: string;
  /** Not found (same place, same match, same text) in the comparison version. */
  new: boolean;
}

export type CodeReasonCode = 'long-lines' | 'dense' | 'escapes' | 'obfuscator-names' | 'dynamic-code' | 'base64-blob' | 'bidi-control';

export interface CodeReason {
  code: CodeReasonCode;
  detail: string;
}

/** A new or changed JS file that looks minified or obfuscated. */
export interface CodeFinding {
  path: string;
  change: 'added' | 'changed';
  reasons: CodeReason[];
  /** Reason codes the comparison version of the same file already had (a bundle that was always minified). */
  alreadyInBase: CodeReasonCode[];
}

export type DependencyField = 'dependencies' | 'optionalDependencies' | 'peerDependencies';
export const DEPENDENCY_FIELDS: readonly DependencyField[] = ['dependencies', 'optionalDependencies', 'peerDependencies'];

export interface DependencyChange {
  field: DependencyField;
  name: string;
  change: 'added' | 'removed' | 'changed';
  before?: string;
  after?: string;
}

export type ConcernCode =
  | 'install-script-added'
  | 'install-script-changed'
  | 'binding-gyp-added'
  | 'install-network-call'
  | 'install-process-call'
  | 'obfuscated-code'
  | 'dependency-added'
  | 'publisher-changed'
  | 'provenance-lost'
  | 'manifest-mismatch';

export interface Concern {
  code: ConcernCode;
  message: string;
}

export interface InspectReport {
  name: string;
  /** The version under review. */
  version: string;
  registry?: string;
  /** The version it is compared with; null when there is none (a first release): every file is "added". */
  against: { version: string; reason: BaseReason; detail: string } | null;
  versions: { target: VersionMeta; base: VersionMeta | null };
  summary: {
    filesAdded: number;
    filesRemoved: number;
    filesChanged: number;
    filesUnchanged: number;
    /** What deserves a reviewer's attention, most serious first; empty when nothing stood out. */
    concerns: Concern[];
  };
  files: { added: FileInfo[]; removed: FileInfo[]; changed: ChangedFile[] };
  installScripts: {
    changes: ScriptChange[];
    /** The effective install scripts of each version (binding.gyp's implicit one included). */
    target: Partial<Record<InstallEvent, string>>;
    base: Partial<Record<InstallEvent, string>>;
    /** Files the install scripts run (followed through relative require/import), in the reviewed version. */
    filesRun: string[];
  };
  installCalls: CallFinding[];
  suspiciousCode: CodeFinding[];
  dependencies: DependencyChange[];
  publisher: { base?: string; target?: string; changed: boolean };
  provenance: { base?: boolean; target: boolean; changed: boolean };
  /** Things the reviewer should know about the report itself (truncations, unreadable package.json, ...). */
  notes: string[];
}

export interface InspectLimits {
  /** A line longer than this marks a file as minified. */
  longLine: number;
  /** Non-whitespace share above this (files of at least `denseMinBytes`) marks a file as dense. */
  denseRatio: number;
  denseMinBytes: number;
  /** `\xNN` / `\uNNNN` escapes: at least this many, and at least `escapesPerKb` per 1000 characters. */
  escapesMin: number;
  escapesPerKb: number;
  /** `_0x1a2b`-style names (javascript-obfuscator): at least this many. */
  obfuscatorNamesMin: number;
  /** A base64 run at least this many characters long (inline source maps excepted). */
  base64MinChars: number;
  /** Files above this size are not read for heuristics or diffs (noted instead). */
  maxScanBytes: number;
  /** Text files above this size (either side) or line count are not diffed. */
  diffMaxBytes: number;
  diffMaxFileLines: number;
  /** A unified diff is cut after this many lines. */
  diffMaxLines: number;
  /** Lines in a diff longer than this are cut. */
  diffMaxLineChars: number;
  /** Edit-distance cap of the line diff; beyond it a file is shown as replaced wholesale. */
  diffMaxEdits: number;
  /** Files followed from install scripts (relative require/import), at most. */
  maxFollowedFiles: number;
  /** A file larger than this is never read whole (hashed in pieces; no diff, no scan). */
  maxFileBytes: number;
}

export const DEFAULT_LIMITS: InspectLimits = {
  longLine: 1000,
  denseRatio: 0.92,
  denseMinBytes: 2048,
  escapesMin: 40,
  escapesPerKb: 15,
  obfuscatorNamesMin: 8,
  base64MinChars: 2048,
  maxScanBytes: 8 * 1024 * 1024,
  diffMaxBytes: 1024 * 1024,
  diffMaxFileLines: 20_000,
  diffMaxLines: 400,
  diffMaxLineChars: 400,
  diffMaxEdits: 2000,
  maxFollowedFiles: 30,
  maxFileBytes: 16_000_000,
};

/** What is known of a file that was not unpacked: its size, content hash (sha256 hex) and whether it is binary. */
export interface UnreadFile {
  size: number;
  hash: string;
  binary: boolean;
}

export interface InspectInput {
  name: string;
  registry?: string;
  /** `notUnpacked`: files too large to unpack (src/inspect/unpack.ts), as hashed while downloading. */
  target: { dir: string; meta: VersionMeta; notUnpacked?: ReadonlyMap<string, UnreadFile> };
  /** null: no comparison version; the target is compared with an empty tree. */
  base: { dir: string; meta: VersionMeta; reason: BaseReason; detail: string; notUnpacked?: ReadonlyMap<string, UnreadFile> } | null;
  /** Notes from the caller (lockfile not readable, ...), kept in the report. */
  notes?: string[];
  limits?: Partial<InspectLimits>;
}

// ------------------------------------------------------------------------------------------- report

export function inspectTrees(input: InspectInput): InspectReport {
  const limits: InspectLimits = { ...DEFAULT_LIMITS, ...(input.limits ?? {}) };
  const notes = [...(input.notes ?? [])];
  const target = readTree(input.target.dir, { notUnpacked: input.target.notUnpacked, maxFileBytes: limits.maxFileBytes });
  const base = input.base ? readTree(input.base.dir, { notUnpacked: input.base.notUnpacked, maxFileBytes: limits.maxFileBytes }) : emptyTree();
  const huge = [...target.files].filter(([, f]) => f.tooLarge);
  if (huge.length) {
    notes.push(
      `${huge.length} file${huge.length === 1 ? ' is' : 's are'} larger than ${formatLimit(limits.maxFileBytes)}: hashed, not unpacked, read, diffed or scanned: ` +
        `${huge.slice(0, 5).map(([p, f]) => `${p} (${formatBytes(f.size)})`).join(', ')}${huge.length > 5 ? ', ...' : ''}; review ${huge.length === 1 ? 'it' : 'them'} by other means`,
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
        .map((e) => `${e}: registry manifest ${m[e] === undefined ? 'has none' : JSON.stringify(m[e])}, tarball ${targetScripts.scripts[e] === undefined ? 'has none' : JSON.stringify(targetScripts.scripts[e])}`)
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
      message: `minified or obfuscated new code in ${freshCode.length} file${freshCode.length === 1 ? '' : 's'}: ${freshCode.slice(0, 5).map((f) => f.path).join(', ')}${freshCode.length > 5 ? ', ...' : ''}`,
    });
  }
  const newDeps = dependencies.filter((d) => d.change === 'added' && d.field !== 'peerDependencies');
  if (newDeps.length) {
    const listed = newDeps.slice(0, 8).map((d) => `${d.name}@${d.after}`).join(', ');
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

// ------------------------------------------------------------------------------------------- trees

interface TreeFile {
  size: number;
  hash: string;
  binary: boolean;
  /** Not read whole (over maxFileBytes): never diffed or scanned. */
  tooLarge?: boolean;
}

interface Tree {
  root: string;
  files: Map<string, TreeFile>;
  /** Symlinks and other non-regular entries (pacote drops links on extract; listed if any remain). */
  skipped: string[];
}

function emptyTree(): Tree {
  return { root: '', files: new Map(), skipped: [] };
}

/**
 * Every regular file under `root`, by `/`-separated relative path, sorted. Symlinks are never followed. A file
 * over `maxFileBytes` is hashed in pieces, never held whole; `notUnpacked` gives what is known of the files that
 * were not unpacked (they stand on disk empty, or not at all).
 */
export function readTree(root: string, opts: { notUnpacked?: ReadonlyMap<string, UnreadFile>; maxFileBytes?: number } = {}): Tree {
  const files = new Map<string, TreeFile>();
  const skipped: string[] = [];
  const maxFileBytes = opts.maxFileBytes ?? DEFAULT_LIMITS.maxFileBytes;
  const walk = (dir: string, rel: string) => {
    const entries = readdirSync(dir, { withFileTypes: true }).map((e) => e.name).sort();
    for (const name of entries) {
      const abs = join(dir, name);
      const path = rel ? `${rel}/${name}` : name;
      const st = lstatSync(abs);
      if (st.isDirectory()) walk(abs, path);
      else if (st.isFile()) {
        const unread = opts.notUnpacked?.get(path);
        if (unread) files.set(path, { ...unread, tooLarge: true });
        else if (st.size > maxFileBytes) files.set(path, { ...hashInPieces(abs), tooLarge: true });
        else {
          const buf = readFileSync(abs);
          files.set(path, { size: buf.length, hash: createHash('sha256').update(buf).digest('hex'), binary: isBinary(buf) });
        }
      } else skipped.push(path);
    }
  };
  walk(root, '');
  for (const [path, unread] of opts.notUnpacked ?? []) if (!files.has(path)) files.set(path, { ...unread, tooLarge: true });
  return { root, files, skipped };
}

/** Size, sha256 and binary sniff of a large file, read 1 MB at a time. */
function hashInPieces(abs: string): TreeFile {
  const fd = openSync(abs, 'r');
  try {
    const hash = createHash('sha256');
    const decoder = new TextDecoder('utf-8', { fatal: true });
    const buf = Buffer.allocUnsafe(1024 * 1024);
    let size = 0;
    let binary = false;
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) {
      const chunk = buf.subarray(0, n);
      hash.update(chunk);
      if (!binary) {
        if (size < 8192 && chunk.subarray(0, 8192 - size).includes(0)) binary = true;
        else {
          try {
            decoder.decode(chunk, { stream: true });
          } catch {
            binary = true;
          }
        }
      }
      size += n;
    }
    return { size, hash: hash.digest('hex'), binary };
  } finally {
    closeSync(fd);
  }
}

/** NUL in the first 8 KB, or not valid UTF-8. */
export function isBinary(buf: Buffer): boolean {
  if (buf.subarray(0, 8192).includes(0)) return true;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(buf);
    return false;
  } catch {
    return true;
  }
}

function readText(tree: Tree, path: string): string {
  // Callers check sizes first; a file too large to read whole is never read.
  if (tree.files.get(path)?.tooLarge) return '';
  return readFileSync(join(tree.root, ...path.split('/')), 'utf8');
}

function readPackageJson(tree: Tree, which: string, notes: string[]): Record<string, unknown> {
  if (!tree.files.has('package.json')) {
    notes.push(`the ${which} version has no package.json`);
    return {};
  }
  const size = tree.files.get('package.json')!.size;
  if (size > DEFAULT_LIMITS.maxScanBytes || tree.files.get('package.json')!.tooLarge) {
    notes.push(`the ${which} version's package.json is ${formatBytes(size)}: too large to read, so its install scripts and dependencies are not shown; do not trust this version`);
    return {};
  }
  try {
    const doc = JSON.parse(readText(tree, 'package.json')) as unknown;
    if (doc && typeof doc === 'object' && !Array.isArray(doc)) return doc as Record<string, unknown>;
  } catch {
    // fall through
  }
  notes.push(`the ${which} version's package.json is not a JSON object`);
  return {};
}

function depMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) out[k] = typeof v === 'string' ? v : JSON.stringify(v);
  }
  return out;
}

/**
 * The install scripts npm would run for this package.json: preinstall/install/postinstall, and, as npm
 * does, `install: node-gyp rebuild` when binding.gyp exists, neither install nor preinstall is written,
 * and `gypfile` is not false.
 */
export function effectiveInstallScripts(pkg: Record<string, unknown>, hasBindingGyp: boolean): { scripts: Partial<Record<InstallEvent, string>>; implicit: boolean } {
  const raw = pkg.scripts && typeof pkg.scripts === 'object' ? (pkg.scripts as Record<string, unknown>) : {};
  const scripts: Partial<Record<InstallEvent, string>> = {};
  for (const e of INSTALL_EVENTS) if (typeof raw[e] === 'string' && raw[e]) scripts[e] = raw[e] as string;
  let implicit = false;
  if (hasBindingGyp && pkg.gypfile !== false && !scripts.install && !scripts.preinstall) {
    scripts.install = 'node-gyp rebuild';
    implicit = true;
  }
  return { scripts, implicit };
}

// ------------------------------------------------------------------------------------------- diffs

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

function splitLines(text: string): string[] {
  const lines = text.split(/\r?\n/);
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

export interface DiffOp {
  op: ' ' | '-' | '+';
  line: string;
}

/**
 * A line diff (Myers' O(ND) algorithm, after trimming the common prefix and suffix). When more than
 * `maxEdits` edits would be needed, the differing middle is shown as removed then added.
 */
export function diffLines(a: string[], b: string[], maxEdits = DEFAULT_LIMITS.diffMaxEdits): DiffOp[] {
  return lineDiff(a, b, maxEdits).ops;
}

/** diffLines, and whether the edit cap was hit (the middle then shows as replaced wholesale). */
function lineDiff(a: string[], b: string[], maxEdits: number): { ops: DiffOp[]; exact: boolean } {
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const head: DiffOp[] = a.slice(0, start).map((line) => ({ op: ' ', line }));
  const tail: DiffOp[] = a.slice(endA).map((line) => ({ op: ' ', line }));
  const A = a.slice(start, endA);
  const B = b.slice(start, endB);
  const exact = myers(A, B, maxEdits);
  const middle = exact ?? [...A.map((line): DiffOp => ({ op: '-', line })), ...B.map((line): DiffOp => ({ op: '+', line }))];
  return { ops: [...head, ...middle, ...tail], exact: exact !== null };
}

function myers(A: string[], B: string[], maxEdits: number): DiffOp[] | null {
  const n = A.length;
  const m = B.length;
  if (n === 0) return B.map((line) => ({ op: '+', line }));
  if (m === 0) return A.map((line) => ({ op: '-', line }));
  const max = Math.min(n + m, maxEdits);
  const offset = n + m + 1;
  const v = new Int32Array(2 * offset + 1);
  // trace[d] = v[k] for k in -d..d after round d (index k + d).
  const trace: Int32Array[] = [];
  for (let d = 0; d <= max; d++) {
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!) ? v[offset + k + 1]! : v[offset + k - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && A[x] === B[y]) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) {
        trace.push(v.slice(offset - d, offset + d + 1));
        return backtrack(A, B, trace);
      }
    }
    trace.push(v.slice(offset - d, offset + d + 1));
  }
  return null;
}

function backtrack(A: string[], B: string[], trace: Int32Array[]): DiffOp[] {
  const ops: DiffOp[] = [];
  let x = A.length;
  let y = B.length;
  for (let d = trace.length - 1; d > 0; d--) {
    const prev = trace[d - 1]!;
    const at = (k: number) => prev[k + d - 1]!;
    const k = x - y;
    const prevK = k === -d || (k !== d && at(k - 1) < at(k + 1)) ? k + 1 : k - 1;
    const prevX = at(prevK);
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      ops.push({ op: ' ', line: A[x - 1]! });
      x--;
      y--;
    }
    if (x === prevX) {
      ops.push({ op: '+', line: B[y - 1]! });
      y--;
    } else {
      ops.push({ op: '-', line: A[x - 1]! });
      x--;
    }
  }
  while (x > 0 && y > 0) {
    ops.push({ op: ' ', line: A[x - 1]! });
    x--;
    y--;
  }
  return ops.reverse();
}

/** A unified diff of `ops` (`--- a/path`, `+++ b/path`, `@@` hunks with `context` lines), cut at `maxLines`. */
export function unifiedDiff(
  path: string,
  ops: DiffOp[],
  opts: { context: number; maxLines: number; maxLineChars: number; added?: boolean },
): { text: string; truncated: boolean } {
  const lines = [opts.added ? '--- /dev/null' : `--- a/${path}`, `+++ b/${path}`];
  // Positions (1-based) in a and b of every op.
  const posA: number[] = [];
  const posB: number[] = [];
  let ia = 1;
  let ib = 1;
  for (const o of ops) {
    posA.push(ia);
    posB.push(ib);
    if (o.op !== '+') ia++;
    if (o.op !== '-') ib++;
  }
  const changes = ops.map((o, i) => (o.op === ' ' ? -1 : i)).filter((i) => i >= 0);
  let truncated = false;
  let i = 0;
  while (i < changes.length) {
    const from = Math.max(0, changes[i]! - opts.context);
    let to = Math.min(ops.length - 1, changes[i]! + opts.context);
    let j = i + 1;
    while (j < changes.length && changes[j]! - opts.context <= to + 1) {
      to = Math.min(ops.length - 1, changes[j]! + opts.context);
      j++;
    }
    const slice = ops.slice(from, to + 1);
    const countA = slice.filter((o) => o.op !== '+').length;
    const countB = slice.filter((o) => o.op !== '-').length;
    const startA = countA === 0 ? posA[from]! - 1 : posA[from]!;
    const startB = countB === 0 ? posB[from]! - 1 : posB[from]!;
    lines.push(`@@ -${startA},${countA} +${startB},${countB} @@`);
    for (const o of slice) {
      const line = o.line.length > opts.maxLineChars ? `${o.line.slice(0, opts.maxLineChars)}... [${o.line.length - opts.maxLineChars} more characters]` : o.line;
      lines.push(`${o.op}${line}`);
    }
    if (lines.length > opts.maxLines) {
      truncated = true;
      break;
    }
    i = j;
  }
  if (lines.length > opts.maxLines) {
    truncated = true;
    lines.length = opts.maxLines;
  }
  if (truncated) lines.push(`... (diff cut at ${opts.maxLines} lines)`);
  return { text: lines.join('\n'), truncated };
}

// ------------------------------------------------------------------------------------------- code heuristics

const CODE_EXT = /\.(js|cjs|mjs|jsx)$/i;

function isCodePath(path: string): boolean {
  return CODE_EXT.test(path);
}

function startsWithNodeShebang(tree: Tree, path: string): boolean {
  const f = tree.files.get(path);
  if (!f || f.binary || f.size === 0 || f.tooLarge) return false;
  const fd = openSync(join(tree.root, ...path.split('/')), 'r');
  try {
    const head = Buffer.alloc(128);
    const n = readSync(fd, head, 0, head.length, 0);
    return /^#!.*\bnode\b/.test(head.subarray(0, n).toString('utf8'));
  } finally {
    closeSync(fd);
  }
}

/** Why a JS text looks minified or obfuscated (empty when it does not). */
export function codeHeuristics(source: string, limits: InspectLimits = DEFAULT_LIMITS): CodeReason[] {
  const reasons: CodeReason[] = [];
  // An inline source map is one long base64 line that every compiler writes; it is not the code.
  const text = source.replace(/^\/\/[#@] sourceMappingURL=data:[^,\n]*;base64,[A-Za-z0-9+/=]*[ \t\r]*$/gm, '');
  const lines = text.split('\n');
  let longest = 0;
  let long = 0;
  for (const l of lines) {
    if (l.length > longest) longest = l.length;
    if (l.length > limits.longLine) long++;
  }
  if (longest > limits.longLine) {
    reasons.push({ code: 'long-lines', detail: `${long} line${long === 1 ? '' : 's'} over ${limits.longLine} characters (longest ${longest})` });
  }
  if (text.length >= limits.denseMinBytes) {
    const ws = text.match(/\s/g)?.length ?? 0;
    const ratio = (text.length - ws) / text.length;
    if (ratio > limits.denseRatio) reasons.push({ code: 'dense', detail: `${Math.round(ratio * 100)}% non-whitespace` });
  }
  const escapes = text.match(/\\x[0-9a-fA-F]{2}|\\u[0-9a-fA-F]{4}|\\u\{[0-9a-fA-F]+\}/g)?.length ?? 0;
  if (escapes >= limits.escapesMin && (escapes * 1000) / Math.max(1, text.length) >= limits.escapesPerKb) {
    reasons.push({ code: 'escapes', detail: `${escapes} hex/unicode escapes (${((escapes * 1000) / text.length).toFixed(0)} per 1000 characters)` });
  }
  const names = new Set(text.match(/\b_0x[0-9a-fA-F]{3,8}\b/g) ?? []);
  if (names.size >= limits.obfuscatorNamesMin) reasons.push({ code: 'obfuscator-names', detail: `${names.size} _0x... identifiers` });
  const dynamic = dynamicCode(text);
  if (dynamic.length) reasons.push({ code: 'dynamic-code', detail: dynamic.join('; ') });
  const blob = base64Blob(text, limits.base64MinChars);
  if (blob) reasons.push({ code: 'base64-blob', detail: `a base64 run of ${blob} characters (${formatBytes(Math.floor((blob * 3) / 4))} decoded)` });
  const bidi = text.match(/[\u202A-\u202E\u2066-\u2069]/g)?.length ?? 0;
  if (bidi) reasons.push({ code: 'bidi-control', detail: `${bidi} bidirectional control character${bidi === 1 ? '' : 's'} (text may not read as it runs)` });
  return reasons;
}

const STRING_BUILDING = /\+|\.join\s*\(|fromCharCode|atob\s*\(|Buffer\.from\s*\(|\.replace\s*\(|\.split\s*\(|\.reverse\s*\(|\.concat\s*\(|\$\{|decodeURIComponent\s*\(|unescape\s*\(|\.toString\s*\(/;

/** `eval(...)` (any argument that is not a plain literal) and `Function(...)` built from strings. */
function dynamicCode(text: string): string[] {
  const found = new Map<string, number>();
  for (const m of text.matchAll(/\b(eval|Function)\s*\(/g)) {
    const before = text.slice(Math.max(0, m.index - 1), m.index);
    if (before === '.' && m[1] === 'eval') continue; // obj.eval(...) is a method call
    const args = argumentText(text, m.index + m[0].length);
    const literal = /^\s*(['"`])[^'"`$]*\1\s*$/.test(args);
    const suspicious = m[1] === 'eval' ? !literal || STRING_BUILDING.test(args) : STRING_BUILDING.test(args);
    if (!suspicious) continue;
    const key = `${m[1]}(`;
    found.set(key, (found.get(key) ?? 0) + 1);
  }
  return [...found].map(([k, n]) => `${k} with a built string${n > 1 ? ` (${n} times)` : ''}`);
}

/** The text of a call's arguments (up to the matching parenthesis, at most 400 characters). */
function argumentText(text: string, from: number): string {
  let depth = 1;
  let i = from;
  const end = Math.min(text.length, from + 400);
  for (; i < end; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')' && --depth === 0) break;
  }
  return text.slice(from, i);
}

/** Length of the longest base64 run of at least `min` characters that is not an inline source map; 0 if none. */
function base64Blob(text: string, min: number): number {
  let longest = 0;
  const re = new RegExp(`[A-Za-z0-9+/]{${min},}={0,2}`, 'g');
  for (const m of text.matchAll(re)) {
    const prefix = text.slice(Math.max(0, m.index - 120), m.index);
    if (/sourceMappingURL=data:[^,\s]*;base64,$/.test(prefix)) continue;
    const s = m[0];
    // A real payload mixes cases and digits; long runs of one letter or path-like text do not.
    if (!/[A-Z]/.test(s) || !/[a-z]/.test(s) || !/[0-9]/.test(s)) continue;
    if (s.length > longest) longest = s.length;
  }
  return longest;
}

// ------------------------------------------------------------------------------------------- install surface

interface CallMatch {
  where: string;
  event: InstallEvent;
  line: number;
  kind: CallKind;
  match: string;
  text: string;
}

const CALL_PATTERNS: { kind: CallKind; re: RegExp; name: (m: RegExpMatchArray) => string }[] = [
  // Modules: require('https'), require("node:child_process"), import ... from 'net', import('dns').
  {
    kind: 'network',
    re: /(?:require\s*\(\s*|from\s+|import\s*\(\s*|import\s+)['"`](?:node:)?(https?|http2|net|tls|dns|dgram|undici|axios|node-fetch|got|request|ws)(?:\/[^'"`]*)?['"`]/g,
    name: (m) => m[1]!,
  },
  { kind: 'process', re: /(?:require\s*\(\s*|from\s+|import\s*\(\s*|import\s+)['"`](?:node:)?(child_process|worker_threads|cluster|execa|cross-spawn|shelljs)['"`]/g, name: (m) => m[1]! },
  { kind: 'network', re: /\b(fetch|XMLHttpRequest|WebSocket)\s*\(/g, name: (m) => `${m[1]}()` },
  { kind: 'network', re: /process\.binding\s*\(\s*['"](tcp_wrap|udp_wrap|cares_wrap)['"]/g, name: (m) => `process.binding(${m[1]})` },
  // `exec(` but not `re.exec(` (RegExp): a method call counts only on a child_process-like receiver.
  { kind: 'process', re: /(?<![\w$.])exec\s*\(|(?:child_?process|\bcp|\bproc|\bshell|\bshelljs)\s*\.\s*exec\s*\(/gi, name: () => 'exec()' },
  { kind: 'process', re: /\b(execSync|execFile|execFileSync|spawn|spawnSync|fork|execa|execaSync|execaCommand)\s*\(/g, name: (m) => `${m[1]}()` },
  { kind: 'process', re: /process\.binding\s*\(\s*['"](spawn_sync|process_wrap)['"]/g, name: (m) => `process.binding(${m[1]})` },
  { kind: 'network', re: /\b(curl|wget|ncat|netcat|telnet|Invoke-WebRequest|Invoke-RestMethod|Net\.WebClient|bitsadmin|certutil)(?![\w-])/g, name: (m) => m[1]! },
  { kind: 'network', re: /\/dev\/(tcp|udp)\//g, name: (m) => `/dev/${m[1]}` },
  { kind: 'process', re: /\b(powershell|pwsh)(?:\.exe)?\b/gi, name: (m) => m[1]!.toLowerCase() },
  { kind: 'network', re: /\bhttps?:\/\/[^\s'"`)<>]+/g, name: () => 'url' },
  // gyp command expansions run a shell command while node-gyp configures the build.
  { kind: 'process', re: /<!@?\(/g, name: () => 'gyp <!( )' },
];

/**
 * Network and process-spawning calls in a text, one per (line, match). With `code`, lines that are only a
 * comment (`//`, `/*`, `*`) are skipped: they do not run.
 */
export function scanCalls(text: string, opts: { code?: boolean } = {}): { line: number; kind: CallKind; match: string; text: string }[] {
  const out: { line: number; kind: CallKind; match: string; text: string }[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    const t = l.trim();
    if (!t || (opts.code && (t.startsWith('//') || t.startsWith('/*') || t.startsWith('*')))) continue;
    const seen = new Set<string>();
    for (const p of CALL_PATTERNS) {
      p.re.lastIndex = 0;
      for (const m of l.matchAll(p.re)) {
        const match = p.name(m);
        if (match === 'url' && seen.size) continue; // a URL beside a real call adds nothing
        if (seen.has(match)) continue;
        seen.add(match);
        out.push({ line: i + 1, kind: p.kind, match, text: snippet(l, m.index ?? 0) });
      }
    }
  }
  return out;
}

function snippet(line: string, at: number): string {
  const t = line.trim();
  if (t.length <= 160) return t;
  const lead = line.length - line.trimStart().length;
  const from = Math.max(0, at - lead - 60);
  return `${from > 0 ? '...' : ''}${t.slice(from, from + 160)}${from + 160 < t.length ? '...' : ''}`;
}

function callKey(c: { where: string; kind: CallKind; match: string; text: string }): string {
  return `${c.where}\0${c.kind}\0${c.match}\0${c.text}`;
}

/**
 * Everything the install scripts reach: the commands themselves, `npm run <x>` scripts they call, the files
 * they run (`node install.js`, `sh ./setup.sh`, `./bin/x`, `node -r ./hook.js`), followed through relative
 * require/import, and binding.gyp when node-gyp runs. Returns the calls found, and the files scanned.
 */
function installSurface(
  tree: Tree,
  pkg: Record<string, unknown>,
  scripts: Partial<Record<InstallEvent, string>>,
  limits: InspectLimits,
): { calls: CallMatch[]; files: string[]; truncated: boolean; unscanned: string[] } {
  const calls: CallMatch[] = [];
  const unscanned: string[] = [];
  const all = pkg.scripts && typeof pkg.scripts === 'object' ? (pkg.scripts as Record<string, unknown>) : {};
  const files: string[] = [];
  const fileEvent = new Map<string, InstallEvent>();
  let truncated = false;
  const enqueue = (path: string | undefined, event: InstallEvent) => {
    if (!path || fileEvent.has(path)) return;
    if (files.length >= limits.maxFollowedFiles) {
      truncated = true;
      return;
    }
    fileEvent.set(path, event);
    files.push(path);
  };

  for (const event of INSTALL_EVENTS) {
    const command = scripts[event];
    if (command === undefined) continue;
    const commands: { label: string; text: string }[] = [{ label: `scripts.${event}`, text: command }];
    // Follow `npm run <name>` (and yarn/pnpm run) into the package's other scripts, a few levels.
    for (let i = 0; i < commands.length && i < 10; i++) {
      for (const m of commands[i]!.text.matchAll(/\b(?:npm|pnpm|yarn)\s+(?:run(?:-script)?\s+)?([\w:.-]+)/g)) {
        const name = m[1]!;
        const text = all[name];
        if (typeof text === 'string' && !commands.some((c) => c.label === `scripts.${name}`)) commands.push({ label: `scripts.${name}`, text });
      }
    }
    for (const c of commands) {
      for (const hit of scanCalls(c.text)) calls.push({ where: c.label, event, ...hit });
      for (const f of filesRunBy(c.text, tree)) enqueue(f, event);
    }
    if (/\bnode-gyp\b/.test(commands.map((c) => c.text).join('\n')) && tree.files.has('binding.gyp')) enqueue('binding.gyp', event);
  }

  for (let i = 0; i < files.length; i++) {
    const path = files[i]!;
    const f = tree.files.get(path);
    if (!f) continue;
    if (f.binary || f.size > limits.maxScanBytes) {
      unscanned.push(path);
      continue;
    }
    const text = readText(tree, path);
    const event = fileEvent.get(path)!;
    for (const hit of scanCalls(text, { code: isCodePath(path) || startsWithNodeShebang(tree, path) })) calls.push({ where: path, event, ...hit });
    if (path !== 'binding.gyp') for (const dep of relativeImports(text, path, tree)) enqueue(dep, event);
  }
  return { calls, files, truncated, unscanned };
}

const RUNNERS = new Set(['node', 'nodejs', 'bun', 'deno', 'tsx', 'ts-node', 'sh', 'bash', 'zsh', 'dash', 'python', 'python3', 'perl', 'ruby', 'pwsh', 'powershell']);
/** Runner options whose next argument is also a file that runs (`node -r ./hook.js x.js`). */
const FILE_OPTIONS = new Set(['-r', '--require', '--import', '--loader', '--experimental-loader']);
/** Runner options that take a (non-file) value. */
const VALUE_OPTIONS = new Set(['-e', '--eval', '-p', '--print', '-c', '--title', '--input-type', '--stack-size', '--max-old-space-size']);

/** Files in the package a shell command runs. */
export function filesRunBy(command: string, tree: { files: Map<string, unknown> }): string[] {
  const out: string[] = [];
  for (const segment of command.split(/&&|\|\||[;|&\n]/)) {
    const words = shellWords(segment);
    // Skip `VAR=value`, `env`, `cross-env`, `exec`, `npx`.
    let i = 0;
    while (i < words.length && (/^[A-Za-z_][A-Za-z0-9_]*=/.test(words[i]!) || ['env', 'cross-env', 'exec', 'npx', 'command', 'time', 'nohup'].includes(words[i]!))) i++;
    const cmd = words[i];
    if (cmd === undefined) continue;
    const add = (p: string) => {
      const resolved = resolveInPackage(p, '', tree);
      if (resolved) out.push(resolved);
    };
    if (RUNNERS.has(cmd.replace(/\.exe$/, ''))) {
      for (let j = i + 1; j < words.length; j++) {
        const w = words[j]!;
        if (FILE_OPTIONS.has(w)) {
          if (words[j + 1] !== undefined) add(words[j + 1]!);
          j++;
        } else if (VALUE_OPTIONS.has(w)) {
          // `node -e "require('./setup')"`: the code itself is scanned with the command; follow its requires.
          if (['-e', '--eval', '-p', '--print'].includes(w) && words[j + 1] !== undefined) {
            for (const m of words[j + 1]!.matchAll(/require\s*\(\s*['"`](\.{1,2}\/[^'"`]+)['"`]/g)) add(m[1]!);
          }
          j++;
        } else if (w.startsWith('-')) {
          const eq = w.indexOf('=');
          if (eq > 0 && FILE_OPTIONS.has(w.slice(0, eq))) add(w.slice(eq + 1));
        } else if (w === 'run' && cmd === 'deno') {
          continue;
        } else {
          add(w);
          break;
        }
      }
    } else {
      // `./install.sh`, `bin/setup`: a file of the package run directly.
      add(cmd);
    }
  }
  return out;
}

/** Split a command segment into words, honouring simple quotes. */
function shellWords(s: string): string[] {
  const words: string[] = [];
  for (const m of s.matchAll(/"((?:\\.|[^"\\])*)"|'([^']*)'|(\S+)/g)) words.push(m[1] ?? m[2] ?? m[3]!);
  return words;
}

/** A path inside the package for `spec` (relative to `fromDir`), trying node's extensions; undefined if none. */
function resolveInPackage(spec: string, fromDir: string, tree: { files: Map<string, unknown> }): string | undefined {
  const cleaned = spec.replace(/\\/g, '/');
  if (cleaned.startsWith('/') || /^[a-z]+:/i.test(cleaned)) return undefined;
  const joined = posix.normalize(posix.join(fromDir, cleaned));
  if (joined.startsWith('..') || joined === '.') return undefined;
  for (const candidate of [joined, `${joined}.js`, `${joined}.cjs`, `${joined}.mjs`, `${joined}/index.js`, `${joined}/index.cjs`, `${joined}/index.mjs`]) {
    if (tree.files.has(candidate)) return candidate;
  }
  return undefined;
}

/** Relative require/import targets of a JS file, resolved in the package. */
function relativeImports(text: string, path: string, tree: Tree): string[] {
  const dir = posix.dirname(path) === '.' ? '' : posix.dirname(path);
  const out: string[] = [];
  const re = /(?:require\s*\(\s*|from\s+|import\s*\(\s*|import\s+)['"`](\.{1,2}\/[^'"`]+)['"`]/g;
  for (const m of text.matchAll(re)) {
    const p = resolveInPackage(m[1]!, dir, tree);
    if (p && !p.endsWith('.json') && !tree.files.get(p)?.binary) out.push(p);
  }
  return out;
}

export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  if (n < 1_000_000) return `${(n / 1000).toFixed(1)} kB`;
  return `${(n / 1_000_000).toFixed(1)} MB`;
}
