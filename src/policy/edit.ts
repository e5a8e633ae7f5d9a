// Explicit edits of the project policy (`scripts allow|deny`, later `approve`): read, change, write back
// atomically with the file's own indentation and key order. Never called implicitly.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GuardError } from '../errors.js';
import { detectIndent, writeFileAtomic } from '../util/atomic.js';
import { POLICY_FILE, type PolicyDocument } from './load.js';

export const SCHEMA_REF = './node_modules/safe-install/policies/policy.schema.json';

export async function editPolicy(
  projectDir: string,
  explicit: string | undefined,
  change: (doc: PolicyDocument) => void,
): Promise<{ path: string; created: boolean }> {
  const path = explicit ?? join(projectDir, POLICY_FILE);
  let text: string | undefined;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new GuardError('bad-policy', `cannot read ${path}: ${(err as Error).message}`);
  }
  let doc: PolicyDocument;
  try {
    doc = text === undefined ? { $schema: SCHEMA_REF } : JSON.parse(text);
  } catch (err) {
    throw new GuardError('bad-policy', `the policy ${path} is not valid JSON: ${(err as Error).message}`, { remedy: 'fix it before editing it' });
  }
  change(doc);
  const indent = text === undefined ? 2 : detectIndent(text);
  const eol = text === undefined || text.endsWith('\n') ? '\n' : '';
  await writeFileAtomic(path, JSON.stringify(doc, null, indent) + eol);
  return { path, created: text === undefined };
}
