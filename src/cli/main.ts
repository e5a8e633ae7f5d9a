// The CLI entry: parses arguments, runs one command, and maps every GuardError to exit 2 in this one place.
import { Command, CommanderError } from 'commander';
import { GuardError, redact } from '../errors.js';
import { commonOptions } from './options.js';
import { checkCommand, type CheckFlags } from './check.js';
import { ciCommand } from './ci.js';
import { scriptsEditCommand, scriptsListCommand } from './scripts.js';
import { trustRefreshCommand } from './trust.js';
import type { CommonFlags } from './options.js';

export async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  const program = new Command('safe-install')
    .description('Install a locked dependency tree only if every package passes the project policy.')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  const check = program
    .command('check')
    .description('check the lockfile against the registry and the policy; exit 0 (all allowed), 1 (held) or 2 (could not check)')
    .option('--json', 'print the JSON report');
  for (const o of commonOptions()) check.addOption(o);
  check.action(async (flags: CheckFlags) => {
    exitCode = await checkCommand(flags);
  });

  const scripts = program
    .command('scripts')
    .description('list packages with install scripts and whether they may run')
    .option('--json', 'print JSON');
  for (const o of commonOptions()) scripts.addOption(o);
  scripts.action(async (flags: CommonFlags & { json?: boolean }) => {
    exitCode = await scriptsListCommand(flags);
  });
  for (const kind of ['allow', 'deny'] as const) {
    scripts
      .command(kind)
      .description(`${kind} install scripts of packages matching a name, glob or name@range (edits the policy)`)
      .argument('<patterns...>')
      .option('-C, --cwd <dir>', 'project folder')
      .option('--policy <path>', 'policy file to edit')
      .action(async (patterns: string[], flags: CommonFlags) => {
        exitCode = await scriptsEditCommand(kind, patterns, flags);
      });
  }

  program
    .command('trust')
    .description('the Sigstore trusted root used to verify provenance offline')
    .command('refresh')
    .description('fetch the current Sigstore trusted root through TUF (needs network) into the cache')
    .option('--cache-dir <dir>', 'cache folder (default: $XDG_CACHE_HOME/safe-install)')
    .option('--mirror-url <url>', 'a TUF mirror instead of the public-good one')
    .action(async (flags: { cacheDir?: string; mirrorUrl?: string }) => {
      exitCode = await trustRefreshCommand(flags);
    });

  const ci = program
    .command('ci', { isDefault: true })
    .description('check, then npm ci with scripts off, then run only the allowed install scripts (the default command)')
    .argument('[npm-args...]', 'passed through to npm ci (e.g. --omit=dev)')
    .allowUnknownOption()
    .allowExcessArguments();
  for (const o of commonOptions()) ci.addOption(o);
  ci.action(async (npmArgs: string[], flags: CommonFlags) => {
    exitCode = await ciCommand(flags, npmArgs);
  });

  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version are not errors; anything else is a usage error.
      return err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.help' ? 0 : 2;
    }
    if (err instanceof GuardError) {
      process.stderr.write(`safe-install: ${redact(err.message)}\n`);
      if (err.remedy) process.stderr.write(`  -> ${err.remedy}\n`);
      process.stderr.write(`  (error ${err.code}; nothing was allowed: exit 2)\n`);
      return 2;
    }
    throw err;
  }
}
