// The package-manager processes this run started, so an interrupt (cli/interrupt.ts) or a failed transaction
// (util/transaction.ts) can stop them before files are restored. install/spawn.ts registers each child it starts.
import type { ChildProcess } from 'node:child_process';

const running = new Set<ChildProcess>();
/** Children started in their own process group (POSIX), so stopping one also stops whatever it started. */
const groups = new WeakSet<ChildProcess>();
let ownGroups = false;
let stopped = false;

/**
 * While a transaction runs (add, update, fix), every package manager starts in its own process group: an
 * interrupt then ends the whole group (npm and anything npm started) before files are restored, whether the
 * signal came from the terminal (which only reaches our group) or was sent to this process alone.
 */
export function setOwnProcessGroups(on: boolean): void {
  ownGroups = on && process.platform !== 'win32';
}

function signalChild(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (groups.has(child) && child.pid) process.kill(-child.pid, signal);
    else child.kill(signal);
  } catch {
    // already gone
  }
}

/**
 * Stop every package-manager process still running (used on an interrupt before restoring files) and start no
 * new one: SIGTERM to each (its whole group), SIGKILL after `graceMs` or once it has exited (whatever it left
 * behind in its group), bounded in time.
 */
export async function stopRunning(graceMs = 3000): Promise<void> {
  stopped = true;
  const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());
  await Promise.all(
    [...running].map(async (c) => {
      const exited = new Promise<void>((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once('exit', () => r())));
      signalChild(c, 'SIGTERM');
      await Promise.race([exited, sleep(graceMs)]);
      if (groups.has(c) || c.exitCode === null) signalChild(c, 'SIGKILL');
      await Promise.race([exited, sleep(2000)]);
    }),
  );
}

/** Whether the next child starts in its own process group. */
export function ownProcessGroups(): boolean {
  return ownGroups;
}

/** stopRunning() was called: no new child may start. */
export function stopping(): boolean {
  return stopped;
}

/** Registers a started child until it closes; `ownGroup`: it was started detached, in its own process group. */
export function track(child: ChildProcess, ownGroup: boolean): void {
  running.add(child);
  if (ownGroup) groups.add(child);
  child.on('close', () => running.delete(child));
}
