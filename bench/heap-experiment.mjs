// Does the 10,000-package cold check need ~290 MB, or does V8 just not collect? The same synthetic tree as the
// bench growth rows, cold cache, default heap vs a capped old space (bench/RESULTS.md, fifth run). Needs bench/.build
// (made by any bench run).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
const ROOT = new URL('..', import.meta.url).pathname.replace(/\/$/, '');
const { TestRegistry } = await import(join(ROOT, 'bench/.build/test/registry/server.js'));
const { synLockfile, synPackument, writeProject } = await import(join(ROOT, 'bench/lib/trees.mjs'));
const n = Number(process.argv[2] ?? 10000);
const reg = await TestRegistry.start();
for (let i = 0; i < n; i++) reg.addRawPackument(synPackument(i));
const dir = mkdtempSync(join(tmpdir(), 'heapexp-'));
writeProject(dir, synLockfile(n));
const run = (opts) =>
  new Promise((res) => {
    const cache = mkdtempSync(join(tmpdir(), 'heapexp-cache-'));
    const t = Date.now();
    import('node:child_process').then(({ execFile }) =>
      execFile(
        '/usr/bin/time',
        ['-f', '%M', process.execPath, ...opts, join(ROOT, 'bin/safe-install'), 'check', '--json', '--registry', reg.url, '--cache-dir', cache],
        { cwd: dir, maxBuffer: 1 << 28, env: { ...process.env, HOME: cache } },
        (err, stdout, stderr) => {
          const rss = stderr.trim().split('\n').pop();
          const code = err ? err.code : 0;
          res({ opts: opts.join(' ') || '(default)', code, rssMB: Math.round(Number(rss) / 1024), s: (Date.now() - t) / 1000, packages: stdout ? JSON.parse(stdout).packages.length : 0 });
          rmSync(cache, { recursive: true, force: true });
        },
      ),
    );
  });
for (const opts of [[], ['--max-old-space-size=96'], [], ['--max-old-space-size=96']]) console.log(JSON.stringify(await run(opts)));
await reg.close();
