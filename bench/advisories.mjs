// The advisories check's cost (issue 18) on a ~1,000-package tree, cold and warm, from each kind of source, side by
// side with `npm audit` on the same tree and the same loopback registry:
//
//   node bench/advisories.mjs [--runs 5] [--packages 1000] [--records 220000]
//
// - the tree: `--packages` synthetic packages (one old version each) served by test/registry/server.ts, locked
//   flat in a package-lock.json v3; the registry's bulk advisory endpoint (what npm audit asks) names 20 of them;
// - a loopback OSV API (test/registry/osv.ts) with records for the same 20;
// - an offline database: a zip shaped like OSV's npm export (`--records` synthetic records of real sizes, plus the
//   20, bench/lib/osv-zip.mjs), indexed by `safe-install advisories update --from <zip>` (timed once).
//
// Rows: `check` with the advisories check off (policy sources [] and no database: the baseline), with the
// loopback OSV + bulk endpoints, with the offline database; cold (empty safe-install cache, the advisory database
// kept: it is built once a day, not per check) and warm (caches kept); and `npm audit --json`. The advisories cost
// is each row's median minus the baseline's. Written to stdout and bench/data/advisories-last-run.md.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { measure } from './lib/measure.mjs';
import { writeOsvZip } from './lib/osv-zip.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BENCH = join(ROOT, 'bench');
const SI_BIN = join(ROOT, 'bin', 'safe-install');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const RUNS = arg('--runs', 5);
const PACKAGES = arg('--packages', 1000);
const RECORDS = arg('--records', 220_000);
const OLD = '2024-01-01T00:00:00.000Z';
const log = (s) => process.stderr.write(`${s}\n`);
const secs = (ms) => (ms / 1000).toFixed(2);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function buildHelpers() {
  const out = join(BENCH, '.build', 'test', 'registry', 'osv.js');
  const sources = ['server.ts', 'tarball.ts', 'osv.ts'].map((f) => join(ROOT, 'test', 'registry', f));
  if (existsSync(out) && sources.every((s) => statSync(s).mtimeMs <= statSync(out).mtimeMs)) return;
  log('compiling the test registry and OSV (test/registry/*.ts -> bench/.build) ...');
  execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(BENCH, 'tsconfig.json')], { stdio: 'inherit' });
}

