// Reader for npm's package-lock.json / npm-shrinkwrap.json (lockfileVersion 1, 2 and 3).
// Pure: text in, LockedTree out. It fails closed: anything it cannot interpret throws
// LockfileError('malformed'), because a silently skipped entry would be installed unchecked.

import { dirname } from 'node:path';
import { minimatch } from 'minimatch';
import type { LockfileFormat } from '../types.js';
import type { LockedPackage, LockedTree, SourceKind } from './types.js';
import { LockfileError } from './errors.js';
import { binNamesOf } from '../util/bin-names.js';
import { isRegistryTarball, malformed } from './registry-url.js';
import { type Json, isObject } from '../util/is-object.js';
import { checkInstallName, installNameOf, MAX_NESTING, nesting, NM, parentPath, tooDeep } from './npm-paths.js';
import { scanEntryLines } from './npm-lines.js';

export interface NpmLockfileOptions {
  /**
   * The root project's parsed package.json. Only used for v1 lockfiles, which do not record the
   * root's own dependency ranges; without it, top-level entries nothing else requires are taken
   * as the root's dependencies with range `*`.
   */
  rootManifest?: unknown;
}

const ROOT = '(root)';
const GIT_SPEC = /^(?:git\+[a-z]+:|git:|github:|gitlab:|bitbucket:|gist:)/i;
const TARBALL_FILE = /\.(?:tgz|tar\.gz|tar)$/i;
// Arborist's order: a later kind replaces an earlier one for the same name; devDependencies last.
const DEP_FIELDS = ['peerDependencies', 'dependencies', 'optionalDependencies', 'devDependencies'];

/** One lockfile entry, normalised across v1 and v2/v3. */
interface Entry {
  /** Install path: `node_modules/a/node_modules/b`, or a folder such as `workspaces/x`; `''` is the root. */
  path: string;
  /** How error messages name the entry: `packages["node_modules/a"]`, `dependencies["a"]`. */
  where: string;
  /** Registry name (the alias target for aliases); for folders, package.json `name` if recorded. */
  name?: string;
  /** Name under node_modules (the last path segment); undefined for folders. */
  installName?: string;
  version?: string;
  resolved?: string;
  integrity?: string;
  dev: boolean;
  optional: boolean;
  hasInstallScript: boolean;
  /** Bin names the entry records (v2/v3 `bin`), as npm normalizes them. */
  bins?: string[];
  inBundle: boolean;
  /** A symlink entry (v2/v3 `link: true`); `resolved` is the target folder. */
  link: boolean;
  /** The root or a project folder outside node_modules (workspace, `file:` directory target). */
  top: boolean;
  workspace: boolean;
  /** Set when the v1 `version` field itself names the source (git URL, file:, tarball URL). */
  fixedSource?: SourceKind;
  /** Dependency name -> range asked for. */
  deps: Map<string, string>;
  order: number;
  line?: number;
}

interface Group {
  key: string;
  name: string;
  version: string;
  source: SourceKind;
  resolved?: string;
  integrity?: string;
  entries: Entry[];
  /** Group key of the package whose tarball carries this one (source `bundled`). */
  ownerKey?: string;
  id: string;
  dependents: Map<string, { name: string; range: string }>;
}

