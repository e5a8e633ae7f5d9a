#!/usr/bin/env node
// The benchmark (issue 6): safe-install against the tools users would run instead, on real lockfiles, with real
// registry metadata served (signed with a test key) from a registry on 127.0.0.1, timed in one run, alternating
// the compared commands inside every iteration. See bench/README.md; results and analysis in bench/RESULTS.md.
//
//   npm run bench                  # builds, then everything (about 20 minutes on 2 cores)
//   npm run bench -- --quick       # 3 runs per row, no profile, no npm 11 row (about 12 minutes)
//   node bench/run.mjs --help
import { execFileSync } from 'node:child_process';
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, freemem, totalmem, tmpdir, release } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hasGnuTime, killRunning, measure, median } from './lib/measure.mjs';
import { hasPackument, machineRegistry, readPackument, recordPackuments, recordTarballs, tarballFile } from './lib/record.mjs';
import { installableHere, npmLockedIds, pnpmLockedIds, readJson, registryEntries, synLockfile, synPackument, writeInstalledTree, writePnpmProject, writeProject } from './lib/trees.mjs';
import { summarizeProfile } from './lib/profile.mjs';
import { startBenchRegistry } from './lib/registry.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BENCH = join(ROOT, 'bench');
const DATA = join(BENCH, 'data');
const PACKUMENTS = join(DATA, 'packuments');
const TARBALLS = join(DATA, 'tarballs');
const NPM9_DIR = join(DATA, 'npm-9.6.7');
const NPM9_CLI = join(NPM9_DIR, 'node_modules', 'npm', 'bin', 'npm-cli.js');
// The pnpm the tests pin (package.json devDependencies): the pnpm install rows run it.
const PNPM_CLI = join(ROOT, 'node_modules', 'pnpm', 'bin', 'pnpm.cjs');
// Set to the snapshot of the build taken at start (see snapshotBuild).
let SI_ROOT = ROOT;
let SI_BIN = join(ROOT, 'bin', 'safe-install');
// The one-file build the package ships (scripts/bundle.mjs, issue 19), beside the multi-file one above: rows run both.
const siBundle = () => join(SI_ROOT, 'dist', 'safe-install.mjs');
const LOCKFILES = {
  'npm/cli': join(ROOT, 'test', 'fixtures', 'lockfiles', 'npm_cli@780afc50e3a3__package-lock.json'),
  jquery: join(ROOT, 'test', 'fixtures', 'lockfiles', 'jquery_jquery@51eb576cca6f__package-lock.json'),
  'examples/basic': join(ROOT, 'examples', 'basic', 'package-lock.json'),
};
const GROWTH_SIZES = [1000, 5000, 10000];
const ALL_GROUPS = ['startup', 'check', 'latency', 'npm11', 'install', 'growth', 'profile', 'hostile'];

const USAGE = `usage: node bench/run.mjs [options]   (npm run bench -- [options] builds first)

  --runs <n>        timed runs per command and row (default 5; the table shows the median, min-max)
  --quick           3 runs per row, no profile, no npm 11 row (about 12 minutes)
  --latency <ms>    per-request latency of the "remote registry" rows (default 50)
  --only <groups>   comma-separated subset of: ${ALL_GROUPS.join(', ')}
  --skip <groups>   run everything but these
  --workdir <dir>   where projects, node_modules and caches go (default /dev/shm, a tmpfs, when present:
                    the VM disk made npm ci vary 2x between identical runs; else $TMPDIR)
  --keep            keep the work folder (projects, caches) for inspection
  --serve           set everything up, print the registry URLs and the project folders, and serve until ^C
                    (to run or profile one command by hand)
  --help

Records real metadata (and the tarballs the install rows need) once into bench/data from this machine's
configured npm registry; later runs fetch only what is missing. Writes bench/data/last-run.{md,json}.`;

function parseArgs(argv) {
  const o = { runs: 5, latency: 50, groups: new Set(ALL_GROUPS), keep: false, quick: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--help' || a === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else if (a === '--runs') o.runs = Number(val());
    else if (a === '--quick') o.quick = true;
    else if (a === '--latency') o.latency = Number(val());
    else if (a === '--only') o.groups = new Set(val().split(','));
    else if (a === '--skip') for (const g of val().split(',')) o.groups.delete(g);
    else if (a === '--keep') o.keep = true;
    else if (a === '--serve') o.serve = true;
    else if (a === '--workdir') o.workdir = resolve(val());
    else throw new Error(`unknown option ${a}\n\n${USAGE}`);
  }
  if (o.quick) {
    if (!argv.includes('--runs')) o.runs = 3;
    if (!argv.includes('--only')) {
      o.groups.delete('profile');
      o.groups.delete('npm11');
    }
  }
  for (const g of o.groups) if (!ALL_GROUPS.includes(g)) throw new Error(`unknown group ${g} (groups: ${ALL_GROUPS.join(', ')})`);
  if (!Number.isInteger(o.runs) || o.runs < 1) throw new Error('--runs must be a whole number >= 1');
  if (!Number.isFinite(o.latency) || o.latency < 0) throw new Error('--latency must be a number of ms >= 0');
  return o;
}

const log = (s) => process.stderr.write(`${s}\n`);
const secs = (ms) => (ms / 1000).toFixed(ms < 10_000 ? 2 : 1);

// ---------------------------------------------------------------- setup

function buildHelpers() {
  const out = join(BENCH, '.build', 'test', 'registry', 'server.js');
  const sources = ['server.ts', 'tarball.ts'].map((f) => join(ROOT, 'test', 'registry', f));
  if (existsSync(out) && sources.every((s) => statSync(s).mtimeMs <= statSync(out).mtimeMs)) return;
  log('compiling the test registry (test/registry/*.ts -> bench/.build) ...');
  execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(BENCH, 'tsconfig.json')], { stdio: 'inherit' });
}

function ensureNpm9() {
  if (existsSync(NPM9_CLI)) return;
  log("installing npm@9.6.7 into bench/data/npm-9.6.7 (from this machine's npm registry) ...");
  execFileSync('npm', ['install', '--prefix', NPM9_DIR, '--no-audit', '--no-fund', '--ignore-scripts', 'npm@9.6.7'], { stdio: ['ignore', 'ignore', 'inherit'], cwd: tmpdir() });
}

/** The bench's registry key (P-256), made once; the npm-style key id is SHA256 of the SPKI, base64 without padding. */
function benchKey() {
  const file = join(DATA, 'bench-key.pem');
  if (!existsSync(file)) {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    writeFileSync(file, privateKey.export({ format: 'pem', type: 'pkcs8' }));
  }
  const privateKey = createPrivateKey(readFileSync(file));
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  const keyid = `SHA256:${createHash('sha256').update(spki).digest('base64').replace(/=+$/, '')}`;
  return {
    keyid,
    keysDoc: { keys: [{ keyid, key: spki.toString('base64'), expires: null, keytype: 'ecdsa-sha2-nistp256', scheme: 'ecdsa-sha2-nistp256' }] },
    sign: (text) => sign('sha256', Buffer.from(text), privateKey).toString('base64'),
  };
}

/**
 * What the mirror strips and registry.npmjs.org serves, added to every version: a registry signature over
 * `${name}@${version}:${integrity}` (with the bench key) and a publisher (`_npmUser`, a placeholder), so the
 * signature and trust-downgrade checks do their whole work, and npm verifies for real.
 */
function signPackument(doc, key) {
  for (const [version, m] of Object.entries(doc.versions ?? {})) {
    if (!m?.dist?.integrity) continue;
    m.dist.signatures = [{ keyid: key.keyid, sig: key.sign(`${doc.name}@${version}:${m.dist.integrity}`) }];
    m._npmUser ??= { name: 'bench-publisher', email: 'bench-publisher@example.invalid' };
  }
  return doc;
}

/**
 * Copy the built CLI (bin, dist, policies, trust, package.json; node_modules linked) into the work folder and
 * run that copy: a rebuild during the run (npm test in another shell) must not mix two builds in one table.
 */
