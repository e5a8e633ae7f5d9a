// Verifies a package version's npm attestations (GET /-/npm/v1/attestations/<name>@<version>) offline:
// the SLSA provenance bundle (Fulcio certificate) and the npm publish attestation (registry key),
// both against a Sigstore trusted root, and both statements' subject against name, version and integrity.
import { createPublicKey } from 'node:crypto';
import { bundleFromJSON, type Bundle } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { Verifier, toSignedEntity, toTrustMaterial, type KeyFinderFunc, type Signer, type SignedEntity, type TrustMaterial } from '@sigstore/verify';
import ssri from 'ssri';
import { loadTrustedRoot } from './trusted-root.js';
import type { RegistryKey } from '../types.js';
import { isObject } from '../util/is-object.js';
import { at } from '../util/at.js';

export type ProvenanceCode = 'attestations-malformed' | 'provenance-invalid' | 'provenance-subject-mismatch' | 'publish-attestation-invalid' | 'provenance-missing';

export interface ProvenanceIdentity {
  sourceRepository?: string;
  sourceRef?: string;
  sourceCommit?: string;
  workflow?: string;
  issuer?: string;
  builder?: string;
}

export interface ProvenanceResult {
  ok: boolean;
  code?: ProvenanceCode;
  message: string;
  identity?: ProvenanceIdentity;
  publishAttestationVerified: boolean;
}

export interface AttestationInput {
  name: string;
  version: string;
  /** sha512 SRI of the tarball */
  integrity: string;
  /** parsed JSON of GET /-/npm/v1/attestations/<name>@<version> */
  body: unknown;
  keys: RegistryKey[];
  /** a trusted_root.json object; default: loadTrustedRoot() */
  trustedRoot?: unknown;
}

export const PUBLISH_PREDICATE_TYPE = 'https://github.com/npm/attestation/tree/main/specs/publish/v0.1';
export const PROVENANCE_PREDICATE_PREFIX = 'https://slsa.dev/provenance/';
const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
const GITHUB_ACTIONS_ISSUER = 'https://token.actions.githubusercontent.com';

interface Attestation {
  predicateType: string;
  bundle: Bundle;
}

interface Expected {
  purl: string;
  sha512Hex: string;
}

interface Statement {
  predicateType?: unknown;
  subject?: unknown;
  predicate?: unknown;
}

/** A check that failed; carries the result code. Never escapes this module. */
class Failure extends Error {
  constructor(
    readonly code: ProvenanceCode,
    message: string,
  ) {
    super(message);
  }
}

export function verifyNpmAttestations(input: AttestationInput): ProvenanceResult {
  const id = `${input.name}@${input.version}`;
  const trust = baseTrustMaterial(input.trustedRoot ?? loadTrustedRoot().root);
  let identity: ProvenanceIdentity | undefined;
  let publishAttestationVerified = false;
  try {
    const { provenance, publish } = parseBody(input.body);
    if (!provenance && !publish) throw new Failure('provenance-missing', `${id} has no attestations.`);
    const expected = expectedSubject(input);
    if (provenance) identity = verifyProvenance(provenance, trust, expected);
    if (!publish) throw new Failure('publish-attestation-invalid', `${id} has provenance but no npm publish attestation.`);
    verifyPublish(publish, trust, input.keys, expected);
    publishAttestationVerified = true;
    if (!provenance) {
      throw new Failure('provenance-missing', `${id} has a verified npm publish attestation but no SLSA provenance.`);
    }
    return { ok: true, message: verifiedMessage(id, identity ?? {}), identity, publishAttestationVerified };
  } catch (err) {
    if (!(err instanceof Failure)) throw err;
    return { ok: false, code: err.code, message: err.message, identity, publishAttestationVerified };
  }
}

function verifiedMessage(id: string, identity: ProvenanceIdentity): string {
  const from = identity.sourceRepository ?? identity.workflow ?? 'an unnamed source';
  const at = identity.sourceCommit ? ` at ${identity.sourceCommit.slice(0, 12)}` : '';
  return `${id} has verified provenance from ${from}${at} and a verified npm publish attestation.`;
}

// ---- Phase 1: the response shape -------------------------------------------------------------

function parseBody(body: unknown): { provenance?: Attestation; publish?: Attestation } {
  const list = isObject(body) ? body.attestations : undefined;
  if (!Array.isArray(list)) throw malformed('the response has no attestations list');
  let provenance: Attestation | undefined;
  let publish: Attestation | undefined;
  for (const [i, item] of list.entries()) {
    if (!isObject(item) || typeof item.predicateType !== 'string' || !isObject(item.bundle)) {
      throw malformed(`attestation ${i} is not a {predicateType, bundle} object`);
    }
    const attestation = { predicateType: item.predicateType, bundle: parseBundle(item.bundle, i) };
    if (attestation.predicateType === PUBLISH_PREDICATE_TYPE) {
      if (publish) throw malformed('the response has two npm publish attestations');
      publish = attestation;
    } else if (attestation.predicateType.startsWith(PROVENANCE_PREDICATE_PREFIX)) {
      if (provenance) throw malformed('the response has two SLSA provenance attestations');
      provenance = attestation;
    }
    // Other predicate types are neither trusted nor required, so they are skipped.
  }
  return { provenance, publish };
}

