// pnpm's supply-chain settings, read as inputs so a project that already curates them does not curate twice:
// pnpm-workspace.yaml (pnpm 10/11) first, then pnpm's keys in .npmrc, then the package.json `pnpm` field (where
// pnpm 9 kept its build lists; recent pnpm reads only the build lists there, never the age or trust settings).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type * as Yaml from 'yaml';
import { createRequire } from 'node:module';
import { lazy } from '../util/lazy.js';

// A plain require (not a computed name), so the bundler (scripts/bundle.mjs) sees and includes each library.
const require = createRequire(import.meta.url);

const yaml = lazy<typeof Yaml>(() => require('yaml'));
import { GuardError } from '../errors.js';
import type { NpmSettings } from './npm-config.js';
import type { ProjectInputs } from './inputs.js';
import { isObject } from '../util/is-object.js';

export interface BuildLists {
  allow: string[];
  deny: string[];
  source: string;
}

function strings(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** allowBuilds (pnpm 11: matcher -> true/false), onlyBuiltDependencies (allow), never/ignoredBuiltDependencies (deny). */
export function buildsFrom(settings: Record<string, unknown>, source: string): BuildLists | undefined {
  const allow = strings(settings.onlyBuiltDependencies);
  const deny = [...strings(settings.neverBuiltDependencies), ...strings(settings.ignoredBuiltDependencies)];
  const map = settings.allowBuilds;
  if (isObject(map)) {
    for (const [k, v] of Object.entries(map)) (v === true ? allow : deny).push(k);
  }
  return allow.length || deny.length ? { allow, deny, source } : undefined;
}

async function readWorkspaceYaml(dir: string): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, 'pnpm-workspace.yaml'), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new GuardError('bad-config', `cannot read pnpm-workspace.yaml: ${(err as Error).message}`, { remedy: 'check the file permissions' });
  }
  let doc: unknown;
  try {
    doc = yaml().parse(text);
  } catch (err) {
    throw new GuardError('bad-config', `pnpm-workspace.yaml is not valid YAML: ${(err as Error).message}`, { remedy: 'fix pnpm-workspace.yaml' });
  }
  return isObject(doc) ? doc : {};
}

/** The build lists of pnpm-workspace.yaml (already parsed), else of the package.json `pnpm` field. */
function buildsOf(workspaceYaml: Record<string, unknown> | undefined, packageJsonPnpm: unknown): BuildLists | undefined {
  const found = workspaceYaml ? buildsFrom(workspaceYaml, 'pnpm-workspace.yaml') : undefined;
  if (found) return found;
  if (packageJsonPnpm && typeof packageJsonPnpm === 'object') return buildsFrom(packageJsonPnpm as Record<string, unknown>, 'package.json pnpm');
  return undefined;
}

export async function readPnpmBuilds(dir: string, packageJsonPnpm: unknown): Promise<BuildLists | undefined> {
  return buildsOf(await readWorkspaceYaml(dir), packageJsonPnpm);
}

const camel = (kebab: string) => kebab.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** A number of minutes as pnpm writes it (a number, or a numeric string from .npmrc); an unusable value is an error. */
function minutes(value: unknown, where: string): number {
  const n = typeof value === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) {
    throw new GuardError('bad-config', `${where} must be a number of minutes, not ${JSON.stringify(value)}`, {
      remedy: `fix ${where} (pnpm would not accept it either)`,
    });
  }
  return n;
}

function bool(value: unknown): boolean {
  return value === true || value === 'true';
}

/**
 * Every pnpm setting safe-install reads, as policy inputs. pnpm-workspace.yaml wins over .npmrc for a key, as in
 * pnpm; the source names the file and key so the report can say where a rule came from.
 */
export async function readPnpmInputs(dir: string, packageJsonPnpm: unknown, npm: Pick<NpmSettings, 'pnpmKeys'> | undefined): Promise<ProjectInputs> {
  const workspaceYaml = await readWorkspaceYaml(dir);
  const yaml = workspaceYaml ?? {};
  const get = (kebab: string): { value: unknown; source: string } | undefined => {
    const key = camel(kebab);
    if (yaml[key] !== undefined && yaml[key] !== null) return { value: yaml[key], source: `pnpm-workspace.yaml ${key}` };
    const rc = npm?.pnpmKeys[kebab];
    return rc ? { value: rc.value, source: `.npmrc ${kebab} (${rc.level})` } : undefined;
  };
  const inputs: ProjectInputs = { settings: [] };
  const said = (text: string) => inputs.settings!.push(text);

  // pnpm-workspace.yaml is read once per check: the build lists come from the same parse.
  const builds = buildsOf(workspaceYaml, packageJsonPnpm);
  if (builds) inputs.builds = [builds];
  else {
    // pnpm 10 also reads its build lists from .npmrc.
    const fromRc = buildsFrom(
      Object.fromEntries(['only-built-dependencies', 'never-built-dependencies', 'ignored-built-dependencies'].flatMap((k) => (npm?.pnpmKeys[k] ? [[camel(k), npm.pnpmKeys[k].value]] : []))),
      '.npmrc (pnpm build lists)',
    );
    if (fromRc) inputs.builds = [fromRc];
  }
  const [read] = inputs.builds ?? [];
  if (read) said(`${read.source}: ${read.allow.length} allowed, ${read.deny.length} denied builds`);

  const age = get('minimum-release-age');
  if (age) {
    const m = minutes(age.value, age.source);
    const exclude = get('minimum-release-age-exclude');
    if (m > 0) {
      inputs.ageGates = [{ ms: m * 60_000, exclude: strings(exclude?.value), source: age.source }];
      said(`${age.source}: ${m} minutes${exclude ? `, ${strings(exclude.value).length} excluded (${exclude.source})` : ''}`);
    }
  }
  const trust = get('trust-policy');
  if (trust) {
    if (trust.value !== 'no-downgrade' && trust.value !== 'off') {
      throw new GuardError('bad-config', `${trust.source} must be "no-downgrade" or "off", not ${JSON.stringify(trust.value)}`, { remedy: `fix ${trust.source}` });
    }
    const exclude = get('trust-policy-exclude');
    const after = get('trust-policy-ignore-after');
    inputs.trust = {
      mode: trust.value,
      exclude: strings(exclude?.value),
      ignoreAfterMs: after ? minutes(after.value, after.source) * 60_000 : undefined,
      source: trust.source,
    };
    said(`${trust.source}: ${trust.value}`);
  }
  const strict = get('strict-dep-builds');
  if (strict && bool(strict.value)) {
    inputs.strictBuilds = strict.source;
    said(`${strict.source}: true (an unlisted build fails the install)`);
  }
  const exotic = get('block-exotic-subdeps');
  if (exotic && bool(exotic.value)) {
    inputs.blockExoticSubdeps = exotic.source;
    said(`${exotic.source}: true (git/tarball sources of transitive dependencies are blocked)`);
  }
  return inputs;
}
