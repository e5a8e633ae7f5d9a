// Which package manager will really run, asked once before anything is checked or installed: the program
// runPm starts (npm_execpath, the first on PATH, or a corepack shim) answers `--version` in the project folder
// (so a yarnPath release or corepack's pick answers for itself), bounded in time and output. A version that
// cannot install this lockfile frozen, or whose major differs from package.json `packageManager`, stops the
// run with exit 2: a yarn 1 lockfile given to yarn 4 fails on yarn 1's flags, or worse, is rewritten.
import { spawn } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { delimiter, dirname, join } from 'node:path';
import semver from 'semver';
import { GuardError } from '../errors.js';
import type { PackageManagerInfo } from '../project/package-manager.js';
import { displayText } from '../util/safe-text.js';
import { GUARD_ENV, pmCommand, resolvePmScript } from './spawn.js';

/** How long `<pm> --version` may take: corepack may first download the declared version. */
export const PROBE_MS = 20_000;
export const COREPACK_PROBE_MS = 120_000;
const MAX_OUTPUT = 64 * 1024;

const asked = new Map<string, Promise<PackageManagerInfo>>();

/**
 * `info` with the version that runs and where it runs from, or a GuardError (exit 2) saying what was found,
 * what this project needs and how to get it. Asked once per package manager and folder in a process.
 */
export function confirmPackageManager(info: PackageManagerInfo, dir: string): Promise<PackageManagerInfo> {
  const key = `${info.pm}\0${dir}`;
  let p = asked.get(key);
  if (!p) {
    p = confirm(info, dir);
    asked.set(key, p);
  }
  return p;
}

