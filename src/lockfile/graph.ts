// The lockfile graph shared by the pnpm and yarn readers: each reader turns its entries into nodes (one per
// lockfile entry or linked project folder) and edges (who asks for what, under which range); `assemble` groups
// the nodes into packages (one per name@version and source) and works out direct/dev/optional from the edges.
// Pure: no file is read here.

import type { LockedPackage, SourceKind } from './types.js';
import { malformed, q } from './registry-url.js';

/**
 * A package name as it may appear as one node_modules entry (`name` or `@scope/name`): names end up in
 * install paths, which other stages join to the project folder.
 */
export function checkPackageName(file: string, name: string, where: string): void {
  if (!isFolderName(name)) throw malformed(file, `${where}: ${q(name)} is not a valid package name`);
}

/** `name` or `@scope/name`, each part a plain folder name (no `.`, `..`, empty part or backslash). */
export function isFolderName(name: string): boolean {
  const parts = name.startsWith('@') ? name.split('/') : [name];
  return (name.startsWith('@') ? parts.length === 2 && (parts[0]?.length ?? 0) > 1 : !name.includes('/')) && parts.every((p) => p !== '' && p !== '.' && p !== '..' && !p.includes('\\'));
}

export const ROOT = '(root)';

/** One lockfile entry before grouping: a pnpm snapshot, a yarn entry, or a linked project folder. */
export interface GraphNode {
  /** Unique in the lockfile. */
  key: string;
  /** The registry name (an alias's target). */
  name: string;
  version: string;
  source: SourceKind;
  resolved?: string;
  integrity?: string;
  hasInstallScript: boolean;
  /** Bin names the lockfile records (yarn berry's `bin`), what berry's node-modules linker links. */
  bins?: string[];
  /** Names it is asked for under; those that differ from `name` become `aliases`. */
  installNames: string[];
  paths: string[];
  line?: number;
  /** As recorded by the lockfile (pnpm v5/v6 `dev`); undefined: computed from the graph. */
  dev?: boolean;
  /** As recorded by the lockfile (pnpm `optional`); undefined: computed from the graph. */
  optional?: boolean;
}

export interface GraphEdge {
  /** Undefined: the root project or a workspace asks for it (a direct dependency). */
  from?: GraphNode;
  to: GraphNode;
  /** The range asked for, npm style (`^1.0.0`, `npm:name@^1.0.0`, `workspace:*`). */
  range: string;
  /** A direct dependency from devDependencies only. */
  dev: boolean;
  /** From optionalDependencies (or yarn berry's `dependenciesMeta.<name>.optional`). */
  optional: boolean;
}

export class Graph {
  readonly nodes: GraphNode[] = [];
  readonly edges: GraphEdge[] = [];
  private readonly links = new Map<string, GraphNode>();
  /** The root project's name, where the lockfile records it (yarn berry's `workspace:.` entry). */
  rootName?: string;
  /** Link nodes still named after their folder: the first name something links them under replaces it. */
  private readonly unnamed = new Set<GraphNode>();

  constructor(readonly file: string) {}

  /** The `link` node of a project folder (relative to the lockfile's folder), created on first use. */
  workspaceNode(folder: string, name?: string, version?: string): GraphNode {
    let node = this.links.get(folder);
    if (!node) {
      node = {
        key: `link:${folder}`,
        name: name ?? folder.slice(folder.lastIndexOf('/') + 1),
        version: version ?? '',
        source: 'link',
        resolved: folder,
        hasInstallScript: false,
        installNames: [],
        paths: [folder],
      };
      if (name === undefined) this.unnamed.add(node);
      this.links.set(folder, node);
      this.nodes.push(node);
    } else if (name !== undefined && this.unnamed.delete(node)) {
      node.name = name;
    }
    if (version !== undefined && node.version === '') node.version = version;
    return node;
  }

  /**
   * A `link:` dependency named `alias`. From a project folder `fromDir`, the symlink
   * `<fromDir>/node_modules/<alias>` is one more path; from a package (`fromDir` undefined) it lives in
   * pnpm's store and is not listed.
   */
  linkNode(folder: string, alias: string, fromDir: string | undefined): GraphNode {
    const node = this.workspaceNode(folder, alias);
    const at = fromDir === undefined ? undefined : fromDir === '.' || fromDir === '' ? `node_modules/${alias}` : `${fromDir}/node_modules/${alias}`;
    if (at !== undefined && !node.paths.includes(at)) node.paths.splice(node.paths.length - 1, 0, at);
    if (!node.installNames.includes(alias)) node.installNames.push(alias);
    return node;
  }
}

interface Group {
  key: string;
  nodes: GraphNode[];
  id: string;
  dependents: Map<string, { name: string; range: string }>;
}