export function readNpmLockfile(path: string, text: string, options: NpmLockfileOptions = {}): LockedTree {
  const json = parseJson(path, text);
  const lockfileVersion = json.lockfileVersion;

  let format: LockfileFormat;
  let fromPackages: boolean;
  if (lockfileVersion === 1 || (lockfileVersion === undefined && json.dependencies !== undefined)) {
    // Lockfiles from npm 5 before lockfileVersion existed are v1 in all but name.
    format = 'npm-v1';
    fromPackages = false;
  } else if (lockfileVersion === 2) {
    format = 'npm-v2';
    // v2 carries both sections; `packages` is the authoritative one. Fall back like npm does.
    fromPackages = json.packages !== undefined;
  } else if (lockfileVersion === 3) {
    format = 'npm-v3';
    if (json.packages === undefined) throw malformed(path, 'lockfileVersion 3 without a "packages" section');
    fromPackages = true;
  } else {
    throw new LockfileError(
      'unsupported-version',
      path,
      lockfileVersion === undefined
        ? 'no lockfileVersion and no "dependencies": not an npm lockfile this tool can read'
        : `unsupported lockfileVersion ${JSON.stringify(lockfileVersion)} (supported: 1, 2, 3)`,
    );
  }

  const lines = scanEntryLines(text, fromPackages);
  const entries = fromPackages ? readPackagesSection(path, json.packages, lines) : readDependenciesSection(path, json.dependencies, lines, options.rootManifest);

  const rootEntry = entries.get('');
  const rootName = fromPackages ? (rootEntry?.name ?? optString(path, json.name, 'name')) : optString(path, json.name, 'name');
  const rootVersion = fromPackages ? (rootEntry?.version ?? optString(path, json.version, 'version')) : optString(path, json.version, 'version');

  return {
    lockfilePath: path,
    format,
    root: { ...(rootName !== undefined && { name: rootName }), ...(rootVersion !== undefined && { version: rootVersion }), dir: dirname(path) },
    workspaces: [...entries.values()].filter((e) => e.workspace).map((e) => e.path),
    packages: buildPackages(path, entries, !fromPackages && options.rootManifest === undefined),
  };
}

// ---------------------------------------------------------------------------------------------
// Parsing and validation

function parseJson(path: string, text: string): Json {
  let value: unknown;
  try {
    // npm tolerates a UTF-8 BOM (json-parse-even-better-errors strips it); so do we.
    value = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (err) {
    throw malformed(path, `not valid JSON (${(err as Error).message})`, err);
  }
  if (!isObject(value)) throw malformed(path, 'the top level is not a JSON object');
  return value;
}

function optString(file: string, v: unknown, where: string): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw malformed(file, `${where} must be a string`);
  return v;
}

function optBool(file: string, v: unknown, where: string): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw malformed(file, `${where} must be true or false`);
  return v;
}

function optStringMap(file: string, v: unknown, where: string): Record<string, string> {
  if (v === undefined) return {};
  if (!isObject(v)) throw malformed(file, `${where} must be an object`);
  for (const [k, range] of Object.entries(v)) {
    if (typeof range !== 'string') throw malformed(file, `${where}[${JSON.stringify(k)}] must be a string`);
  }
  return v as Record<string, string>;
}

/** `dependencies` etc. of one entry. Peers are included: like every edge, they count only if a copy resolves. */
function readDeps(file: string, raw: Json, where: string, withDev: boolean): Map<string, string> {
  const deps = new Map<string, string>();
  for (const field of withDev ? DEP_FIELDS : DEP_FIELDS.slice(0, -1)) {
    for (const [name, range] of Object.entries(optStringMap(file, raw[field], `${where}.${field}`))) {
      deps.set(name, range);
    }
  }
  return deps;
}

