// After extraction, before any script runs: which bins are really linked in the install's node_modules/.bin
// folders, and whose they are. The registry manifest and the lockfile can both differ from what a tarball
// declares (a bundled package has neither), and what the package manager linked is what a script will run.
// Any bin there named like a protected command (checks/commands.ts) whose package the policy does not let
// shadow it stops the install, and the link is removed so no later script runs it.
import { lstat, readdir, readFile, readlink, realpath, unlink } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { GuardError } from '../errors.js';
import type { Finding } from '../types.js';
import type { PackageFacts } from '../facts.js';
import type { LockedPackage, LockedTree } from '../lockfile/types.js';
import type { Policy } from '../policy/load.js';
import { declaredBins, shadowFinding } from '../checks/bins.js';
import type { ShadowableCommands } from '../checks/commands.js';
import { decide } from '../verdict/verdict.js';
import { binNamesOf } from '../util/bin-names.js';
import type { InstalledScripts } from './lifecycle.js';
import { at } from '../util/at.js';

export interface ShadowOnDisk {
  /** The .bin entry, relative to the project root. */
  link: string;
  bin: string;
  /** The installed folder it runs from (relative), when it could be told. */
  owner?: string;
  /** The locked package that folder is, when the checked lockfile places it. */
  pkg?: LockedPackage;
  finding: Finding;
  /** The policy lets it stay (bins.allow, an action below quarantine, an exception). */
  allowed: boolean;
}

/** At most this many folders are walked: a node_modules tree is bounded by its lockfile, a loop is not. */
const MAX_DIRS = 200_000;

/** Every node_modules/.bin folder of the install (npm, yarn's node-modules linker, pnpm's virtual store). */
async function binDirs(root: string, tree: LockedTree): Promise<string[]> {
  const out: string[] = [];
  let budget = MAX_DIRS;
  const entries = (dir: string) => readdir(dir, { withFileTypes: true }).catch(() => []);
  const walk = async (nm: string): Promise<void> => {
    if (--budget < 0) {
      // Never a partial answer: a bin past the limit would go unseen.
      throw new GuardError('install-failed', `more than ${MAX_DIRS} node_modules folders under ${root}: the installed bins could not all be read; no install script has run`, {
        remedy: 'a dependency tree this deep is unusual: check the lockfile for a package that nests itself',
      });
    }
    for (const e of await entries(nm)) {
      // Symlinked folders (pnpm's node_modules/<name>, workspace links) are reached where they really are.
      if (!e.isDirectory()) continue;
      const at = join(nm, e.name);
      if (e.name === '.bin') out.push(at);
      else if (e.name === '.pnpm') {
        // .pnpm/<id>/node_modules/<name>/node_modules/.bin (each package's dependencies' bins), and
        // .pnpm/node_modules/.bin (the hoisted ones).
        for (const id of await entries(at)) if (id.isDirectory()) await walk(id.name === 'node_modules' ? join(at, id.name) : join(at, id.name, 'node_modules'));
      } else if (e.name.startsWith('@')) {
        for (const s of await entries(at)) if (s.isDirectory()) await walk(join(at, s.name, 'node_modules'));
      } else if (!e.name.startsWith('.')) await walk(join(at, 'node_modules'));
    }
  };
  for (const folder of ['', ...tree.workspaces]) await walk(join(root, folder, 'node_modules'));
  return out;
}

/** The installed package folder a file belongs to: the nearest ancestor whose parent is node_modules (or a scope in it). */
function ownerFolder(file: string): string | undefined {
  const parts = file.split(sep);
  for (let i = parts.length - 2; i > 0; i--) {
    const name = at(parts, i); // 0 < i < parts.length
    const parent = at(parts, i - 1);
    if (parent === 'node_modules' && !name.startsWith('.') && !name.startsWith('@')) return parts.slice(0, i + 1).join(sep);
    if (i > 1 && parts[i - 2] === 'node_modules' && parent.startsWith('@')) return parts.slice(0, i + 1).join(sep);
  }
  return undefined;
}

/** The file a .bin entry runs: a symlink's target, or the path a shell shim names (`"$basedir/../x/cli.js"`). */
async function targetOf(entry: string): Promise<string | undefined> {
  const st = await lstat(entry).catch(() => undefined);
  if (!st) return undefined;
  if (st.isSymbolicLink()) {
    const real = await realpath(entry).catch(async () => {
      const to = await readlink(entry).catch(() => undefined);
      return to === undefined ? undefined : resolve(dirname(entry), to);
    });
    return real;
  }
  if (!st.isFile() || st.size > 64 * 1024) return undefined;
  const text = await readFile(entry, 'utf8').catch(() => '');
  // pnpm's shim names its interpreter first (`"$basedir//bin/sh"`, `"$basedir/node"`), then the script: the last
  // path that leaves the .bin folder is the script.
  const rel = [...text.matchAll(/"\$basedir\/(\.\.\/[^"$]+)"/g)].pop()?.[1];
  if (rel) return resolve(dirname(entry), rel);
  const abs = [...text.matchAll(/"(\/[^"$]*\/node_modules\/[^"$]+)"/g)].pop()?.[1];
  return abs;
}