/** Group nodes into packages (one per name@version and source), and compute direct/dev/optional. */
export function assemble(graph: Graph, opts: { recordedDev: boolean }): LockedPackage[] {
  const groups = new Map<string, Group>();
  const groupOf = new Map<GraphNode, Group>();
  for (const n of graph.nodes) {
    if (n.version === '' && n.source !== 'link') throw malformed(graph.file, `${n.paths[0]} has no version`);
    // Registry copies of one name@version are one package whatever their peer suffixes or patches; a copy
    // recording another integrity stays apart (and fails the integrity check on its own).
    const key =
      n.source === 'registry'
        ? ['registry', n.name, n.version, n.integrity ?? ''].join('\0')
        : n.source === 'link'
          ? ['link', n.resolved ?? n.key].join('\0')
          : [n.source, n.name, n.version, n.resolved ?? n.key].join('\0');
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { key, nodes: [], id: '', dependents: new Map() }));
    g.nodes.push(n);
    groupOf.set(n, g);
  }

  // Ids as in the npm reader: `name@version` for the registry, else `name@<resolved or path>`; `#2` for a
  // second copy of the same id.
  const used = new Set<string>();
  for (const g of groups.values()) {
    const n = g.nodes[0]!; // a group is made with its first node
    const resolved = g.nodes.find((x) => x.resolved !== undefined)?.resolved;
    const base = n.source === 'registry' ? `${n.name}@${n.version}` : `${n.name}@${resolved ?? n.paths[0]}`;
    let id = base;
    for (let i = 2; used.has(id); i++) id = `${base}#${i}`;
    used.add(id);
    g.id = id;
  }

  for (const e of graph.edges) {
    const dependent = e.from ? e.from.name : ROOT;
    const g = groupOf.get(e.to)!;
    g.dependents.set(`${dependent}\0${e.range}`, { name: dependent, range: e.range });
  }

  // Reachability: dev = reached only from devDependencies; optional = reached only through optional edges.
  const out = new Map<GraphNode, GraphEdge[]>();
  for (const e of graph.edges) {
    if (!e.from) continue;
    const list = out.get(e.from);
    if (list) list.push(e);
    else out.set(e.from, [e]);
  }
  const walk = (starts: GraphEdge[], follow: (e: GraphEdge) => boolean): Set<GraphNode> => {
    const seen = new Set<GraphNode>();
    const stack = starts.filter(follow).map((e) => e.to);
    while (stack.length) {
      const n = stack.pop()!;
      if (seen.has(n)) continue;
      seen.add(n);
      for (const e of out.get(n) ?? []) if (follow(e)) stack.push(e.to);
    }
    return seen;
  };
  const rootEdges = graph.edges.filter((e) => !e.from);
  const prod = walk(
    rootEdges.filter((e) => !e.dev),
    () => true,
  );
  const dev = walk(
    rootEdges.filter((e) => e.dev),
    () => true,
  );
  const required = walk(rootEdges, (e) => !e.optional);
  const reached = (n: GraphNode) => prod.has(n) || dev.has(n);
  const isDev = (n: GraphNode) => (opts.recordedDev && n.dev !== undefined ? n.dev : !prod.has(n) && dev.has(n));
  const isOptional = (n: GraphNode) => (n.optional !== undefined ? n.optional : reached(n) && !required.has(n));

  return [...groups.values()].map((g): LockedPackage => {
    const n = g.nodes[0]!;
    const dependents = [...g.dependents.values()];
    const lines = g.nodes.map((x) => x.line).filter((l): l is number => l !== undefined);
    const resolved = g.nodes.find((x) => x.resolved !== undefined)?.resolved;
    const integrity = g.nodes.find((x) => x.integrity !== undefined)?.integrity;
    // A copy nothing reaches (yarn berry's patched and unpatched entries of one version: dependents name
    // one of them) says nothing about how the package is used.
    const basis = g.nodes.some(reached) ? g.nodes.filter(reached) : g.nodes;
    const bins = [...new Set(g.nodes.flatMap((x) => x.bins ?? []))].sort();
    return {
      id: g.id,
      name: n.name,
      aliases: [...new Set(g.nodes.flatMap((x) => x.installNames))].filter((a) => a !== n.name),
      version: n.version,
      ...(integrity !== undefined && { integrity }),
      ...(resolved !== undefined && { resolved }),
      source: n.source,
      direct: dependents.some((d) => d.name === ROOT),
      dev: basis.every(isDev),
      optional: basis.every(isOptional),
      hasInstallScript: g.nodes.some((x) => x.hasInstallScript),
      ...(bins.length && { bins }),
      paths: [...new Set(g.nodes.flatMap((x) => x.paths))],
      dependents,
      ...(lines.length > 0 && { lockfileLine: Math.min(...lines) }),
    };
  });
}
