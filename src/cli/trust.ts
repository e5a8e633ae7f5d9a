// `safe-install trust refresh`: bring the Sigstore trusted root up to date through TUF when the network
// allows. Without it, provenance is verified against the root shipped with the tool (trust/trusted_root.json).
import { classifyError, GuardError } from '../errors.js';
import { defaultCacheDir } from '../registry/cache.js';
import { loadTrustedRoot, refreshTrustedRoot } from '../verify/trusted-root.js';

export async function trustRefreshCommand(flags: { cacheDir?: string; mirrorUrl?: string }): Promise<number> {
  const cacheDir = flags.cacheDir ?? defaultCacheDir();
  try {
    const { path } = await refreshTrustedRoot(cacheDir, { mirrorURL: flags.mirrorUrl });
    process.stdout.write(`Updated the Sigstore trusted root: ${path}\n`);
    return 0;
  } catch (err) {
    // The cache folder itself (a file in its place, no space, read-only) is not the network's fault.
    const local = classifyError(err);
    if (local && local.code === 'file-system') throw local;
    throw new GuardError('registry-unreachable', (err as Error).message, {
      remedy: `provenance is still verified offline with ${loadTrustedRoot(cacheDir).source}; retry where the TUF repository is reachable, or pass --mirror-url`,
    });
  }
}
