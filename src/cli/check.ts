// `safe-install check`: the CI gate. Reports every locked package's verdict; exits 0, 1 or 2.
import { runCheck } from '../pipeline.js';
import { exitCodeOf } from '../report/summary.js';
import { colourWanted, makeStyle } from '../report/text.js';
import { emitReports, formatsFromFlags } from '../report/formats.js';
import { toCheckOptions, type CommonFlags } from './options.js';
import { approveHints, recordLedger } from './held.js';

export interface CheckFlags extends CommonFlags {
  json?: boolean;
  format?: string;
}

export async function checkCommand(flags: CheckFlags): Promise<number> {
  const specs = formatsFromFlags(flags); // bad usage fails before any registry request
  const result = await runCheck(toCheckOptions(flags));
  const style = makeStyle(colourWanted(process.stdout, flags.color));
  const ledger = await recordLedger(result, style, flags);
  await emitReports(result, specs, style, { textSuffix: ledger + approveHints(result, style, flags), verbose: flags.verbose });
  return exitCodeOf(result);
}