/** lockfileVersion 2/3: the flat `packages` map keyed by install path. */
function readPackagesSection(file: string, section: unknown, lines: Map<string, number>): Map<string, Entry> {
  if (!isObject(section)) throw malformed(file, '"packages" must be an object');
  const root = section[''];
  if (root !== undefined && !isObject(root)) throw malformed(file, 'packages[""] must be an object');
  const workspacePatterns = readWorkspacePatterns(file, isObject(root) ? root.workspaces : undefined);

  const entries = new Map<string, Entry>();
  let order = 0;
  for (const [key, raw] of Object.entries(section)) {
    const where = `packages[${JSON.stringify(key)}]`;
    if (!isObject(raw)) throw malformed(file, `${where} must be an object`);
    const depth = nesting(key);
    if (depth > MAX_NESTING) throw tooDeep(file, where, depth);
    const installName = key === '' ? undefined : installNameOf(key);
    if (installName !== undefined) checkInstallName(file, installName, where);
    const top = installName === undefined;
    const entry: Entry = {
      path: key,
      where,
      name: optString(file, raw.name, `${where}.name`) ?? installName,
      installName,
      version: optString(file, raw.version, `${where}.version`),
      resolved: optString(file, raw.resolved, `${where}.resolved`),
      integrity: optString(file, raw.integrity, `${where}.integrity`),
      dev: optBool(file, raw.dev, `${where}.dev`),
      optional: optBool(file, raw.optional, `${where}.optional`),
      hasInstallScript: optBool(file, raw.hasInstallScript, `${where}.hasInstallScript`),
      // What npm links on `npm ci` comes from here, not from the tarball: read it as npm normalizes it.
      bins: binNamesOf({ name: optString(file, raw.name, `${where}.name`) ?? installName, bin: raw.bin }),
      inBundle: optBool(file, raw.inBundle, `${where}.inBundle`),
      link: optBool(file, raw.link, `${where}.link`),
      top,
      workspace: top && key !== '' && isWorkspace(key, workspacePatterns),
      // The root and linked folders are projects of their own: npm installs their devDependencies.
      deps: readDeps(file, raw, where, top),
      order: order++,
      line: lines.get(key),
    };
    optBool(file, raw.devOptional, `${where}.devOptional`); // validated only: dev-or-optional is neither dev-only nor optional-only
    if (entry.link && entry.resolved === undefined) throw malformed(file, `${where} is a link without "resolved"`);
    if (!top && !entry.link && entry.version === undefined) throw malformed(file, `${where} has no version`);
    entries.set(key, entry);
  }
  return entries;
}

