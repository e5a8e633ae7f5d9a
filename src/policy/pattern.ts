// Package patterns: a name or name glob, optionally followed by @<semver range>.
// "esbuild", "@swc/*", "sharp@^0.33", "foo@1.2.3 || 1.2.4".
import { minimatch } from 'minimatch';
import semver from 'semver';

export interface PackagePattern {
  text: string;
  name: string;
  range?: string;
}

export function parsePattern(text: string): PackagePattern {
  const at = text.indexOf('@', text.startsWith('@') ? 1 : 0);
  if (at === -1) return { text, name: text };
  const name = text.slice(0, at);
  const range = text.slice(at + 1).trim();
  if (!name) throw new Error(`"${text}" has no package name`);
  if (range && semver.validRange(range) === null) throw new Error(`"${range}" in "${text}" is not a semver range`);
  return range ? { text, name, range } : { text, name };
}

export function matchesPattern(pattern: PackagePattern, name: string, version?: string): boolean {
  const nameOk = pattern.name === name || minimatch(name, pattern.name, { nocase: false });
  if (!nameOk) return false;
  if (!pattern.range) return true;
  if (!version || !semver.valid(version)) return false;
  return semver.satisfies(version, pattern.range, { includePrerelease: true });
}

export function matchesAny(patterns: PackagePattern[], name: string, version?: string): PackagePattern | undefined {
  return patterns.find((p) => matchesPattern(p, name, version));
}
