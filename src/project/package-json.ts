// The root project's package.json: what the guard reads from it (never writes it).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GuardError } from '../errors.js';

export interface ProjectManifest {
  name?: string;
  version?: string;
  scripts: Record<string, string>;
  /** npm 11's allowScripts map, when present. */
  allowScripts?: Record<string, boolean>;
  /** The package.json `pnpm` field (pnpm 9 settings), as written. */
  pnpm?: unknown;
  /** corepack's `packageManager` ("pnpm@10.34.9+sha512..."), as written. */
  packageManager?: unknown;
  /** yarn's `dependenciesMeta` (`built: false` turns a package's build off), as written. */
  dependenciesMeta?: unknown;
}

export async function readProjectManifest(dir: string): Promise<ProjectManifest | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, 'package.json'), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new GuardError('bad-config', `cannot read ${join(dir, 'package.json')}: ${(err as Error).message}`);
  }
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new GuardError('bad-config', `${join(dir, 'package.json')} is not valid JSON: ${(err as Error).message}`, {
      remedy: 'fix package.json',
    });
  }
  const allow = doc.allowScripts;
  if (allow !== undefined && (typeof allow !== 'object' || allow === null || Object.values(allow).some((v) => typeof v !== 'boolean'))) {
    throw new GuardError('bad-config', 'package.json "allowScripts" must map package specs to true or false', {
      remedy: 'fix package.json allowScripts (npm install-scripts manages it)',
    });
  }
  return {
    name: typeof doc.name === 'string' ? doc.name : undefined,
    version: typeof doc.version === 'string' ? doc.version : undefined,
    scripts: typeof doc.scripts === 'object' && doc.scripts ? (doc.scripts as Record<string, string>) : {},
    allowScripts: allow as Record<string, boolean> | undefined,
    pnpm: doc.pnpm,
    packageManager: doc.packageManager,
    dependenciesMeta: doc.dependenciesMeta,
  };
}