function parseBundle(json: Record<string, unknown>, index: number): Bundle {
  let bundle: Bundle;
  try {
    bundle = bundleFromJSON(json);
  } catch (err) {
    throw malformed(`attestation ${index} is not a valid Sigstore bundle (${reason(err)})`);
  }
  if (bundle.content.$case !== 'dsseEnvelope') throw malformed(`attestation ${index} does not hold a DSSE envelope`);
  return bundle;
}

function malformed(what: string): Failure {
  return new Failure('attestations-malformed', `The attestations response is malformed: ${what}.`);
}

// ---- Phase 2: what the statements must name --------------------------------------------------

function expectedSubject({ name, version, integrity }: AttestationInput): Expected {
  // npm writes the purl with the scope's "@" percent-encoded (npm-package-arg toPurl).
  const purl = `pkg:npm/${name.replace(/^@/, '%40')}@${version}`;
  const sha512 = ssri.parse(integrity).sha512?.[0];
  if (!sha512) {
    throw new Failure('provenance-subject-mismatch', `The integrity "${integrity}" has no sha512 digest to compare with the attestations.`);
  }
  return { purl, sha512Hex: Buffer.from(sha512.digest, 'base64').toString('hex') };
}

// ---- Phase 3: the SLSA provenance bundle -----------------------------------------------------

function verifyProvenance(att: Attestation, trust: BaseTrust, expected: Expected): ProvenanceIdentity {
  const invalid = (why: string) => new Failure('provenance-invalid', `The SLSA provenance for ${expected.purl} ${why}.`);
  const signer = sigstoreVerify(att.bundle, { ...trust, publicKey: noPublicKeys }, 'certificate', (why) => invalid(why));
  const statement = readStatement(att, (why) => invalid(why));
  const mismatch = subjectMismatch(statement, expected);
  if (mismatch) throw new Failure('provenance-subject-mismatch', `The SLSA provenance ${mismatch}.`);
  return identityOf(signer, statement);
}

// Provenance must be signed by a Fulcio certificate; a bundle that names a key hint is rejected.
const noPublicKeys: KeyFinderFunc = (hint) => {
  throw new Error(`a provenance bundle must carry a certificate, not the key hint "${hint}"`);
};

// ---- Phase 4: the npm publish attestation ----------------------------------------------------

function verifyPublish(att: Attestation, trust: BaseTrust, keys: RegistryKey[], expected: Expected): void {
  const invalid = (why: string) => new Failure('publish-attestation-invalid', `The npm publish attestation for ${expected.purl} ${why}.`);
  const hint = att.bundle.verificationMaterial.content?.$case === 'publicKey' ? att.bundle.verificationMaterial.content.publicKey.hint : undefined;
  if (hint === undefined) throw invalid('is not signed with a registry key');
  const key = keys.find((k) => k.keyid === hint);
  if (!key) throw invalid(`is signed by key ${hint}, which is not among the registry's keys`);

  const finder = registryKeyFinder(key);
  sigstoreVerify(att.bundle, { ...trust, publicKey: finder.find }, 'public-key', (why) =>
    finder.rejectedAt ? invalid(`was signed at ${finder.rejectedAt.toISOString()}, after registry key ${key.keyid} expired (${key.expires})`) : invalid(why),
  );
  const statement = readStatement(att, (why) => invalid(why));
  const mismatch = subjectMismatch(statement, expected);
  if (mismatch) throw invalid(mismatch);
}

// As npm does: the key must not have expired when the log integrated the entry (its verified timestamp).
function registryKeyFinder(key: RegistryKey): { find: KeyFinderFunc; rejectedAt?: Date } {
  const state: { find: KeyFinderFunc; rejectedAt?: Date } = {
    find: () => ({
      publicKey: createPublicKey({ key: Buffer.from(key.key, 'base64'), format: 'der', type: 'spki' }),
      validFor: (signedAt: Date) => {
        const valid = key.expires === null || signedAt.getTime() < Date.parse(key.expires);
        if (!valid) state.rejectedAt = signedAt;
        return valid;
      },
    }),
  };
  return state;
}

// ---- Shared: Sigstore verification and the in-toto statement --------------------------------

type BaseTrust = Omit<TrustMaterial, 'publicKey'>;

// Parsing the root's certificates and keys costs milliseconds, so it is done once per root object.
const trustCache = new WeakMap<object, BaseTrust>();

function baseTrustMaterial(root: unknown): BaseTrust {
  if (typeof root !== 'object' || root === null) throw new Error('the Sigstore trusted root must be a JSON object');
  let trust = trustCache.get(root);
  if (!trust) {
    const { publicKey: _unused, ...rest } = toTrustMaterial(TrustedRoot.fromJSON(root));
    trust = rest;
    trustCache.set(root, trust);
  }
  return trust;
}

