// The public npm registry's signing keys, shipped with the tool the way the Sigstore trusted root is: npm publishes
// them as the target `registry.npmjs.org/keys.json` of Sigstore's public-good TUF repository (npm itself reads that
// target before it asks the registry's /-/npm/v1/keys), so `trust refresh` updates them with the root.
// They are the keys trusted for https://registry.npmjs.org/ and for every registry the policy declares a mirror of it
// (`registryMirrorOf`): a mirror or proxy that hides the keys endpoint cannot turn a signature into "unverifiable".
import { createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { RegistryKey } from '../types.js';
import { toolDir } from '../util/tool-dir.js';

/** The TUF target name, as npm and corepack read it. */
export const NPM_KEYS_TARGET = 'registry.npmjs.org/keys.json';
export const NPM_KEYS_FILE = 'npm-keys.json';

export interface LoadedNpmKeys {
  keys: RegistryKey[];
  /** Absolute path of the file the keys were read from. */
  source: string;
}

/** trust/npm-keys.json in the tool's own folder. */
export function shippedNpmKeysPath(): string {
  return path.join(toolDir(), 'trust', NPM_KEYS_FILE);
}

/** Where `trust refresh` writes the keys, and `loadNpmKeys` looks first. */
export function cachedNpmKeysPath(cacheDir: string): string {
  return path.join(cacheDir, 'trust', NPM_KEYS_FILE);
}

let shipped: LoadedNpmKeys | undefined;

/** The refreshed keys in cacheDir if there is a usable copy, else the shipped ones (a missing shipped file is a broken install). */
export function loadNpmKeys(cacheDir?: string): LoadedNpmKeys {
  if (cacheDir !== undefined) {
    const file = cachedNpmKeysPath(cacheDir);
    try {
      return { keys: parseNpmKeysTarget(readFileSync(file, 'utf8')), source: file };
    } catch {
      // absent or unusable: the shipped copy
    }
  }
  if (!shipped) {
    const file = shippedNpmKeysPath();
    try {
      shipped = { keys: parseNpmKeysTarget(readFileSync(file, 'utf8')), source: file };
    } catch (err) {
      throw new Error(`the shipped npm registry keys ${file} are missing or unusable: ${(err as Error).message}`);
    }
  }
  return shipped;
}

/**
 * The registry-signature keys of the TUF target (`{keys: [{keyId, keyUsage, publicKey: {rawBytes, keyDetails,
 * validFor: {start, end}}}]}`), as npm maps them: usage `npm:signatures`, `expires` = the end of the key's validity
 * (a key verifies only versions published before it). Throws, saying why, when the text is not such a document or
 * holds no usable ECDSA P-256 key.
 */
export function parseNpmKeysTarget(text: string): RegistryKey[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new Error(`it is not JSON (${(err as Error).message})`);
  }
  const list = (doc as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(list)) throw new Error('it has no "keys" list');
  const keys: RegistryKey[] = [];
  for (const k of list as unknown[]) {
    const entry = k as { keyId?: unknown; keyUsage?: unknown; publicKey?: { rawBytes?: unknown; keyDetails?: unknown; validFor?: { end?: unknown } } } | null;
    if (entry?.keyUsage !== 'npm:signatures') continue;
    const { keyId } = entry;
    const raw = entry.publicKey?.rawBytes;
    const end = entry.publicKey?.validFor?.end;
    if (typeof keyId !== 'string' || !keyId || typeof raw !== 'string') throw new Error('a key has no keyId or publicKey.rawBytes');
    if (entry.publicKey?.keyDetails !== 'PKIX_ECDSA_P256_SHA_256') continue; // npm signs with ECDSA P-256; another kind verifies nothing here
    if (end !== undefined && end !== null && (typeof end !== 'string' || Number.isNaN(Date.parse(end)))) throw new Error(`key ${keyId} has an unreadable validFor.end`);
    try {
      const obj = createPublicKey({ key: Buffer.from(raw, 'base64'), format: 'der', type: 'spki' });
      if (obj.asymmetricKeyType !== 'ec' || obj.asymmetricKeyDetails?.namedCurve !== 'prime256v1') throw new Error('not P-256');
    } catch {
      throw new Error(`key ${keyId} is not an ECDSA P-256 public key`);
    }
    keys.push({ keyid: keyId, key: raw, expires: typeof end === 'string' ? end : null });
  }
  if (!keys.length) throw new Error('it holds no npm:signatures key');
  return keys;
}
