// The CLI entry: parses arguments, runs one command, and maps every GuardError to exit 2 in this one place.
import { Command, CommanderError } from 'commander';
import { createRequire } from 'node:module';
import { classifyError, debugWanted, type GuardError } from '../errors.js';
import { displayText } from '../util/safe-text.js';
import { commonOptions } from './options.js';
// Each command's module is imported when that command runs: start-up stays small (no ink, pacote or Sigstore
// unless the command needs them).
import type { CheckFlags } from './check.js';
import type { FixFlags } from './fix.js';
import type { AddFlags } from './add.js';
import type { InitFlags } from './init.js';
import type { InspectFlags } from './inspect.js';
import type { CommonFlags } from './options.js';
import type { CiFlags } from './ci.js';
import type { AdvisoriesUpdateFlags } from './advisories.js';
import { didYouMean } from './suggest.js';

export async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  const program = buildProgram(argv, (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version are not errors; anything else is a usage error.
      return err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.help' ? 0 : 2;
    }
    return reportError(err, argv);
  }
}

/**
 * The command definitions, built without running anything: `main` parses argv with them, and `npm run docs`
 * (scripts/gen-docs.mjs) writes docs/reference/commands.md from them. Each action hands its exit code to `setExit`.
 */
export function buildProgram(argv: readonly string[], setExit: (code: number) => void = () => {}): Command {
  const program = new Command('safe-install')
    .description('Install a locked dependency tree only if every package passes the project policy.')
    .exitOverride()
    .option('--debug', 'on an internal error (a bug), print its stack (same as SAFE_INSTALL_DEBUG=1)')
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .version(ownVersion(), '-V, --version', "print safe-install's version")
    .showSuggestionAfterError()
    .addHelpText(
      'after',
      [
        '',
        'Without a command, safe-install runs `ci`: the check, then the install. A word or flag it does not know is an',
        'error (exit 2) and nothing is installed. Flags for the package manager go after `--`:',
        '  safe-install -- --omit=dev        (npm ci)',
        '  safe-install -- --prod            (pnpm install)',
        '  safe-install -- --production      (yarn 1 install)',
        "They come after the guard's own; --ignore-scripts in any form, --dry-run, --version and --help are refused there",
        '(they would turn scripts back on or install nothing); `safe-install --dry-run` checks without installing.',
        '',
        'Exit codes: 0 done (every package allowed), 1 something is held or blocked, 2 could not complete (error, bad',
        'usage: nothing is allowed), 3 not confirmed (init, fix: no terminal to ask, or answered no: nothing was',
        'written; re-run with --yes), 130 interrupted (Ctrl-C; 143 SIGTERM, 129 SIGHUP).',
      ].join('\n'),
    );

  const check = program
    .command('check')
    .description('check the lockfile against the registry and the policy; exit 0 (all allowed), 1 (held) or 2 (could not check)')
    .option('--json', 'print the JSON report (same as --format json)')
    .option('--format <list>', 'reports: text, json, sarif, github, cyclonedx (a CycloneDX 1.6 SBOM), each optionally =file, comma-separated (e.g. json=out.json,github); at most one to stdout');
  for (const o of commonOptions()) check.addOption(o);
  check.action(async (flags: CheckFlags) => {
    setExit(await (await import('./check.js')).checkCommand(flags));
  });

  const scripts = program.command('scripts').description('list packages with install scripts and whether they may run').option('--json', 'print JSON');
  for (const o of commonOptions()) scripts.addOption(o);
  scripts.action(async (flags: CommonFlags & { json?: boolean }) => {
    setExit(await (await import('./scripts.js')).scriptsListCommand(flags));
  });
  for (const kind of ['allow', 'deny'] as const) {
    scripts
      .command(kind)
      .description(`${kind} install scripts of packages matching a name, glob or name@range (edits the policy)`)
      .argument('<patterns...>', 'package names, globs or name@range (esbuild, @swc/*, sharp@^0.33)')
      .option('-C, --cwd <dir>', 'project folder')
      .option('--policy <path>', 'policy file to edit')
      .action(async (patterns: string[], flags: CommonFlags) => {
        setExit(await (await import('./scripts.js')).scriptsEditCommand(kind, patterns, flags));
      });
  }

  for (const [name, aliases] of [
    ['add', ['install', 'i']],
    ['update', ['up']],
  ] as const) {
    const cmd = program
      .command(name)
      .aliases([...aliases])
      .description(
        name === 'add'
          ? 'add dependencies through the guard: npm resolves (lockfile only, scripts off, nothing younger than the release age), every check runs, then it installs'
          : 'update dependencies within their package.json ranges, through the guard (as add)',
      )
      .argument(name === 'add' ? '<specs...>' : '[packages...]', name === 'add' ? 'what to add, as npm install takes it (foo, foo@^2, @scope/bar@1.2.3)' : 'the dependencies to update (default: all)')
      .option('-D, --save-dev', 'save as a devDependency')
      .option('-O, --save-optional', 'save as an optionalDependency')
      .option('-E, --save-exact', 'save the exact version')
      .option('--save-peer', 'save as a peerDependency')
      .option('--json', 'print the change summary and the check as JSON on stdout (progress goes to stderr)');
    for (const o of commonOptions()) cmd.addOption(o);
    cmd.action(async (specs: string[], flags: AddFlags) => {
      setExit(await (await import('./add.js')).addCommand(name, specs, flags));
    });
  }

  program
    .command('init')
    .description('set the project up: policy, the package manager settings kept in sync with it (npm, pnpm or yarn), the install hook, and a CI workflow')
    .option('-C, --cwd <dir>', 'project folder')
    .option('--policy <path>', 'policy file')
    .option('--ci <provider>', 'also write a CI workflow (github)')
    .option('-y, --yes', 'write without asking (needed without a terminal)')
    .option('--no-input', 'never ask')
    .option('--no-color', 'no colours')
    .action(async (flags: InitFlags) => {
      setExit(await (await import('./init.js')).initCommand(flags));
    });

  const hook = program.command('hook').description("the project's preinstall hook (set up by init): check after extraction, remove what is blocked, fail the install");
  for (const o of commonOptions()) hook.addOption(o);
  hook.action(async (flags: CommonFlags) => {
    setExit(await (await import('./hook.js')).hookCommand(flags));
  });

  const fix = program
    .command('fix')
    .description('replace quarantined versions by their fallbacks: npm rewrites the lockfile (lockfile only, scripts off); backups, re-check, diff')
    .option('-y, --yes', 'apply without asking (needed without a terminal)')
    .option('--dry-run', 'show what would change; write nothing');
  for (const o of commonOptions()) fix.addOption(o);
  fix.action(async (flags: FixFlags) => {
    setExit(await (await import('./fix.js')).fixCommand(flags));
  });

  program
    .command('inspect')
    .description(
      'download a version and the one it replaces, never running either, and show what changed: files and diffs, install scripts, dependencies, publisher, provenance, obfuscated code, network/process calls',
    )
    .argument('<name@version>', 'the version to review, e.g. left-pad@1.3.1 (a dist-tag works too)')
    .option('--against <version>', 'compare with this version (default: the locked version if different, else the previous release)')
    .option('--json', 'print the JSON report')
    .option('-C, --cwd <dir>', 'project folder whose lockfile names the locked version (default: the current folder)')
    .option('--registry <url>', 'registry (default: npm config registry)')
    .option('--cache-dir <dir>', 'keep downloaded tarballs under this folder (default: a temporary folder, removed afterwards)')
    .option('--max-body-size <size>', 'most bytes of the packument read, e.g. 512MiB (default 128MiB; also SAFE_INSTALL_MAX_BODY_SIZE)')
    .option('--max-size <size>', 'stop if a tarball downloads or unpacks to more than this (default 512MiB; files over 16MiB are hashed, not unpacked)')
    .option('--max-files <n>', 'stop if a tarball has more entries than this (default 100000)')
    .option('--no-color', 'no colours (NO_COLOR is honoured too)')
    .action(async (spec: string, flags: InspectFlags) => {
      setExit(await (await import('./inspect.js')).inspectCommand(spec, flags));
    });

  const quarantine = program.command('quarantine').description('list the quarantine ledger: what is held, why, and what each waits for').option('--json', 'print JSON');
  quarantine.option('-C, --cwd <dir>', 'project folder').option('--policy <path>', 'policy file (its approvals are shown at once)').option('--no-color', 'no colours');
  quarantine.action(async (flags: CommonFlags & { json?: boolean }) => {
    setExit(await (await import('./quarantine.js')).quarantineCommand(flags));
  });

  const approveCmd = program
    .command('approve')
    .description('approve held versions for a limited time, with one reason and one expiry (writes policy exceptions, all or none)')
    .argument('[name@version...]', 'the held versions to approve (or --all-held)')
    .option('--all-held', 'approve every version this check holds for its release age alone (anything held for another reason must be named)')
    .requiredOption('--reason <text>', 'why it must be installed now (recorded)')
    .option('--expires <duration>', 'how long the approval lasts (default and maximum from the policy: 72h, 14d)');
  for (const o of commonOptions()) approveCmd.addOption(o);
  approveCmd.action(async (specs: string[], flags: CommonFlags & { reason?: string; expires?: string; allHeld?: boolean }) => {
    setExit(await (await import('./quarantine.js')).approveCommand(specs, flags));
  });

  program
    .command('approvals')
    .description('list approvals (policy exceptions): live ones with time left, expired ones')
    .option('-C, --cwd <dir>', 'project folder')
    .option('--policy <path>', 'policy file')
    .option('--now <iso-8601>', 'as of this instant')
    .option('--json', 'print JSON')
    .option('--no-color', 'no colours')
    .action(async (flags: CommonFlags & { json?: boolean }) => {
      setExit(await (await import('./quarantine.js')).approvalsCommand(flags));
    });

  program
    .command('trust')
    .description('the Sigstore trusted root and npm registry keys used to verify provenance and signatures offline')
    .command('refresh')
    .description('fetch the current Sigstore trusted root and npm registry keys through TUF (needs network) into the cache')
    .option('--cache-dir <dir>', 'cache folder (default: $XDG_CACHE_HOME/safe-install)')
    .option('--mirror-url <url>', 'a TUF mirror instead of the public-good one')
    .action(async (flags: { cacheDir?: string; mirrorUrl?: string }) => {
      setExit(await (await import('./trust.js')).trustRefreshCommand(flags));
    });

  program
    .command('advisories')
    .description('the offline advisory database the advisories check can use instead of asking OSV or the registry')
    .command('update')
    .description(
      "download OSV's npm export (malware and vulnerability records) and index it into the cache; checks then use it with no advisory request while it is younger than the policy's advisories.maxAge",
    )
    .option('--from <url>', 'where to download it from: an http(s) URL, a file: URL or a path to a zip (default https://osv-vulnerabilities.storage.googleapis.com/npm/all.zip)')
    .option('--cache-dir <dir>', 'cache folder (default: $XDG_CACHE_HOME/safe-install)')
    .option('--max-size <size>', 'stop if the download is larger than this (default 1GiB)')
    .option('--timeout <duration>', 'how long the download may stall, e.g. 60s (default 30s)')
    .option('-C, --cwd <dir>', 'folder whose npm settings (proxy, TLS) apply (default: the current folder)')
    .action(async (flags: AdvisoriesUpdateFlags) => {
      setExit(await (await import('./advisories.js')).advisoriesUpdateCommand(flags));
    });

  const ci = program
    .command('ci', { isDefault: true })
    .description(
      'check, then the frozen install with every script off (npm ci, pnpm install --frozen-lockfile or yarn install --immutable), then only the allowed install scripts (the default command)',
    )
    .usage('[options] [-- <package manager flags...>]')
    .argument('[pm-args...]', "after `--` only: passed to the package manager's install (e.g. -- --omit=dev for npm, -- --prod for pnpm, -- --production for yarn 1)")
    .option('--dry-run', 'only check, and show what the install would run: nothing is installed and no file is written')
    // Unknown words and flags are refused in the action (passThrough), an unknown word first: commander would
    // report a flag of the mistyped command (`aprove x --reason y`) before the mistyped command itself.
    .allowUnknownOption()
    .allowExcessArguments();
  for (const o of commonOptions()) ci.addOption(o);
  ci.action(async (words: string[], flags: CiFlags) => {
    const pmArgs = passThrough(program, ci, words, argv);
    setExit(await (await import('./ci.js')).ciCommand(flags, pmArgs));
  });

  return program;
}

