// The tool's own folder (the one holding its package.json), where trust/ ships: found from this module's location,
// so it is the same from src/ (tests) and dist/ (the package).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let dir: string | undefined;

export function toolDir(): string {
  if (dir) return dir;
  let d = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(d, 'package.json'))) {
    const parent = path.dirname(d);
    if (parent === d) throw new Error(`cannot find the safe-install package folder above ${fileURLToPath(import.meta.url)}`);
    d = parent;
  }
  return (dir = d);
}
