// pnpm's lists of packages allowed to run build (install) scripts, read as inputs so a project that already
// curates them does not curate twice: pnpm-workspace.yaml (pnpm 10/11) or the package.json `pnpm` field (pnpm 9).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { GuardError } from '../errors.js';

export interface PnpmBuilds {
  allow: string[];
  deny: string[];
  source: string;
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** allowBuilds (pnpm 11: matcher -> true/false), onlyBuiltDependencies (allow), never/ignoredBuiltDependencies (deny). */
export function buildsFrom(settings: Record<string, unknown>, source: string): PnpmBuilds | undefined {
  const allow = strings(settings.onlyBuiltDependencies);
  const deny = [...strings(settings.neverBuiltDependencies), ...strings(settings.ignoredBuiltDependencies)];
  const map = settings.allowBuilds;
  if (map && typeof map === 'object' && !Array.isArray(map)) {
    for (const [k, v] of Object.entries(map)) (v === true ? allow : deny).push(k);
  }
  return allow.length || deny.length ? { allow, deny, source } : undefined;
}

export async function readPnpmBuilds(dir: string, packageJsonPnpm: unknown): Promise<PnpmBuilds | undefined> {
  let text: string | undefined;
  try {
    text = await readFile(join(dir, 'pnpm-workspace.yaml'), 'utf8');
  } catch {
    text = undefined;
  }
  if (text !== undefined) {
    let doc: unknown;
    try {
      doc = parse(text);
    } catch (err) {
      throw new GuardError('bad-config', `pnpm-workspace.yaml is not valid YAML: ${(err as Error).message}`, { remedy: 'fix pnpm-workspace.yaml' });
    }
    const found = doc && typeof doc === 'object' ? buildsFrom(doc as Record<string, unknown>, 'pnpm-workspace.yaml') : undefined;
    if (found) return found;
  }
  if (packageJsonPnpm && typeof packageJsonPnpm === 'object') return buildsFrom(packageJsonPnpm as Record<string, unknown>, 'package.json pnpm');
  return undefined;
}
