// The pnpm runner (being written).
import { GuardError } from '../errors.js';
import type { InstallRunner } from './runner.js';

const notYet = async (): Promise<never> => {
  throw new GuardError('bad-usage', 'installing a pnpm project is not implemented yet', { remedy: 'run `safe-install check` before `pnpm install --frozen-lockfile`' });
};
export const pnpmRunner: InstallRunner = { pm: 'pnpm', describe: () => 'pnpm install --frozen-lockfile --ignore-scripts', installWithoutScripts: notYet, scan: notYet, runAllowed: notYet, rootEvents: [] };