/**
 * The default command's words: what follows the first `--` goes to the package manager; anything before it that
 * no command or flag of safe-install matched is a usage error (exit 2) with a suggestion, raised before anything
 * runs: a typo never reaches `npm ci` (which would empty node_modules and reinstall).
 */
export function passThrough(program: Command, ci: Command, words: string[], argv: readonly string[]): string[] {
  const dash = argv.indexOf('--');
  const tail = dash < 0 ? [] : argv.slice(dash + 1);
  const endsWithTail = words.length >= tail.length && tail.every((w, i) => words[words.length - tail.length + i] === w);
  const before = endsWithTail ? words.slice(0, words.length - tail.length) : [...words];
  // commander keeps the `--` among the words once an unknown flag came before it.
  if (endsWithTail && before[before.length - 1] === '--') before.pop();
  const first = before[0];
  if (first === undefined) return endsWithTail ? tail : [];
  const shown = displayText(first);
  const nothing = (what: string) => `safe-install: nothing was installed and no file was changed; \`safe-install --help\` lists the ${what}.`;
  if (first.startsWith('-')) {
    const longs = [ci, program].flatMap((c) => c.options.filter((o) => o.long && !o.hidden).map((o) => o.long as string));
    const suggestion = didYouMean(first, longs);
    // No flag of safe-install's is close: say where a package manager's flag goes, as the command to type.
    const hint = suggestion ? [] : [`  -> a flag for the package manager goes after \`--\`: ${displayText(movedAfterDashes(argv, before, tail))}`];
    ci.error([`error: unknown option '${shown}'${suggestion}`, ...hint, nothing('flags')].join('\n'), { exitCode: 2, code: 'commander.unknownOption' });
  }
  const names = program.commands.flatMap((c) => [c.name(), ...c.aliases()]);
  program.error([`error: unknown command '${shown}'${didYouMean(first, names)}`, nothing('commands')].join('\n'), { exitCode: 2, code: 'commander.unknownCommand' });
}

