// `safe-install init`: set a project up in one command: the policy (with $schema), the package manager's own
// guards kept in sync with it (npm: .npmrc, package.json allowScripts; pnpm: pnpm-workspace.yaml, or the
// package.json `pnpm` field for pnpm 9; yarn 2+: .yarnrc.yml, package.json dependenciesMeta), the hook (yarn 2+:
// a committed plugin that runs it), and with --ci github a workflow.
// Idempotent; shows the diff of every file it would change and asks (or --yes; never asks without a terminal).
// Exit 0: written or nothing to change; 3 (EXIT_NOT_CONFIRMED): not confirmed, nothing written; 2: failed.
import { projectRoot } from '../lockfile/index.js';
import { createInterface } from 'node:readline/promises';
import { applyChanges, diffText, planInit, type Arrangement } from '../init/plan.js';
import { colourWanted, makeStyle } from '../report/text.js';
import { canPrompt, EXIT_NOT_CONFIRMED } from './held.js';
import { displayText } from '../util/safe-text.js';
import { GUARD_COPY_COMMAND, GUARD_COPY_DIR, keepGuardCopy } from '../util/guard-copy.js';

export interface InitFlags {
  cwd?: string;
  policy?: string;
  ci?: string;
  yes?: boolean;
  input?: boolean;
  color?: boolean;
}

export async function initCommand(flags: InitFlags): Promise<number> {
  // In a workspace folder: the project's root, where the lockfile, the hook and the package manager's settings are.
  const dir = projectRoot(flags.cwd ?? '.');
  const style = makeStyle(colourWanted(process.stdout, flags.color));
  const out = (s: string) => process.stdout.write(s);
  const { changes, notes, arrangement } = await planInit(dir, { ci: flags.ci, policyPath: flags.policy });
  if (!changes.length) {
    out(style.green('Nothing to change: this project is already set up.\n'));
    out(await copyText(dir));
    return 0;
  }
  for (const c of changes) out(diffText(c, dir) + '\n');
  for (const n of notes) out(style.yellow(`note: ${displayText(n)}\n`));
  if (!flags.yes) {
    if (!canPrompt(flags)) {
      out(`\nNothing was written: there is no one to confirm (no terminal, CI or --no-input). Re-run with --yes to apply these changes (exit ${EXIT_NOT_CONFIRMED}).\n`);
      return EXIT_NOT_CONFIRMED;
    }
    const rl = createInterface({ input: process.stdin, output: process.stdout });
    const answer = (await rl.question(`\nWrite these ${changes.length} file(s)? [y/N] `)).trim().toLowerCase();
    rl.close();
    if (answer !== 'y' && answer !== 'yes') {
      out(`Nothing was written (exit ${EXIT_NOT_CONFIRMED}).\n`);
      return EXIT_NOT_CONFIRMED;
    }
  }
  await applyChanges(dir, changes, { label: 'init', policyPath: flags.policy });
  out(style.green(`\nWrote ${changes.map((c) => c.path.slice(dir.length + 1)).join(', ')}.\n`));
  out(guardsText(arrangement));
  out(await copyText(dir));
  return 0;
}

/** The project's copy of the guard (util/guard-copy.ts), kept now, and how to run it. */
async function copyText(dir: string): Promise<string> {
  if (!(await keepGuardCopy(dir))) return '';
  return `A copy of this guard is kept in ${GUARD_COPY_DIR}/ (ignored by git): when node_modules is gone (npm ci removes it, and puts nothing back when it fails before extracting), run \`${GUARD_COPY_COMMAND} <command>\` (approve, check, fix) from the project folder.\n`;
}

/** What now guards a teammate's plain install, per arrangement (measured; docs/security.md "A teammate's plain install"). */
function guardsText(a: Arrangement): string {
  if (a.pm === 'yarn' && a.yarnMajor === 1) {
    return [
      '',
      'What now guards a plain `yarn install --frozen-lockfile` in this project (yarn 1):',
      '  - the preinstall hook (`safe-install hook`) runs every check before yarn fetches anything, and fails the install;',
      '    as yarn 1 runs all install scripts or none, it also fails while a package with install scripts is not allowed.',
      'yarn 1 has no age gate of its own, and --ignore-scripts (or ignore-scripts in .yarnrc) skips the hook.',
      'A script hidden from the registry manifest is found only by `safe-install` (in place of yarn install), after extraction.',
      'Add safe-install as a devDependency so the hook is found.',
      '',
    ].join('\n');
  }
  if (a.pm === 'yarn') {
    return [
      '',
      'What now guards a plain `yarn install --immutable` in this project (yarn 2+):',
      '  - the plugin (.yarn/plugins/safe-install.cjs) runs `safe-install hook`, every check, before yarn resolves or fetches anything, and fails the install;',
      '  - yarn builds only the packages package.json dependenciesMeta marks built: true (enableScripts: false, .yarnrc.yml);',
      '  - yarn refuses versions younger than npmMinimalAgeGate when it resolves (yarn add, yarn up, an install that changes the lockfile).',
      'Commit .yarn/plugins/safe-install.cjs with .yarnrc.yml. The plugin needs `safe-install` on PATH (or in node_modules/.bin).',
      '',
    ].join('\n');
  }
  if (a.pm === 'pnpm' && a.pnpmMajor !== undefined && a.pnpmMajor < 10) {
    return [
      '',
      `What now guards a plain \`pnpm install --frozen-lockfile\` in this project (pnpm ${a.pnpmMajor}):`,
      '  - the pnpm:devPreinstall hook (`safe-install hook`) runs every check before pnpm fetches anything, and fails the install;',
      '  - pnpm builds only the packages in package.json pnpm.onlyBuiltDependencies.',
      `pnpm ${a.pnpmMajor} has no minimumReleaseAge and no strictDepBuilds: a version pnpm newly resolves (pnpm add, an install that`,
      'changes the lockfile) is not checked until the next install. Add safe-install as a devDependency so the hook is found.',
      '',
    ].join('\n');
  }
  if (a.pm === 'pnpm') {
    return [
      '',
      'What now guards a plain `pnpm install --frozen-lockfile` in this project (pnpm 10):',
      '  - the pnpm:devPreinstall hook (`safe-install hook`) runs every check before pnpm fetches anything, and fails the install',
      '    (with strictDepBuilds, a package with install scripts in neither list fails it too);',
      '  - pnpm builds only onlyBuiltDependencies and fails on any other build (strictDepBuilds, pnpm-workspace.yaml);',
      '  - pnpm refuses versions younger than minimumReleaseAge when it resolves (pnpm add, an install that changes the lockfile).',
      'With ignore-scripts=true pnpm skips the hook. Add safe-install as a devDependency so the hook is found.',
      '',
    ].join('\n');
  }
  return [
    '',
    'What now guards a plain `npm ci` in this project (npm 11):',
    '  - npm refuses versions younger than min-release-age at resolution (.npmrc);',
    '  - npm refuses dependencies with install scripts not in package.json allowScripts, before extracting (strict-allow-scripts);',
    '  - the preinstall hook (`safe-install hook`) runs every other check after extraction and fails the install,',
    '    removing what it blocks from node_modules. Add safe-install as a devDependency so the hook is found.',
    'npm 10 and older ignore the .npmrc settings and allowScripts: there, only `npx safe-install` guards installs.',
    '',
  ].join('\n');
}