function snapshotBuild(work) {
  const dir = join(work, 'safe-install');
  for (const f of ['bin', 'dist', 'lib', 'policies', 'trust', 'package.json']) {
    if (existsSync(join(ROOT, f))) cpSync(join(ROOT, f), join(dir, f), { recursive: true });
  }
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  SI_ROOT = dir;
  SI_BIN = join(dir, 'bin', 'safe-install');
  return { builtAt: statSync(join(ROOT, 'dist', 'cli', 'main.js')).mtime.toISOString() };
}

function gitRev() {
  try {
    const rev = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT, encoding: 'utf8' }).trim();
    return dirty ? `${rev} (src/ modified)` : rev;
  } catch {
    return 'unknown';
  }
}

function machine() {
  const v = (cmd, args) => {
    try {
      return execFileSync(cmd, args, { encoding: 'utf8', cwd: tmpdir() }).trim();
    } catch {
      return 'unknown';
    }
  };
  return {
    date: new Date().toISOString(),
    cpus: `${cpus().length} x ${cpus()[0]?.model ?? 'unknown'}`,
    nproc: v('nproc', []),
    memory: `${(totalmem() / 2 ** 30).toFixed(1)} GiB (${(freemem() / 2 ** 30).toFixed(1)} GiB free at start)`,
    kernel: release(),
    node: process.version,
    npm: v('npm', ['--version']),
    npm9: existsSync(NPM9_CLI) ? v(process.execPath, [NPM9_CLI, '--version']) : 'not installed',
    pnpm: existsSync(PNPM_CLI) ? readJson(join(dirname(PNPM_CLI), '..', 'package.json')).version : 'not installed',
    loadavg: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
    safeInstall: gitRev(),
  };
}

// ---------------------------------------------------------------- runs

const results = [];
/** Closes the registries and removes the work folder; replaced once they exist. */
let cleanup = async () => {};

/** Environment with nothing of this machine's npm setup (as test/integration/helpers.ts cleanEnv). */
function makeEnv(work, registryUrl, npmCache) {
  return {
    PATH: process.env.PATH,
    HOME: join(work, 'home'),
    XDG_CACHE_HOME: join(work, 'home', 'xdg-cache'),
    npm_config_userconfig: join(work, 'home', '.npmrc'),
    npm_config_globalconfig: join(work, 'home', 'global-npmrc'),
    npm_config_cache: npmCache,
    npm_config_registry: registryUrl,
    npm_config_update_notifier: 'false',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    NO_COLOR: '1',
  };
}

/**
 * Time `commands` `runs` times each, alternating inside every iteration (A, B, C, A, B, C...). Each command:
 * { id, label, cmd, args, cwd, env() , prepare?(), validate?(res) -> string|undefined (an error) }.
 * `warm`: run each command once untimed first, keeping its caches.
 */
async function timeGroup({ row, tree, mode, registry, commands, runs, warm }) {
  log(`\n== ${row}: ${tree}, ${mode} (${runs} runs each)`);
  const recs = commands.map((c) => ({ ...c, row, tree, mode, samples: [], failures: [], info: {} }));
  if (warm) {
    for (const c of recs) {
      await c.prepare?.();
      const r = await measure(c.cmd, c.argv ? c.argv() : c.args, { cwd: c.cwd, env: c.env() });
      const err = c.validate?.(r, c.info);
      log(`   prime  ${c.label.padEnd(48)} ${secs(r.ms)} s${err ? `  FAILED: ${err}` : ''}`);
      if (err) c.failures.push(err);
    }
  }
  for (let i = 0; i < runs; i++) {
    for (const c of recs) {
      await c.prepare?.();
      const before = registry ? registry.requests.length : 0;
      const r = await measure(c.cmd, c.argv ? c.argv() : c.args, { cwd: c.cwd, env: c.env(), timeoutMs: c.timeoutMs });
      const requests = registry ? registry.requests.length - before : null;
      const abbreviated = registry ? registry.requests.slice(before).filter((q) => q.path.startsWith('/-corgi-/')).length : null;
      const err = c.validate?.(r, c.info);
      if (err) {
        c.failures.push(err);
        log(`   #${i + 1}     ${c.label.padEnd(48)} FAILED (${secs(r.ms)} s): ${err}`);
        continue;
      }
      c.samples.push({ ms: r.ms, rssMB: r.rssMB, requests, abbreviated });
      log(`   #${i + 1}     ${c.label.padEnd(48)} ${secs(r.ms).padStart(6)} s  ${r.rssMB ? r.rssMB.toFixed(0).padStart(4) + ' MB' : ''}  ${requests ?? ''} req`);
    }
  }
  for (const c of recs) {
    results.push({ row, tree, mode, id: c.id, label: c.label, samples: c.samples, failures: c.failures, info: c.info, note: c.note });
  }
  return recs;
}

function stats(rec) {
  const ms = rec.samples.map((s) => s.ms);
  const rss = rec.samples.map((s) => s.rssMB).filter((x) => x !== null);
  const req = rec.samples.map((s) => s.requests).filter((x) => x !== null);
  const abbr = rec.samples.map((s) => s.abbreviated).filter((x) => x !== null && x !== undefined);
  if (!ms.length) return null;
  return {
    median: median(ms),
    min: Math.min(...ms),
    max: Math.max(...ms),
    rss: rss.length ? Math.max(...rss) : null,
    rssMedian: rss.length ? median(rss) : null,
    requests: req.length ? median(req) : null,
    abbreviated: abbr.length ? median(abbr) : 0,
    n: ms.length,
  };
}

function find(row, tree, mode, id) {
  return results.find((r) => r.row === row && r.tree === tree && r.mode === mode && r.id === id);
}

// ---------------------------------------------------------------- validators

function validateCheck(res, info) {
  if (res.timedOut) return 'timed out';
  let report;
  try {
    report = JSON.parse(res.stdout);
  } catch {
    return `exit ${res.code}, no JSON report: ${(res.stderr || res.stdout).trim().split('\n').slice(-3).join(' | ')}`;
  }
  const s = report.summary;
  if (res.code !== 0) return `exit ${res.code}: ${JSON.stringify({ quarantine: s.quarantine, block: s.block, errors: s.errors })} ${report.errors?.[0]?.message ?? ''}`;
  const sig = report.packages.flatMap((p) => p.findings.filter((f) => f.check === 'signature').map((f) => `${p.name}@${p.version} ${f.code}`));
  if (sig.length) return `signature findings: ${sig.slice(0, 3).join(', ')}`;
  info.packages = s.packages;
  info.registryPackages = s.registryPackages;
  info.verified = report.packages.filter((p) => p.source === 'registry').length;
  info.reportedRequests = s.requests;
  info.reportedMs = s.durationMs;
  return undefined;
}

function validateAudit(res, info) {
  if (res.timedOut) return 'timed out';
  const out = res.stdout + res.stderr;
  const m = /(\d+) packages? ha(?:s|ve) a? ?verified registry signatures?/.exec(out);
  if (res.code !== 0 || !m) return `exit ${res.code}: ${out.trim().split('\n').slice(-4).join(' | ')}`;
  if (/invalid|missing/.test(out)) return `npm reports invalid or missing signatures: ${out.trim().split('\n').slice(0, 6).join(' | ')}`;
  info.verified = Number(m[1]);
  const a = /audited (\d+) packages?/.exec(out);
  if (a) info.audited = Number(a[1]);
  return undefined;
}

const validateExit0 = (what) => (res) => {
  if (res.timedOut) return 'timed out';
  if (res.code !== 0) return `exit ${res.code}: ${(res.stderr + res.stdout).trim().split('\n').slice(-4).join(' | ')}`;
  if (what && !res.stdout.includes(what)) return `no "${what}" in the output`;
  return undefined;
};

