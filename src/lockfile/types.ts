// What the lockfile stage makes: the locked tree, every locked package with where it is installed and who asks for it.
import type { LockfileFormat } from '../types.js';

/** Where a locked package comes from. */
export type SourceKind = 'registry' | 'git' | 'tarball' | 'file' | 'link' | 'bundled';

/** One locked package (one name@version from one source), with every place it is installed. */
export interface LockedPackage {
  /** Stable id inside the tree: `name@version` for registry packages, else `name@<source spec>`. */
  id: string;
  /** The registry name (for an alias `"node_modules/foo": {"name": "bar"}` this is `bar`). */
  name: string;
  /** Names it is installed under when that differs from `name` (npm aliases). */
  aliases: string[];
  version: string;
  /** SRI string as recorded in the lockfile, if any. */
  integrity?: string;
  /** `resolved` as recorded in the lockfile, if any. */
  resolved?: string;
  source: SourceKind;
  /** A dependency of the root project (or of a workspace) rather than of another package. */
  direct: boolean;
  dev: boolean;
  optional: boolean;
  /** The lockfile says the package has preinstall/install/postinstall (or binding.gyp). */
  hasInstallScript: boolean;
  /** Install locations, e.g. `node_modules/a/node_modules/b`. */
  paths: string[];
  /** Who depends on this copy, with the range they asked for. `name` is the dependent's name or `(root)`. */
  dependents: { name: string; range: string }[];
  /**
   * For a direct dependency from git, a remote tarball or a local path: the specs the project's own package.json
   * files (root and workspaces, overrides included) ask for under its names, as written. Set by `readLockfile`; a
   * direct exotic package is only what the project chose when one of them asks for that kind of source.
   */
  requested?: string[];
  /** For `source: 'bundled'`: the id of the package whose tarball carries it. */
  bundledIn?: string;
  /** Bin names the lockfile records for it (npm v2/v3 `bin`): what npm links into node_modules/.bin on `npm ci`. */
  bins?: string[];
  /** 1-based line of the package's first entry in the lockfile, for SARIF/annotations. */
  lockfileLine?: number;
}

export interface LockedTree {
  lockfilePath: string;
  format: LockfileFormat;
  root: { name?: string; version?: string; dir: string };
  /** The project's workspace folders (relative to `root.dir`, `/`-separated), as the lockfile records them. */
  workspaces: string[];
  packages: LockedPackage[];
}
