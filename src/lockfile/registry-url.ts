// Shared by the lockfile readers.
import { LockfileError } from './errors.js';

/** The reader's one way to fail: the lockfile cannot be trusted as read. */
export function malformed(path: string, message: string, cause?: unknown): LockfileError {
  return new LockfileError('malformed', path, message, { cause });
}

/** A value quoted for an error message. */
export function q(s: string): string {
  return JSON.stringify(s);
}

/**
 * A registry tarball URL: `<any host and prefix>/<name>/-/<basename>-<version>.tgz`.
 * Mirrors and other registries use the same layout, so the host is not checked here (the source check is).
 */
export function isRegistryTarball(url: string, name: string, version: string): boolean {
  let pathname: string;
  try {
    pathname = decodeURIComponent(new URL(url).pathname); // scoped names may be written @scope%2fname
  } catch {
    return false;
  }
  const base = name.startsWith('@') ? name.slice(name.indexOf('/') + 1) : name;
  return pathname.endsWith(`/${name}/-/${base}-${version}.tgz`);
}
