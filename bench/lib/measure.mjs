// One timed run of a command: wall time measured here (monotonic clock, spawn to exit), peak RSS from GNU
// time's %M (the largest resident set of the process or of any descendant it waited for), or, without
// /usr/bin/time, no RSS. The registry runs in this process, so children are always spawned asynchronously.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const GNU_TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;
let seq = 0;
const running = new Set();

/** Kill every command still running (their whole process groups): for ^C. */
export function killRunning() {
  for (const pid of running) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

export const hasGnuTime = () => GNU_TIME !== null;

/**
 * Run `cmd args` in `cwd` with `env`. Resolves { ms, rssMB, code, signal, stdout, stderr, timedOut }.
 * `timeoutMs` kills the process group (the command and its children) with SIGKILL.
 */
export function measure(cmd, args, { cwd, env, timeoutMs = 600_000 }) {
  const rssFile = join(tmpdir(), `si-bench-rss-${process.pid}-${seq++}`);
  const [file, argv] = GNU_TIME ? [GNU_TIME, ['-f', '%M', '-o', rssFile, cmd, ...args]] : [cmd, args];
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(file, argv, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    running.add(child.pid);
    const out = [];
    const err = [];
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.on('data', (d) => err.push(d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      const ms = performance.now() - started;
      running.delete(child.pid);
      clearTimeout(timer);
      let rssMB = null;
      if (GNU_TIME) {
        try {
          const text = readFileSync(rssFile, 'utf8');
          const kb = Number(text.trim().split(/\s+/).pop());
          if (Number.isFinite(kb)) rssMB = kb / 1024;
          // GNU time prefixes "Command exited with non-zero status N" when the command fails.
          const m = /exited with non-zero status (\d+)/.exec(text);
          if (m && code === 0) code = Number(m[1]);
        } catch {
          // killed before time wrote it
        }
        rmSync(rssFile, { force: true });
      }
      resolve({ ms, rssMB, code, signal, timedOut, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
