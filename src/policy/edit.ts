// Explicit edits of the project policy (`scripts allow|deny`, later `approve`): read, change, write back
// atomically with the file's own indentation and key order. Never called implicitly. The read-modify-write
// holds the project's lock (and the policy file's own, when it lives elsewhere), so parallel edits never lose
// each other's entries, and it is a transaction: a failure or interrupt puts the file back as it was.
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { GuardError } from '../errors.js';
import { detectIndent } from '../util/atomic.js';
import { fileLockPath, projectLockPath } from '../util/lock.js';
import { transaction } from '../util/transaction.js';
import { POLICY_FILE, type PolicyDocument } from './load.js';

export const SCHEMA_REF = './node_modules/safe-install/policies/policy.schema.json';

/**
 * The locks an edit of this project's policy (and the settings kept in sync with it) holds: the project's, and
 * the policy file's own, kept in the scratch folder beside it (`.safe-install/tmp/<name>.lock`), so two projects
 * sharing one policy (`--policy ../shared.json`, or one project's own policy) exclude each other on it.
 */
export function policyLocks(projectDir: string, explicit?: string): string[] {
  const path = resolve(explicit ?? join(projectDir, POLICY_FILE));
  return [projectLockPath(projectDir), fileLockPath(path)];
}

export async function editPolicy(projectDir: string, explicit: string | undefined, change: (doc: PolicyDocument) => void): Promise<{ path: string; created: boolean }> {
  const path = explicit ?? join(projectDir, POLICY_FILE);
  return transaction({ label: 'policy edit', locks: policyLocks(projectDir, explicit), lockOptions: { what: `the policy ${path}` }, relativeTo: projectDir }, async (t) => {
    let bytes: Buffer | undefined;
    try {
      bytes = await readFile(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new GuardError('bad-policy', `cannot read ${path}: ${(err as Error).message}`);
    }
    const text = bytes?.toString('utf8');
    if (bytes && !Buffer.from(text!, 'utf8').equals(bytes)) {
      throw new GuardError('bad-policy', `the policy ${path} is not valid UTF-8: editing it would change bytes it holds`, { remedy: 'save it as UTF-8 before editing it' });
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
    await t.write(path, JSON.stringify(doc, null, indent) + eol);
    return { path, created: text === undefined };
  });
}
