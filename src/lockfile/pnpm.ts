// Reader for pnpm's pnpm-lock.yaml: lockfileVersion 5.x (pnpm 5-7), 6.x (pnpm 8) and 9.x (pnpm 9-11,
// including pnpm 11's leading "env" document of configDependencies). Pure: text in, LockedTree out. Like the
// npm reader it fails closed: anything it cannot interpret throws LockfileError('malformed'), because a
// silently skipped entry would be installed unchecked.
//
// Libraries: `yaml` parses the file (with every key's line, which lockfileLine needs, and duplicate keys as
// errors); `@pnpm/dependency-path` 1001 (pnpm 10's; pnpm 11's successor @pnpm/deps.path needs Node >= 22.13)
// splits v6/v9 dependency paths (`name@version(patch_hash=..)(peer@1.0.0(...))`) and names pnpm's store
// folders. pnpm's own lockfile readers are not used: @pnpm/lockfile-file@9
// (pnpm 9) reads 6.x and 9.x but misreads 5.x without an error, @pnpm/lockfile-file@8 reads 5.x/6.x but not
// 9.x, @pnpm/lockfile.fs@1001 (pnpm 10) reads a 6.0 file as zero packages, and @pnpm/lockfile.fs@1100
// (pnpm 11) needs Node >= 22.13; all of them are async and read `<dir>/pnpm-lock.yaml` by that fixed name,
// while readLockfile is synchronous and takes any path.
//
// The model (see types.ts): one LockedPackage per name@version and source, whatever the peer suffixes
// (`foo@1.0.0(react@18.2.0)` and `foo@1.0.0(react@17.0.2)` are one package installed twice); `paths` are where
// pnpm installs each copy (`node_modules/.pnpm/foo@1.0.0_react@18.2.0/node_modules/foo`, one per v9 `snapshots`
// key or v5/v6 `packages` key); `lockfileLine` is the line of its `packages` key
// (where the resolution and integrity are); importers (the root and workspaces) are the direct dependents,
// named `(root)` as in the npm reader; every workspace folder and `link:` target is a `link` package.

import { dirname, posix } from 'node:path';
import type * as DependencyPath from '@pnpm/dependency-path';
import semver from 'semver';
import type * as JsYaml from 'js-yaml';
import { createRequire } from 'node:module';
import { lazy } from '../util/lazy.js';

// A plain require (not a computed name), so the bundler (scripts/bundle.mjs) sees and includes each library.
const require = createRequire(import.meta.url);

const jsYaml = lazy<typeof JsYaml>(() => require('js-yaml'));
const dependencyPath = lazy<typeof DependencyPath>(() => require('@pnpm/dependency-path'));
import type { LockfileFormat } from '../types.js';
import type { LockedTree, SourceKind } from './types.js';
import { LockfileError } from './errors.js';
import { isRegistryTarball, malformed, q } from './registry-url.js';
import { type Json, isObject } from '../util/is-object.js';
import { Graph, assemble, checkPackageName, type GraphNode } from './graph.js';

type Major = 5 | 6 | 9;

const DEP_FIELDS = ['dependencies', 'optionalDependencies', 'devDependencies'] as const;

export function readPnpmLockfile(path: string, text: string): LockedTree {
  const docs = parseYaml(path, text);
  // pnpm 11 writes `---\n<env document>\n---\n<lockfile>` when the project has configDependencies; the env
  // document is v9-shaped and its packages are installed too, so they are read like the main ones.
  let env: ParsedDoc | undefined;
  let main: ParsedDoc;
  if (docs.length === 2 && /^(?:\uFEFF)?---\r?\n/.test(text)) [env, main] = docs as [ParsedDoc, ParsedDoc];
  else if (docs.length === 1) main = docs[0]!;
  else throw malformed(path, `expected one YAML document (or pnpm 11's env document and the lockfile), found ${docs.length}`);

  const major = lockfileMajor(path, main.value.lockfileVersion);
  const graph = new Graph(path);
  const lockfile = new Lockfile(path, graph, main, major, '');
  if (env) {
    if (lockfileMajor(path, env.value.lockfileVersion) !== 9) throw malformed(path, 'the env document (the first of two) is not lockfileVersion 9');
    new Lockfile(path, graph, env, 9, 'env:').read(['configDependencies', 'packageManagerDependencies']);
  }
  lockfile.read([...DEP_FIELDS]);

  return {
    lockfilePath: path,
    format: `pnpm-v${major}` as LockfileFormat,
    root: { dir: dirname(path) },
    workspaces: Object.keys(isObject(main.value.importers) ? main.value.importers : {})
      .map((d) => posix.normalize(d))
      .filter((d) => d !== '.'),
    packages: assemble(graph, { recordedDev: major !== 9 }),
  };
}

