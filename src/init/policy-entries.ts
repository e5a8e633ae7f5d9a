// What the package managers' own settings can hold of the policy's package patterns, shared by the pnpm and
// yarn writers: plain names, and exact versions (`name@1.2.3 || 1.2.4`); globs and ranges cannot be written.
import semver from 'semver';
import { parsePattern } from '../policy/pattern.js';

export const PLAIN = /^(@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*$/i;

/** The exact versions of a range made only of versions joined by `||` ("1.2.3 || 1.2.4"), else undefined. */
export function exactVersions(range: string): string[] | undefined {
  const parts = range.split('||').map((p) => p.trim());
  return parts.every((p) => semver.valid(p) === p) ? parts : undefined;
}

/** The policy's own rules (not the ones read back from the package managers' files that init writes). */
export const fromPolicy = (source: string) => source.startsWith('policy ') || source === 'default policy';

/** The package name of an entry (`name` or `name@versions`); the entry itself when it does not parse. */
export const nameOf = (entry: string) => {
  try {
    return parsePattern(entry).name;
  } catch {
    return entry;
  }
};