// ---------------------------------------------------------------- main

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const t0 = Date.now();
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) throw new Error('dist/ is missing: run `npm run build` (or `npm run bench`, which builds)');
  if (!hasGnuTime()) log('note: /usr/bin/time not found: peak RSS is not measured');
  const work = mkdtempSync(join(opts.workdir ?? (existsSync('/dev/shm') ? '/dev/shm' : tmpdir()), 'safe-install-bench-'));
  cleanup = async () => {
    if (!opts.keep) rmSync(work, { recursive: true, force: true });
  };
  const build = snapshotBuild(work);
  buildHelpers();
  const { TestRegistry } = await import(join(BENCH, '.build', 'test', 'registry', 'server.js'));
  const { readLockfile } = await import(join(SI_ROOT, 'dist', 'lockfile', 'index.js'));
  if (opts.groups.has('hostile')) await hostileRows(TestRegistry, work, opts);
  if ([...opts.groups].every((g) => g === 'hostile')) {
    // Nothing else asked for: no recorded data needed.
    await cleanup();
    const info = { machine: machine(), opts: { ...opts, groups: [...opts.groups] }, build, elapsedS: Math.round((Date.now() - t0) / 1000) };
    const md = report(info, {}, opts);
    process.stdout.write(md);
    mkdirSync(DATA, { recursive: true });
    writeFileSync(join(DATA, 'last-run.md'), md);
    writeFileSync(join(DATA, 'last-run.json'), JSON.stringify({ info, results }, null, 2));
    log(`\nwritten: bench/data/last-run.md, bench/data/last-run.json (${info.elapsedS} s in all)`);
    if (results.some((r) => r.failures.length)) process.exitCode = 1;
    return;
  }
  ensureNpm9();
  mkdirSync(DATA, { recursive: true });

  // --- record: every registry name the lockfiles lock (bundled entries too: npm audit signatures checks them)
  const locks = Object.fromEntries(Object.entries(LOCKFILES).map(([k, f]) => [k, readJson(f)]));
  const names = new Set();
  for (const lock of Object.values(locks)) for (const [, , name] of registryEntries(lock)) names.add(name);
  // Workspaces that are also dependencies of the root (npm/cli's libnpm*): npm audit signatures looks them up
  // in the registry too, so serve their real packuments where the registry has them.
  const workspaceNames = new Set();
  for (const lock of Object.values(locks)) {
    for (const [path, e] of Object.entries(lock.packages)) {
      if (e.link && path.includes('node_modules/')) workspaceNames.add(lock.packages[e.resolved]?.name ?? path.slice(path.lastIndexOf('node_modules/') + 13));
    }
  }
  const upstream = machineRegistry();
  const fetched = await recordPackuments([...names, ...workspaceNames], PACKUMENTS, upstream, log, workspaceNames);
  for (const n of workspaceNames) if (hasPackument(PACKUMENTS, n)) names.add(n);
  const installTrees = opts.groups.has('install') ? ['examples/basic', 'jquery'] : []; // tarballs to record
  const tarballPkgs = [];
  for (const t of installTrees) {
    for (const [, e, name] of registryEntries(locks[t])) if (installableHere(e)) tarballPkgs.push({ name, version: e.version, integrity: e.integrity });
  }
  const fetchedTgz = await recordTarballs(tarballPkgs, TARBALLS, PACKUMENTS, upstream, log);

  // --- the registries: real metadata, signed; synthetic packuments for the growth rows
  const key = benchKey();
  const reg = await startBenchRegistry(TestRegistry);
  const regSlow = opts.groups.has('latency') ? await startBenchRegistry(TestRegistry, { latencyMs: opts.latency }) : null;
  const registries = [reg, regSlow].filter(Boolean);
  for (const r of registries) r.setKeys(key.keysDoc);
  let tLoad = Date.now();
  let versions = 0;
  let newest = { t: 0 };
  const lockedIds = new Set();
  for (const lock of Object.values(locks)) for (const [, e, name] of registryEntries(lock)) lockedIds.add(`${name}@${e.version}`);
  for (const name of names) {
    const doc = signPackument(readPackument(PACKUMENTS, name), key);
    versions += Object.keys(doc.versions ?? {}).length;
    for (const [v, t] of Object.entries(doc.time ?? {})) {
      if (lockedIds.has(`${name}@${v}`) && Date.parse(t) > newest.t) newest = { t: Date.parse(t), id: `${name}@${v}` };
    }
    const tgz = {};
    for (const v of Object.keys(doc.versions ?? {})) {
      const f = tarballFile(TARBALLS, name, v);
      if (existsSync(f)) tgz[v] = readFileSync(f);
    }
    for (const r of registries) r.add(doc, tgz);
  }
  log(`serving ${names.size} recorded packuments (${versions} versions, all signed) at ${reg.url}${regSlow ? ` and, with ${opts.latency} ms latency, ${regSlow.url}` : ''} (${Date.now() - tLoad} ms)`);
  const ageDays = (Date.now() - newest.t) / 86_400_000;
  if (ageDays < 8) log(`WARNING: ${newest.id} was published (or copied to the mirror) ${ageDays.toFixed(1)} days ago: the age rows will quarantine/refuse it`);
  const maxSyn = opts.groups.has('growth') ? Math.max(...GROWTH_SIZES) : 0;
  if (maxSyn) {
    tLoad = Date.now();
    for (let i = 0; i < maxSyn; i++) reg.add(signPackument(synPackument(i), key));
    log(`serving ${maxSyn} synthetic packuments (${Date.now() - tLoad} ms)`);
  }

  mkdirSync(join(work, 'home', 'xdg-cache'), { recursive: true });
  writeFileSync(join(work, 'home', '.npmrc'), '');
  writeFileSync(join(work, 'home', 'global-npmrc'), '');
  cleanup = async () => {
    for (const r of registries) await r.close();
    if (!opts.keep) rmSync(work, { recursive: true, force: true });
    else log(`work folder kept: ${work}`);
    cleanup = async () => {};
  };
  if (!opts.serve) {
    process.once('SIGINT', () => {
      log('\ninterrupted: stopping the running command and cleaning up');
      killRunning();
      cleanup().finally(() => process.exit(130));
    });
  }
  let dirSeq = 0;
  const freshDir = (prefix) => {
    const d = join(work, `${prefix}-${dirSeq++}`);
    mkdirSync(d, { recursive: true });
    return d;
  };
  const info = {
    machine: machine(),
    upstream,
    recordedNow: { packuments: fetched, tarballs: fetchedTgz },
    names: names.size,
    versions,
    newestLocked: { id: newest.id, at: new Date(newest.t).toISOString() },
    opts: { ...opts, groups: [...opts.groups] },
    workdir: work,
    build,
  };
  log(`machine: ${JSON.stringify(info.machine)}`);

  // Check trees: a project (package.json + lockfile) with the installed tree npm audit signatures reads.
  const checkTrees = {};
  for (const t of ['npm/cli', 'jquery']) {
    const dir = join(work, `tree-${t.replace('/', '-')}`);
    writeProject(dir, locks[t]);
    writeInstalledTree(dir, locks[t]);
    const tree = readLockfile(dir);
    checkTrees[t] = { dir, locked: tree.packages.length, registry: tree.packages.filter((p) => p.source === 'registry').length, bundled: tree.packages.filter((p) => p.source === 'bundled').length };
  }
  info.trees = Object.fromEntries(Object.entries(checkTrees).map(([k, v]) => [k, { locked: v.locked, registry: v.registry, bundled: v.bundled }]));

  if (opts.serve) {
    const env = makeEnv(work, reg.url, join(work, 'npm-cache'));
    log(`\nserving: ${reg.url}${regSlow ? ` (and ${regSlow.url} with ${opts.latency} ms latency)` : ''}`);
    log(
      `check trees: ${Object.values(checkTrees)
        .map((t) => t.dir)
        .join(' ')}`,
    );
    log(
      `environment:\n${Object.entries(env)
        .map(([k, v]) => `export ${k}='${v}'`)
        .join('\n')}`,
    );
    log(`e.g.: cd ${checkTrees['npm/cli'].dir} && node ${SI_BIN} check --cache-dir ${join(work, 'si-cache')}\n^C to stop`);
    await new Promise((res) => process.once('SIGINT', res));
    await cleanup();
    return;
  }

  const siCheck = (id, label, tree, registry, { cold, ttl, bin } = {}) => {
    let cache = freshDir('si-cache');
    const c = {
      id,
      label,
      cmd: process.execPath,
      cwd: tree.dir,
      env: () => makeEnv(work, registry.url, join(work, 'unused-npm-cache')),
      validate: validateCheck,
      argv: () => [bin ?? SI_BIN, 'check', '--json', '--cache-dir', cache, ...(ttl !== undefined ? ['--cache-ttl', ttl] : [])],
      prepare: async () => {
        if (cold) {
          rmSync(cache, { recursive: true, force: true });
          cache = freshDir('si-cache');
        }
      },
    };
    return c;
  };
  const npm9Audit = (id, label, tree, registry, { cold } = {}) => {
    let cache = freshDir('npm9-cache');
    const c = {
      id,
      label,
      cmd: process.execPath,
      args: [NPM9_CLI, 'audit', 'signatures'],
      cwd: tree.dir,
      env: () => makeEnv(work, registry.url, cache),
      validate: validateAudit,
      prepare: async () => {
        if (cold) {
          rmSync(cache, { recursive: true, force: true });
          cache = freshDir('npm9-cache');
        }
      },
    };
    return c;
  };

  // --- fixed cost of starting the CLI (node itself, then loading every module the CLI imports)
  if (opts.groups.has('startup')) {
    const env = () => makeEnv(work, reg.url, join(work, 'unused-npm-cache'));
    await timeGroup({
      row: 'startup',
      tree: '-',
      mode: '-',
      registry: null,
      runs: opts.runs,
      commands: [
        { id: 'node', label: 'node -e 0', cmd: process.execPath, args: ['-e', '0'], cwd: work, env, validate: validateExit0() },
        { id: 'si-help', label: 'safe-install --help', cmd: process.execPath, args: [SI_BIN, '--help'], cwd: work, env, validate: validateExit0() },
        ...(existsSync(siBundle())
          ? [{ id: 'si-help-bundle', label: 'safe-install --help (one-file build)', cmd: process.execPath, args: [siBundle(), '--help'], cwd: work, env, validate: validateExit0() }]
          : []),
        { id: 'npm-version', label: 'npm --version', cmd: 'npm', args: ['--version'], cwd: work, env, validate: validateExit0() },
      ],
    });
    // What the start-up time is made of: importing one built module (and everything it imports) in a fresh node.
    const modules = ['cli/main.js', 'cli/check.js', 'pipeline.js', 'registry/client.js', 'verify/provenance.js', 'ui/override-prompt.js'].filter((m) => existsSync(join(SI_ROOT, 'dist', m)));
    await timeGroup({
      row: 'startup',
      tree: '-',
      mode: 'import only',
      registry: null,
      runs: opts.runs,
      commands: modules.map((m) => ({
        id: `import-${m}`,
        label: `import dist/${m}`,
        cmd: process.execPath,
        cwd: work,
        env,
        validate: validateExit0(),
        args: ['--input-type=module', '-e', `await import(${JSON.stringify(join(SI_ROOT, 'dist', m))})`],
      })),
    });
  }

  // --- check vs npm 9.6.7 audit signatures
  if (opts.groups.has('check')) {
    for (const t of ['npm/cli', 'jquery']) {
      const tree = checkTrees[t];
      await timeGroup({
        row: 'check',
        tree: t,
        mode: 'cold',
        registry: reg,
        runs: opts.runs,
        commands: [
          siCheck('si', 'safe-install check', tree, reg, { cold: true }),
          ...(existsSync(siBundle()) ? [siCheck('si-bundle', 'safe-install check (one-file build)', tree, reg, { cold: true, bin: siBundle() })] : []),
          npm9Audit('npm9', 'npm 9.6.7 audit signatures', tree, reg, { cold: true }),
        ],
      });
      await timeGroup({
        row: 'check',
        tree: t,
        mode: 'warm',
        registry: reg,
        runs: opts.runs,
        warm: true,
        commands: [
          siCheck('si', 'safe-install check', tree, reg),
          ...(existsSync(siBundle()) ? [siCheck('si-bundle', 'safe-install check (one-file build)', tree, reg, { bin: siBundle() })] : []),
          siCheck('si-reval', 'safe-install check --cache-ttl 0 (revalidate all)', tree, reg, { ttl: '0' }),
          npm9Audit('npm9', 'npm 9.6.7 audit signatures', tree, reg),
        ],
      });
    }
  }
  if (opts.groups.has('latency')) {
    const tree = checkTrees['npm/cli'];
    const mode = `cold, ${opts.latency} ms latency`;
    await timeGroup({
      row: 'check',
      tree: 'npm/cli',
      mode,
      registry: regSlow,
      runs: opts.runs,
      commands: [siCheck('si', 'safe-install check', tree, regSlow, { cold: true }), npm9Audit('npm9', 'npm 9.6.7 audit signatures', tree, regSlow, { cold: true })],
    });
    // Warm within the cache TTL, safe-install makes no request at all, so latency does not matter there.
  }
  if (opts.groups.has('npm11')) {
    // Once, capped: npm 11 asks the Sigstore TUF CDN for the registry keys before anything else.
    const tree = checkTrees['npm/cli'];
    const cache = freshDir('npm11-cache');
    await timeGroup({
      row: 'check',
      tree: 'npm/cli',
      mode: 'cold, once, capped at 90 s',
      registry: reg,
      runs: 1,
      commands: [
        {
          id: 'npm11',
          label: `npm ${info.machine.npm} audit signatures`,
          cmd: 'npm',
          args: ['audit', 'signatures'],
          cwd: tree.dir,
          timeoutMs: 90_000,
          env: () => makeEnv(work, reg.url, cache),
          validate: (res, i) => {
            i.exit = res.timedOut ? 'killed after 90 s' : `exit ${res.code}`;
            i.error =
              (res.stderr + res.stdout)
                .split('\n')
                .find((l) => /npm error (code|[A-Za-z])/.test(l) && !/A complete log/.test(l))
                ?.replace(/^npm error\s*/, '') ?? '';
            return undefined; // a failure is the finding: record its time
          },
        },
      ],
    });
  }

  // --- full install. Three projects: examples/basic (no `resolved` in its lockfile, as this machine's npmrc
  // writes them), jquery as committed (with `resolved`), and the same jquery lockfile without `resolved`: npm ci
  // --min-release-age=7 fetches packuments (and so checks ages) only for entries without `resolved`.
  if (opts.groups.has('install')) {
    const policies = { 'examples/basic': { scripts: { allow: ['esbuild'] } }, jquery: { scripts: { allow: ['@swc/core', 'commitplease', 'core-js-bundle'] } } };
    const stripResolved = (lock) => {
      const out = JSON.parse(JSON.stringify(lock));
      for (const [k, e] of Object.entries(out.packages)) if (k.includes('node_modules/') && /^https?:/.test(e.resolved ?? '')) delete e.resolved;
      return out;
    };
    const projects = [
      { tree: 'examples/basic', lock: locks['examples/basic'], policy: policies['examples/basic'], cold: ['si', 'npm-mra'], warm: ['si', 'npm-mra', 'npm'] },
      // With `resolved` in the lockfile, npm ci --min-release-age=7 fetches no packument (tarballs only): it is
      // plain npm ci, shown once; the age-checking comparison is the next project.
      { tree: 'jquery', lock: locks.jquery, policy: policies.jquery, cold: ['npm-mra'], coldRuns: 1, warm: ['si', 'npm'] },
      { tree: 'jquery, no resolved', lock: stripResolved(locks.jquery), policy: policies.jquery, cold: ['si', 'npm-mra'], warm: ['si', 'npm-mra'] },
    ];
    const KINDS = {
      si: { label: 'safe-install (check + npm ci + allowed scripts)', withSi: true },
      'npm-mra': { label: 'npm ci --min-release-age=7', args: ['ci', '--min-release-age=7'] },
      npm: { label: 'npm ci', args: ['ci'] },
    };
    for (const p of projects) {
      const cmd = (id, cold) => {
        const { label, args, withSi } = KINDS[id];
        const dir = join(work, `install-${p.tree.replace(/[/, ]+/g, '-')}-${id}`);
        writeProject(dir, p.lock, { policy: withSi ? p.policy : undefined });
        let npmCache = freshDir(`${id}-npm-cache`);
        let siCache = freshDir(`${id}-si-cache`);
        return {
          id,
          label,
          cwd: dir,
          cmd: withSi ? process.execPath : 'npm',
          env: () => makeEnv(work, reg.url, npmCache),
          validate: validateExit0(withSi ? 'Installed.' : undefined),
          prepare: async () => {
            rmSync(join(dir, 'node_modules'), { recursive: true, force: true });
            if (cold) {
              rmSync(npmCache, { recursive: true, force: true });
              rmSync(siCache, { recursive: true, force: true });
              npmCache = freshDir(`${id}-npm-cache`);
              siCache = freshDir(`${id}-si-cache`);
            }
          },
          argv: () => (withSi ? [SI_BIN, '--cache-dir', siCache] : args),
        };
      };
      await timeGroup({ row: 'install', tree: p.tree, mode: p.coldRuns ? 'cold, once' : 'cold', registry: reg, runs: p.coldRuns ?? opts.runs, commands: p.cold.map((id) => cmd(id, true)) });
      await timeGroup({ row: 'install', tree: p.tree, mode: 'warm', registry: reg, runs: opts.runs, warm: true, commands: p.warm.map((id) => cmd(id, false)) });
    }

    // --- the same two trees as pnpm projects, with the pinned pnpm 10 (node_modules/pnpm). Their pnpm-lock.yaml
    // is made once here by `pnpm import` of the npm lockfile against the bench registry, and must lock exactly the
    // npm lockfile's name@versions. `pnpm` on PATH (what safe-install starts) is a link to the pinned pnpm.cjs, as a
    // global npm install of pnpm makes it. Each command has its own store and cache (metadata cache included) in
    // the work folder: cold empties both (and safe-install's cache), warm keeps them.
    if (!existsSync(PNPM_CLI)) throw new Error(`${PNPM_CLI} is missing: run npm install (pnpm is a devDependency)`);
    const { parse: parseYaml } = await import('yaml');
    const pnpmBin = join(work, 'pnpm-bin');
    mkdirSync(pnpmBin, { recursive: true });
    symlinkSync(PNPM_CLI, join(pnpmBin, 'pnpm'));
    const pnpmEnv = () => ({ ...makeEnv(work, reg.url, join(work, 'unused-npm-cache')), PATH: `${pnpmBin}:${process.env.PATH}` });
    const npmrcFor = (state) => `registry=${reg.url}\nstore-dir=${join(state, 'store')}\ncache-dir=${join(state, 'cache')}\nupdate-notifier=false\n`;
    const pnpmLocks = {};
    for (const base of ['examples/basic', 'jquery']) {
      const dir = join(work, `pnpm-import-${base.replace('/', '-')}`);
      writeProject(dir, locks[base]);
      writeFileSync(join(dir, '.npmrc'), npmrcFor(join(work, `pnpm-import-state-${base.replace('/', '-')}`)));
      // Spawned asynchronously: the registry answers from this process.
      const r = await measure(process.execPath, [PNPM_CLI, 'import'], { cwd: dir, env: pnpmEnv() });
      if (r.code !== 0) throw new Error(`pnpm import (${base}) failed, exit ${r.code}: ${(r.stderr + r.stdout).trim().split('\n').slice(-5).join(' | ')}`);
      const lockText = readFileSync(join(dir, 'pnpm-lock.yaml'), 'utf8');
      const want = npmLockedIds(locks[base]);
      const got = pnpmLockedIds(lockText, parseYaml);
      const onlyNpm = [...want].filter((x) => !got.has(x));
      const onlyPnpm = [...got].filter((x) => !want.has(x));
      if (onlyNpm.length || onlyPnpm.length)
        throw new Error(
          `pnpm import (${base}) locked other versions than package-lock.json: only in package-lock.json ${onlyNpm.slice(0, 5).join(', ') || '-'}; only in pnpm-lock.yaml ${onlyPnpm.slice(0, 5).join(', ') || '-'}`,
        );
      pnpmLocks[base] = { lockText, packageJson: readFileSync(join(dir, 'package.json'), 'utf8') };
      log(`pnpm import (${base}): ${got.size} name@versions, the same as package-lock.json's (${secs(r.ms)} s)`);
    }
    const PNPM_KINDS = {
      si: { label: 'safe-install (check + pnpm install --frozen-lockfile --ignore-scripts + allowed scripts)', withSi: true },
      'pnpm-mra': { label: 'pnpm install --frozen-lockfile, minimumReleaseAge: 10080 (pnpm 10: locked versions not re-checked)', mra: true },
      pnpm: { label: 'pnpm install --frozen-lockfile' },
      // Warm, pnpm 10 restores built packages from its store's side-effects cache (on by default) instead of running
      // their scripts again; safe-install (its pnpm runs with --ignore-scripts) runs them every time. This row shows
      // what pnpm costs when it runs them too.
      'pnpm-nosec': { label: 'pnpm install --frozen-lockfile, side-effects-cache=false (runs the builds again)', rc: 'side-effects-cache=false\n' },
    };
    // pnpm's own rows build what the policy allows (pnpm 10 builds only onlyBuiltDependencies): a run that says
    // it ignored a build did not do the same work.
    const validatePnpm = (res) =>
      validateExit0()(res) ??
      (/Ignored build scripts/.test(res.stdout + res.stderr) ? `pnpm ignored build scripts: ${(res.stdout + res.stderr).split('\n').find((l) => /Ignored build scripts/.test(l))}` : undefined);
    for (const base of ['examples/basic', 'jquery']) {
      const tree = `${base}, pnpm`;
      const { lockText, packageJson } = pnpmLocks[base];
      const allow = policies[base].scripts.allow;
      const cmd = (id, cold) => {
        const { label, withSi, mra, rc = '' } = PNPM_KINDS[id];
        const slug = `${tree.replace(/[/, ]+/g, '-')}-${id}`;
        const dir = join(work, `install-${slug}`);
        const state = join(work, `pnpm-state-${slug}`);
        const workspace = withSi ? undefined : `${mra ? 'minimumReleaseAge: 10080\n' : ''}onlyBuiltDependencies:\n${allow.map((a) => `  - '${a}'\n`).join('')}`;
        writePnpmProject(dir, { packageJson, lockText, npmrc: npmrcFor(state) + rc, workspace, policy: withSi ? policies[base] : undefined });
        let siCache = freshDir(`${id}-si-cache`);
        return {
          id,
          label,
          cwd: dir,
          cmd: withSi ? process.execPath : 'pnpm',
          env: pnpmEnv,
          validate: withSi ? validateExit0('Installed.') : validatePnpm,
          prepare: async () => {
            rmSync(join(dir, 'node_modules'), { recursive: true, force: true });
            if (cold) {
              rmSync(state, { recursive: true, force: true });
              rmSync(siCache, { recursive: true, force: true });
              siCache = freshDir(`${id}-si-cache`);
            }
          },
          argv: () => (withSi ? [SI_BIN, '--cache-dir', siCache] : ['install', '--frozen-lockfile']),
        };
      };
      const ids = ['si', 'pnpm-mra', 'pnpm'];
      await timeGroup({ row: 'install', tree, mode: 'cold', registry: reg, runs: opts.runs, commands: ids.map((id) => cmd(id, true)) });
      await timeGroup({ row: 'install', tree, mode: 'warm', registry: reg, runs: opts.runs, warm: true, commands: [...ids, 'pnpm-nosec'].map((id) => cmd(id, false)) });
    }
  }

  // --- growth: synthetic trees
  if (opts.groups.has('growth')) {
    const trees = GROWTH_SIZES.map((n) => {
      const dir = join(work, `synthetic-${n}`);
      writeProject(dir, synLockfile(n));
      return { n, dir };
    });
    await timeGroup({
      row: 'growth',
      tree: 'synthetic',
      mode: 'cold',
      registry: reg,
      runs: opts.runs,
      commands: trees.map((t) => ({ ...siCheck(`si-${t.n}`, `safe-install check, ${t.n} packages`, t, reg, { cold: true }), n: t.n })),
    });
    await timeGroup({
      row: 'growth',
      tree: 'synthetic',
      mode: 'warm',
      registry: reg,
      runs: opts.runs,
      warm: true,
      commands: trees.map((t) => ({ ...siCheck(`si-${t.n}`, `safe-install check, ${t.n} packages`, t, reg), n: t.n })),
    });
  }

  // --- profiles of the check (node --cpu-prof), cold and warm, on the npm/cli tree
  const profiles = {};
  if (opts.groups.has('profile')) {
    const profDir = join(DATA, 'profiles');
    rmSync(profDir, { recursive: true, force: true });
    mkdirSync(profDir, { recursive: true });
    const targets = [['npm/cli', checkTrees['npm/cli'].dir]];
    if (opts.groups.has('growth')) targets.push(['synthetic 10000', join(work, 'synthetic-10000')]);
    for (const [t, dir] of targets) {
      const cache = freshDir('prof-cache');
      for (const mode of ['cold', 'warm']) {
        const name = `${t.replace(/[/ ]/g, '-')}-${mode}`;
        const r = await measure(process.execPath, ['--cpu-prof', '--cpu-prof-dir', profDir, '--cpu-prof-name', `${name}.cpuprofile`, SI_BIN, 'check', '--json', '--cache-dir', cache], {
          cwd: dir,
          env: makeEnv(work, reg.url, join(work, 'unused-npm-cache')),
        });
        const err = validateCheck(r, {});
        if (err) {
          log(`profile ${name}: FAILED ${err}`);
          continue;
        }
        profiles[`${t}, ${mode}`] = { wallMs: Math.round(r.ms), ...summarizeProfile(join(profDir, `${name}.cpuprofile`), SI_ROOT, 12) };
        log(`profile ${name}: ${secs(r.ms)} s wall, ${profiles[`${t}, ${mode}`].totalMs} ms profiled -> bench/data/profiles/${name}.cpuprofile`);
      }
    }
  }

  await cleanup();

  info.elapsedS = Math.round((Date.now() - t0) / 1000);
  const md = report(info, profiles, opts);
  process.stdout.write(md);
  writeFileSync(join(DATA, 'last-run.md'), md);
  writeFileSync(join(DATA, 'last-run.json'), JSON.stringify({ info, results, profiles }, null, 2));
  log(`\nwritten: bench/data/last-run.md, bench/data/last-run.json (${info.elapsedS} s in all)`);
  if (results.some((r) => r.failures.length && r.id !== 'npm11')) process.exitCode = 1;
}