// ---------------------------------------------------------------------------------------------
// YAML

interface ParsedDoc {
  value: Json;
  /** Line of each key of the top-level sections: `packages`, `snapshots`, `importers` -> key -> line. */
  lines: Map<string, Map<string, number>>;
}

function parseYaml(path: string, text: string): ParsedDoc[] {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  let values: unknown[];
  try {
    // js-yaml, the parser pnpm itself reads lockfiles with (its fork @zkochan/js-yaml), 6-10x faster here than
    // `yaml`. failsafe: every scalar stays the string written (a version `1.10` must not become the number 1.1);
    // booleans are interpreted below. A duplicate key is an error, as a duplicate could hide an entry.
    values = jsYaml().loadAll(body, undefined, { schema: jsYaml().FAILSAFE_SCHEMA });
  } catch (err) {
    throw malformed(path, `not valid YAML (${(err as Error).message.split('\n')[0]})`, err);
  }
  if (values.length === 0) throw malformed(path, 'the file is empty');
  const lines = keyLines(body);
  return values.map((value, n) => {
    if (!isObject(value)) throw malformed(path, 'the top level is not a mapping');
    return { value, lines: lines[n] ?? new Map() };
  });
}

/**
 * The line of each key directly under a top-level section (`packages:` then `  /a@1.0.0:`), per document, for
 * SARIF and annotations: where pnpm writes them (two spaces in, one key per line, plain or quoted). Only
 * locations come from here; every value comes from the parser.
 */
