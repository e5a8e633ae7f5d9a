// The GitHub Action's entry (action.yml, runs.main: dist/action.mjs, bundled by scripts/bundle.mjs): the CLI run
// in-process from the one file, with nothing installed at CI time. The runner passes the inputs as INPUT_<NAME>
// environment variables (upper-cased, hyphens kept: INPUT_WORKING-DIRECTORY); the exit code passes through (0
// allowed, 1 held or blocked, 2 could not complete) and is also set as the `exit-code` output ($GITHUB_OUTPUT).
// Uploading a SARIF report is the workflow's (github/codeql-action/upload-sarif), not the action's.
import { appendFileSync } from 'node:fs';
import { main, reportError } from '../cli/main.js';

const COMMANDS = ['check', 'ci', 'install'] as const;

/** An input as the runner passes it (`INPUT_` + the name upper-cased, spaces as `_`), trimmed; '' when unset. */
export function input(name: string, env: NodeJS.ProcessEnv = process.env): string {
  return (env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] ?? '').trim();
}

/**
 * The CLI arguments for the inputs and the folder to run them in, or an error to show (nothing runs then). The
 * working directory is where the run happens, as for a `run:` step's working-directory: the policy and the
 * report files are relative to it.
 */
export function argsFromInputs(env: NodeJS.ProcessEnv = process.env): { argv: string[]; cwd: string } | { error: string } {
  const command = input('command', env) || 'check';
  if (!(COMMANDS as readonly string[]).includes(command)) return { error: `input command: "${command}" is not one of ${COMMANDS.join(', ')}` };
  const format = input('format', env);
  const policy = input('policy', env);
  const cwd = input('working-directory', env) || '.';
  // The action never prompts, whatever the environment.
  const common = ['--no-input', ...(policy ? ['--policy', policy] : [])];
  if (command === 'check') return { argv: ['check', '--format', format || 'github', ...common], cwd };
  // `ci` (and its alias `install`) prints the check as text; reports come from a `check` step before it.
  if (format) return { error: 'input format: only command check writes reports; add a check step with the format before the install' };
  return { argv: ['ci', ...common], cwd };
}

/** Append `name=value` to the step's outputs file, when the runner gave one. */
function setOutput(name: string, value: string): void {
  const file = process.env.GITHUB_OUTPUT;
  if (file) appendFileSync(file, `${name}=${value}\n`);
}

async function run(): Promise<number> {
  const args = argsFromInputs();
  if ('error' in args) {
    // A workflow command on its own line: shown as an annotation on the step.
    process.stdout.write(`::error title=safe-install::${args.error.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A')}\n`);
    return 2;
  }
  try {
    process.chdir(args.cwd);
  } catch (err) {
    process.stdout.write(`::error title=safe-install::input working-directory: cannot enter ${args.cwd.replace(/[\r\n%]/g, ' ')} (${(err as NodeJS.ErrnoException).code ?? 'error'})\n`);
    return 2;
  }
  return main(args.argv);
}

run().then(
  (code) => {
    setOutput('exit-code', String(code));
    process.exitCode = code;
  },
  (err: unknown) => {
    const code = reportError(err, []);
    setOutput('exit-code', String(code));
    process.exitCode = code;
  },
);
