// Files the user owns (policy, lockfile backups) are written whole or not at all: temp file + rename.
// Bytes are written as given (a Buffer is never round-tripped through text).
import { randomBytes } from 'node:crypto';
import { rename, stat, unlink, writeFile, chmod } from 'node:fs/promises';

export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const mode = await stat(path).then(
    (s) => s.mode & 0o777,
    () => undefined,
  );
  try {
    await writeFile(tmp, data, { flag: 'wx' });
    if (mode !== undefined) await chmod(tmp, mode);
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
}

/** The indentation a JSON file uses (its first indented line), so an edit keeps the file's look. */
export function detectIndent(text: string): string | number {
  const m = /^([ \t]+)\S/m.exec(text);
  return m?.[1] ?? 2;
}
