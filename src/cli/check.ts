// `safe-install check`: the CI gate. Reports every locked package's verdict; exits 0, 1 or 2. Read-only: it
// changes no file in the project (no ledger, no lock, no scratch folder; only the reports the user names with
// --format kind=path). The ledger is recorded by the commands that install or edit state (cli/held.ts).
import { runCheck } from '../pipeline.js';
import { exitCodeOf } from '../verdict/exit-code.js';
import { colourWanted, makeStyle } from '../report/text.js';
import { emitReports, formatsFromFlags } from '../report/formats.js';
import { toCheckOptions, type CommonFlags } from './options.js';
import { approveHints } from './held.js';

export interface CheckFlags extends CommonFlags {
  json?: boolean;
  format?: string;
}

export async function checkCommand(flags: CheckFlags): Promise<number> {
  const specs = formatsFromFlags(flags); // bad usage fails before any registry request
  const result = await runCheck(toCheckOptions(flags));
  const style = makeStyle(colourWanted(process.stdout, flags.color));
  await emitReports(result, specs, style, { textSuffix: approveHints(result, style, flags), verbose: flags.verbose });
  return exitCodeOf(result);
}
