// The yarn runners: yarn 1 ("classic", yarn-classic.ts) and yarn 2+ ("berry", yarn-berry.ts), chosen by the
// lockfile's format; yarn-shared.ts holds what they share.
import { GuardError } from '../errors.js';
import type { LockfileFormat } from '../types.js';
import type { InstallRunner } from './types.js';
import { berryRunner } from './yarn-berry.js';
import { classicRunner } from './yarn-classic.js';

export function yarnRunner(format: LockfileFormat): InstallRunner {
  if (format === 'yarn-v1') return classicRunner();
  if (format === 'yarn-berry') return berryRunner();
  throw new GuardError('bad-usage', `the yarn runner cannot install a ${format} lockfile`);
}
