// Reader for yarn.lock: yarn 1 ("yarn lockfile v1", read by yarn's own @yarnpkg/lockfile) and yarn 2+
// ("berry", `__metadata`, read by yarn's own @yarnpkg/parsers parseSyml). Pure: text (and the project's
// package.json files, when the caller has them) in, LockedTree out. Like the npm reader it fails closed:
// anything it cannot interpret throws LockfileError('malformed').
//
// The model (see types.ts and graph.ts, the graph code shared with the pnpm reader): one LockedPackage
// per name@version and source; `paths` are the entry's descriptors (`name@range`, as written in the key);
// `lockfileLine` is the line of the entry's key; the root project and its workspaces are the direct
// dependents, named `(root)`; workspaces are `link` packages.
//
// Integrity: yarn 1 `integrity` is the registry's SRI (and the `#<sha1>` of `resolved` is the registry's
// shasum), so both are compared with the registry. Yarn berry's `checksum` is NOT: it hashes the zip archive
// yarn builds in its own cache (`<cacheKey>/<sha512 of the zip>`), not the registry tarball, so nothing in a
// berry lockfile can be compared with the registry's integrity. Berry packages therefore carry no
// `integrity`; the checks look the version up on the registry and report that the lockfile records none.

import { dirname } from 'node:path';
import type * as YarnParsers from '@yarnpkg/parsers';
import { createRequire } from 'node:module';
import { lazy } from '../util/lazy.js';

// A plain require (not a computed name), so the bundler (scripts/bundle.mjs) sees and includes each library.
const require = createRequire(import.meta.url);
import semver from 'semver';
import ssri from 'ssri';
import type { LockedTree, SourceKind } from './types.js';
import { LockfileError } from './errors.js';
import { isRegistryTarball, malformed, q } from './registry-url.js';
import { type Json, isObject } from '../util/is-object.js';
import { Graph, assemble, checkPackageName, type GraphNode } from './graph.js';
import { binNamesOf } from '../util/bin-names.js';

export interface YarnLockfileOptions {
  /**
   * The root project's parsed package.json. Yarn lockfiles do not record which entries the root asks for
   * (yarn 1) or which of them are devDependencies (both). Without it, yarn 1 entries nothing else depends on
   * are taken as the root's dependencies, and nothing is marked dev.
   */
  rootManifest?: unknown;
  /** The workspaces: folder relative to the lockfile's folder (`/`-separated) and its parsed package.json. */
  workspaces?: { dir: string; manifest: unknown }[];
}

// @yarnpkg/lockfile is a webpack bundle flagged __esModule whose `parse` is only on module.exports: an ESM
// default import gives module.exports under Node but `exports.default` under bundler interop; require is exact.
const yarnLockfile = lazy<typeof import('@yarnpkg/lockfile')>(() => require('@yarnpkg/lockfile'));
const parsers = lazy<typeof YarnParsers>(() => require('@yarnpkg/parsers'));

/**
 * Berry lockfile versions (`__metadata.version`) this reader knows: yarn 2 wrote 4, yarn 4 wrote 8 and 9, and
 * 4.18 writes 10 (same entry shape; read by the real-yarn tests in test/integration/package-managers.test.ts).
 */
const BERRY_VERSIONS = { min: 4, max: 10 };
const MANIFEST_FIELDS = ['dependencies', 'optionalDependencies', 'devDependencies'] as const;
const GIT_SPEC = /^(?:git\+[a-z]+:|git:|github:|gitlab:|bitbucket:)/i;

export function readYarnLockfile(path: string, text: string, options: YarnLockfileOptions = {}): LockedTree {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const berry = /^__metadata:/m.test(body);
  const graph = new Graph(path);
  const manifests = new Manifests(options);
  if (berry) readBerry(path, body, graph, manifests);
  else readClassic(path, body, graph, manifests);
  const rootName = optStr(manifests.root?.name) ?? graph.rootName;
  const rootVersion = optStr(manifests.root?.version);
  return {
    lockfilePath: path,
    format: berry ? 'yarn-berry' : 'yarn-v1',
    root: { ...(rootName !== undefined && { name: rootName }), ...(rootVersion !== undefined && { version: rootVersion }), dir: dirname(path) },
    workspaces: manifests.workspaces.map((w) => w.dir),
    packages: assemble(graph, { recordedDev: false }),
  };
}

