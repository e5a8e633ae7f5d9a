// Never silent, never stuck (issue 16): a registry that accepts connections and never answers, one that refuses
// them, a check past its deadline, the same failure for many packages, and progress on a terminal (a real PTY)
// but not in a log. The real CLI against real loopback servers: a raw TCP server that accepts and never
// answers, a closed port, and the TestRegistry.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestRegistry } from '../registry/server.js';
import { BIN, OLD, cleanEnv, cli, tempDir, writeProject } from './helpers.js';
import { at } from '../../src/util/at.js';

/** A lockfile of `n` registry packages, with or without `resolved` URLs on `registry`. */
function bigProject(registry: string, n: number, resolved: boolean): string {
  const dir = tempDir('si-stuck-');
  const deps: Record<string, string> = {};
  const packages: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) {
    const name = `pkg-${i}`;
    deps[name] = '1.0.0';
    packages[`node_modules/${name}`] = {
      version: '1.0.0',
      ...(resolved ? { resolved: `${registry}${name}/-/${name}-1.0.0.tgz` } : {}),
      integrity: 'sha512-' + Buffer.alloc(64, i % 256).toString('base64'),
    };
  }
  packages[''] = { name: 'app', version: '1.0.0', dependencies: deps };
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', dependencies: deps }));
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ name: 'app', version: '1.0.0', lockfileVersion: 3, requires: true, packages }));
  return dir;
}

interface Timed<S> {
  code: number;
  stdout: string;
  stderr: string;
  /** stderr chunks with what `stamp()` said when each arrived, and how much stdout had come by then. */
  chunks: { stamp: S; text: string; stdoutSoFar: number }[];
}

/**
 * The CLI, with each stderr chunk stamped with the state of things when it arrived (`stamp()`: what the servers
 * have seen so far), to tell what it said before what happened, without a clock.
 */
function timedCli<S = undefined>(args: string[], cwd: string, env: NodeJS.ProcessEnv, stamp: () => S = () => undefined as S): Promise<Timed<S>> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const chunks: Timed<S>['chunks'] = [];
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => {
    stderr += d;
    chunks.push({ stamp: stamp(), text: String(d), stdoutSoFar: stdout.length });
  });
  return new Promise((res) => child.on('close', (code) => res({ code: code ?? -1, stdout, stderr, chunks })));
}

