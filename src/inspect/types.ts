// What `safe-install inspect` reports about two versions of a package, its limits, and its input: the shapes the
// comparison (diff.ts), the text report (report/inspect-text.ts) and the downloader (fetch.ts) share.
import { DEFAULT_MAX_EDITS } from '../util/line-diff.js';

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
  diffMaxEdits: DEFAULT_MAX_EDITS,
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
