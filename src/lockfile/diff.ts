// Which names moved between two lockfiles, for `fix` and for the change summary of `add` / `update`.
import semver from 'semver';
import type { LockedTree } from './types.js';

export interface VersionChange {
  name: string;
  before: string[];
  after: string[];
}

/** Which names moved between two lockfiles: each name's set of locked versions, before and after. */
export function diffLockfiles(before: LockedTree, after: LockedTree): VersionChange[] {
  const versions = (tree: LockedTree) => {
    const m = new Map<string, Set<string>>();
    for (const p of tree.packages) {
      if (p.source === 'link') continue;
      if (!m.has(p.name)) m.set(p.name, new Set());
      m.get(p.name)!.add(p.version);
    }
    return m;
  };
  const a = versions(before);
  const b = versions(after);
  const sort = (s?: Set<string>) => [...(s ?? [])].sort((x, y) => (semver.valid(x) && semver.valid(y) ? semver.compare(x, y) : x.localeCompare(y)));
  const out: VersionChange[] = [];
  for (const name of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    const x = sort(a.get(name));
    const y = sort(b.get(name));
    if (x.join() !== y.join()) out.push({ name, before: x, after: y });
  }
  return out;
}
