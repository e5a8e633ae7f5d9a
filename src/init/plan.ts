// What `init` (and a later policy edit) would write: each file's text before and after. Nothing is written here.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { GuardError } from '../errors.js';
import { loadNpmSettings } from '../project/npm-config.js';
import { readLockfile } from '../lockfile/index.js';
import { readProjectManifest } from '../project/package-json.js';
import { loadPolicy, POLICY_FILE } from '../policy/load.js';
import { SCHEMA_REF } from '../policy/edit.js';
import { diffLines, unifiedDiff } from '../inspect/diff.js';
import { writeFileAtomic } from '../util/atomic.js';
import { applyNpmrc, applyPackageJson, npmSettingsFromPolicy, NPMRC_MARKER } from './npm-settings.js';
import { githubWorkflow, WORKFLOW_PATH } from './workflow.js';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

const require = createRequire(import.meta.url);

export interface FileChange {
  path: string;
  before: string | null;
  after: string;
}

const read = (p: string) => readFile(p, 'utf8').catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? null : Promise.reject(err)));

export async function planInit(dir: string, opts: { ci?: string; policyPath?: string; now?: Date }): Promise<{ changes: FileChange[]; notes: string[] }> {
  const pkgPath = join(dir, 'package.json');
  const pkgText = await read(pkgPath);
  if (pkgText === null) throw new GuardError('bad-usage', `no package.json in ${dir}`, { remedy: 'run init in the project folder (-C <dir>)' });
  const policyPath = opts.policyPath ?? join(dir, POLICY_FILE);
  const policyText = await read(policyPath);
  const policyAfter = policyText ?? JSON.stringify({ $schema: SCHEMA_REF }, null, 2) + '\n';
  const changes: FileChange[] = [{ path: policyPath, before: policyText, after: policyAfter }];

  // The policy as it will be, with the project's own lists (package.json allowScripts) as inputs.
  const npm = await loadNpmSettings(dir);
  const manifest = await readProjectManifest(dir);
  const policy = await loadPolicy(dir, policyText === null ? undefined : policyPath, npm, { allowScripts: manifest?.allowScripts });
  const settings = npmSettingsFromPolicy(policy, opts.now);
  const npmrcPath = join(dir, '.npmrc');
  const npmrcText = await read(npmrcPath);
  changes.push({ path: npmrcPath, before: npmrcText, after: applyNpmrc(npmrcText ?? '', settings) });
  changes.push({ path: pkgPath, before: pkgText, after: applyPackageJson(pkgText, settings) });
  if (opts.ci === 'github') {
    const wfPath = join(dir, WORKFLOW_PATH);
    const version = (require('../../package.json') as { version: string }).version;
    changes.push({ path: wfPath, before: await read(wfPath), after: githubWorkflow({ toolSpec: `safe-install@${version}` }) });
  } else if (opts.ci !== undefined) {
    throw new GuardError('bad-usage', `--ci ${opts.ci} is not supported (supported: github)`);
  }
  // Packages whose scripts npm's strict mode will refuse until someone decides: say so now, not at the next install.
  try {
    const tree = readLockfile(dir);
    const unlisted = [...new Set(tree.packages.filter((p) => p.hasInstallScript && p.source === 'registry' && settings.allowScripts[p.name] === undefined && manifest?.allowScripts?.[p.name] === undefined).map((p) => p.name))];
    if (unlisted.length) {
      settings.notes.push(
        `${unlisted.join(', ')} ${unlisted.length === 1 ? 'has' : 'have'} install scripts in neither list: a plain npm ci will refuse the install until you run \`safe-install scripts allow <name>\` or \`safe-install scripts deny <name>\``,
      );
    }
  } catch {
    // no lockfile yet: nothing to warn about
  }
  return { changes: changes.filter((c) => c.before !== c.after), notes: settings.notes };
}

export function diffText(c: FileChange, relativeTo: string): string {
  const path = c.path.startsWith(relativeTo) ? c.path.slice(relativeTo.length + 1) : c.path;
  const lines = (t: string) => (t.endsWith('\n') ? t.slice(0, -1) : t).split('\n');
  const ops = diffLines(c.before === null ? [] : lines(c.before), lines(c.after));
  return unifiedDiff(path, ops, { context: 3, maxLines: 400, maxLineChars: 300, added: c.before === null }).text;
}

export async function applyChanges(changes: FileChange[]): Promise<void> {
  for (const c of changes) {
    await mkdir(dirname(c.path), { recursive: true });
    await writeFileAtomic(c.path, c.after);
  }
}

/**
 * After an explicit policy edit (scripts allow|deny, approve): keep npm's settings in step, in a project that
 * init set up (its .npmrc carries the marker). Returns the files it changed.
 */
export async function syncNpmSettings(dir: string, policyPath?: string): Promise<string[]> {
  const npmrc = await read(join(dir, '.npmrc'));
  if (!npmrc?.includes(NPMRC_MARKER)) return [];
  const { changes } = await planInit(dir, { policyPath });
  const npmOnly = changes.filter((c) => c.path.endsWith('.npmrc') || c.path.endsWith('package.json'));
  await applyChanges(npmOnly);
  return npmOnly.map((c) => c.path);
}