async function confirm(info: PackageManagerInfo, dir: string): Promise<PackageManagerInfo> {
  const { pm } = info;
  const { cmd, pre } = pmCommand(pm);
  const script = await resolvePmScript(pm);
  const corepack = script !== undefined && /[\\/]corepack[\\/]dist[\\/][^\\/]+\.[cm]?js$/.test(script);
  const via = corepack ? 'corepack' : pre.length ? 'npm_execpath' : 'PATH';
  // A wrapper whose script cannot be told is named as the file on PATH.
  const path = script ?? (pre.length ? undefined : await firstOnPath(cmd)) ?? cmd;
  const shown = displayText(path);
  const corepackOnPath = corepack || (await firstOnPath('corepack')) !== undefined;

  // npm has no per-project switch (no yarnPath, no packageManager download): its package.json tells, without a spawn.
  let version = pm === 'npm' && script && !corepack ? await npmPackageVersion(script) : undefined;
  if (!version) version = await askVersion(pm, cmd, [...pre, '--version'], dir, corepack ? COREPACK_PROBE_MS : PROBE_MS, info, shown, corepack);

  const where = via === 'PATH' ? 'first on PATH' : via === 'corepack' ? 'through corepack' : 'the one that started safe-install';
  const getIt = (want: string) =>
    info.declared && !semver.satisfies(info.declared, info.needs.range)
      ? `package.json "packageManager" (${pm}@${info.declared}) and ${info.lockfile} (${info.needs.label}) disagree: correct the field, or the lockfile with the declared ${pm}, then run safe-install again`
      : info.declared
        ? `run \`corepack enable\` (once; it puts shims on PATH) so the declared ${pm}@${info.declared} runs, or install ${want} and put it first on PATH`
        : `install ${want} and put it first on PATH${corepackOnPath ? `, or declare it in package.json ("packageManager": "${pm}@<version>") and run \`corepack enable\`` : ''}`;
  if (!semver.satisfies(version, info.needs.range)) {
    throw new GuardError('wrong-package-manager', `${info.lockfile} needs ${info.needs.label}, but ${pm} ${version} would run (${shown}, ${where}); nothing was checked or installed`, {
      remedy: getIt(info.needs.label),
    });
  }
  if (info.declared && semver.major(info.declared) !== semver.major(version)) {
    throw new GuardError(
      'wrong-package-manager',
      `package.json "packageManager" declares ${pm}@${info.declared}, but ${pm} ${version} would run (${shown}, ${where}); nothing was checked or installed`,
      {
        remedy: getIt(`${pm} ${semver.major(info.declared)}`),
      },
    );
  }
  return { ...info, version, runs: { path, via } };
}

/** The line of a failed run's output that says what went wrong (not a stack frame or a source excerpt). */
function errorLine(text: string): string {
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
  return lines.find((l) => /^(?:\w*Error:|ERR_|ERROR\b|error\b|Usage Error|Internal Error)/.test(l)) ?? lines[0] ?? '';
}

/** The file `name` on PATH that a spawn would start (the first one), if any. */
async function firstOnPath(name: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const file = dir ? join(dir, name) : undefined;
    if (
      file &&
      (await stat(file).then(
        (s) => s.isFile(),
        () => false,
      ))
    )
      return file;
  }
  return undefined;
}

async function npmPackageVersion(script: string): Promise<string | undefined> {
  const text = await readFile(join(dirname(script), '..', 'package.json'), 'utf8').catch(() => undefined);
  if (!text) return undefined;
  try {
    const pkg = JSON.parse(text) as { name?: unknown; version?: unknown };
    return pkg.name === 'npm' && typeof pkg.version === 'string' ? (semver.valid(pkg.version) ?? undefined) : undefined;
  } catch {
    return undefined;
  }
}

function askVersion(pm: string, cmd: string, args: string[], cwd: string, timeoutMs: number, info: PackageManagerInfo, shown: string, corepack: boolean): Promise<string> {
  const what = `\`${pm} --version\` (${shown}${corepack ? ', through corepack' : ''})`;
  const want = info.declared ? `${pm} ${info.declared} (package.json "packageManager")` : info.needs.label;
  const remedy = corepack
    ? `corepack could not provide ${want}: run \`corepack install\` in the project where its registry is reachable (COREPACK_NPM_REGISTRY names a mirror), or put ${want} first on PATH`
    : `install ${want} and put it first on PATH`;
  return new Promise((resolve, reject) => {
    let output = '';
    let err = '';
    const child = spawn(cmd, args, {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      // corepack would otherwise write a packageManager field into the user's package.json.
      env: { ...process.env, COREPACK_ENABLE_AUTO_PIN: '0', [GUARD_ENV]: undefined },
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      // Whatever it started may still hold the pipes: they no longer keep this process waiting.
      child.stdout.destroy();
      child.stderr.destroy();
      child.unref();
      reject(new GuardError('install-failed', `could not tell which ${pm} would run: ${what} did not answer within ${timeoutMs / 1000} s; nothing was checked or installed`, { remedy }));
    }, timeoutMs);
    timer.unref();
    child.stdout.on('data', (d: Buffer) => {
      if (output.length < MAX_OUTPUT) output += d.toString('utf8');
    });
    child.stderr.on('data', (d: Buffer) => {
      if (err.length < MAX_OUTPUT) err += d.toString('utf8');
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'it is not on PATH' : e.message;
      reject(new GuardError('install-failed', `could not start ${pm}: ${why}; nothing was checked or installed`, { remedy: `${info.lockfile} needs ${info.needs.label}: ${remedy}` }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const version = output
        .split(/\r?\n/)
        .map((l) => semver.valid(l.trim()))
        .filter((v): v is string => v !== null)
        .pop();
      if (code === 0 && version) return resolve(version);
      const said = displayText(errorLine(err || output).slice(0, 300));
      const how = code === 0 ? 'printed no version' : `failed (${signal ?? `exit ${code}`})`;
      reject(new GuardError('install-failed', `could not tell which ${pm} would run: ${what} ${how}${said ? `: ${said}` : ''}; nothing was checked or installed`, { remedy }));
    });
  });
}
