// `safe-install scripts`: list every package with install scripts and its status; `scripts allow|deny
// <pattern>` edit the policy (explicitly, atomically).
import { projectRoot } from '../lockfile/index.js';
import { GuardError } from '../errors.js';
import { runCheck } from '../pipeline.js';
import { parsePattern } from '../policy/pattern.js';
import { editPolicy, policyLocks } from '../policy/edit.js';
import { transaction } from '../util/transaction.js';
import { syncNpmSettings } from '../init/plan.js';
import { colourWanted, makeStyle } from '../report/text.js';
import { exitCodeOf } from '../verdict/exit-code.js';
import { toCheckOptions, type CommonFlags } from './options.js';
import { displayText, mapStrings, redact } from '../util/safe-text.js';

const STATUS: Record<string, string> = {
  'install-script-allowed': 'allowed',
  'install-script-denied': 'denied',
  'install-script-unlisted': 'unreviewed',
};

export async function scriptsListCommand(flags: CommonFlags & { json?: boolean }): Promise<number> {
  const result = await runCheck(toCheckOptions(flags));
  const rows = result.verdicts.flatMap(({ pkg, findings }) =>
    findings.flatMap((f) => {
      const status = f.check === 'scripts' ? STATUS[f.code] : undefined;
      return status ? [{ name: pkg.name, version: pkg.version, paths: pkg.paths, status, scripts: (f.data?.scripts as Record<string, string>) ?? {}, detail: f.message }] : [];
    }),
  );
  if (flags.json) {
    process.stdout.write(JSON.stringify({ packages: mapStrings(rows, redact) }, null, 2) + '\n');
  } else {
    // Names from the lockfile, script bodies from the registry: printed as inert text.
    const shownRows = mapStrings(rows, displayText);
    const style = makeStyle(colourWanted(process.stdout, flags.color));
    if (!rows.length) process.stdout.write('No package in the lockfile declares install scripts.\n');
    for (const r of shownRows) {
      const colour = r.status === 'allowed' ? style.green : r.status === 'unreviewed' ? style.yellow : style.dim;
      process.stdout.write(`${colour(r.status.padEnd(11))} ${style.bold(`${r.name}@${r.version}`)}\n`);
      const scripts = Object.entries(r.scripts);
      if (!scripts.length) process.stdout.write(`            (the lockfile says it has install scripts; the registry manifest shows none)\n`);
      for (const [event, cmd] of scripts) process.stdout.write(`            ${event}: ${cmd}\n`);
    }
    const unreviewed = rows.filter((r) => r.status === 'unreviewed');
    if (unreviewed.length) process.stdout.write(`\n${unreviewed.length} unreviewed: allow with \`safe-install scripts allow <name>\` or silence with \`safe-install scripts deny <name>\`.\n`);
  }
  return exitCodeOf(result) === 2 ? 2 : 0;
}

export async function scriptsEditCommand(kind: 'allow' | 'deny', patterns: string[], flags: CommonFlags): Promise<number> {
  for (const p of patterns) {
    try {
      parsePattern(p);
    } catch (err) {
      throw new GuardError('bad-usage', `"${p}" is not a package pattern: ${(err as Error).message}`, {
        remedy: 'use a name, a glob such as "@swc/*", or name@range such as "sharp@^0.33"',
      });
    }
  }
  const other = kind === 'allow' ? 'deny' : 'allow';
  const root = projectRoot(flags.cwd ?? '.');
  // One transaction under the project's lock: the policy and the settings kept in sync with it change together
  // or not at all, and a parallel edit waits instead of overwriting this one.
  return transaction({ label: `scripts ${kind}`, locks: policyLocks(root, flags.policy), lockOptions: { what: "this project's policy and settings" }, relativeTo: root }, async () => {
    const { path, created } = await editPolicy(root, flags.policy, (doc) => {
      doc.scripts ??= {};
      const list = (doc.scripts[kind] ??= []);
      for (const p of patterns) if (!list.includes(p)) list.push(p);
      // One package is either allowed or denied: drop the same entry from the other list.
      if (doc.scripts[other]) doc.scripts[other] = doc.scripts[other]!.filter((p) => !patterns.includes(p));
    });
    const synced = await syncNpmSettings(root, flags.policy);
    process.stdout.write(`${created ? 'Created' : 'Updated'} ${path}: scripts.${kind} += ${patterns.join(', ')}\n`);
    if (synced.length) process.stdout.write(`Kept the package manager's settings in sync: ${synced.join(', ')}\n`);
    return 0;
  });
}
