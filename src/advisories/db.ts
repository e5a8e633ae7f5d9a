// STUB: the offline advisory database (a directory tree of OSV records, OSV's npm zip export, or the cache that
// `safe-install advisories update` fills) is built in branch h-advdb; this file keeps its exports so the check
// compiles. The contract (both branches keep it exactly) is below; the real module replaces this one at merge.

export interface OfflineAdvisoryDb {
  readonly path: string;
  readonly kind: 'directory' | 'zip' | 'cache';
  readonly builtAt?: Date;
  /** Raw parsed OSV JSON records naming that package (the caller validates and matches them). */
  recordsFor(name: string): Promise<unknown[]>;
  close(): Promise<void>;
}

/** An error opening or reading a database; its message is user-facing. */
export class AdvisoryDbError extends Error {}

export async function openAdvisoryDb(path: string): Promise<OfflineAdvisoryDb> {
  void path;
  throw new Error('offline advisory database not built yet');
}

export async function openCachedAdvisoryDb(opts: { cacheDir: string; maxAgeMs: number }): Promise<OfflineAdvisoryDb | undefined> {
  void opts;
  throw new Error('offline advisory database not built yet');
}
