// The npm runner: `npm ci --ignore-scripts`, then only the allowed packages' install scripts through
// `npm rebuild <their folders>` (npm's own code: same order, environment, node-gyp handling and error
// output as a normal install), then the root project's lifecycle as `npm ci` runs it.
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { GuardError } from '../errors.js';

const require = createRequire(import.meta.url);

/** Set in the environment of every npm we start, so a project hook does not run the guard a second time. */
export const GUARD_ENV = 'SAFE_INSTALL_RUNNING';

export interface NpmRunOptions {
  cwd: string;
  /** Where npm's output goes; the default inherits the terminal. */
  stdio?: 'inherit' | 'pipe';
}

function npmCommand(): { cmd: string; pre: string[] } {
  // Under `npm exec`/`npx` or a script, npm_execpath names the npm that started us: use the same one.
  const execPath = process.env.npm_execpath;
  if (execPath && /npm-cli\.js$/.test(execPath)) return { cmd: process.execPath, pre: [execPath] };
  return { cmd: process.platform === 'win32' ? 'npm.cmd' : 'npm', pre: [] };
}

/** Where inherited npm output goes: the terminal's stdout, or stderr when stdout carries JSON. */
let childOutput: 'stdout' | 'stderr' = 'stdout';
export function setChildOutput(to: 'stdout' | 'stderr'): void {
  childOutput = to;
}
const inherited = () => (childOutput === 'stdout' ? 'inherit' : (['inherit', 2, 2] as ('inherit' | number)[]));

/** npm processes still running, so an interrupt can stop them before files are restored. */
const running = new Set<ChildProcess>();

export function stopRunningNpm(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  const waits = [...running].map((c) => new Promise<void>((r) => (c.exitCode !== null || c.signalCode !== null ? r() : (c.once('close', () => r()), c.kill(signal)))));
  return Promise.all(waits).then(() => undefined);
}

export function runNpm(args: string[], opts: NpmRunOptions): Promise<{ code: number; output: string }> {
  const { cmd, pre } = npmCommand();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, [...pre, ...args], {
      cwd: opts.cwd,
      stdio: opts.stdio === 'pipe' ? ['ignore', 'pipe', 'pipe'] : inherited(),
      env: { ...process.env, [GUARD_ENV]: '1' },
    });
    running.add(child);
    child.on('close', () => running.delete(child));
    let output = '';
    child.stdout?.on('data', (d) => (output += d));
    child.stderr?.on('data', (d) => (output += d));
    child.on('error', (err) => reject(new GuardError('install-failed', `could not start npm: ${err.message}`, { remedy: 'is npm on PATH?' })));
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), output }));
  });
}

let npmMajorCache: number | undefined;
export async function npmMajor(cwd: string): Promise<number> {
  if (npmMajorCache === undefined) {
    const { output } = await runNpm(['--version'], { cwd, stdio: 'pipe' });
    npmMajorCache = Number.parseInt(output.trim(), 10) || 0;
  }
  return npmMajorCache;
}

/** `npm ci` with every lifecycle script off (the dependencies' and the project's). */
export async function npmCiWithoutScripts(cwd: string, passthrough: string[]): Promise<void> {
  const { code } = await runNpm(['ci', '--ignore-scripts', ...passthrough], { cwd });
  if (code !== 0) {
    throw new GuardError('install-failed', `npm ci --ignore-scripts failed (exit ${code}); npm's output is above`, {
      remedy: 'fix what npm reported; no install script has run',
    });
  }
}

/**
 * Run the install scripts of exactly these install locations (relative to `cwd`). npm selects a folder
 * argument by path, so a tarball that claims another name or version cannot get itself selected.
 */
export async function npmRebuild(cwd: string, paths: string[]): Promise<void> {
  if (!paths.length) return;
  // loglevel=error: npm 11's advisory about its own allowScripts list is noise here; failures still print.
  const args = ['rebuild', '--ignore-scripts=false', '--loglevel=error'];
  // npm 11 has its own allowlist gate; the choice here is ours (made from the same lists and more), so
  // its strict pre-flight must not refuse what the policy allowed.
  if ((await npmMajor(cwd)) >= 11) args.push('--strict-allow-scripts=false');
  const { code } = await runNpm([...args, ...paths.map((p) => join(cwd, p))], { cwd });
  if (code !== 0) {
    throw new GuardError('install-failed', `an allowed install script failed (npm rebuild exit ${code}); its output is above`, {
      remedy: 'fix the failing script or deny it; the packages are installed but not built',
    });
  }
}

/** The root project's own install lifecycle, the events and order `npm ci` uses. */
export const ROOT_EVENTS = ['preinstall', 'install', 'postinstall', 'prepublish', 'preprepare', 'prepare', 'postprepare'];

export async function runRootScripts(cwd: string, scripts: Record<string, string>): Promise<string[]> {
  const runScript = require('@npmcli/run-script');
  const ran: string[] = [];
  for (const event of ROOT_EVENTS) {
    if (!scripts[event]) continue;
    try {
      await runScript({ path: cwd, args: [], stdio: inherited(), event, env: { [GUARD_ENV]: '1' } });
    } catch (err) {
      throw new GuardError('install-failed', `the project's ${event} script failed: ${(err as Error).message}`, {
        remedy: `fix the project's "${event}" script`,
      });
    }
    ran.push(event);
  }
  return ran;
}
