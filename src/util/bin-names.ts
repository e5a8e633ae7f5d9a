// The command names a package links into node_modules/.bin, computed the way npm computes them
// (npm-normalize-package-bin, npm's own code: a string `bin` is named after the package, paths are reduced to
// their last part, a name that reduces to nothing is dropped).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const normalize = require('npm-normalize-package-bin') as (pkg: { name?: unknown; bin?: unknown }) => { bin?: Record<string, string> };

/** bin name -> target, as npm would link it; {} when the manifest declares none (or nothing usable). */
export function binsOf(manifest: { name?: unknown; bin?: unknown }): Record<string, string> {
  if (manifest.bin === undefined || manifest.bin === null) return {};
  try {
    // normalize mutates its argument: give it a copy.
    const bin = Array.isArray(manifest.bin) ? [...manifest.bin] : typeof manifest.bin === 'object' ? { ...(manifest.bin as object) } : manifest.bin;
    return normalize({ name: typeof manifest.name === 'string' ? manifest.name : undefined, bin }).bin ?? {};
  } catch {
    return {};
  }
}

/** The names only, sorted. */
export function binNamesOf(manifest: { name?: unknown; bin?: unknown }): string[] {
  return Object.keys(binsOf(manifest)).sort();
}
