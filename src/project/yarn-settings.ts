// yarn berry's supply-chain settings, read as inputs: `.yarnrc.yml` (the project's, then the home one, as yarn
// merges them; YARN_* variables win) and package.json `dependenciesMeta.*.built`. yarn 1 has none of these.
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type * as Yaml from 'yaml';
import { createRequire } from 'node:module';
import { lazy } from '../util/lazy.js';

// A plain require (not a computed name), so the bundler (scripts/bundle.mjs) sees and includes each library.
const require = createRequire(import.meta.url);
import { GuardError } from '../errors.js';
import { formatDuration, parseDuration } from '../util/duration.js';
import type { ProjectInputs } from './inputs.js';
import { isObject } from '../util/is-object.js';

const yaml = lazy<typeof Yaml>(() => require('yaml'));

async function readRc(path: string): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new GuardError('bad-config', `cannot read ${path}: ${(err as Error).message}`, { remedy: 'check the file permissions' });
  }
  try {
    const doc = yaml().parse(text);
    return isObject(doc) ? doc : {};
  } catch (err) {
    throw new GuardError('bad-config', `${path} is not valid YAML: ${(err as Error).message}`, { remedy: `fix ${path}` });
  }
}

/** yarn's npmMinimalAgeGate: a number of minutes, or a duration such as "3d". */
export function ageGateMs(value: unknown, where: string): number {
  const v = typeof value === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) : value;
  try {
    if (typeof v === 'number' || typeof v === 'string') return parseDuration(v);
  } catch {
    /* reported below */
  }
  throw new GuardError('bad-config', `${where} must be minutes or a duration such as "3d", not ${JSON.stringify(value)}`, { remedy: `fix ${where}` });
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/** The project's `.yarnrc.yml`, parsed (undefined when there is none): read once per check, for the settings and the registry. */
export function readProjectYarnrc(dir: string): Promise<Record<string, unknown> | undefined> {
  return readRc(join(dir, '.yarnrc.yml'));
}

/**
 * The berry settings safe-install reads. `project` is the project's `.yarnrc.yml` (readProjectYarnrc);
 * `dependenciesMeta` the project's package.json field, as written.
 */
export async function readYarnInputs(project: Record<string, unknown> | undefined, dependenciesMeta: unknown, env: NodeJS.ProcessEnv = process.env): Promise<ProjectInputs> {
  const home = env.YARN_RC_FILENAME ? undefined : await readRc(join(env.HOME ?? homedir(), '.yarnrc.yml'));
  const get = (key: string, envKey: string): { value: unknown; source: string } | undefined => {
    if (env[envKey] !== undefined && env[envKey] !== '') return { value: env[envKey], source: envKey };
    if (project && project[key] !== undefined) return { value: project[key], source: `.yarnrc.yml ${key}` };
    if (home && home[key] !== undefined) return { value: home[key], source: `~/.yarnrc.yml ${key}` };
    return undefined;
  };
  const inputs: ProjectInputs = { settings: [] };
  const said = (t: string) => inputs.settings!.push(t);

  const gate = get('npmMinimalAgeGate', 'YARN_NPM_MINIMAL_AGE_GATE');
  if (gate) {
    const ms = ageGateMs(gate.value, gate.source);
    const pre = get('npmPreapprovedPackages', 'YARN_NPM_PREAPPROVED_PACKAGES');
    const exclude = pre
      ? typeof pre.value === 'string'
        ? pre.value
            .split(/[;,]/)
            .map((s) => s.trim())
            .filter(Boolean)
        : strings(pre.value)
      : [];
    if (ms > 0) {
      inputs.ageGates = [{ ms, exclude, source: gate.source }];
      said(`${gate.source}: ${formatDuration(ms)}${exclude.length ? `, ${exclude.length} preapproved (${pre!.source})` : ''}`);
    }
  }

  // enableScripts: false turns every dependency's build off; dependenciesMeta built: true turns one back on.
  const scripts = get('enableScripts', 'YARN_ENABLE_SCRIPTS');
  const scriptsOff = scripts !== undefined && (scripts.value === false || scripts.value === 'false' || scripts.value === '0');
  const allow: string[] = [];
  const deny: string[] = [];
  if (isObject(dependenciesMeta)) {
    for (const [spec, meta] of Object.entries(dependenciesMeta)) {
      const built = meta && typeof meta === 'object' ? (meta as Record<string, unknown>).built : undefined;
      if (built === false) deny.push(spec);
      // built: true only means "allowed" where yarn would otherwise not build (enableScripts: false).
      else if (built === true && scriptsOff) allow.push(spec);
    }
  }
  if (allow.length || deny.length) {
    inputs.builds = [{ allow, deny, source: 'package.json dependenciesMeta' }];
    said(`package.json dependenciesMeta: ${allow.length} built, ${deny.length} not built`);
  }
  if (scriptsOff) said(`${scripts!.source}: false (only dependenciesMeta built: true packages build)`);
  return inputs;
}

/** yarn berry's `npmRegistryServer` from the project's .yarnrc.yml (or YARN_NPM_REGISTRY_SERVER), if set. */
export function yarnRegistry(project: Record<string, unknown> | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.YARN_NPM_REGISTRY_SERVER) return env.YARN_NPM_REGISTRY_SERVER;
  return typeof project?.npmRegistryServer === 'string' ? project.npmRegistryServer : undefined;
}
