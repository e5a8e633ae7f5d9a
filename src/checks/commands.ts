// The commands a dependency's bin must not shadow. node_modules/.bin comes first on the PATH of every script npm,
// pnpm and yarn run (the dependencies' install scripts, the project's own scripts), so a dependency that links a
// bin named `node` runs instead of node for all of them. Protected: the commands scripts and people rely on, and
// every command on the PATH the guard runs with (except node_modules/.bin folders, which are the project's own).
import { readdirSync, realpathSync } from 'node:fs';
import { basename, delimiter, dirname, isAbsolute, join, sep } from 'node:path';

/** Commands protected wherever they are (a CI image may not have them on PATH, and a script still calls them). */
export const PROTECTED_COMMANDS: readonly string[] = [
  'node',
  'nodejs',
  'npm',
  'npx',
  'pnpm',
  'pnpx',
  'yarn',
  'yarnpkg',
  'corepack',
  'bun',
  'deno',
  'sh',
  'bash',
  'dash',
  'zsh',
  'env',
  'git',
  'python',
  'python3',
  'make',
  'cc',
  'gcc',
  'g++',
  'c++',
  'clang',
  'clang++',
  'ld',
  // npm runs `node-gyp rebuild` for native packages (their install script, or its default one for a binding.gyp)
  // from its own node-gyp-bin folder, which @npmcli/run-script puts after every node_modules/.bin: not on the
  // guard's PATH, yet a dependency's `node-gyp` bin would run in its place for every allowed native build.
  'node-gyp',
  // The guard itself: the hook init sets up is the script `safe-install hook`, so a dependency's `safe-install` bin
  // that npm links in place of the guard's (the first package by path wins) runs as that hook, with no check at all.
  'safe-install',
];

/** A protected command that one registry package is: that package may link it (the real node-gyp as a dependency). */
const OWNED_BY: Readonly<Record<string, string>> = { 'node-gyp': 'node-gyp', 'safe-install': 'safe-install' };

export interface ShadowableCommands {
  /** Why a dependency named `pkgName` may not link a bin called `bin`, or undefined when it may. */
  shadows(bin: string, pkgName: string): string | undefined;
}

/**
 * The package a PATH command belongs to when it is itself a Node package's bin: …/node_modules/<name>/… (npm's
 * global prefix, Homebrew), or Debian's /usr/share/nodejs/<name>/ and /usr/lib/nodejs/<name>/.
 */
function packageOfCommand(file: string): string | undefined {
  let real: string;
  try {
    real = realpathSync(file);
  } catch {
    return undefined;
  }
  const parts = real.split(sep);
  let i = parts.lastIndexOf('node_modules');
  if (i < 0) {
    const n = parts.indexOf('nodejs');
    if (n > 0 && (parts[n - 1] === 'share' || parts[n - 1] === 'lib')) i = n;
  }
  const name = i < 0 ? undefined : parts[i + 1];
  if (name === undefined) return undefined;
  const scoped = parts[i + 2];
  return name.startsWith('@') && scoped !== undefined ? `${name}/${scoped}` : name;
}

/**
 * The protected commands for a PATH (default: this process's). A command on PATH that is itself the bin of a
 * Node package (a global `tsc` from typescript) may be shadowed by the same package, nothing else.
 */
export function shadowableCommands(path: string | undefined = process.env.PATH): ShadowableCommands {
  const onPath = new Map<string, string>();
  for (const dir of (path ?? '').split(delimiter)) {
    // Relative entries, and the project's own node_modules/.bin (the guard started through npx or npm run) and
    // npm's node-gyp-bin, are not commands a dependency shadows: they are where dependencies' bins live.
    if (!dir || !isAbsolute(dir)) continue;
    if ((basename(dir) === '.bin' && basename(dirname(dir)) === 'node_modules') || basename(dir) === 'node-gyp-bin') continue;
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const n of names) if (!onPath.has(n)) onPath.set(n, join(dir, n));
  }
  // On a case-insensitive file system (macOS, Windows) a bin `Node` is found for `node`.
  const fold = process.platform === 'darwin' || process.platform === 'win32' ? (s: string) => s.toLowerCase() : (s: string) => s;
  const statics = new Set(PROTECTED_COMMANDS.map(fold));
  if (fold('A') === 'a') for (const [n, f] of [...onPath]) if (!onPath.has(fold(n))) onPath.set(fold(n), f);
  const owners = new Map<string, string | undefined>();
  return {
    shadows(bin, pkgName) {
      if (statics.has(fold(bin))) {
        if (OWNED_BY[fold(bin)] === pkgName) return undefined;
        return `\`${bin}\`, a command scripts and people rely on`;
      }
      const file = onPath.get(fold(bin));
      if (!file) return undefined;
      // Resolved once per PATH file: asked per package and per .bin entry.
      if (!owners.has(file)) owners.set(file, packageOfCommand(file));
      if (owners.get(file) === pkgName) return undefined;
      return `\`${bin}\`, the command ${file} on PATH`;
    },
  };
}
