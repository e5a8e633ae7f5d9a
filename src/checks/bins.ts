// bins: a dependency that links a bin named like a command (node, npm, sh, git, anything on PATH) runs in place
// of that command for every script of the project, the allowed install scripts included, because
// node_modules/.bin comes first on their PATH. Known before download from the registry manifest and the lockfile
// (npm links what the lockfile records); the install runner checks what is really on disk again (installed.ts).
import type { Finding } from '../types.js';
import type { LockedPackage, LockedTree } from '../lockfile/types.js';
import type { Policy, ScriptRule } from '../policy/load.js';
import { matchesPattern } from '../policy/pattern.js';
import type { Check, CheckContext, FactsInput } from './types.js';
import { finding } from './finding.js';
import { shadowableCommands, type ShadowableCommands } from './commands.js';

let processCommands: ShadowableCommands | undefined;
/** The protected commands for this process's PATH, read once. */
export function defaultCommands(): ShadowableCommands {
  return (processCommands ??= shadowableCommands());
}

/** The bin names a locked package links, by the registry manifest and by the lockfile (either may add one). */
export function declaredBins(pkg: LockedPackage, facts: FactsInput): string[] {
  const v = facts && facts !== 'missing' ? facts.versions[pkg.version] : undefined;
  return [...new Set([...(v?.bins ?? []), ...(pkg.bins ?? [])])].sort();
}

/** The policy rule that lets this package shadow a command, if any. */
export function binsAllowRule(policy: Policy, name: string, version: string): ScriptRule | undefined {
  return policy.bins.allow.find((r) => matchesPattern(r.pattern, name, version));
}

/** The finding for a bin `bin` of `name@version` that shadows a command (`why`), as the policy decides it. */
export function shadowFinding(policy: Policy, name: string, version: string, bin: string, why: string, where: string): Finding {
  const rule = binsAllowRule(policy, name, version);
  const message = `links a bin named "${bin}" (${where}), which runs in place of ${why} in every script of this project`;
  if (rule) {
    return { check: 'bins', code: 'bin-shadows-command', severity: 'info', action: 'allow', message: `${message}; allowed by ${rule.source} bins.allow ("${rule.pattern.text}")`, data: { bin } };
  }
  return finding(policy, 'bin-shadows-command', `${message}: not allowed`, {
    remedy: `a dependency that replaces a command can run code whenever a script calls it; if you trust ${name} to do so, add it to the policy's "bins": { "allow": ["${name}"] }`,
    data: { bin },
  });
}

function commandsOf(ctx: CheckContext): ShadowableCommands {
  return ctx.commands ?? defaultCommands();
}

export const bins: Check = {
  id: 'bins',
  run(pkg, { facts }, ctx): Finding[] {
    if (pkg.source === 'link') return []; // the project's own workspaces
    const commands = commandsOf(ctx);
    const out: Finding[] = [];
    const v = facts && facts !== 'missing' ? facts.versions[pkg.version] : undefined;
    for (const bin of declaredBins(pkg, facts)) {
      const why = commands.shadows(bin, pkg.name);
      if (!why) continue;
      const where = v?.bins?.includes(bin) ? 'registry manifest' : 'lockfile';
      out.push(shadowFinding(ctx.policy, pkg.name, pkg.version, bin, why, `per the ${where}`));
    }
    return out;
  },
};

/** The .bin folder a package installed at `path` links into (`node_modules/a/node_modules/@s/b` -> `node_modules/a/node_modules/.bin`). */
export function binDirOf(path: string): string | undefined {
  const i = path.lastIndexOf('node_modules/');
  return i < 0 ? undefined : `${path.slice(0, i)}node_modules/.bin`;
}

/**
 * Two packages that link the same bin name into the same .bin folder: only one of them runs when a script calls
 * it, and which one is the package manager's choice (npm: the first by path). Reported on each of them.
 */
export function binConflicts(tree: LockedTree, binsOf: (pkg: LockedPackage) => string[], policy: Policy): Map<LockedPackage, Finding[]> {
  const byLink = new Map<string, Set<LockedPackage>>();
  for (const pkg of tree.packages) {
    if (pkg.source === 'link') continue;
    const names = binsOf(pkg);
    if (!names.length) continue;
    for (const path of pkg.paths) {
      const dir = binDirOf(path);
      if (!dir) continue;
      for (const bin of names) {
        const key = `${dir}\0${bin}`;
        if (!byLink.has(key)) byLink.set(key, new Set());
        byLink.get(key)!.add(pkg);
      }
    }
  }
  const out = new Map<LockedPackage, Finding[]>();
  for (const [key, pkgs] of byLink) {
    if (new Set([...pkgs].map((p) => p.name)).size < 2) continue;
    const [dir, bin] = key.split('\0');
    const all = [...pkgs].map((p) => `${p.name}@${p.version}`).sort();
    for (const pkg of pkgs) {
      const others = all.filter((x) => x !== `${pkg.name}@${pkg.version}`);
      const f = finding(policy, 'bin-name-conflict', `links a bin named "${bin}" into ${dir}, as ${others.join(', ')} also does: which one runs is the package manager's choice`, {
        remedy: 'make sure the one that should run is the one you expect; remove the dependency you do not need',
        data: { bin, dir, packages: all },
      });
      out.set(pkg, [...(out.get(pkg) ?? []), f]);
    }
  }
  return out;
}