function readWorkspacePatterns(file: string, v: unknown): { include: string[]; exclude: string[] } {
  // package.json `workspaces` is an array of globs, or (yarn style) { packages: [...] }.
  const list = isObject(v) ? v.packages : v;
  if (list === undefined) return { include: [], exclude: [] };
  if (!Array.isArray(list) || !list.every((p) => typeof p === 'string')) {
    throw malformed(file, 'packages[""].workspaces must be a list of folder patterns');
  }
  const norm = (p: string) => p.replace(/^\.\//, '').replace(/\/+$/, '');
  return {
    include: list.filter((p) => !p.startsWith('!')).map(norm),
    exclude: list.filter((p) => p.startsWith('!')).map((p) => norm(p.slice(1))),
  };
}

function isWorkspace(folder: string, patterns: { include: string[]; exclude: string[] }): boolean {
  return patterns.include.some((p) => minimatch(folder, p)) && !patterns.exclude.some((p) => minimatch(folder, p));
}

/** lockfileVersion 1: nested `dependencies`, keyed by install name. */
function readDependenciesSection(file: string, section: unknown, lines: Map<string, number>, rootManifest: unknown): Map<string, Entry> {
  const entries = new Map<string, Entry>();
  let order = 0;
  entries.set('', {
    path: '',
    where: 'package.json',
    dev: false,
    optional: false,
    hasInstallScript: false,
    inBundle: false,
    link: false,
    top: true,
    workspace: false,
    // v1 does not record the root's ranges; take them from package.json when the caller has it.
    deps: manifestDeps(rootManifest),
    order: order++,
  });

  // Depth first, in lockfile order (an entry, then everything nested in it, then its next sibling), with a
  // stack of its own: a lockfile nested thousands of levels deep must not exhaust the call stack.
  interface Level {
    items: Iterator<[string, unknown]>;
    parentPath: string;
    where: string;
    depth: number;
  }
  const stack: Level[] = [];
  const open = (deps: unknown, parentPath: string, where: string, depth: number): void => {
    if (deps === undefined) return;
    if (!isObject(deps)) throw malformed(file, `${where} must be an object`);
    if (depth > MAX_NESTING) throw tooDeep(file, where, depth);
    stack.push({ items: Object.entries(deps)[Symbol.iterator](), parentPath, where, depth });
  };
  open(section, '', 'dependencies', 1);
  while (stack.length) {
    const level = stack[stack.length - 1]!;
    const next = level.items.next();
    if (next.done) {
      stack.pop();
      continue;
    }
    const [key, raw] = next.value;
    const { parentPath, where, depth } = level;
    const w = `${where}[${JSON.stringify(key)}]`;
    if (!isObject(raw)) throw malformed(file, `${w} must be an object`);
    checkInstallName(file, key, w);
    const path = parentPath === '' ? NM + key : `${parentPath}/${NM}${key}`;
    const version = optString(file, raw.version, `${w}.version`);
    if (version === undefined) throw malformed(file, `${w} has no version`);
    const entry: Entry = {
      path,
      where: w,
      name: key,
      installName: key,
      version,
      resolved: optString(file, raw.resolved, `${w}.resolved`),
      integrity: optString(file, raw.integrity, `${w}.integrity`),
      dev: optBool(file, raw.dev, `${w}.dev`),
      optional: optBool(file, raw.optional, `${w}.optional`),
      hasInstallScript: false, // v1 does not record install scripts
      inBundle: optBool(file, raw.bundled, `${w}.bundled`),
      link: false,
      top: false,
      workspace: false,
      deps: new Map(Object.entries(optStringMap(file, raw.requires, `${w}.requires`))),
      order: order++,
      line: lines.get(path),
    };
    applyV1Version(file, entry, w);
    entries.set(path, entry);
    open(raw.dependencies, path, `${w}.dependencies`, depth + 1);
  }
  return entries;
}

/** The root's ranges from package.json; lenient, since it is only context here and npm validates it. */
function manifestDeps(manifest: unknown): Map<string, string> {
  const deps = new Map<string, string>();
  if (!isObject(manifest)) return deps;
  for (const field of DEP_FIELDS) {
    const m = manifest[field];
    if (!isObject(m)) continue;
    for (const [name, range] of Object.entries(m)) if (typeof range === 'string') deps.set(name, range);
  }
  return deps;
}

/** In v1 the `version` field may itself be the spec: `npm:bar@1.0.0`, a git URL, `file:`, a tarball URL. */
function applyV1Version(file: string, entry: Entry, where: string): void {
  const v = entry.version!;
  if (v.startsWith('npm:')) {
    const spec = v.slice(4);
    const at = spec.lastIndexOf('@');
    if (at <= 0 || at === spec.length - 1) throw malformed(file, `${where}.version ${JSON.stringify(v)} is not npm:<name>@<version>`);
    entry.name = spec.slice(0, at);
    entry.version = spec.slice(at + 1);
  } else if (GIT_SPEC.test(v)) {
    entry.fixedSource = 'git';
    entry.resolved ??= v;
  } else if (v.startsWith('file:')) {
    // npm 6 symlinked directory deps and unpacked tarballs; only the spec tells them apart.
    entry.fixedSource = TARBALL_FILE.test(v) ? 'file' : 'link';
    entry.resolved ??= v;
  } else if (/^https?:/i.test(v)) {
    entry.fixedSource = 'tarball';
    entry.resolved ??= v;
  }
}

// ---------------------------------------------------------------------------------------------
// Entries -> packages

/** A folder of the install tree: entries by path segment, so Node's lookup costs a step per level, not a path string. */
interface Folder {
  segment: string;
  parent?: Folder;
  children: Map<string, Folder>;
  entry?: Entry;
}

/** Every entry's folder, from the root folder `''`. */
function folderTree(entries: Map<string, Entry>): Map<Entry, Folder> {
  const root: Folder = { segment: '', children: new Map() };
  const folders = new Map<Entry, Folder>();
  for (const e of entries.values()) {
    let f = root;
    if (e.path !== '') {
      for (const segment of e.path.split('/')) {
        let child = f.children.get(segment);
        if (!child) f.children.set(segment, (child = { segment, parent: f, children: new Map() }));
        f = child;
      }
    }
    f.entry ??= e;
    folders.set(e, f);
  }
  return folders;
}

/** Node's lookup: `<from>/node_modules/<dep>`, then each ancestor folder's node_modules, up to the root's. */
function resolveDep(from: Folder, dep: string): Entry | undefined {
  const segments = dep.split('/');
  for (let dir: Folder | undefined = from; dir; dir = dir.parent) {
    // Node never looks in node_modules/node_modules, and a folder outside the project does not
    // see the project's node_modules.
    if (dir.segment === '..') return undefined;
    if (dir.segment === 'node_modules') continue;
    let f = dir.children.get('node_modules');
    for (let i = 0; f && i < segments.length; i++) f = f.children.get(segments[i]!);
    if (f?.entry) return f.entry;
  }
  return undefined;
}

function sourceOf(file: string, e: Entry): SourceKind {
  if (e.fixedSource) return e.fixedSource;
  const r = e.resolved;
  // No resolved (with or without integrity): npm fetches name@version from the configured registry.
  if (r === undefined) return 'registry';
  if (r.startsWith('file:')) return 'file';
  if (GIT_SPEC.test(r)) return 'git';
  if (/^https?:\/\//i.test(r)) return isRegistryTarball(r, e.name!, e.version!) ? 'registry' : 'tarball';
  throw malformed(file, `${e.where}.resolved ${JSON.stringify(r)} is not a URL, git or file: spec`);
}

/** The entry whose tarball carries a bundled entry: the nearest ancestor that is not itself bundled. */
function bundleOwner(entries: Map<string, Entry>, e: Entry): Entry | undefined {
  for (let p = parentPath(e.path); p !== undefined; p = parentPath(p)) {
    const a = entries.get(p);
    if (a && !a.inBundle) return a;
    if (p === '') return undefined;
  }
  return undefined;
}

function buildPackages(file: string, entries: Map<string, Entry>, guessRootDeps: boolean): LockedPackage[] {
  const groups = new Map<string, Group>();
  const groupOf = new Map<Entry, Group>();
  const add = (e: Entry, g: Omit<Group, 'entries' | 'id' | 'dependents'>): void => {
    let group = groups.get(g.key);
    if (!group) groups.set(g.key, (group = { ...g, entries: [], id: '', dependents: new Map() }));
    group.entries.push(e);
    groupOf.set(e, group);
  };

  // Links and their target folders: one `link` package per target, named by the target's package.json
  // name, which npm records only when it differs from the folder name.
  const linksTo = new Map<string, Entry[]>();
  for (const e of entries.values()) {
    if (!e.link) continue;
    const target = e.resolved!.replace(/^file:/, '');
    linksTo.set(target, [...(linksTo.get(target) ?? []), e]);
  }
  for (const [target, links] of linksTo) {
    const t = entries.get(target);
    const folder = t?.top ? t : undefined; // a link into node_modules leaves that entry its own package
    const first = links[0]!; // listed only with a link
    const name = folder ? folderName(folder) : first.installName!;
    const g = { key: `link\0${target}`, name, version: folder?.version ?? '', source: 'link' as const, resolved: first.resolved };
    for (const e of folder ? [...links, folder] : links) add(e, g);
  }
  for (const e of entries.values()) {
    if (!e.top || e.path === '' || groupOf.has(e)) continue;
    // A project folder nothing links to (e.g. an unlinked workspace): still report it, by folder name.
    add(e, { key: `link\0${e.path}`, name: folderName(e), version: e.version ?? '', source: 'link' });
  }

  // Installed packages. Bundled ones are grouped per carrying package, so they come second.
  const bundled: [Entry, Entry][] = [];
  for (const e of entries.values()) {
    if (e.top || e.link) continue;
    const owner = e.inBundle ? bundleOwner(entries, e) : undefined;
    // The root's (or a workspace's) own bundleDependencies are installed like any dependency.
    if (owner && !owner.top) {
      bundled.push([e, owner]);
      continue;
    }
    const source = sourceOf(file, e);
    add(e, {
      key: [e.name, e.version, source, e.resolved ?? '', e.integrity ?? ''].join('\0'),
      name: e.name!,
      version: e.version!,
      source,
      resolved: e.resolved,
      integrity: e.integrity,
    });
  }
  for (const [e, owner] of bundled) {
    const ownerKey = groupOf.get(owner)!.key;
    add(e, {
      key: [e.name, e.version, 'bundled', e.resolved ?? '', e.integrity ?? '', ownerKey].join('\0'),
      name: e.name!,
      version: e.version!,
      source: 'bundled',
      resolved: e.resolved,
      integrity: e.integrity,
      ownerKey,
    });
  }

  // Lockfile order; ids unique (a second copy of name@version with a different resolved/integrity gets `#2`).
  for (const g of groups.values()) g.entries.sort((a, b) => a.order - b.order);
  const ordered = [...groups.values()].sort((a, b) => a.entries[0]!.order - b.entries[0]!.order);
  const used = new Set<string>();
  for (const g of ordered) {
    const base = g.source === 'registry' ? `${g.name}@${g.version}` : `${g.name}@${g.resolved ?? g.entries[0]!.path}`;
    let id = base;
    for (let n = 2; used.has(id); n++) id = `${base}#${n}`;
    used.add(id);
    g.id = id;
  }

  // Dependents: resolve every dependency edge to the copy Node would load.
  const requiredSomewhere = new Set<Entry>();
  const folders = folderTree(entries);
  for (const e of entries.values()) {
    const dependent = e.path === '' || e.workspace ? ROOT : (groupOf.get(e)?.name ?? e.name ?? e.path);
    for (const [depName, range] of e.deps) {
      const target = resolveDep(folders.get(e)!, depName);
      // Unresolved: a peer nobody installed, or an optional dep for another platform. Nothing
      // gets installed for it, so there is nothing to check.
      if (!target) continue;
      requiredSomewhere.add(target);
      const g = groupOf.get(target);
      if (g) g.dependents.set(`${dependent}\0${range}`, { name: dependent, range });
    }
  }
  if (guessRootDeps) {
    // v1 without package.json: a top-level entry nothing requires can only be there for the root.
    for (const e of entries.values()) {
      if (parentPath(e.path) === '' && !requiredSomewhere.has(e)) {
        groupOf.get(e)!.dependents.set(`${ROOT}\0*`, { name: ROOT, range: '*' });
      }
    }
  }

  return ordered.map((g) => toPackage(g, groups));
}

function binsOfGroup(g: Group): string[] {
  return [...new Set(g.entries.flatMap((e) => e.bins ?? []))].sort();
}

function folderName(e: Entry): string {
  return e.name ?? e.path.slice(e.path.lastIndexOf('/') + 1);
}

function toPackage(g: Group, groups: Map<string, Group>): LockedPackage {
  const installed = g.entries.filter((e) => !e.top);
  const aliases = [...new Set(installed.map((e) => e.installName!).filter((n) => n !== g.name))];
  const dependents = [...g.dependents.values()];
  const firstLine = g.entries.find((e) => e.line !== undefined)?.line;
  const bins = binsOfGroup(g);
  return {
    id: g.id,
    name: g.name,
    aliases,
    version: g.version,
    ...(g.integrity !== undefined && { integrity: g.integrity }),
    ...(g.resolved !== undefined && { resolved: g.resolved }),
    source: g.source,
    direct: dependents.some((d) => d.name === ROOT),
    dev: g.entries.every((e) => e.dev),
    optional: g.entries.every((e) => e.optional),
    hasInstallScript: g.entries.some((e) => e.hasInstallScript),
    ...(bins.length && { bins }),
    paths: g.entries.map((e) => e.path),
    dependents,
    ...(g.ownerKey !== undefined && { bundledIn: groups.get(g.ownerKey)!.id }),
    ...(firstLine !== undefined && { lockfileLine: firstLine }),
  };
}
