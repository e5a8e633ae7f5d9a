// The root project's package.json: what the guard reads from it (never writes it).
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type * as Npa from 'npm-package-arg';
import { GuardError } from '../errors.js';
import { isObject } from '../util/is-object.js';

const npa = createRequire(import.meta.url)('npm-package-arg') as typeof Npa;

export interface ProjectManifest {
  name?: string;
  version?: string;
  scripts: Record<string, string>;
  /** npm 11's allowScripts map, when present. */
  allowScripts?: Record<string, boolean>;
  /** The package.json `pnpm` field (pnpm 9 settings), as written. */
  pnpm?: unknown;
  /** corepack's `packageManager` ("pnpm@10.34.9+sha512..."), as written. */
  packageManager?: unknown;
  /** yarn's `dependenciesMeta` (`built: false` turns a package's build off), as written. */
  dependenciesMeta?: unknown;
}

export async function readProjectManifest(dir: string): Promise<ProjectManifest | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, 'package.json'), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new GuardError('bad-config', `cannot read ${join(dir, 'package.json')}: ${(err as Error).message}`);
  }
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new GuardError('bad-config', `${join(dir, 'package.json')} is not valid JSON: ${(err as Error).message}`, {
      remedy: 'fix package.json',
    });
  }
  const allow = doc.allowScripts;
  if (allow !== undefined && (typeof allow !== 'object' || allow === null || Object.values(allow).some((v) => typeof v !== 'boolean'))) {
    throw new GuardError('bad-config', 'package.json "allowScripts" must map package specs to true or false', {
      remedy: 'fix package.json allowScripts (npm install-scripts manages it)',
    });
  }
  return {
    name: typeof doc.name === 'string' ? doc.name : undefined,
    version: typeof doc.version === 'string' ? doc.version : undefined,
    scripts: typeof doc.scripts === 'object' && doc.scripts ? (doc.scripts as Record<string, string>) : {},
    allowScripts: allow as Record<string, boolean> | undefined,
    pnpm: doc.pnpm,
    packageManager: doc.packageManager,
    dependenciesMeta: doc.dependenciesMeta,
  };
}

/**
 * What a package.json spec asks for, as npm-package-arg classifies it: `registry` (a range, version, dist-tag or
 * `npm:` alias), `git`, `remote` (a tarball URL), `file` (a local tarball), `directory`, or `unknown` (a protocol
 * npm does not know: yarn's `exec:`/`patch:`/`portal:`, pnpm's `workspace:`/`catalog:`...).
 */
export function specKind(name: string, spec: string): 'registry' | 'git' | 'remote' | 'file' | 'directory' | 'unknown' {
  let parsed: Npa.Result;
  try {
    parsed = npa.resolve(name, spec, '/');
  } catch {
    return 'unknown';
  }
  switch (parsed.type) {
    case 'range':
    case 'version':
    case 'tag':
      return 'registry';
    case 'alias':
      return 'registry';
    case 'git':
    case 'remote':
    case 'file':
    case 'directory':
      return parsed.type;
    default:
      return 'unknown';
  }
}