/** The command line with the words safe-install did not know moved after `--`. */
function movedAfterDashes(argv: readonly string[], unknown: readonly string[], tail: readonly string[]): string {
  const dash = argv.indexOf('--');
  const rest = dash < 0 ? [...argv] : argv.slice(0, dash);
  for (const w of unknown) {
    const i = rest.indexOf(w);
    if (i >= 0) rest.splice(i, 1);
  }
  const quote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
  return ['safe-install', ...rest, '--', ...unknown, ...tail].map(quote).join(' ');
}

/** This package's version (package.json), for --version. */
function ownVersion(): string {
  try {
    return (createRequire(import.meta.url)('../../package.json') as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * Known failures (GuardError, and environmental ones: a file where a folder should be, a dangling link, no
 * space...) are told plainly, naming the file and what to do; anything else is a bug. Returns the exit code (2).
 * bin/safe-install also sends what escapes `main` (an uncaught exception) here.
 */
export function reportError(err: unknown, argv: readonly string[]): number {
  const known = classifyError(err);
  if (known) printGuardError(known);
  else printInternalError(err, debugWanted(argv));
  return 2;
}

function printGuardError(err: GuardError): void {
  // The message and remedy can carry registry or lockfile text, a tool's output and the registry URL: shown as
  // inert data. A multi-line message (a policy's problems, npm's output) keeps its lines, each behind a mark, so
  // none of them can start a line of the log (a workflow command) or pass for the guard's own.
  const [first, ...more] = err.message.split(/\r?\n/);
  process.stderr.write(`safe-install: ${displayText(first ?? '')}\n`);
  for (const line of more) process.stderr.write(`  | ${displayText(line)}\n`);
  if (err.remedy) process.stderr.write(`  -> ${displayText(err.remedy)}\n`);
  process.stderr.write(`  (error ${err.code}: exit 2)\n`);
}

/** A genuine bug: say so, say where to report it, and print the stack only when asked (--debug). */
function printInternalError(err: unknown, debug: boolean): void {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`safe-install: internal error: ${displayText(message)}\n`);
  process.stderr.write(
    `  -> this is a bug in safe-install, not in your project; please report it to ${bugsUrl()} with the command you ran and the output of the same command with --debug (or SAFE_INSTALL_DEBUG=1), which adds the stack\n`,
  );
  if (debug) process.stderr.write(`${displayText(err instanceof Error && err.stack ? err.stack : String(err)).replace(/\\n/g, '\n')}\n`);
  process.stderr.write('  (internal error: exit 2)\n');
}

function bugsUrl(): string {
  try {
    const pkg = createRequire(import.meta.url)('../../package.json') as { bugs?: string | { url?: string }; homepage?: string };
    const bugs = typeof pkg.bugs === 'string' ? pkg.bugs : pkg.bugs?.url;
    return bugs ?? pkg.homepage ?? 'the safe-install maintainers';
  } catch {
    return 'the safe-install maintainers';
  }
}
