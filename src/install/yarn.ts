// The yarn runner (being written).
import { GuardError } from '../errors.js';
import type { LockfileFormat } from '../types.js';
import type { InstallRunner } from './runner.js';

const notYet = async (): Promise<never> => {
  throw new GuardError('bad-usage', 'installing a yarn project is not implemented yet', { remedy: 'run `safe-install check` before `yarn install --immutable`' });
};
export function yarnRunner(_format: LockfileFormat): InstallRunner {
  return { pm: 'yarn', describe: () => 'yarn install', installWithoutScripts: notYet, scan: notYet, runAllowed: notYet, rootEvents: [] };
}
