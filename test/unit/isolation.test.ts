// The unit tier's guard (isolation.ts) sees what it must: a package manager started by name or through node, and
// a connection off this machine; not node itself, nor a loopback connection.
import { spawnSync, execFile } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { takeAttempts } from './isolation.js';

describe('the unit tier guard', () => {
  it('records a package manager started by name or as a script node runs (before it could start: none exists here)', () => {
    spawnSync('/nonexistent/bin/npm', ['--version']);
    spawnSync(process.execPath, ['/nonexistent/node_modules/pnpm/bin/pnpm.cjs', '--version']);
    execFile('/nonexistent/bin/yarn', ['--version'], () => {});
    spawnSync(process.execPath, ['-e', '0']);
    expect(takeAttempts()).toEqual(['spawnSync(/nonexistent/bin/npm)', `spawnSync(${process.execPath} /nonexistent/node_modules/pnpm/bin/pnpm.cjs)`, 'execFile(/nonexistent/bin/yarn)']);
  });

  it('records a connection off this machine, not one to a loopback server', async () => {
    const server = createServer((s) => s.destroy());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    const local = connect(port, '127.0.0.1');
    await new Promise((r) => local.on('close', r).on('error', r));
    server.close();
    // TEST-NET-1 (RFC 5737): routed nowhere; destroyed at once.
    const away = connect({ host: '192.0.2.1', port: 9 });
    away.on('error', () => {});
    away.destroy();
    expect(takeAttempts()).toEqual(['connect(192.0.2.1:9)']);
  });
});
