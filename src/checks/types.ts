import type { CheckId, Finding } from '../types.js';
import type { PackageFacts } from '../facts.js';
import type { LockedPackage } from '../lockfile/types.js';
import type { Policy } from '../policy/load.js';
import type { ShadowableCommands } from './commands.js';
import type { KeysInput, ProvenanceInput } from '../verify/types.js';
import type { Advisory } from '../advisories/advisory.js';

export interface CheckContext {
  /** The instant the check evaluates as of (`--now`). */
  now: Date;
  policy: Policy;
  /** The commands a dependency's bin may not shadow (default: the static list and this process's PATH). */
  commands?: ShadowableCommands;
}

/**
 * What the registry said about the package's name: its facts, `missing` (the registry has no such
 * package), or undefined (not a registry package, so nothing was fetched).
 */
export type FactsInput = PackageFacts | 'missing' | undefined;

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
  /** For registry packages: the advisories known for the name (merged from every source), or why none answered. */
  advisories?: AdvisoriesInput;
}

/** What the advisory sources said about a package's name; `unavailable` (the same text for the run) when none answered. */
export interface AdvisoriesInput {
  advisories: Advisory[];
  unavailable?: string;
}

/** A check is pure over its inputs: same package, input, policy and instant -> same findings. */
export interface Check {
  id: CheckId;
  run(pkg: LockedPackage, input: CheckInput, ctx: CheckContext): Finding[];
}