async function main() {
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) throw new Error('dist/ is missing: run `npm run build`');
  buildHelpers();
  const { TestRegistry } = await import(join(BENCH, '.build', 'test', 'registry', 'server.js'));
  const { TestOsv } = await import(join(BENCH, '.build', 'test', 'registry', 'osv.js'));
  const work = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'si-bench-adv-'));
  const registry = await TestRegistry.start();
  const osv = await TestOsv.start();
  try {
    // The tree.
    const names = Array.from({ length: PACKAGES }, (_, i) => (i % 10 === 0 ? `@bench/p${i}` : `bench-p${i}`));
    for (const name of names) registry.addPackage({ name, versions: [{ version: '1.0.0', publishedAt: OLD }] });
    const flagged = names.filter((_, i) => i % 50 === 0);
    registry.setAdvisories(
      Object.fromEntries(
        flagged.map((name, i) => [
          name,
          [
            {
              id: 900000 + i,
              url: `https://github.com/advisories/GHSA-bnch-${i}`,
              title: `ReDoS in ${name}`,
              severity: 'moderate',
              vulnerable_versions: '<2.0.0',
              cwe: ['CWE-1333'],
              cvss: { score: 5.3, vectorString: null },
            },
          ],
        ]),
      ),
    );
    osv.add(
      ...flagged.map((name, i) => ({
        id: `GHSA-bnch-${i}`,
        modified: '2025-01-01T00:00:00Z',
        summary: `ReDoS in ${name}`,
        database_specific: { severity: 'MODERATE' },
        affected: [{ package: { ecosystem: 'npm', name }, ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '2.0.0' }] }] }],
      })),
    );
    const project = (dir, policy) => {
      mkdirSync(dir, { recursive: true });
      const deps = Object.fromEntries(names.map((n) => [n, '^1.0.0']));
      const packages = { '': { name: 'app', version: '1.0.0', dependencies: deps } };
      for (const n of names) packages[`node_modules/${n}`] = { version: '1.0.0', resolved: registry.tarballUrl(n, '1.0.0'), integrity: registry.integrityOf(n, '1.0.0') };
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', dependencies: deps }));
      writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ name: 'app', version: '1.0.0', lockfileVersion: 3, requires: true, packages }));
      if (policy) writeFileSync(join(dir, 'safe-install.policy.json'), JSON.stringify(policy));
      return dir;
    };
    const home = join(work, 'home');
    mkdirSync(home);
    writeFileSync(join(home, '.npmrc'), '');
    const env = (npmCache) => ({
      PATH: process.env.PATH,
      HOME: home,
      npm_config_userconfig: join(home, '.npmrc'),
      npm_config_globalconfig: join(home, 'global-npmrc'),
      npm_config_cache: npmCache ?? join(work, 'npm-cache'),
      npm_config_registry: registry.url,
      npm_config_update_notifier: 'false',
      npm_config_fund: 'false',
      NO_COLOR: '1',
    });

    // The offline database.
    const zip = join(work, 'all.zip');
    log(`writing an export-shaped zip of ${RECORDS} records ...`);
    const count = await writeOsvZip(zip, RECORDS, flagged);
    const dbCache = join(work, 'db-cache');
    const up = await measure(process.execPath, [SI_BIN, 'advisories', 'update', '--from', zip, '--cache-dir', dbCache], { cwd: work, env: env() });
    if (up.code !== 0) throw new Error(`advisories update failed: ${up.stderr}`);
    log(`advisories update: ${count} records, ${(statSync(zip).size / 2 ** 20).toFixed(1)} MiB zip: ${secs(up.ms)} s, ${Math.round(up.rssMB ?? 0)} MB peak`);

    const dbDir = join(dbCache, 'advisories', 'v1');
    const trees = {
      off: project(join(work, 'off'), { advisories: { sources: [] } }),
      network: project(join(work, 'network'), { advisories: { sources: ['osv', 'registry'] } }),
      db: project(join(work, 'db'), { advisories: { sources: ['osv', 'registry'], db: dbDir } }),
      audit: project(join(work, 'audit')),
    };
    const rows = [];
    const siRow = (id, label, dir, mode) => {
      let cache = join(work, `si-cache-${id}-${mode}`);
      return {
        id: `${id}-${mode}`,
        label: `${label}, ${mode}`,
        run: async () => {
          if (mode === 'cold') {
            rmSync(cache, { recursive: true, force: true });
            cache = join(work, `si-cache-${id}-${mode}`);
          }
          return measure(process.execPath, [SI_BIN, 'check', '--json', '--cache-dir', cache, '--osv-url', osv.url], { cwd: dir, env: env() });
        },
        // Every row finds the 20 flagged packages, from the source it is meant to use (the baseline: none).
        ok: (r) => {
          if (r.code !== 0 && r.code !== 1) return false;
          const report = JSON.parse(r.stdout);
          const found = report.packages.filter((p) => p.findings.some((f) => f.check === 'advisories' && f.code === 'advisory-vulnerability')).length;
          const sources = (report.advisorySources ?? [])
            .filter((s) => s.answered)
            .map((s) => s.source)
            .sort()
            .join(',');
          return id === 'off' ? found === 0 : found === flagged.length && sources === (id === 'db' ? 'db' : 'osv,registry');
        },
      };
    };
    const commands = [];
    for (const mode of ['cold', 'warm']) {
      commands.push(siRow('off', 'safe-install check, advisories off (baseline)', trees.off, mode));
      commands.push(siRow('network', 'safe-install check, loopback OSV + bulk endpoint', trees.network, mode));
      commands.push(siRow('db', 'safe-install check, offline database', trees.db, mode));
    }
    commands.push({
      id: 'npm-audit',
      label: 'npm audit --json (bulk endpoint; npm ' + execFileSync('npm', ['--version']).toString().trim() + ')',
      run: () => measure('npm', ['audit', '--json'], { cwd: trees.audit, env: env() }),
      ok: (r) => r.code === 0 || r.code === 1,
    });
    // Warm rows run once untimed first; each iteration runs every command once (alternating).
    for (const c of commands) if (c.id.endsWith('warm')) await c.run();
    const samples = Object.fromEntries(commands.map((c) => [c.id, []]));
    const rss = Object.fromEntries(commands.map((c) => [c.id, []]));
    for (let i = 0; i < RUNS; i++) {
      for (const c of commands) {
        const r = await c.run();
        if (!c.ok(r)) throw new Error(`${c.label} failed (exit ${r.code}): ${r.stderr.slice(0, 500)}`);
        samples[c.id].push(r.ms);
        if (r.rssMB) rss[c.id].push(r.rssMB);
      }
      log(`run ${i + 1}/${RUNS} done`);
    }
    const osvAsked = osv.requests.length;
    const base = { cold: median(samples['off-cold']), warm: median(samples['off-warm']) };
    for (const c of commands) {
      const m = median(samples[c.id]);
      const mode = c.id.endsWith('cold') ? 'cold' : c.id.endsWith('warm') ? 'warm' : undefined;
      const d = m - base[mode];
      const cost = mode && !c.id.startsWith('off') ? `${d < 0 ? '-' : '+'}${secs(Math.abs(d))} s` : '';
      rows.push(
        `| ${c.label} | ${secs(m)} s (${secs(Math.min(...samples[c.id]))}-${secs(Math.max(...samples[c.id]))}) | ${cost} | ${rss[c.id].length ? Math.round(Math.max(...rss[c.id])) : '-'} MB |`,
      );
    }
    const md = [
      `Advisories bench: ${PACKAGES} packages, ${RUNS} runs each (median, min-max), offline database of ${count} records, ${(statSync(zip).size / 2 ** 20).toFixed(1)} MiB zip (advisories update: ${secs(up.ms)} s, ${Math.round(up.rssMB ?? 0)} MB peak); OSV requests over the run: ${osvAsked}`,
      '',
      '| command | time | advisories cost | peak RSS |',
      '| --- | --- | --- | --- |',
      ...rows,
      '',
    ].join('\n');
    process.stdout.write(md);
    mkdirSync(join(BENCH, 'data'), { recursive: true });
    writeFileSync(join(BENCH, 'data', 'advisories-last-run.md'), md);
  } finally {
    await osv.close();
    await registry.close();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  log(err.stack ?? String(err));
  process.exitCode = 1;
});
