// `safe-install check`: the CI gate. Reports every locked package's verdict; exits 0, 1 or 2.
import { runCheck } from '../pipeline.js';
import { toJson } from '../report/json.js';
import { exitCodeOf } from '../report/summary.js';
import { colourWanted, makeStyle, toText } from '../report/text.js';
import { toCheckOptions, type CommonFlags } from './options.js';

export interface CheckFlags extends CommonFlags {
  json?: boolean;
}

export async function checkCommand(flags: CheckFlags): Promise<number> {
  const result = await runCheck(toCheckOptions(flags));
  if (flags.json) process.stdout.write(JSON.stringify(toJson(result), null, 2) + '\n');
  else process.stdout.write(toText(result, makeStyle(colourWanted(process.stdout, flags.color))));
  return exitCodeOf(result);
}