function keyLines(text: string): Map<string, Map<string, number>>[] {
  const docs: Map<string, Map<string, number>>[] = [new Map()];
  let section: Map<string, number> | undefined;
  const lines = text.split('\n');
  let content = false; // any line so far but comments and blank ones (a marker included)
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '');
    if (/^---(?:\s|$)/.test(line)) {
      // A document marker: a new document, unless it opens the first one.
      if (content) docs.push(new Map());
      content = true;
      section = undefined;
      continue;
    }
    if (line.trim() && !line.startsWith('#')) content = true;
    const top = /^([^\s#'"][^:]*|'(?:[^']|'')*'|"(?:[^"\\]|\\.)*"):(?:\s|$)/.exec(line);
    if (top) {
      section = new Map();
      docs[docs.length - 1]!.set(unquote(top[1]!), section);
      continue;
    }
    const key = /^ {2}([^\s#'"].*?|'(?:[^']|'')*'|"(?:[^"\\]|\\.)*"):(?:\s|$)/.exec(line);
    if (key && section) section.set(unquote(key[1]!), i + 1);
  }
  return docs;
}

function unquote(raw: string): string {
  if (raw.startsWith("'")) return raw.slice(1, -1).replace(/''/g, "'");
  if (raw.startsWith('"')) {
    try {
      return JSON.parse(raw) as string;
    } catch {
      return raw.slice(1, -1);
    }
  }
  return raw;
}

function lockfileMajor(path: string, v: unknown): Major {
  if (v === undefined) {
    throw new LockfileError('unsupported-version', path, 'no lockfileVersion: not a pnpm lockfile this tool can read');
  }
  const s = String(v);
  // 5.x (pnpm 5-7, and pnpm 7's experimental `5.4-inlineSpecifiers`), 6.x (pnpm 8), 9.x (pnpm 9-11).
  if (/^5(?:\.\d+)?(?:-inlineSpecifiers)?$/.test(s)) return 5;
  if (/^6\.\d+$/.test(s)) return 6;
  if (/^9\.\d+$/.test(s)) return 9;
  throw new LockfileError('unsupported-version', path, `unsupported pnpm lockfileVersion ${JSON.stringify(s)} (supported: 5.x, 6.x, 9.x)`);
}

// ---------------------------------------------------------------------------------------------
// Validation helpers (the YAML is read with the failsafe schema: scalars are strings)

function optObject(file: string, v: unknown, where: string): Json | undefined {
  if (v === undefined || v === '') return undefined; // `key:` with nothing after it
  if (!isObject(v)) throw malformed(file, `${where} must be a mapping`);
  return v;
}

function optString(file: string, v: unknown, where: string): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw malformed(file, `${where} must be a string`);
  return v;
}

function optBool(file: string, v: unknown, where: string): boolean | undefined {
  if (v === undefined) return undefined;
  if (v === 'true' || v === 'True' || v === 'TRUE') return true;
  if (v === 'false' || v === 'False' || v === 'FALSE') return false;
  throw malformed(file, `${where} must be true or false`);
}

function stringMap(file: string, v: unknown, where: string): Record<string, string> {
  const o = optObject(file, v, where) ?? {};
  for (const [k, s] of Object.entries(o)) if (typeof s !== 'string') throw malformed(file, `${where}[${q(k)}] must be a string`);
  return o as Record<string, string>;
}

// ---------------------------------------------------------------------------------------------
// One lockfile document -> graph nodes and edges

interface Resolved {
  source: SourceKind;
  resolved?: string;
  integrity?: string;
}

class Lockfile {
  private readonly doc: Json;
  /** `packages`: resolution and metadata (v9: by key without peer suffix). */
  private readonly infos: Json;
  /** The entries that are installed: v9 `snapshots`, v5/v6 `packages`. */
  private readonly entries: Json;
  private readonly nodes = new Map<string, GraphNode>();

  constructor(
    private readonly file: string,
    private readonly graph: Graph,
    private readonly parsed: ParsedDoc,
    private readonly major: Major,
    /** Namespaces node keys of pnpm 11's env document. */
    private readonly ns: string,
  ) {
    this.doc = parsed.value;
    this.infos = optObject(file, this.doc.packages, 'packages') ?? {};
    this.entries = major === 9 ? (optObject(file, this.doc.snapshots, 'snapshots') ?? {}) : this.infos;
  }

  read(importerFields: readonly string[]): void {
    // Workspace folders first, so that they come first in the report as in the lockfile.
    if (this.ns === '') {
      for (const dir of Object.keys(optObject(this.file, this.doc.importers, 'importers') ?? {})) {
        const folder = posix.normalize(dir);
        if (folder !== '.') this.graph.workspaceNode(folder);
      }
    }
    const keyLines = this.parsed.lines.get('packages') ?? new Map<string, number>();
    const used = new Set<string>();
    for (const [key, raw] of Object.entries(this.entries)) {
      const where = `${this.major === 9 ? 'snapshots' : 'packages'}[${q(key)}]`;
      const entry = optObject(this.file, raw, where) ?? {};
      const infoKey = this.major === 9 ? dependencyPath().removeSuffix(key) : key;
      const info = this.major === 9 ? optObject(this.file, this.infos[infoKey], `packages[${q(infoKey)}]`) : entry;
      if (!info) throw malformed(this.file, `${where} has no entry packages[${q(infoKey)}]`);
      used.add(infoKey);
      this.addNode(key, where, `packages[${q(infoKey)}]`, entry, info, keyLines.get(infoKey));
    }
    // v9: a `packages` entry without a snapshot is not installed by pnpm; it is still checked (fail closed).
    if (this.major === 9) {
      for (const [key, raw] of Object.entries(this.infos)) {
        if (used.has(key)) continue;
        const where = `packages[${q(key)}]`;
        this.addNode(key, where, where, {}, optObject(this.file, raw, where) ?? {}, keyLines.get(key));
      }
    }
    for (const [key, raw] of Object.entries(this.entries)) this.addEdges(key, optObject(this.file, raw, '') ?? {});
    this.readImporters(importerFields);
  }

  /** `where` names the installed entry (v9: its snapshot), `infoWhere` the one with its resolution. */
  private addNode(key: string, where: string, infoWhere: string, entry: Json, info: Json, line: number | undefined): void {
    const { name, version } = this.nameAndVersion(key, infoWhere, info);
    const res = this.resolution(key, infoWhere, info, name, version);
    // pnpm v5/v6 record `dev: true` (dev only), `dev: false` (prod only) or nothing (both); v9 records nothing.
    const dev = this.major === 9 ? undefined : optBool(this.file, info.dev, `${where}.dev`) === true;
    const node: GraphNode = {
      key: this.ns + key,
      name,
      version,
      ...res,
      // v5/v6 `requiresBuild: true`; v9 no longer records it, so the registry manifest decides.
      // pnpm 5/6 `requiresBuild` means "might need a build" (set for packages with no install script at all), so
      // it is validated but not trusted: the registry manifest decides before install, the disk scan after.
      hasInstallScript: validatedOnly(optBool(this.file, info.requiresBuild, `${where}.requiresBuild`)),
      installNames: [],
      paths: [this.installPath(key, name)],
      ...(line !== undefined && { line }),
      ...(dev !== undefined && { dev }),
      optional: optBool(this.file, entry.optional ?? info.optional, `${where}.optional`) === true,
    };
    this.nodes.set(key, node);
    this.graph.nodes.push(node);
  }

  /**
   * Where pnpm installs an entry: `node_modules/.pnpm/<the key as a folder name>/node_modules/<name>`, named as
   * pnpm 9+ names it with the default virtualStoreDirMaxLength (120; older pnpm hashed over-long names
   * differently). pnpm 11's configDependencies go to `node_modules/.pnpm-config/<name>`.
   */
  private installPath(key: string, name: string): string {
    if (this.ns !== '') return `node_modules/.pnpm-config/${name}`;
    let depPath = key;
    if (this.major === 5) {
      // v5 `/name/1.0.0_peers` (or `host/name/1.0.0`) was installed as `name@1.0.0_peers`.
      const at = key.indexOf(`${name}/`);
      if (at >= 0 && parseV5Key(key).name === name) depPath = `${key.slice(0, at).replace(/^\//, '')}${name}@${key.slice(at + name.length + 1)}`;
    }
    return `node_modules/.pnpm/${dependencyPath().depPathToFilename(depPath, 120)}/node_modules/${name}`;
  }

  /** Name and version: from the key, or the entry's own `name`/`version` (recorded for non-registry keys). */
  private nameAndVersion(key: string, where: string, info: Json): { name: string; version: string } {
    const recordedName = optString(this.file, info.name, `${where}.name`);
    const recordedVersion = optString(this.file, info.version, `${where}.version`);
    let fromKey: { name?: string; version?: string } = {};
    if (this.major === 5) {
      fromKey = parseV5Key(key);
    } else if (this.major === 9 || key.startsWith('/')) {
      const p = dependencyPath().parse(this.major === 9 ? key : key.slice(1));
      if (p.name !== undefined && (p.version !== undefined || p.nonSemverVersion !== undefined)) fromKey = { name: p.name, version: p.version };
    }
    const name = recordedName ?? fromKey.name;
    const version = recordedVersion ?? fromKey.version;
    if (name === undefined || name === '' || version === undefined || version === '') {
      throw malformed(this.file, `${where}: cannot tell the package name and version from the key or the entry`);
    }
    checkPackageName(this.file, name, where);
    return { name, version };
  }

  private resolution(key: string, where: string, info: Json, name: string, version: string): Resolved {
    const w = `${where}.resolution`;
    const r = optObject(this.file, info.resolution, w);
    if (!r) throw malformed(this.file, `${where} has no resolution`);
    const integrity = optString(this.file, r.integrity, `${w}.integrity`);
    const type = optString(this.file, r.type, `${w}.type`);
    if (type === 'directory') {
      // A `file:` directory dependency: pnpm copies (injects) the folder.
      const directory = optString(this.file, r.directory, `${w}.directory`);
      if (directory === undefined) throw malformed(this.file, `${w} has type directory but no directory`);
      return { source: 'file', resolved: `file:${directory}` };
    }
    if (type === 'git') {
      const repo = optString(this.file, r.repo, `${w}.repo`);
      const commit = optString(this.file, r.commit, `${w}.commit`);
      if (repo === undefined || commit === undefined) throw malformed(this.file, `${w} has type git but no repo and commit`);
      const sub = optString(this.file, r.path, `${w}.path`);
      return { source: 'git', resolved: `${repo}#${commit}${sub ? `&path:${sub}` : ''}` };
    }
    if (type === 'binary' || type === 'variations') {
      // pnpm 10+ runtimes (`node@runtime:22.0.0`): downloaded from the runtime's own site, not the registry.
      const url = type === 'binary' ? optString(this.file, r.url, `${w}.url`) : firstVariantUrl(r);
      return { source: 'tarball', ...(url !== undefined && { resolved: url }), ...(integrity !== undefined && { integrity }) };
    }
    if (type !== undefined) throw malformed(this.file, `${w}.type ${q(type)} is not a resolution this tool can check`);
    const tarball = optString(this.file, r.tarball, `${w}.tarball`);
    if (tarball === undefined || tarball === '') {
      if (integrity === undefined) throw malformed(this.file, `${w} has neither integrity nor tarball`);
      return { source: 'registry', integrity };
    }
    const withIntegrity = integrity !== undefined ? { integrity } : {};
    if (tarball.startsWith('file:')) return { source: 'file', resolved: tarball, ...withIntegrity };
    const gitHosted = r.gitHosted;
    if ((gitHosted !== undefined && gitHosted !== 'false') || isGitHostedTarballUrl(tarball)) {
      return { source: 'git', resolved: tarball, ...withIntegrity };
    }
    if (/^https?:\/\//i.test(tarball)) {
      const registryShaped = semver.valid(version) !== null && isRegistryTarball(tarball, name, version) && !keyIsNonSemver(this.major, key);
      return { source: registryShaped ? 'registry' : 'tarball', resolved: tarball, ...withIntegrity };
    }
    // A scheme-less relative path is resolved against the configured registry (pnpm does the same).
    if (!/^[a-z][a-z0-9+.-]*:/i.test(tarball) && !tarball.startsWith('/') && !tarball.startsWith('\\')) {
      return { source: 'registry', resolved: tarball, ...withIntegrity };
    }
    throw malformed(this.file, `${w}.tarball ${q(tarball)} is not an http(s) URL, a file: path or a registry path`);
  }

  /** The lockfile key a dependency reference points to, or the folder a `link:` reference points to. */
  private target(ref: string, alias: string, importerDir: string): { key: string } | { link: string } {
    if (ref.startsWith('link:')) return { link: posix.normalize(posix.join(importerDir, ref.slice(5))) };
    if (this.major === 9) return { key: dependencyPath().refToRelative(ref, alias)! };
    if (ref.startsWith('file:')) return { key: ref };
    const base = dependencyPath().removeSuffix(ref);
    if (this.major === 6) return { key: base.includes('/') ? ref : `/${alias}@${ref}` };
    // v5: `1.0.0`, `1.0.0_react@18.2.0` (peers after `_`, scoped names written with `+`), or a full path.
    const underscore = ref.indexOf('_');
    const plain = underscore < 0 ? !ref.includes('/') : ref.lastIndexOf('/', underscore) < 0;
    return { key: plain ? `/${alias}/${ref}` : ref };
  }

  /** `importerDir`: the project folder asking (`link:` paths are relative to it); undefined for a package. */
  private resolveRef(ref: string, alias: string, importerDir: string | undefined, where: string): GraphNode {
    checkPackageName(this.file, alias, where);
    const t = this.target(ref, alias, importerDir ?? '.');
    if ('link' in t) return this.graph.linkNode(t.link, alias, importerDir);
    const node = this.nodes.get(t.key);
    if (!node) throw malformed(this.file, `${where} is ${q(ref)}, which has no entry in the lockfile`);
    if (!node.installNames.includes(alias)) node.installNames.push(alias); // an alias when it is not the name
    return node;
  }

  private addEdges(key: string, entry: Json): void {
    const section = this.major === 9 ? 'snapshots' : 'packages';
    const from = this.nodes.get(key)!;
    const info = this.major === 9 ? (optObject(this.file, this.infos[dependencyPath().removeSuffix(key)], '') ?? {}) : entry;
    const peers = stringMap(this.file, info.peerDependencies, `packages[${q(this.major === 9 ? dependencyPath().removeSuffix(key) : key)}].peerDependencies`);
    for (const field of ['dependencies', 'optionalDependencies'] as const) {
      const where = `${section}[${q(key)}].${field}`;
      for (const [alias, ref] of Object.entries(stringMap(this.file, entry[field], where))) {
        // `link:` paths in packages are relative to the lockfile's folder.
        const to = this.resolveRef(ref, alias, undefined, `${where}[${q(alias)}]`);
        this.graph.edges.push({ from, to, range: peers[alias] ?? lockedRange(to, alias, ref), dev: false, optional: field === 'optionalDependencies' });
      }
    }
  }

  private readImporters(fields: readonly string[]): void {
    const catalogs = optObject(this.file, this.doc.catalogs, 'catalogs') ?? {};
    let importers = optObject(this.file, this.doc.importers, 'importers');
    if (importers === undefined) {
      // A single-project lockfile keeps the root's dependencies at the top level.
      importers = { '.': this.doc };
    }
    for (const [dir, raw] of Object.entries(importers)) {
      const where = `importers[${q(dir)}]`;
      const importer = optObject(this.file, raw, where) ?? {};
      const normalized = posix.normalize(dir);
      const specifiers = stringMap(this.file, importer.specifiers, `${where}.specifiers`); // v5
      const asked = new Map<string, string>(); // a name in dependencies and devDependencies is a prod dependency
      for (const field of fields) {
        for (const name of Object.keys(optObject(this.file, importer[field], `${where}.${field}`) ?? {})) {
          if (field !== 'devDependencies' || !asked.has(name)) asked.set(name, field);
        }
      }
      for (const field of fields) {
        const deps = optObject(this.file, importer[field], `${where}.${field}`) ?? {};
        for (const [alias, value] of Object.entries(deps)) {
          const w = `${where}.${field}[${q(alias)}]`;
          let ref: string;
          let specifier: string | undefined;
          if (typeof value === 'string') {
            ref = value; // v5: the version here, the range in `specifiers`
            specifier = specifiers[alias];
          } else if (isObject(value)) {
            ref = optString(this.file, value.version, `${w}.version`) ?? '';
            specifier = optString(this.file, value.specifier, `${w}.specifier`);
          } else {
            throw malformed(this.file, `${w} must be a string or a mapping`);
          }
          if (ref === '') throw malformed(this.file, `${w} has no version`);
          const to = this.resolveRef(ref, alias, normalized, w);
          const range = catalogRange(catalogs, alias, specifier) ?? lockedRange(to, alias, ref);
          this.graph.edges.push({ to, range, dev: asked.get(alias) === 'devDependencies', optional: field === 'optionalDependencies' });
        }
      }
    }
  }
}

function firstVariantUrl(r: Json): string | undefined {
  const variants = r.variants;
  if (!Array.isArray(variants)) return undefined;
  for (const v of variants) {
    const res = isObject(v) && isObject(v.resolution) ? v.resolution : undefined;
    if (res && typeof res.url === 'string') return res.url;
    if (res && typeof res.tarball === 'string') return res.tarball;
  }
  return undefined;
}

/** `catalog:` / `catalog:<name>` specifiers stand for the catalog's own range. */
function catalogRange(catalogs: Json, alias: string, specifier: string | undefined): string | undefined {
  if (specifier === undefined) return undefined;
  if (!specifier.startsWith('catalog:')) return specifier;
  const catalog = catalogs[specifier.slice(8) || 'default'];
  const entry = isObject(catalog) ? catalog[alias] : undefined;
  return isObject(entry) && typeof entry.specifier === 'string' ? entry.specifier : specifier;
}

/**
 * The range a package's dependency asked for. pnpm records only what it resolved, not the range in the
 * dependent's package.json, so this is the locked version (an alias: `npm:<name>@<version>`), or the
 * reference itself for a non-registry source.
 */
function lockedRange(to: GraphNode, alias: string, ref: string): string {
  if (to.source !== 'registry') return ref;
  return to.name === alias ? to.version : `npm:${to.name}@${to.version}`;
}

/** v5 keys: `/name/1.0.0`, `/@scope/name/1.0.0_peer@1.0.0`, or `registry.host/name/1.0.0` from another registry. */
function parseV5Key(key: string): { name?: string; version?: string } {
  let rest: string;
  if (key.startsWith('/')) rest = key.slice(1);
  else if (/^[a-z0-9.-]+(?::\d+)?\//i.test(key) && !key.startsWith('file:')) rest = key.slice(key.indexOf('/') + 1);
  else return {};
  const parts = rest.split('/');
  const nameParts = parts[0]?.startsWith('@') ? 2 : 1;
  if (parts.length !== nameParts + 1) return {};
  const name = parts.slice(0, nameParts).join('/');
  const last = parts[nameParts]!; // parts has nameParts + 1 items
  const underscore = last.indexOf('_');
  const version = underscore < 0 ? last : last.slice(0, underscore);
  return semver.valid(version) ? { name, version } : {};
}

function keyIsNonSemver(major: Major, key: string): boolean {
  if (major === 5) return parseV5Key(key).version === undefined;
  if (major === 6 && !key.startsWith('/')) return true;
  const p = dependencyPath().parse(major === 9 ? key : key.slice(1));
  return p.nonSemverVersion !== undefined;
}

/** pnpm's own test (lockfile.utils): tarballs from a git host's download endpoint are git dependencies. */
function isGitHostedTarballUrl(url: string): boolean {
  const u = url.toLowerCase();
  return (u.startsWith('https://codeload.github.com/') || u.startsWith('https://bitbucket.org/') || u.startsWith('https://gitlab.com/')) && u.includes('tar.gz');
}

/** A field that is checked for its type but whose value is not trusted (pnpm 5/6 `requiresBuild`): always false. */
function validatedOnly(_checked: boolean | undefined): false {
  return false;
}
