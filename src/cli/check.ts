// `safe-install check`: the CI gate. Reports every locked package's verdict; exits 0, 1 or 2.
import { runCheck } from '../pipeline.js';
import { toJson } from '../report/json.js';
import { exitCodeOf } from '../report/summary.js';
import { colourWanted, makeStyle, toText } from '../report/text.js';
import { toCheckOptions, type CommonFlags } from './options.js';
import { approveHints, recordLedger } from './held.js';

export interface CheckFlags extends CommonFlags {
  json?: boolean;
}

export async function checkCommand(flags: CheckFlags): Promise<number> {
  const result = await runCheck(toCheckOptions(flags));
  const style = makeStyle(colourWanted(process.stdout, flags.color));
  const ledger = await recordLedger(result, style);
  if (flags.json) process.stdout.write(JSON.stringify(toJson(result), null, 2) + '\n');
  else process.stdout.write(toText(result, style) + ledger + approveHints(result, style));
  return exitCodeOf(result);
}
