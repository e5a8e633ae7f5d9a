// `safe-install trust refresh`: bring the Sigstore trusted root and the npm registry keys (targets of the same TUF
// repository) up to date when the network allows. Without it, provenance and the npm registry's signatures are
// verified with the copies shipped with the tool (trust/trusted_root.json, trust/npm-keys.json).
import { classifyError, GuardError } from '../errors.js';
import { defaultCacheDir } from '../registry/cache.js';
import { loadTrustedRoot, refreshTrustedRoot } from '../verify/trusted-root.js';
import { loadNpmKeys } from '../verify/npm-keys.js';

export async function trustRefreshCommand(flags: { cacheDir?: string; mirrorUrl?: string }): Promise<number> {
  const cacheDir = flags.cacheDir ?? defaultCacheDir();
  try {
    const { path, npmKeysPath } = await refreshTrustedRoot(cacheDir, { mirrorURL: flags.mirrorUrl });
    process.stdout.write(`Updated the Sigstore trusted root: ${path}\nUpdated the npm registry keys: ${npmKeysPath}\n`);
    return 0;
  } catch (err) {
    // The cache folder itself (a file in its place, no space, read-only) is not the network's fault.
    const local = classifyError(err);
    if (local && local.code === 'file-system') throw local;
    throw new GuardError('registry-unreachable', (err as Error).message, {
      remedy: `provenance and npm registry signatures are still verified offline with ${loadTrustedRoot(cacheDir).source} and ${loadNpmKeys(cacheDir).source}; retry where the TUF repository is reachable, or pass --mirror-url`,
    });
  }
}
