// What the install scripts of a package reach, and the network or process-spawning calls found there: the
// commands themselves, the package's scripts they run (`npm run x`), the files they run (`node install.js`,
// `./setup.sh`), followed through relative require/import. Files are only read as text.
import { posix } from 'node:path';
import { INSTALL_EVENTS, type CallFinding, type CallKind, type InspectLimits, type InstallEvent } from './types.js';
import { isCodePath, readText, startsWithNodeShebang, type Tree } from './tree.js';

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

/** A call found, before it is compared with the other version (`new`). */
type CallMatch = Omit<CallFinding, 'new'>;

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

export function callKey(c: { where: string; kind: CallKind; match: string; text: string }): string {
  return `${c.where}\0${c.kind}\0${c.match}\0${c.text}`;
}

/**
 * Everything the install scripts reach: the commands themselves, `npm run <x>` scripts they call, the files
 * they run (`node install.js`, `sh ./setup.sh`, `./bin/x`, `node -r ./hook.js`), followed through relative
 * require/import, and binding.gyp when node-gyp runs. Returns the calls found, and the files scanned.
 */
export function installSurface(
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
