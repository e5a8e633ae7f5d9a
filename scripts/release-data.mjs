// Release build step: write dist/release.json ({version, actionRepository, actionSha}) into the package, so
// `safe-install init --ci github` pins the GitHub Action by the release commit's full SHA (src/init/release.ts).
// Usage: node scripts/release-data.mjs <owner/name> <40-hex SHA of the release commit the tag points to>
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const [repository, sha] = process.argv.slice(2);
if (!repository || !/^[A-Za-z0-9-]+\/[A-Za-z0-9._-]+$/.test(repository) || !sha || !/^[0-9a-f]{40}$/.test(sha)) {
  console.error('usage: node scripts/release-data.mjs <owner/name> <40-hex commit SHA>');
  process.exit(2);
}
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
writeFileSync(join(root, 'dist', 'release.json'), JSON.stringify({ version, actionRepository: repository, actionSha: sha }, null, 2) + '\n');
