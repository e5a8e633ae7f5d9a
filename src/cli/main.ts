// The CLI entry: parses arguments, runs one command, and maps every GuardError to exit 2 in this one place.
import { Command, CommanderError } from 'commander';
import { GuardError, redact } from '../errors.js';
import { commonOptions } from './options.js';
import { checkCommand, type CheckFlags } from './check.js';

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
