// What the trust-evidence stage makes for each package, next to its facts: the keys trusted for its registry and the
// outcome of verifying its attestations (verify/evidence.ts). The checks read them through CheckInput.
import type { RegistryKey } from '../types.js';
import type { ProvenanceCode, ProvenanceIdentity } from './provenance.js';

/**
 * The keys trusted to verify the signatures of the package's registry: pinned by the policy, npm's own (shipped with
 * the tool) for the npm registry and the mirrors the policy declares, or served by the registry; or none at all
 * (a registry that serves none and is not declared a mirror). `mirror` is set for a declared mirror that serves no
 * keys itself: it may strip signatures, so an unsigned version there is said once rather than blocked. `npm`: the keys
 * are npm's own (trust/npm-keys.json or its refreshed copy), so a key they lack calls for `trust refresh`.
 */
export type KeysInput = { kind: 'keys'; keys: RegistryKey[]; source: string; npm?: boolean; mirror?: { registry: string; upstream: string } } | { kind: 'none'; registry: string };

/** The outcome of verifying the locked version's attestations (absent when it advertises none). */
export type ProvenanceInput =
  | { kind: 'verified'; identity?: ProvenanceIdentity; message: string }
  | { kind: 'failed'; code: ProvenanceCode; message: string }
  | { kind: 'unavailable'; message: string };
