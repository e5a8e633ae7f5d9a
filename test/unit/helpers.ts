import { expect } from 'vitest';
import { LockfileError } from '../../src/lockfile/errors.js';
import type { PackageFacts, VersionFacts } from '../../src/facts.js';
import type { LockedPackage } from '../../src/lockfile/types.js';
import { compilePolicy, defaultPolicyDocument, mergePolicy, type PolicyDocument } from '../../src/policy/load.js';

export function pkg(over: Partial<LockedPackage> & { name: string; version: string }): LockedPackage {
  return {
    id: `${over.name}@${over.version}`,
    aliases: [],
    source: 'registry',
    direct: true,
    dev: false,
    optional: false,
    hasInstallScript: false,
    paths: [`node_modules/${over.name}`],
    dependents: [{ name: '(root)', range: '*' }],
    ...over,
  };
}

/** Facts whose every version is full (as the registry client loads the versions it is asked for). */
export function facts(name: string, versions: Record<string, Partial<VersionFacts>>): PackageFacts {
  const out: Record<string, VersionFacts> = {};
  for (const [v, f] of Object.entries(versions)) out[v] = { signatures: [], installScripts: {}, ...f, full: true };
  return { name, registry: 'http://r.test/', fetchedAt: new Date().toISOString(), distTags: {}, versions: out };
}

export function policy(doc: PolicyDocument = {}) {
  return compilePolicy(mergePolicy(defaultPolicyDocument(), doc), doc === undefined ? undefined : 'test-policy.json');
}

export const DAY = 86_400_000;
export const NOW = new Date('2026-06-15T12:00:00Z');
export const ago = (ms: number) => new Date(NOW.getTime() - ms).toISOString();

/** The LockfileError `fn` throws (a test fails when it throws nothing, or something else). */
export function lockfileError(fn: () => unknown): LockfileError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(LockfileError);
    return err as LockfileError;
  }
  throw new Error('expected a LockfileError');
}