function sigstoreVerify(bundle: Bundle, trust: TrustMaterial, keyKind: SignedEntity['key']['$case'], fail: (why: string) => Failure): Signer {
  let entity: SignedEntity;
  try {
    entity = toSignedEntity(bundle);
  } catch (err) {
    throw fail(`has unreadable verification material (${reason(err)})`);
  }
  if (entity.key.$case !== keyKind) {
    throw fail(keyKind === 'certificate' ? 'is not signed with a Sigstore certificate' : 'is not signed with a registry key');
  }
  try {
    // Checks the cert chain (or key window) at the log's timestamp, the tlog entry and the DSSE signature.
    return new Verifier(trust).verify(entity);
  } catch (err) {
    throw fail(`fails Sigstore verification: ${reason(err)}`);
  }
}

function readStatement(att: Attestation, fail: (why: string) => Failure): Statement {
  if (att.bundle.content.$case !== 'dsseEnvelope') throw fail('holds no DSSE envelope');
  const envelope = att.bundle.content.dsseEnvelope;
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) throw fail(`has payload type ${envelope.payloadType}, not an in-toto statement`);
  let statement: unknown;
  try {
    statement = JSON.parse(envelope.payload.toString('utf8'));
  } catch {
    throw fail('holds a signed payload that is not JSON');
  }
  if (!isObject(statement)) throw fail('holds a signed payload that is not an in-toto statement');
  // The outer predicateType is not signed; the statement's is.
  if (statement.predicateType !== att.predicateType) {
    throw fail(`is listed as ${att.predicateType} but its signed statement says ${String(statement.predicateType)}`);
  }
  return statement;
}

/** Why no subject of the statement is this package version with this tarball; undefined when one is. */
function subjectMismatch(statement: Statement, expected: Expected): string | undefined {
  const subjects = Array.isArray(statement.subject) ? statement.subject.filter(isObject) : [];
  const named = subjects.filter((s) => s.name === expected.purl);
  if (named.length === 0) {
    const names = subjects.map((s) => String(s.name)).join(', ') || 'nothing';
    return `names ${names}, not ${expected.purl}`;
  }
  const digests = named.map((s) => (isObject(s.digest) && typeof s.digest.sha512 === 'string' ? s.digest.sha512.toLowerCase() : ''));
  if (!digests.includes(expected.sha512Hex)) {
    return `for ${expected.purl} has sha512 ${digests[0] || '(none)'}, which is not the tarball's integrity (${expected.sha512Hex})`;
  }
  return undefined;
}

// ---- Identity: Fulcio certificate extensions and the SLSA builder ---------------------------

const fulcioOid = (n: number) => `1.3.6.1.4.1.57264.1.${n}`;

function identityOf(signer: Signer, statement: Statement): ProvenanceIdentity {
  const ext = new Map<string, Buffer>();
  for (const pair of signer.identity?.oids ?? []) if (pair.oid) ext.set(pair.oid.id.join('.'), pair.value);
  // Extensions .8 and up are DER UTF8Strings; the deprecated .1-.6 hold the raw string.
  const modern = (n: number) => derUtf8String(ext.get(fulcioOid(n)));
  const legacy = (n: number) => ext.get(fulcioOid(n))?.toString('utf8');

  const issuer = modern(8) ?? legacy(1) ?? signer.identity?.extensions?.issuer;
  const identity: ProvenanceIdentity = {
    sourceRepository: modern(12) ?? githubRepoURL(legacy(5), issuer),
    sourceRef: modern(14) ?? legacy(6),
    sourceCommit: modern(13) ?? legacy(3),
    workflow: modern(18) ?? signer.identity?.subjectAlternativeName,
    issuer,
    builder: builderOf(statement.predicate),
  };
  return Object.fromEntries(Object.entries(identity).filter(([, v]) => v !== undefined)) as ProvenanceIdentity;
}

// Pre-2023-06 GitHub certs carry "owner/repo" (ext .5) rather than the Source Repository URI (.12).
function githubRepoURL(repo: string | undefined, issuer: string | undefined): string | undefined {
  if (repo === undefined || /^[a-z]+:\/\//i.test(repo)) return repo;
  return issuer === GITHUB_ACTIONS_ISSUER ? `https://github.com/${repo}` : repo;
}

function builderOf(predicate: unknown): string | undefined {
  if (!isObject(predicate)) return undefined;
  const v1 = isObject(predicate.runDetails) && isObject(predicate.runDetails.builder) ? predicate.runDetails.builder.id : undefined;
  const v02 = isObject(predicate.builder) ? predicate.builder.id : undefined;
  const id = v1 ?? v02;
  return typeof id === 'string' ? id : undefined;
}

function derUtf8String(der: Buffer | undefined): string | undefined {
  if (!der || der.length < 2 || der[0] !== 0x0c) return undefined;
  let length = at(der, 1); // der.length >= 2 above
  let offset = 2;
  if (length & 0x80) {
    const bytes = length & 0x7f;
    if (bytes < 1 || bytes > 4 || der.length < 2 + bytes) return undefined;
    length = der.subarray(2, 2 + bytes).reduce((n, b) => n * 256 + b, 0);
    offset = 2 + bytes;
  }
  return offset + length === der.length ? der.subarray(offset).toString('utf8') : undefined;
}

function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