// ---------------------------------------------------------------- hostile registry answers

/** A packument that never closes, `{"name":…,"versions":{},"readme":"xxxx…`, `total` bytes, made as it is read. */
function* endlessPackument(name, total) {
  const head = Buffer.from(`{"name":${JSON.stringify(name)},"versions":{},"readme":"`);
  yield head;
  const chunk = Buffer.alloc(1 << 20, 'x');
  for (let sent = head.length; sent < total; sent += chunk.length) yield chunk;
}

/**
 * What a check costs when the registry answers the metadata request with a 2 GiB body, or with a 2 MB gzip body
 * that inflates to 2 GiB (both refused once the limit, 128 MiB, is read), with an honest packument of 100 MB
 * (npm's registry refuses larger ones), with three valid hostile ones of 127 MB (one string; 14,000 versions of
 * the fields the guard keeps; 29,999 versions) and one of 15 MB holding a million tiny versions (refused): peak
 * RSS of the whole check, from its own registry, cold.
 */
async function hostileRows(TestRegistry, work, opts) {
  const { Readable } = await import('node:stream');
  const { createGzip } = await import('node:zlib');
  const registry = await TestRegistry.start();
  try {
    const GiB = 2 ** 30;
    const t = Date.now();
    const gz = [];
    for await (const b of Readable.from(endlessPackument('hostile', 2 * GiB)).pipe(createGzip({ level: 9 }))) gz.push(b);
    const bomb = Buffer.concat(gz);
    registry.addPackage({ name: 'hostile', versions: [{ version: '1.0.0', publishedAt: '2024-01-01T00:00:00.000Z' }] });
    // 100 MB honest: 1,000 versions each carrying 100 KB of text (as vite's licenseText in every version).
    registry.addPackage({ name: 'big', versions: [{ version: '1.0.999', publishedAt: '2024-01-01T00:00:00.000Z' }] });
    const tgz = registry.tarballOf('big', '1.0.999');
    const integrity = registry.integrityOf('big', '1.0.999');
    const licenseText = 'Permission is hereby granted, free of charge, to any person obtaining a copy. '.repeat(1300);
    const doc = { name: 'big', 'dist-tags': { latest: '1.0.999' }, versions: {}, time: {} };
    for (let i = 0; i < 1000; i++) {
      const v = `1.0.${i}`;
      doc.versions[v] = { name: 'big', version: v, licenseText, dist: { tarball: registry.tarballUrl('big', v), integrity } };
      doc.time[v] = '2024-01-01T00:00:00.000Z';
    }
    registry.addRawPackument(doc, { '1.0.999': tgz });
    // Hostile but valid JSON, just under the 128 MiB limit: one 127 MB string (a readme), ...
    const MiB = 2 ** 20;
    registry.addPackage({ name: 'onestring', versions: [{ version: '1.0.0', publishedAt: '2024-01-01T00:00:00.000Z' }] });
    const oneDoc = {
      name: 'onestring',
      'dist-tags': { latest: '1.0.0' },
      time: { '1.0.0': '2024-01-01T00:00:00.000Z' },
      versions: { '1.0.0': { name: 'onestring', version: '1.0.0', dist: { tarball: registry.tarballUrl('onestring', '1.0.0'), integrity: registry.integrityOf('onestring', '1.0.0') } } },
    };
    oneDoc.readme = 'x'.repeat(127 * MiB - Buffer.byteLength(JSON.stringify(oneDoc)) - 20);
    registry.addRawPackument(oneDoc, { '1.0.0': registry.tarballOf('onestring', '1.0.0') });
    // ... and 14,000 versions whose fields the guard reads (a 480-byte install script, a bin, dist, publisher:
    // about 8 MB of kept text, just under the stream parser's bound), padded with a readme to 127 MB.
    registry.addPackage({ name: 'wide', versions: [{ version: '1.0.0', publishedAt: '2024-01-01T00:00:00.000Z' }] });
    const wideDoc = { name: 'wide', 'dist-tags': { latest: '1.0.0' }, time: {}, versions: {} };
    const wideIntegrity = registry.integrityOf('wide', '1.0.0');
    for (let i = 0; i < 14_000; i++) {
      const v = i === 0 ? '1.0.0' : `0.${Math.floor(i / 1000)}.${i % 1000}`;
      wideDoc.versions[v] = {
        name: 'wide',
        version: v,
        scripts: { postinstall: `node ${'p'.repeat(470)}.js` },
        bin: { [`wide${i % 10}`]: 'cli.js' },
        _npmUser: { name: `user${i % 100}` },
        dist: { tarball: registry.tarballUrl('wide', v), integrity: wideIntegrity, shasum: 'f'.repeat(40) },
      };
      wideDoc.time[v] = '2024-01-01T00:00:00.000Z';
    }
    wideDoc.readme = 'x'.repeat(127 * MiB - Buffer.byteLength(JSON.stringify(wideDoc)) - 20);
    registry.addRawPackument(wideDoc, { '1.0.0': registry.tarballOf('wide', '1.0.0') });
    // ... and 29,999 versions (the most read is 30,000), each with a publish time and a publisher.
    registry.addPackage({ name: 'many', versions: [{ version: '1.0.0', publishedAt: '2024-01-01T00:00:00.000Z' }] });
    const manyDoc = { name: 'many', 'dist-tags': { latest: '1.0.0' }, time: {}, versions: {} };
    for (let i = 0; i < 29_999; i++) {
      const v = i === 0 ? '1.0.0' : `0.${Math.floor(i / 1000)}.${i % 1000}`;
      manyDoc.versions[v] =
        i === 0 ? { name: 'many', version: v, dist: { tarball: registry.tarballUrl('many', v), integrity: registry.integrityOf('many', v) } } : { _npmUser: { name: `u${i % 10}` } };
      manyDoc.time[v] = '2024-01-01T00:00:00.000Z';
    }
    manyDoc.readme = 'x'.repeat(127 * MiB - Buffer.byteLength(JSON.stringify(manyDoc)) - 20);
    registry.addRawPackument(manyDoc, { '1.0.0': registry.tarballOf('many', '1.0.0') });
    // ... and, not padded, a million tiny versions: 15 MB, refused (more than 30,000 versions).
    registry.addPackage({ name: 'million', versions: [{ version: '1.0.0', publishedAt: '2024-01-01T00:00:00.000Z' }] });
    const millionDoc = { name: 'million', 'dist-tags': { latest: '1.0.0' }, versions: {} };
    for (let i = 0; i < 1_000_000; i++)
      millionDoc.versions[i === 0 ? '1.0.0' : `0.0.${i}`] =
        i === 0 ? { name: 'million', version: '1.0.0', dist: { tarball: registry.tarballUrl('million', '1.0.0'), integrity: registry.integrityOf('million', '1.0.0') } } : {};
    registry.addRawPackument(millionDoc, { '1.0.0': registry.tarballOf('million', '1.0.0') });
    log(`hostile bodies ready: gzip bomb ${(bomb.length / 2 ** 20).toFixed(1)} MB on the wire for 2 GiB inflated (${Date.now() - t} ms)`);

    const project = (name, deps) => {
      const dir = join(work, `hostile-${name}`);
      mkdirSync(dir, { recursive: true });
      const packages = { '': { name: 'app', version: '1.0.0', dependencies: deps } };
      for (const [n, v] of Object.entries(deps)) packages[`node_modules/${n}`] = { version: v, resolved: registry.tarballUrl(n, v), integrity: registry.integrityOf(n, v) };
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', dependencies: deps }));
      writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ name: 'app', version: '1.0.0', lockfileVersion: 3, requires: true, packages }));
      return dir;
    };
    const refused = (res) => {
      if (res.timedOut) return 'timed out';
      let rep;
      try {
        rep = JSON.parse(res.stdout);
      } catch {
        return `exit ${res.code}, no JSON report: ${(res.stderr || res.stdout).trim().split('\n').slice(-3).join(' | ')}`;
      }
      if (res.code !== 2 || rep.errors?.[0]?.code !== 'registry-too-large') return `exit ${res.code}, not refused as too large: ${JSON.stringify(rep.errors?.[0] ?? null)}`;
      return undefined;
    };
    const checked = (res) => {
      if (res.timedOut) return 'timed out';
      try {
        const rep = JSON.parse(res.stdout);
        if (rep.errors?.length) return `errors: ${JSON.stringify(rep.errors[0])}`;
      } catch {
        return `exit ${res.code}, no JSON report: ${(res.stderr || res.stdout).trim().split('\n').slice(-3).join(' | ')}`;
      }
      return undefined;
    };
    const check = (id, label, dir, validate, fault) => {
      const cache = join(work, `hostile-cache-${id}`);
      return {
        id,
        label,
        cmd: process.execPath,
        cwd: dir,
        env: () => makeEnv(work, registry.url, join(work, 'unused-npm-cache')),
        validate,
        argv: () => [bin ?? SI_BIN, 'check', '--json', '--retries', '0', '--cache-dir', cache],
        prepare: async () => {
          rmSync(cache, { recursive: true, force: true });
          registry.clearFaults();
          if (fault) registry.fault(fault.name, { packumentOnly: true, ...fault.fault });
        },
      };
    };
    mkdirSync(join(work, 'home', 'xdg-cache'), { recursive: true });
    writeFileSync(join(work, 'home', '.npmrc'), '');
    writeFileSync(join(work, 'home', 'global-npmrc'), '');
    const hostileDir = project('one', { hostile: '1.0.0' });
    await timeGroup({
      row: 'hostile',
      tree: '2 GiB packument',
      mode: 'cold',
      registry,
      runs: opts.runs,
      commands: [check('si-2gib', 'safe-install check (refuses at 128 MiB)', hostileDir, refused, { name: 'hostile', fault: { stream: () => endlessPackument('hostile', 2 * GiB) } })],
    });
    await timeGroup({
      row: 'hostile',
      tree: 'gzip bomb (2 MB -> 2 GiB)',
      mode: 'cold',
      registry,
      runs: opts.runs,
      commands: [
        check('si-gzip', 'safe-install check (refuses at 128 MiB inflated)', hostileDir, refused, { name: 'hostile', fault: { stream: () => [bomb], headers: { 'content-encoding': 'gzip' } } }),
      ],
    });
    // Valid bodies shaped to cost memory: each row one project, read or refused.
    for (const [tree, id, label, name, version, expect] of [
      ['honest 100 MB packument', 'si-honest', 'safe-install check (reads it)', 'big', '1.0.999', checked],
      ['valid JSON 127 MB, one string', 'si-onestring', 'safe-install check (reads it)', 'onestring', '1.0.0', checked],
      ['valid JSON 127 MB, 14k versions of kept fields', 'si-wide', 'safe-install check (reads it)', 'wide', '1.0.0', checked],
      ['valid JSON 127 MB, 29,999 versions', 'si-many', 'safe-install check (reads it)', 'many', '1.0.0', checked],
      ['valid JSON 15 MB, 1,000,000 versions', 'si-million', 'safe-install check (refuses past 30,000 versions)', 'million', '1.0.0', refused],
    ]) {
      await timeGroup({ row: 'hostile', tree, mode: 'cold', registry, runs: opts.runs, commands: [check(id, label, project(name, { [name]: version }), expect)] });
    }
  } finally {
    await registry.close();
  }
}