async function readManifest(folder: string): Promise<{ name?: unknown; version?: unknown; bin?: unknown } | undefined> {
  try {
    const m = JSON.parse(await readFile(join(folder, 'package.json'), 'utf8'));
    return typeof m === 'object' && m ? m : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Every linked bin that shadows a protected command, and every bin an allowed package's own package.json declares
 * that would (its scripts' run links them again), with the policy's decision. `items` are the runner's installed
 * copies with install scripts (their real folders, for package managers whose lockfile paths are not folders),
 * `runs` the ones whose scripts will run.
 */
export async function shadowingBinsOnDisk(
  tree: LockedTree,
  items: InstalledScripts[],
  runs: InstalledScripts[],
  facts: Map<string, PackageFacts>,
  policy: Policy,
  commands: ShadowableCommands,
  now: Date,
): Promise<ShadowOnDisk[]> {
  const root = await realpath(tree.root.dir).catch(() => tree.root.dir);
  const byFolder = new Map<string, LockedPackage>();
  for (const pkg of tree.packages) if (pkg.source !== 'link') for (const p of pkg.paths) byFolder.set(p, pkg);
  for (const i of items) byFolder.set(i.path, i.pkg);
  /** The locked package installed at `folder`: by the lockfile's place for it, else by a name and bin the check saw. */
  const identify = async (folder: string, bin: string): Promise<LockedPackage | undefined> => {
    const rel = relative(root, folder).split(sep).join('/');
    const placed = byFolder.get(rel);
    if (placed) return placed;
    const m = await readManifest(folder);
    if (typeof m?.name !== 'string') return undefined;
    return tree.packages.find((p) => p.name === m.name && p.version === m.version && declaredBins(p, facts.get(p.name)).includes(bin));
  };
  const judge = (pkg: LockedPackage | undefined, bin: string, why: string, where: string): { finding: Finding; allowed: boolean } => {
    const f = shadowFinding(policy, pkg?.name ?? '(unknown package)', pkg?.version ?? '0.0.0', bin, why, where);
    // A link the checked lockfile does not account for is never allowed: no name to allow it by.
    if (!pkg) return { finding: { ...f, action: 'block', severity: 'error', remedy: 'a bin no checked package accounts for: find out what put it there; nothing can allow it' }, allowed: false };
    const verdict = decide(pkg, [f], policy, now).verdict;
    return { finding: f, allowed: verdict === 'allow' || verdict === 'warn' };
  };

  const out: ShadowOnDisk[] = [];
  for (const dir of await binDirs(root, tree)) {
    for (const bin of await readdir(dir).catch(() => [] as string[])) {
      if (!commands.shadows(bin, '')) continue; // no package may shadow what is not protected
      const entry = join(dir, bin);
      const target = await targetOf(entry);
      const folder = target && isAbsolute(target) ? ownerFolder(target) : undefined;
      const pkg = folder ? await identify(folder, bin) : undefined;
      // The PATH exemption for a package's own global bin needs a name the lockfile vouches for.
      const why = commands.shadows(bin, pkg?.name ?? '');
      if (!why) continue;
      const where = `linked at ${relative(root, entry)}`;
      out.push({ link: relative(root, entry), bin, ...(folder && { owner: relative(root, folder) }), ...(pkg && { pkg }), ...judge(pkg, bin, why, where) });
    }
  }
  // An allowed package's scripts run through the package manager's rebuild, which links its bins from its
  // package.json on disk again, whatever the lockfile said.
  for (const item of runs) {
    const m = await readManifest(join(root, item.path));
    for (const bin of m ? binNamesOf(m) : []) {
      const why = commands.shadows(bin, item.pkg.name);
      if (!why || out.some((o) => o.bin === bin && o.pkg === item.pkg)) continue;
      out.push({ link: '', bin, owner: item.path, pkg: item.pkg, ...judge(item.pkg, bin, why, `declared in ${item.path}/package.json`) });
    }
  }
  return out;
}

/** Remove the refused links, so no later script (npm test, a person's npx) runs them. */
export async function removeLinks(root: string, shadows: ShadowOnDisk[]): Promise<string[]> {
  const removed: string[] = [];
  for (const s of shadows) {
    if (s.allowed || !s.link) continue;
    await unlink(join(root, s.link)).then(
      () => removed.push(s.link),
      () => {},
    );
  }
  return removed;
}