// ---------------------------------------------------------------------------------------------
// Helpers

function optStr(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function str(file: string, v: unknown, where: string, required: true): string;
function str(file: string, v: unknown, where: string, required?: false): string | undefined;
function str(file: string, v: unknown, where: string, required = false): string | undefined {
  if (v === undefined || v === null) {
    if (required) throw malformed(file, `${where} is missing`);
    return undefined;
  }
  if (typeof v !== 'string') throw malformed(file, `${where} must be a string`);
  return v;
}

function stringMap(file: string, v: unknown, where: string): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (!isObject(v)) throw malformed(file, `${where} must be a mapping`);
  for (const [k, s] of Object.entries(v)) if (typeof s !== 'string') throw malformed(file, `${where}[${q(k)}] must be a string`);
  return v as Record<string, string>;
}

/** `name@range` -> [name, range]; the name may be scoped (`@scope/name@range`). */
function splitDescriptor(file: string, descriptor: string, where: string): [string, string] {
  const at = descriptor.indexOf('@', 1);
  if (at <= 0) throw malformed(file, `${where}: ${q(descriptor)} is not <name>@<range>`);
  return [descriptor.slice(0, at), descriptor.slice(at + 1)];
}

/** `npm:name@range` (an alias) -> name; `npm:name` -> name. */
function aliasTarget(range: string): string | undefined {
  if (!range.startsWith('npm:')) return undefined;
  const spec = range.slice(4);
  const at = spec.indexOf('@', 1);
  const name = at > 0 ? spec.slice(0, at) : spec;
  return /^(?:@[^/@\s]+\/)?[^/@\s]+$/.test(name) && !/^[\^~<>=*\d]/.test(name) ? name : undefined;
}

/** Tarballs from a git host's download endpoints are git dependencies (pnpm's rule, lockfile.utils). */
function isGitHostedTarball(url: string): boolean {
  const u = url.toLowerCase();
  return (u.startsWith('https://codeload.github.com/') || u.startsWith('https://bitbucket.org/') || u.startsWith('https://gitlab.com/')) && u.includes('tar.gz');
}

/**
 * The line of each entry's key: keys are the lines at column 0 that are not comments, in file order, which is
 * the order the parsers return the entries in. Each assignment is checked (the line must start with the
 * entry's first descriptor, quoted or not), so a line is never given to the wrong entry; at worst none.
 */
function assignLines(text: string, nodes: { firstDescriptor: string; node: GraphNode }[]): void {
  const keyLines: { line: number; text: string }[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l === '' || l.startsWith('#') || /^\s/.test(l) || l.startsWith('__metadata:')) continue;
    keyLines.push({ line: i + 1, text: l });
  }
  const startsWith = (line: string, d: string): boolean => {
    const rest = line.startsWith(`"${d}`) ? line.slice(d.length + 1) : line.startsWith(d) ? line.slice(d.length) : undefined;
    return rest !== undefined && /^["',:]/.test(rest);
  };
  let at = 0;
  for (const { firstDescriptor, node } of nodes) {
    for (let j = at; j < keyLines.length; j++) {
      const k = keyLines[j]!;
      if (startsWith(k.text, firstDescriptor)) {
        node.line = k.line;
        at = j + 1;
        break;
      }
    }
  }
}

class Manifests {
  readonly root?: Json;
  private readonly byDir = new Map<string, Json>();
  readonly workspaces: { dir: string; manifest: Json }[] = [];

