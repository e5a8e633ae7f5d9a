import type { CheckId, Finding, LockedPackage, PackageFacts } from '../types.js';
import type { Policy } from '../policy/load.js';

export interface CheckContext {
  /** The instant the check evaluates as of (`--now`). */
  now: Date;
  policy: Policy;
}

/**
 * What the registry said about the package's name: its facts, `missing` (the registry has no such
 * package), or undefined (not a registry package, so nothing was fetched).
 */
export type FactsInput = PackageFacts | 'missing' | undefined;

import type { ProvenanceCode, ProvenanceIdentity, RegistryKey } from '../verify/provenance.js';

export type { ProvenanceIdentity, RegistryKey };

/** The signing keys of the package's registry: served (or pinned by policy), or none at all (a mirror). */
export type KeysInput = { kind: 'keys'; keys: RegistryKey[]; source: string } | { kind: 'none'; registry: string };

/** The outcome of verifying the locked version's attestations (absent when it advertises none). */
export type ProvenanceInput =
  | { kind: 'verified'; identity?: ProvenanceIdentity; message: string }
  | { kind: 'failed'; code: ProvenanceCode; message: string }
  | { kind: 'unavailable'; message: string };

/**
 * Where the package manager will download a registry package from: `url` is the lockfile's `resolved` as the
 * package manager reads it (npm: after replace-registry-host), absent when it fetches name@version from `registry`
 * (no `resolved`, or yarn berry, whose lockfile names no URL for registry packages).
 */
export interface DownloadInput {
  /** The registry the facts came from (the scoped-registry mapping applied). */
  registry: string;
  url?: string;
  /** How `url` came about, for the message (e.g. "npm's replace-registry-host=npmjs leaves it as is"). */
  how?: string;
}

/** Everything a check may look at for one package; each stage adds its part, nothing reaches back. */
export interface CheckInput {
  facts: FactsInput;
  /** For registry packages: where the package manager downloads it from. */
  download?: DownloadInput;
  keys?: KeysInput;
  provenance?: ProvenanceInput;
}

/** A check is pure over its inputs: same package, input, policy and instant -> same findings. */
export interface Check {
  id: CheckId;
  run(pkg: LockedPackage, input: CheckInput, ctx: CheckContext): Finding[];
}
