// @npmcli/run-script, given no `nodeGyp`, looks up its own node-gyp dependency (require.resolve): from the one-file
// build there is none beside it, and the lookup would find whatever node-gyp the project's node_modules holds.
// The guard gives it the package manager's own node-gyp instead, as npm does for its scripts (npm passes its
// copy): the one npm names in npm_config_node_gyp when it started us, else the one shipped with the npm on PATH;
// from a checkout (tests), the dependency itself. A native package without one fails its build, as under npm.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { RunScriptOptions } from './lifecycle.js';
import { resolvePmScript } from './spawn.js';

let found: Promise<string | undefined> | undefined;

export function nodeGypPath(): Promise<string | undefined> {
  return (found ??= (async () => {
    const fromEnv = process.env.npm_config_node_gyp;
    if (fromEnv && existsSync(fromEnv)) return fromEnv;
    const npmCli = await resolvePmScript('npm');
    if (npmCli) {
      const own = join(dirname(npmCli), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
      if (existsSync(own)) return own;
    }
    try {
      return createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js');
    } catch {
      return undefined;
    }
  })());
}

/** @npmcli/run-script's call: npm's runner of one lifecycle event of one package. */
type RunScript = (opts: RunScriptOptions & { nodeGyp?: string }) => Promise<unknown>;

/**
 * @npmcli/run-script with npm's node-gyp (above) unless the caller names one, as an option or in the script's
 * environment (the pnpm runner passes pnpm's own, as pnpm does).
 */
export async function loadRunScript(): Promise<RunScript> {
  const runScript = createRequire(import.meta.url)('@npmcli/run-script') as RunScript;
  const nodeGyp = await nodeGypPath();
  return (opts) => {
    const named = opts.nodeGyp || opts.env?.npm_config_node_gyp;
    return runScript({ ...(nodeGyp && !named ? { nodeGyp } : {}), ...opts });
  };
}