  constructor(options: YarnLockfileOptions) {
    if (isObject(options.rootManifest)) {
      this.root = options.rootManifest;
      this.byDir.set('.', options.rootManifest);
    }
    for (const w of options.workspaces ?? []) {
      if (!isObject(w.manifest)) continue;
      const dir = w.dir.replace(/^\.\//, '').replace(/\/+$/, '') || '.';
      if (dir === '.') continue;
      this.byDir.set(dir, w.manifest);
      this.workspaces.push({ dir, manifest: w.manifest });
    }
  }

  get(dir: string): Json | undefined {
    return this.byDir.get(dir);
  }

  /** A manifest's dependency ranges: [name, range, field], a name in dependencies and devDependencies being prod. */
  static deps(m: Json): { name: string; range: string; dev: boolean; optional: boolean }[] {
    const out = new Map<string, { name: string; range: string; dev: boolean; optional: boolean }>();
    for (const field of MANIFEST_FIELDS) {
      const deps = m[field];
      if (!isObject(deps)) continue;
      for (const [name, range] of Object.entries(deps)) {
        if (typeof range !== 'string' || out.has(name)) continue;
        out.set(name, { name, range, dev: field === 'devDependencies', optional: field === 'optionalDependencies' });
      }
    }
    return [...out.values()];
  }

  static has(m: Json | undefined, field: (typeof MANIFEST_FIELDS)[number], name: string): boolean {
    const deps = m?.[field];
    return isObject(deps) && typeof deps[name] === 'string';
  }
}

// ---------------------------------------------------------------------------------------------
// yarn 1

function readClassic(file: string, text: string, graph: Graph, manifests: Manifests): void {
  let parsed: ReturnType<ReturnType<typeof yarnLockfile>['parse']>;
  try {
    parsed = yarnLockfile().parse(text, file);
  } catch (err) {
    // yarn's parser recurses per nesting level: a lockfile nested thousands of levels deep exhausts the stack.
    const why = err instanceof RangeError ? 'nested too deeply to read' : (err as Error).message;
    throw malformed(file, `not a valid yarn.lock (${why})`, err);
  }
  if (parsed.type !== 'success') {
    throw malformed(file, 'has unresolved merge conflict markers; resolve the conflict (run yarn install) and commit the result');
  }
  if (!isObject(parsed.object)) throw malformed(file, 'the top level is not a mapping');

  // One entry per object: `"a@^1.0.0", "a@^1.1.0":` gives both descriptors the same object.
  const entries = new Map<object, string[]>();
  for (const [descriptor, raw] of Object.entries(parsed.object)) {
    if (!isObject(raw)) throw malformed(file, `entry ${q(descriptor)} must be a mapping`);
    const list = entries.get(raw);
    if (list) list.push(descriptor);
    else entries.set(raw, [descriptor]);
  }

  const byDescriptor = new Map<string, GraphNode>();
  const order: { firstDescriptor: string; node: GraphNode; raw: Json }[] = [];
  for (const [raw, descriptors] of entries as Map<Json, [string, ...string[]]>) {
    const where = `entry ${q(descriptors[0])}`;
    const version = str(file, raw.version, `${where}.version`, true);
    const resolved = str(file, raw.resolved, `${where}.resolved`);
    const integrity = str(file, raw.integrity, `${where}.integrity`);
    str(file, raw.uid, `${where}.uid`);
    const asked = descriptors.map((d) => splitDescriptor(file, d, where));
    const names = new Set(asked.map(([n, range]) => aliasTarget(range) ?? n));
    if (names.size !== 1) throw malformed(file, `${where}: its descriptors name different packages (${[...names].join(', ')})`);
    const name = [...names][0]!;
    for (const n of new Set([name, ...asked.map(([n]) => n)])) checkPackageName(file, n, where);
    const firstRange = asked[0]![1]; // one per descriptor: there is at least one
    const source = classicSource(file, where, name, version, firstRange, resolved);
    // Without `integrity` (yarn < 1.10), the `#<sha1>` yarn appends to a registry `resolved` is the
    // registry's shasum of the same tarball: compared as sha1.
    const sha1 = source === 'registry' && integrity === undefined ? /#([0-9a-f]{40})$/i.exec(resolved ?? '')?.[1] : undefined;
    const node: GraphNode = {
      key: descriptors.join(', '),
      name,
      version,
      source,
      ...(resolved !== undefined ? { resolved } : source !== 'registry' && { resolved: firstRange }),
      ...(integrity !== undefined ? { integrity } : sha1 !== undefined && { integrity: ssri.fromHex(sha1, 'sha1').toString() }),
      hasInstallScript: false, // yarn 1 does not record install scripts: the registry manifest decides
      installNames: [...new Set(asked.map(([n]) => n))],
      paths: descriptors,
    };
    graph.nodes.push(node);
    for (const d of descriptors) byDescriptor.set(d, node);
    order.push({ firstDescriptor: descriptors[0], node, raw });
  }
  assignLines(text, order);

  const workspaceByName = new Map<string, GraphNode>();
  for (const w of manifests.workspaces) {
    const name = optStr(w.manifest.name);
    // yarn 1 links every workspace into the root node_modules under its name.
    const node = name !== undefined ? graph.linkNode(w.dir, name, '.') : graph.workspaceNode(w.dir);
    if (typeof w.manifest.version === 'string' && node.version === '') node.version = w.manifest.version;
    if (name !== undefined) workspaceByName.set(name, node);
  }
  const lookup = (name: string, range: string): GraphNode | undefined => byDescriptor.get(`${name}@${range}`) ?? workspaceByName.get(name);

  for (const { firstDescriptor, node, raw } of order) {
    const where = `entry ${q(firstDescriptor)}`;
    for (const field of ['dependencies', 'optionalDependencies'] as const) {
      for (const [dep, range] of Object.entries(stringMap(file, raw[field], `${where}.${field}`))) {
        // Not in the lockfile: a workspace yarn links, or a lockfile out of date with the tree (yarn's
        // --frozen-lockfile refuses to install then). Nothing of it is installed from this lockfile.
        const to = lookup(dep, range);
        if (to) graph.edges.push({ from: node, to, range, dev: false, optional: field === 'optionalDependencies' });
      }
    }
  }

  if (manifests.root) {
    for (const m of [manifests.root, ...manifests.workspaces.map((w) => w.manifest)]) {
      for (const d of Manifests.deps(m)) {
        const to = lookup(d.name, d.range);
        if (to) graph.edges.push({ to, range: d.range, dev: d.dev, optional: d.optional });
      }
    }
  } else {
    // No package.json: an entry nothing in the lockfile depends on can only be there for the root.
    const targeted = new Set(graph.edges.map((e) => e.to));
    for (const { node } of order) {
      if (targeted.has(node)) continue;
      for (const d of node.paths) graph.edges.push({ to: node, range: splitDescriptor(file, d, '')[1], dev: false, optional: false });
    }
  }
}

function classicSource(file: string, where: string, name: string, version: string, range: string, resolved: string | undefined): SourceKind {
  if (range.startsWith('link:')) return 'link';
  if (range.startsWith('file:') || resolved?.startsWith('file:')) return 'file';
  if (resolved === undefined) {
    if (GIT_SPEC.test(range)) return 'git';
    // No resolved: yarn fetches name@version from the configured registry.
    if (semver.valid(version)) return 'registry';
    throw malformed(file, `${where} has no resolved and version ${q(version)} is not a registry version`);
  }
  const url = resolved.replace(/#.*$/, '');
  if (GIT_SPEC.test(resolved) || /^git\+/i.test(resolved)) return 'git';
  if (/^https?:\/\//i.test(url)) {
    if (isGitHostedTarball(url) || /\.git$/i.test(url)) return 'git';
    return isRegistryTarball(url, name, version) ? 'registry' : 'tarball';
  }
  throw malformed(file, `${where}.resolved ${q(resolved)} is not a URL, git or file: spec`);
}

// ---------------------------------------------------------------------------------------------
// yarn berry

/** The bin names a berry entry records (`bin: { name: path }`), normalized as npm and yarn link them. */
function berryBins(name: string, bin: unknown): string[] {
  return isObject(bin) ? binNamesOf({ name, bin }) : [];
}

interface BerryEntry {
  node?: GraphNode;
  raw: Json;
  descriptors: string[];
  /** The workspace folder, for `workspace:` entries (`.` is the root project). */
  workspace?: string;
}

function readBerry(file: string, text: string, graph: Graph, manifests: Manifests): void {
  let doc: Json;
  try {
    doc = parsers().parseSyml(text);
  } catch (err) {
    throw malformed(file, `not a valid yarn.lock (${(err as Error).message.split('\n')[0]})`, err);
  }
  if (!isObject(doc)) throw malformed(file, 'the top level is not a mapping');
  const meta = doc.__metadata;
  if (!isObject(meta)) throw malformed(file, '__metadata must be a mapping');
  const version = String(meta.version ?? '');
  if (!/^\d+$/.test(version) || Number(version) < BERRY_VERSIONS.min || Number(version) > BERRY_VERSIONS.max) {
    throw new LockfileError('unsupported-version', file, `unsupported yarn lockfile __metadata.version ${q(version)} (supported: ${BERRY_VERSIONS.min} to ${BERRY_VERSIONS.max})`);
  }

  const byDescriptor = new Map<string, BerryEntry>();
  const entries: BerryEntry[] = [];
  for (const [key, raw] of Object.entries(doc)) {
    if (key === '__metadata') continue;
    const where = `entry ${q(key)}`;
    if (!isObject(raw)) throw malformed(file, `${where} must be a mapping`);
    const descriptors = key.split(/ *, */);
    const entry: BerryEntry = { raw, descriptors };
    const resolution = str(file, raw.resolution, `${where}.resolution`, true);
    const entryVersion = str(file, raw.version, `${where}.version`, true);
    stringMap(file, raw.dependencies, `${where}.dependencies`);
    stringMap(file, raw.peerDependencies, `${where}.peerDependencies`);
    if (raw.dependenciesMeta !== undefined && !isObject(raw.dependenciesMeta)) throw malformed(file, `${where}.dependenciesMeta must be a mapping`);
    // `checksum` is validated only: it hashes yarn's own zip archive, not the registry tarball (see the top).
    str(file, raw.checksum, `${where}.checksum`);
    const [name, reference] = splitDescriptor(file, resolution, `${where}.resolution`);
    const asked = descriptors.map((d) => splitDescriptor(file, d, where));
    for (const n of new Set([name, ...asked.map(([n]) => n)])) checkPackageName(file, n, where);

    if (reference.startsWith('workspace:')) {
      const folder = reference.slice(10).replace(/^\.\//, '').replace(/\/+$/, '') || '.';
      entry.workspace = folder;
      if (folder === '.') {
        graph.rootName = name;
      } else {
        const m = manifests.get(folder);
        entry.node = graph.workspaceNode(folder, name, optStr(m?.version));
        entry.node.installNames.push(...asked.map(([n]) => n).filter((n) => !entry.node!.installNames.includes(n)));
      }
    } else {
      const { source, resolved } = berrySource(file, where, name, reference, entryVersion);
      const bins = berryBins(name, raw.bin);
      const node: GraphNode = {
        key,
        name,
        version: entryVersion,
        source,
        ...(resolved !== undefined && { resolved }),
        // No integrity, deliberately: `checksum` is the hash of yarn's cache zip, not of the registry tarball.
        hasInstallScript: false, // berry does not record install scripts: the registry manifest decides
        ...(bins.length && { bins }),
        installNames: [...new Set(asked.map(([n]) => n))],
        paths: descriptors,
      };
      entry.node = node;
      graph.nodes.push(node);
    }
    entries.push(entry);
    for (const d of descriptors) byDescriptor.set(d, entry);
  }
  // Workspace entries get their key's line too; the root project (`workspace:.`) is not a package.
  assignLines(
    text,
    entries.filter((e) => e.node).map((e) => ({ firstDescriptor: e.descriptors[0]!, node: e.node! })),
  );

  for (const e of entries) {
    const where = `entry ${q(e.descriptors.join(', '))}`;
    const deps = stringMap(file, e.raw.dependencies, `${where}.dependencies`);
    const meta = isObject(e.raw.dependenciesMeta) ? e.raw.dependenciesMeta : {};
    const manifest = e.workspace !== undefined ? manifests.get(e.workspace) : undefined;
    for (const [dep, range] of Object.entries(deps)) {
      const to = byDescriptor.get(`${dep}@${range}`)?.node;
      // Not in the lockfile: yarn --immutable refuses to install; nothing of it is installed from here.
      if (!to) continue;
      const depMeta = meta[dep];
      const optional = (isObject(depMeta) && (depMeta.optional === true || depMeta.optional === 'true')) || Manifests.has(manifest, 'optionalDependencies', dep);
      const asked = berryRange(range);
      if (e.workspace !== undefined) {
        // A workspace's own dependencies (yarn lists devDependencies with them): direct. Dev only when its
        // package.json says devDependencies and not dependencies/optionalDependencies.
        const dev = Manifests.has(manifest, 'devDependencies', dep) && !Manifests.has(manifest, 'dependencies', dep) && !Manifests.has(manifest, 'optionalDependencies', dep);
        graph.edges.push({ to, range: asked, dev, optional });
      } else {
        graph.edges.push({ from: e.node, to, range: asked, dev: false, optional });
      }
    }
  }
}

/** The range asked, npm style: berry writes registry ranges as `npm:^1.0.0`, aliases as `npm:name@^1.0.0`. */
function berryRange(range: string): string {
  // Berry's own alias syntax always names the package: `npm:name@range`; `npm:^1.0.0` and `npm:latest` do not.
  return range.startsWith('npm:') && range.indexOf('@', 5) < 0 ? range.slice(4) : range;
}

/** A berry locator reference -> source. `patch:` takes its base's source; the patch locator is `resolved`. */
function berrySource(file: string, where: string, name: string, reference: string, version: string): { source: SourceKind; resolved?: string } {
  if (reference.startsWith('patch:')) {
    // `patch:<name>@<url-encoded base reference>#<patch file or builtin>::version=..&hash=..`
    const inner = reference.slice(6).replace(/#.*$/s, '');
    let base: string;
    try {
      base = decodeURIComponent(inner);
    } catch (err) {
      throw malformed(file, `${where}.resolution: ${q(reference)} is not a patch locator`, err);
    }
    const [baseName, baseReference] = splitDescriptor(file, base, `${where}.resolution`);
    if (baseName !== name) throw malformed(file, `${where}.resolution patches ${q(baseName)}, not ${q(name)}`);
    const { source } = berrySource(file, where, name, baseReference, version);
    // The registry package name@version is checked; `resolved` shows the patch applied on top of it.
    return { source, resolved: `${name}@${reference}` };
  }
  if (reference.startsWith('npm:')) {
    const v = reference.slice(4);
    if (v !== version || !semver.valid(version)) throw malformed(file, `${where}: resolution ${q(`${name}@${reference}`)} does not match version ${q(version)}`);
    return { source: 'registry' };
  }
  // Other sources: `resolved` is the locator's reference (the id adds the name, as for npm's `resolved`).
  const resolved = reference;
  if (reference.startsWith('link:') || reference.startsWith('portal:')) return { source: 'link', resolved };
  // `file:` folders and tarballs; `exec:` runs a local script that generates the package.
  if (reference.startsWith('file:') || reference.startsWith('exec:')) return { source: 'file', resolved };
  if (GIT_SPEC.test(reference) || /#(?:.*&)?commit=/.test(reference)) return { source: 'git', resolved };
  if (/^https?:\/\//i.test(reference)) {
    const url = reference.replace(/#.*$/, '');
    return { source: isGitHostedTarball(url) || /\.git$/i.test(url) ? 'git' : 'tarball', resolved };
  }
  throw malformed(file, `${where}.resolution ${q(`${name}@${reference}`)} uses a protocol this tool cannot check`);
}
