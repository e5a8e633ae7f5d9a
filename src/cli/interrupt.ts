// Ctrl-C (or SIGTERM, SIGHUP) during the plain install (`safe-install`, `safe-install ci`): the package manager it
// started is stopped (its whole process group: it runs in its own, so an interrupt sent to this process alone
// stops it too), one line says what was interrupted and what state the project is in, and the process exits
// with 128 + the signal's number (130 for Ctrl-C). The commands that change files (add, update, fix, init...)
// are transactions and undo them on an interrupt instead (util/transaction.ts).
import { constants } from 'node:os';
import { setOwnProcessGroups, stopRunning } from '../util/children.js';

export interface Phase {
  /** "while checking", "during `npm ci --ignore-scripts`". */
  what: string;
  /** The project's state if interrupted now, and what to do. */
  state: string;
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** The line an interrupt prints in `phase`. */
export function interruptedLine(signal: NodeJS.Signals, phase: Phase): string {
  return `Interrupted (${signal}) ${phase.what}: ${phase.state}\n`;
}

/**
 * Run `fn` with the interrupt handled: `setPhase` keeps the line current. Once interrupted, what `fn` still
 * throws (the stopped package manager's exit) is not reported: the handler prints its line and ends the process.
 */
export async function interruptible<T>(first: Phase, fn: (setPhase: (p: Phase) => void) => Promise<T>): Promise<T> {
  let phase = first;
  let signalled: NodeJS.Signals | undefined;
  const onSignal = async (signal: NodeJS.Signals) => {
    if (signalled) return; // a second Ctrl-C does not cut the stop short
    signalled = signal;
    // Output to a closed terminal (SIGHUP) must not end the process before the package manager is stopped.
    for (const s of [process.stdout, process.stderr]) s.on('error', () => {});
    await stopRunning().catch(() => {});
    try {
      process.stderr.write(`\n${interruptedLine(signal, phase)}`);
    } catch {
      // the terminal is gone
    }
    process.exit(128 + (constants.signals[signal] ?? 1));
  };
  const handler = (signal: NodeJS.Signals) => void onSignal(signal);
  for (const s of SIGNALS) process.on(s, handler);
  setOwnProcessGroups(true);
  try {
    return await fn((p) => {
      phase = p;
    });
  } catch (err) {
    if (signalled) return new Promise<never>(() => {});
    throw err;
  } finally {
    if (!signalled) {
      for (const s of SIGNALS) process.removeListener(s, handler);
      setOwnProcessGroups(false);
    }
  }
}