/** The URL a `remote` spec (a tarball URL, or an `npm:` alias of one) downloads, as npm-package-arg reads it. */
export function remoteUrl(name: string, spec: string): string | undefined {
  try {
    const parsed = npa.resolve(name, spec, '/');
    return parsed.type === 'remote' && parsed.fetchSpec ? parsed.fetchSpec : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Which git repository a git spec or a lockfile's git source names, and the commit when it is a full one: hosted
 * repositories as `<domain>/<user>/<project>` (lower case; `github:u/p`, `git+ssh://git@github.com/u/p.git` and a
 * `https://codeload.github.com/u/p/tar.gz/<sha>` download are one repository), others as host and path without
 * `.git`. Undefined when it names no git repository.
 */
export function gitRepo(name: string, spec: string): { repo: string; commit?: string } | undefined {
  // A bare commit, or yarn berry's `commit=<sha>` (`#head=main&commit=<sha>`).
  const fullCommit = (c: string | null | undefined) => (c ? /(?:^|[=&])([0-9a-f]{40})(?=&|$)/i.exec(c)?.[1]?.toLowerCase() : undefined);
  // Hosted-git tarball downloads (yarn 1 and pnpm write them for hosted git specs).
  const tarball =
    /^https:\/\/(?:codeload\.(github\.com)\/([^/]+)\/([^/]+)\/tar\.gz\/([^/?#]+)|(gitlab\.com)\/([^/]+)\/([^/]+)\/-\/archive\/([^/?#]+)\/|(bitbucket\.org)\/([^/]+)\/([^/]+)\/get\/([^/?#]+?)\.tar\.gz)/i.exec(
      spec,
    );
  if (tarball) {
    // Exactly one of the three alternatives matched: its four groups, in order.
    const [domain, user, project, ref] = tarball.slice(1).filter((x) => x !== undefined);
    if (domain !== undefined && user !== undefined && project !== undefined) {
      return { repo: `${domain}/${user}/${project.replace(/\.git$/i, '')}`.toLowerCase(), commit: fullCommit(ref) };
    }
  }
  // pnpm writes a git resolution's repo without the `git+` prefix (`https://host/u/p.git`, `file:///...`).
  const asGit = /^(?:https?|ssh|file):\/\//i.test(spec) ? `git+${spec}` : spec;
  let parsed: Npa.Result;
  try {
    parsed = npa.resolve(name, asGit, '/');
  } catch {
    return undefined;
  }
  if (parsed.type !== 'git') return undefined;
  const commit = fullCommit(parsed.gitCommittish);
  if (parsed.hosted) return { repo: `${parsed.hosted.domain}/${parsed.hosted.user}/${parsed.hosted.project}`.toLowerCase(), commit };
  try {
    const u = new URL((parsed.fetchSpec ?? '').replace(/^git\+/, ''));
    return { repo: `${u.host.toLowerCase()}${u.pathname.replace(/\/+$/, '').replace(/\.git$/i, '')}`, commit };
  } catch {
    return undefined;
  }
}

const DEP_FIELDS = ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies'];

/** What the project's own package.json files ask for: per folder (`''` is the root), and through overrides. */
export interface ProjectAsks {
  /** Each project folder's dependency fields: name it installs under -> specs. */
  folders: { folder: string; deps: Map<string, string[]> }[];
  /** npm `overrides`, yarn `resolutions`, `pnpm.overrides` and pnpm-workspace.yaml `overrides`, by the name they set. */
  overrides: Map<string, string[]>;
}

type Asks = Map<string, string[]>;

function addAsk(asks: Asks, name: string, spec: unknown): void {
  if (typeof spec !== 'string' || name === '') return;
  const list = asks.get(name) ?? [];
  if (!list.includes(spec)) list.push(spec);
  asks.set(name, list);
}

/** An override key names the package last: `a>b`, `**\/a/b`, `b@^1`, `@s/b@1`. */
function overridden(key: string): string {
  const parts = key.slice(key.lastIndexOf('>') + 1).split('/');
  const last = parts.at(-1) ?? ''; // split returns at least one part
  const scope = parts.at(-2);
  const seg = scope?.startsWith('@') ? `${scope}/${last}` : last;
  const at = seg.indexOf('@', 1);
  return at > 0 ? seg.slice(0, at) : seg;
}

/**
 * npm's `"$name"` override value is a reference to the root package.json's own spec for `name` (npm refuses one it
 * cannot resolve): the spec it stands for, never a protocol of its own.
 */
function addOverrides(asks: Asks, map: unknown, rootDeps: Asks, parent?: string): void {
  if (!isObject(map)) return;
  for (const [key, value] of Object.entries(map)) {
    const name = key === '.' ? parent : overridden(key);
    if (name === undefined) continue;
    if (isObject(value)) addOverrides(asks, value, rootDeps, name);
    else if (typeof value === 'string' && value.startsWith('$')) for (const spec of rootDeps.get(value.slice(1)) ?? []) addAsk(asks, name, spec);
    else addAsk(asks, name, value);
  }
}

/**
 * The specs the project's own package.json files (the root's and each workspace's, folders relative to `root`)
 * ask for, by the name they install under, folder by folder, and the overrides they set (npm `overrides`, yarn
 * `resolutions`, `pnpm.overrides`, and pnpm-workspace.yaml `overrides` when given), which may also choose a source.
 * An unreadable package.json asks for nothing.
 */
export function projectAsksByFolder(root: string, workspaces: string[], pnpmOverrides?: unknown): ProjectAsks {
  const out: ProjectAsks = { folders: [], overrides: new Map() };
  for (const folder of ['', ...workspaces]) {
    let doc: unknown;
    try {
      doc = JSON.parse(readFileSync(join(root, folder, 'package.json'), 'utf8'));
    } catch {
      continue;
    }
    if (!isObject(doc)) continue;
    const deps: Asks = new Map();
    for (const field of DEP_FIELDS) {
      const m = doc[field];
      if (isObject(m)) for (const [name, spec] of Object.entries(m)) addAsk(deps, name, spec);
    }
    out.folders.push({ folder, deps });
    const rootDeps = out.folders.find((f) => f.folder === '')?.deps ?? new Map();
    addOverrides(out.overrides, doc.overrides, rootDeps);
    addOverrides(out.overrides, doc.resolutions, rootDeps);
    addOverrides(out.overrides, isObject(doc.pnpm) ? doc.pnpm.overrides : undefined, rootDeps);
  }
  addOverrides(out.overrides, pnpmOverrides, out.folders.find((f) => f.folder === '')?.deps ?? new Map());
  return out;
}

/** Every spec the project asks for by name: all folders and overrides together. */
export function projectAsks(root: string, workspaces: string[], pnpmOverrides?: unknown): Map<string, string[]> {
  const { folders, overrides } = projectAsksByFolder(root, workspaces, pnpmOverrides);
  const all: Asks = new Map();
  for (const { deps } of folders) for (const [name, specs] of deps) for (const spec of specs) addAsk(all, name, spec);
  for (const [name, specs] of overrides) for (const spec of specs) addAsk(all, name, spec);
  return all;
}