// ---------------------------------------------------------------- report

function report(info, profiles, opts) {
  const lines = [];
  const m = info.machine;
  lines.push(`## Run of ${m.date}`, '');
  lines.push(`- machine: ${m.nproc} CPUs (${m.cpus}), ${m.memory}, Linux ${m.kernel}, load average at start ${m.loadavg}`);
  lines.push(
    `- Node ${m.node}, npm ${m.npm} (machine), npm ${m.npm9} (bench/data/npm-9.6.7), pnpm ${m.pnpm ?? '-'} (node_modules/pnpm), safe-install ${m.safeInstall}, dist/ built ${info.build?.builtAt} (a copy taken at start is what runs)`,
  );
  lines.push(
    `- ${opts.runs} timed runs per command (median, min-max); commands of a row alternate inside every iteration; peak RSS is the largest process of the command's tree (GNU time %M), the max over runs`,
  );
  if (info.names !== undefined)
    lines.push(
      `- data: ${info.names} real packuments (${info.versions} versions) recorded from ${info.upstream}, every version signed with the bench key; newest locked version ${info.newestLocked.id} at ${info.newestLocked.at}`,
    );
  for (const [t, v] of Object.entries(info.trees ?? {})) lines.push(`- ${t} lockfile: ${v.locked} locked packages, ${v.registry} from the registry, ${v.bundled} bundled inside other packages`);
  lines.push(`- total bench time ${info.elapsedS} s`, '');

  lines.push('| row | tree | cache | command | median s | min-max s | peak RSS MB | requests | vs |');
  lines.push('| --- | --- | --- | --- | ---: | ---: | ---: | ---: | --- |');
  const baseline = (r) => {
    if (r.row === 'check' && r.id !== 'npm9') return find('check', r.tree, r.mode, 'npm9');
    if (r.row === 'install' && r.id === 'si')
      return find('install', r.tree, r.mode, 'npm') ?? find('install', r.tree, r.mode, 'npm-mra') ?? find('install', r.tree, r.mode, 'pnpm') ?? find('install', r.tree, r.mode, 'pnpm-mra');
    if (r.row === 'growth' && r.id !== 'si-1000') return find('growth', r.tree, r.mode, 'si-1000');
    return undefined;
  };
  for (const r of results) {
    const s = stats(r);
    let vs = '';
    const b = baseline(r);
    const bs = b && stats(b);
    if (s && bs) vs = `${(s.median / bs.median).toFixed(2)}x ${b.label}`;
    if (r.row === 'install' && r.id === 'si' && s) {
      const mraRec = find('install', r.tree, r.mode, 'npm-mra');
      const mra = mraRec && stats(mraRec);
      if (mra && find('install', r.tree, r.mode, 'npm')) vs += `; ${(s.median / mra.median).toFixed(2)}x npm ci --min-release-age=7`;
      const pmraRec = find('install', r.tree, r.mode, 'pnpm-mra');
      const pmra = pmraRec && stats(pmraRec);
      if (pmra && find('install', r.tree, r.mode, 'pnpm')) vs += `; ${(s.median / pmra.median).toFixed(2)}x pnpm with minimumReleaseAge`;
    }
    if (r.id === 'npm11') vs = `${r.info.exit}: ${r.info.error ?? ''}`.slice(0, 160);
    if (r.row === 'check' && r.info.verified !== undefined) vs += `${vs ? '; ' : ''}${r.info.verified} verified${r.info.audited ? ` of ${r.info.audited} audited` : ''}`;
    const fail = r.failures.length && r.id !== 'npm11' ? ` (${r.failures.length} failed: ${r.failures[0].slice(0, 80)})` : '';
    lines.push(
      `| ${r.row} | ${r.tree} | ${r.mode} | ${r.label}${fail} | ${s ? secs(s.median) : '-'} | ${s ? `${secs(s.min)}-${secs(s.max)}` : '-'} | ${s?.rss ? s.rss.toFixed(0) : '-'} | ${s?.requests ?? '-'}${s?.abbreviated ? ` (${s.abbreviated} abbr.)` : ''} | ${vs} |`,
    );
  }
  lines.push('');

  // Targets
  const t = [];
  const get = (row, tree, mode, id) => stats(find(row, tree, mode, id) ?? { samples: [] });
  const verdict = (ok) => (ok === undefined ? 'not measured' : ok ? 'met' : '**not met**');
  for (const tree of ['npm/cli', 'jquery']) {
    const si = get('check', tree, 'cold', 'si');
    const npm = get('check', tree, 'cold', 'npm9');
    t.push(
      `| cold check <= 0.5x npm audit signatures (${tree}) | ${si && npm ? `${(si.median / npm.median).toFixed(2)}x (${secs(si.median)} s vs ${secs(npm.median)} s)` : '-'} | ${verdict(si && npm ? si.median <= 0.5 * npm.median : undefined)} |`,
    );
  }
  for (const tree of ['npm/cli', 'jquery']) {
    const si = get('check', tree, 'warm', 'si');
    t.push(`| warm check < 0.5 s (${tree}, ${info.trees?.[tree]?.registry ?? '?'} registry packages) | ${si ? `${secs(si.median)} s` : '-'} | ${verdict(si ? si.median < 500 : undefined)} |`);
  }
  const installTrees = [...new Set(results.filter((r) => r.row === 'install').map((r) => r.tree))];
  for (const tree of installTrees) {
    for (const mode of ['cold', 'warm']) {
      const si = get('install', tree, mode, 'si');
      const npm = get('install', tree, mode, 'npm');
      const mra = get('install', tree, mode, 'npm-mra');
      if (si && npm && mode === 'warm')
        t.push(
          `| install <= 1.15x plain npm ci, warm (${tree}) | ${(si.median / npm.median).toFixed(2)}x (${secs(si.median)} s vs ${secs(npm.median)} s) | ${verdict(si.median <= 1.15 * npm.median)} |`,
        );
      if (si && mra)
        t.push(
          `| install no slower than npm ci --min-release-age=7, ${mode} (${tree}) | ${(si.median / mra.median).toFixed(2)}x (${secs(si.median)} s vs ${secs(mra.median)} s) | ${verdict(si.median <= mra.median)} |`,
        );
      const pnpm = get('install', tree, mode, 'pnpm');
      const pmra = get('install', tree, mode, 'pnpm-mra');
      if (si && pnpm && mode === 'warm')
        t.push(
          `| safe-install (pnpm) full install <= 1.15x plain pnpm install --frozen-lockfile, warm (${tree}) | ${(si.median / pnpm.median).toFixed(2)}x (${secs(si.median)} s vs ${secs(pnpm.median)} s) | ${verdict(si.median <= 1.15 * pnpm.median)} |`,
        );
      if (si && pmra)
        t.push(
          `| safe-install (pnpm) no slower than pnpm with minimumReleaseAge, ${mode} (${tree}) | ${(si.median / pmra.median).toFixed(2)}x (${secs(si.median)} s vs ${secs(pmra.median)} s) | ${verdict(si.median <= pmra.median)} |`,
        );
    }
  }
  const rssCli = Math.max(...['cold', 'warm'].map((mo) => get('check', 'npm/cli', mo, 'si')?.rss ?? 0));
  t.push(`| peak memory < 250 MB (npm/cli lockfile) | ${rssCli ? `${rssCli.toFixed(0)} MB` : '-'} | ${verdict(rssCli ? rssCli < 250 : undefined)} |`);
  for (const mode of ['cold', 'warm']) {
    const g = GROWTH_SIZES.map((n) => ({ n, s: get('growth', 'synthetic', mode, `si-${n}`) }));
    if (g.every((x) => x.s)) {
      const [a, , c] = g;
      const perPkg = g.map((x) => `${x.n}: ${(x.s.median / x.n).toFixed(2)} ms/pkg, ${x.s.rss?.toFixed(0)} MB`).join('; ');
      const timeRatio = c.s.median / a.s.median;
      const sizeRatio = c.n / a.n;
      const memSlope1 = (g[1].s.rss - a.s.rss) / (g[1].n - a.n);
      const memSlope2 = (c.s.rss - g[1].s.rss) / (c.n - g[1].n);
      const linear = timeRatio <= sizeRatio * 1.25 && memSlope2 <= memSlope1 * 1.5 + 0.002;
      t.push(
        `| linear growth to 10,000 packages, ${mode} | time x${timeRatio.toFixed(1)} for x${sizeRatio} packages; memory ${(memSlope1 * 1000).toFixed(1)} then ${(memSlope2 * 1000).toFixed(1)} MB per 1,000 (${perPkg}) | ${verdict(linear)} |`,
      );
    }
  }
  for (const r of results.filter((x) => x.row === 'hostile' && x.id !== 'si-honest')) {
    const s = stats(r);
    t.push(`| peak memory < 250 MB, refusing ${r.tree} | ${s?.rss ? `${s.rss.toFixed(0)} MB` : '-'} | ${verdict(s?.rss ? s.rss < 250 : undefined)} |`);
  }
  const lat = get('check', 'npm/cli', `cold, ${opts.latency} ms latency`, 'si');
  t.push(`| cold check with ${opts.latency} ms latency < 5 s (npm/cli) | ${lat ? `${secs(lat.median)} s` : '-'} | ${verdict(lat ? lat.median < 5000 : undefined)} |`);
  lines.push('| target | measured | |', '| --- | --- | --- |', ...t, '');

  for (const [name, p] of Object.entries(profiles)) {
    lines.push(`### Profile: safe-install check, ${name} (${secs(p.wallMs)} s wall, ${(p.totalMs / 1000).toFixed(2)} s profiled in the main thread)`, '');
    lines.push('| ms | where the main thread spends its time |', '| ---: | --- |', ...p.buckets.map((x) => `| ${x.ms} | ${x.fn} |`), '');
    lines.push('| self ms | top functions |', '| ---: | --- |', ...p.self.slice(0, 10).map((x) => `| ${x.ms} | \`${x.fn}\` |`), '');
  }
  return lines.join('\n') + '\n';
}

main().catch(async (err) => {
  console.error(err?.stack ?? err);
  killRunning();
  await cleanup().catch(() => {});
  process.exitCode = 2;
});
