// Trust evidence gathered next to the facts: each registry's trusted signing keys (pinned by the policy, npm's own
// shipped with the tool for the npm registry and its declared mirrors, or served by the registry)
// and the verified outcome of a version's attestations. Verification results are content-addressed (name,
// version, integrity), so a verified version is never verified again.
import { GuardError } from '../errors.js';
import { type PackageFacts, fullVersion } from '../facts.js';
import type { KeysInput, ProvenanceInput } from './types.js';
import type { RegistryKey } from '../types.js';
import { registryUrlKey, type Policy } from '../policy/load.js';
import type { RegistryClient } from '../registry/client.js';
import type { FactsCache } from '../registry/cache.js';
import { loadNpmKeys } from './npm-keys.js';
import { isNpmRegistry } from '../project/npm-config.js';
import { isObject } from '../util/is-object.js';

export class EvidenceCollector {
  private readonly keysByRegistry = new Map<string, Promise<KeysInput>>();

  constructor(
    private readonly client: RegistryClient,
    private readonly cache: FactsCache,
    private readonly policy: Policy,
    private readonly cacheDir: string,
    /** False with --cache-ttl 0: every attestation is verified again, no cached outcome is used. */
    private readonly useCachedOutcomes = true,
  ) {}

  /** Sigstore verification and its trusted root are loaded on the first attestation, not at start-up. */
  private verifier?: Promise<{ verify: typeof import('./provenance.js').verifyNpmAttestations; root: unknown }>;

  private loadVerifier() {
    this.verifier ??= Promise.all([import('./provenance.js'), import('./trusted-root.js')]).then(([p, t]) => ({
      verify: p.verifyNpmAttestations,
      root: t.loadTrustedRoot(this.cacheDir).root,
    }));
    return this.verifier;
  }

  /** Keys for a registry; a failure to learn them is a GuardError (the run cannot be completed). */
  keys(registry: string): Promise<KeysInput> {
    let p = this.keysByRegistry.get(registry);
    if (!p) {
      p = this.trustedKeys(registry);
      this.keysByRegistry.set(registry, p);
    }
    return p;
  }

  /**
   * In order: keys the policy pins for the registry; npm's keys for the npm registry (never the served ones: a proxy
   * on the way cannot replace them); for a declared mirror, its upstream's trusted keys (and whether the mirror serves
   * keys itself, which says whether it keeps signatures); else the keys the registry serves, or none.
   */
  private async trustedKeys(registry: string): Promise<KeysInput> {
    let url: string;
    try {
      url = registryUrlKey(registry);
    } catch {
      url = registry;
    }
    const pinned = this.policy.registryKeys[url] ?? this.policy.registryKeys[registry];
    if (pinned) return { kind: 'keys', keys: pinned, source: 'keys pinned in the policy' };
    const served = await this.client.keys(registry);
    // The npm registry's own keys are never taken from the wire (a proxy on the way cannot hide or replace them);
    // whether it serves keys only says whether it keeps signatures: a host answering for registry.npmjs.org that
    // serves none (a transparent mirror, as on this machine) is treated as the mirror it is.
    if (isNpmRegistry(url)) {
      return { ...this.npmKeys(), kind: 'keys', npm: true, ...(served?.length ? {} : { mirror: { registry, upstream: registry } }) };
    }
    const upstream = this.policy.registryMirrorOf[url];
    if (upstream) {
      const trusted: { keys: RegistryKey[]; source: string; npm?: boolean } = this.policy.registryKeys[upstream]
        ? { keys: this.policy.registryKeys[upstream], source: `the keys of ${upstream} pinned in the policy` }
        : { ...this.npmKeys(), npm: true };
      return {
        kind: 'keys',
        ...trusted,
        source: `${trusted.source}; ${registry} is declared a mirror of ${upstream}`,
        ...(served?.length ? {} : { mirror: { registry, upstream } }),
      };
    }
    return served?.length ? { kind: 'keys', keys: served, source: `${registry}-/npm/v1/keys` } : { kind: 'none', registry };
  }

  private npmKeys(): { keys: RegistryKey[]; source: string } {
    try {
      const { keys, source } = loadNpmKeys(this.cacheDir);
      return { keys, source: `the npm registry keys in ${source}` };
    } catch (err) {
      throw new GuardError('bad-config', (err as Error).message, { remedy: 'reinstall safe-install (its trust/ folder is incomplete), or run `safe-install trust refresh`' });
    }
  }

  /** The locked version's attestation outcome, or undefined when it advertises none. */
  async provenance(facts: PackageFacts, version: string, keys: KeysInput): Promise<ProvenanceInput | undefined> {
    const v = fullVersion(facts, version);
    if (!v?.attestationsUrl) return undefined;
    if (!v.integrity) return { kind: 'failed', code: 'attestations-malformed', message: 'attestations are advertised for a version without an integrity' };
    const key = `${facts.name}@${version}:${v.integrity}:${keys.kind}`;
    const cached = this.useCachedOutcomes ? await this.cache.getDoc('verified', key, isVerifiedOutcome) : undefined;
    if (cached) return cached.value;
    const body = await this.client.attestations(facts.name, version, v.attestationsUrl);
    if (body === null) {
      return { kind: 'unavailable', message: `${facts.name}@${version} advertises attestations, but the registry answers 404 for them` };
    }
    const registryKeys: RegistryKey[] = keys.kind === 'keys' ? keys.keys : [];
    const { verify, root } = await this.loadVerifier();
    let result: ReturnType<typeof verify>;
    try {
      result = verify({ name: facts.name, version, integrity: v.integrity, body, keys: registryKeys, trustedRoot: root });
    } catch (err) {
      throw new GuardError('registry-malformed', `could not verify the attestations of ${facts.name}@${version}: ${(err as Error).message}`, { pkg: facts.name });
    }
    // Without registry keys the publish attestation cannot be checked (registry-no-keys says so, and the policy
    // decides); the SLSA provenance, verified against Sigstore's roots, still counts.
    const provenanceOnly = !result.ok && keys.kind === 'none' && result.code === 'publish-attestation-invalid' && result.identity;
    const outcome: ProvenanceInput = result.ok
      ? { kind: 'verified', identity: result.identity, message: result.message }
      : provenanceOnly
        ? {
            kind: 'verified',
            identity: result.identity,
            message: `${facts.name}@${version} has verified provenance from ${result.identity!.sourceRepository ?? 'an unnamed source'}; its npm publish attestation is unverifiable here (the registry publishes no keys)`,
          }
        : { kind: 'failed', code: result.code ?? 'provenance-invalid', message: result.message };
    if (outcome.kind === 'verified') await this.cache.putDoc('verified', key, outcome).catch(() => {});
    return outcome;
  }
}

/** A cached outcome as provenance() writes it: verified, with a message and string identity fields. */
function isVerifiedOutcome(v: unknown): v is ProvenanceInput & { kind: 'verified' } {
  if (!v || typeof v !== 'object') return false;
  const o = v as { kind?: unknown; message?: unknown; identity?: unknown };
  if (o.kind !== 'verified' || typeof o.message !== 'string') return false;
  if (o.identity === undefined) return true;
  return isObject(o.identity) && Object.values(o.identity).every((x) => typeof x === 'string');
}