/** A port nothing listens on. */
function closedPort(): Promise<number> {
  return new Promise((res) => {
    const s = createTcpServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}

describe('a registry that accepts connections and never answers', () => {
  let server: Server;
  const sockets = new Set<Socket>();
  let port: number;
  beforeAll(async () => {
    server = createTcpServer((s) => {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  });

  it('500 packages, default settings: exit 2 naming the host and what was tried; a "waiting for" line on stderr long before the end', async () => {
    const url = `http://127.0.0.1:${port}/`;
    const dir = bigProject(url, 500, true);
    let connections = 0;
    let given = 0; // connections the CLI gave up on (closed): none before the first timeout
    const count = (s: Socket) => {
      connections++;
      s.on('close', () => given++);
    };
    server.on('connection', count);
    const res = await timedCli(['check'], dir, cleanEnv(url), () => ({ waiting: connections - given, given }));
    server.off('connection', count);
    expect(res.code, res.stdout + res.stderr).toBe(2);
    // The one cause, said once: the host, what failed, and how each request was made.
    expect(res.stdout).toContain(`the registry host 127.0.0.1:${port} is not answering`);
    expect(res.stdout).toMatch(/the last 3 requests to it failed with no answer in between \(3 x timed out\)/);
    expect(res.stdout).toContain('each request waits up to 30s for an answer and is tried 3 times');
    expect(res.stdout).toMatch(/Could not check \(1\)/);
    expect(res.stdout).toContain('Check incomplete');
    // It stopped instead of trying every package: only the first wave of requests was ever sent.
    expect(connections).toBeLessThanOrEqual(32);
    // Said early what it waits for: the first stderr line came while the check was still waiting (its requests
    // open, none given up yet; before any report, nothing checked yet), naming the host and the names.
    expect(res.chunks.length).toBeGreaterThan(0);
    const first = at(res.chunks, 0);
    expect(first.stamp.given).toBe(0);
    expect(first.stamp.waiting).toBeGreaterThan(0);
    expect(first.stdoutSoFar).toBe(0);
    expect(first.text).toMatch(new RegExp(`^safe-install: waiting for 16 names from 127\\.0\\.0\\.1:${port} \\(pkg-\\d+, pkg-\\d+, pkg-\\d+ and 13 more\\): 0 of 500 names checked`));
    expect(first.text).toContain('timeout 30s per request, 2 retries, deadline 5m');
  }, 60_000);
});

describe('a registry that refuses connections', () => {
  it('check and the install: one line for the one cause, at once; nothing installed', async () => {
    const url = `http://127.0.0.1:${await closedPort()}/`;
    const dir = bigProject(url, 167, false);
    const env = cleanEnv(url);
    for (const args of [['check'], []]) {
      const res = await cli(args, { cwd: dir, env });
      expect(res.code, res.stdout + res.stderr).toBe(2);
      expect(res.stdout).toMatch(
        /Could not check \(1\)\n {2}x the registry host 127\.0\.0\.1:\d+ is not answering: the last 3 requests to it failed with no answer in between \(3 x connection refused \(ECONNREFUSED\)\)/,
      );
      expect(res.stdout.match(/^ {2}x /gm)).toHaveLength(1);
      expect(res.stdout).not.toMatch(/more \(--json/);
      expect(existsSync(join(dir, 'node_modules'))).toBe(false);
    }
  });
});

describe('the deadline and the grouping of causes', () => {
  let registry: TestRegistry;
  const names = Array.from({ length: 20 }, (_, i) => `dep-${i}`);
  beforeAll(async () => {
    registry = await TestRegistry.start();
    for (const name of names) registry.addPackage({ name, versions: [{ version: '1.0.0', publishedAt: OLD }] });
  });
  afterAll(() => registry.close());

  function project(): string {
    const dir = tempDir('si-stuck-');
    writeProject(dir, registry, Object.fromEntries(names.map((n) => [n, '1.0.0'])));
    return dir;
  }

  it('--deadline 2s with one package that never answers: exit 2 naming what it still waited for', async () => {
    registry.clearFaults();
    registry.fault('dep-7', { hang: true });
    const dir = project();
    const res = await timedCli(['check', '--deadline', '2s'], dir, cleanEnv(registry.url));
    registry.clearFaults();
    expect(res.code, res.stdout + res.stderr).toBe(2);
    expect(res.stdout).toMatch(/the check did not finish within its deadline of 2s \(--deadline\): 19 of 20 names were checked; still waiting for 1 name from 127\.0\.0\.1:\d+ \(dep-7\)/);
    expect(res.stdout).toContain('allow more time with --deadline');
    expect(res.stdout.match(/^ {2}x /gm)).toHaveLength(1);
    // (Without the deadline the same check waits out the timeout, 30 s x 3 tries: past this test's timeout.)
  });

  it('a bad --deadline is a usage error', async () => {
    const res = await cli(['check', '--deadline', 'soon'], { cwd: project(), env: cleanEnv(registry.url) });
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('--deadline: not a duration: "soon"');
  });

  it('the same failure for 20 packages is one line with the count and the first names', async () => {
    registry.clearFaults();
    for (const name of names) registry.fault(name, { status: 500 });
    const res = await cli(['check', '--retries', '0'], { cwd: project(), env: cleanEnv(registry.url) });
    registry.clearFaults();
    expect(res.code).toBe(2);
    expect(res.stdout).toMatch(/Could not check \(20; 1 distinct cause\)/);
    expect(res.stdout).toMatch(/^ {2}x the registry answered 500 for 20 packages \(dep-0, dep-1, dep-10 and 17 more\) from http:\/\/127\.0\.0\.1:\d+\/$/m);
    expect(res.stdout.match(/^ {2}x /gm)).toHaveLength(1);
    // Every error is still listed in the JSON report.
    for (const name of names) registry.fault(name, { status: 500 });
    const json = await cli(['check', '--retries', '0', '--json'], { cwd: project(), env: cleanEnv(registry.url) });
    registry.clearFaults();
    expect(
      JSON.parse(json.stdout)
        .errors.map((e: { package: string }) => e.package)
        .sort(),
    ).toEqual([...names].sort());
  });
});

describe('progress: on a terminal, and not in a log', () => {
  let registry: TestRegistry;
  const names = Array.from({ length: 40 }, (_, i) => `slow-${i}`);
  beforeAll(async () => {
    // Every answer takes 300 ms: a check of 40 names at 16 at a time lasts about a second.
    registry = await TestRegistry.start({ latencyMs: 300 });
    for (const name of names) registry.addPackage({ name, versions: [{ version: '1.0.0', publishedAt: OLD }] });
  });
  afterAll(() => registry.close());

  function project(): string {
    const dir = tempDir('si-stuck-');
    writeProject(dir, registry, Object.fromEntries(names.map((n) => [n, '1.0.0'])));
    return dir;
  }

  /** The CLI in a real pseudo-terminal (util-linux `script`), as a person runs it; everything it drew. */
  function inTerminal(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number; screen: string }> {
    const cmd = [process.execPath, BIN, ...args].join(' ');
    const child = spawn('script', ['-qefc', cmd, '/dev/null'], { cwd, env: { ...env, TERM: 'xterm', COLUMNS: '100', LINES: '40' } });
    let screen = '';
    child.stdout.on('data', (d) => (screen += d));
    return new Promise((res) => child.on('close', (code) => res({ code: code ?? -1, screen })));
  }

  it('the install on a terminal: names checked of the total, then installing and running scripts; each progress line erased', async () => {
    const dir = project();
    const env = cleanEnv(registry.url);
    delete env.CI;
    const { code, screen } = await inTerminal([], dir, env);
    expect(code, screen).toBe(0);
    expect(screen).toMatch(/\r\x1b\[Ksafe-install: checking \d+\/40 names \([\d.]+s; waiting for 127\.0\.0\.1:\d+\)/);
    expect(screen).toContain('\r\x1b[K'); // erased before the report
    expect(screen).toMatch(/safe-install: installing: npm ci .*\(40 packages, every script off\)\.\.\./);
    expect(screen).toContain('safe-install: running install scripts: none allowed');
    expect(screen).toContain('Installed.');
    // The report itself starts on a clean line, not after the progress text.
    expect(screen).toMatch(/\r\x1b\[K(\x1b\[[0-9;]*m)*safe-install check/);
  });

  it('the same install without a terminal: none of it (the log keeps its lines)', async () => {
    const dir = project();
    const res = await cli([], { cwd: dir, env: cleanEnv(registry.url) });
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(res.stdout + res.stderr).not.toContain('safe-install: checking');
    expect(res.stdout + res.stderr).not.toContain('safe-install: installing:');
    expect(res.stdout + res.stderr).not.toContain('safe-install: running install scripts');
    expect(res.stdout + res.stderr).not.toContain('\x1b[K');
    expect(res.stdout).toContain('Installed.');
  });
});

describe('a registry that sends the headers and then stalls mid-body', () => {
  it('counts as not answering: exit 2 naming the host, long before every package waits out its timeout', async () => {
    const registry = await TestRegistry.start();
    try {
      const names = Array.from({ length: 60 }, (_, i) => `stall-${i}`);
      for (const name of names) {
        registry.addPackage({ name, versions: [{ version: '1.0.0', publishedAt: OLD }] });
        // The status line and the first bytes, then nothing: a body that never ends.
        registry.fault(name, {
          packumentOnly: true,
          stream: async function* () {
            yield Buffer.from('{"name":');
            await new Promise(() => {});
          },
        });
      }
      const dir = tempDir('si-stuck-');
      writeProject(dir, registry, Object.fromEntries(names.map((n) => [n, '1.0.0'])));
      // 60 names at 16 at a time, 2 s each, would be 8 s of timeouts one wave after another; the host is marked
      // down on the first wave instead.
      const res = await cli(['check', '--timeout', '2s', '--deadline', '0'], { cwd: dir, env: cleanEnv(registry.url) });
      expect(res.code, res.stdout + res.stderr).toBe(2);
      expect(res.stdout).toMatch(/the registry host 127\.0\.0\.1:\d+ is not answering: the last 3 requests to it failed with no answer in between \(3 x timed out\)/);
      // The failures before the host was marked down may be told per package (at most the 2 before it); the rest is the one cause.
      expect(res.stdout.match(/^ {2}x /gm)!.length, res.stdout).toBeLessThanOrEqual(3);
      expect(registry.requestCount()).toBeLessThan(60);
    } finally {
      await registry.close();
    }
  });
});
