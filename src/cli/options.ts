// Flag parsing shared by the commands that run the check.
import { resolve } from 'node:path';
import { Option } from 'commander';
import { GuardError } from '../errors.js';
import { parseDuration } from '../util/duration.js';
import type { CheckOptions } from '../pipeline.js';
import { watchCheck } from './progress.js';
import { parsePmFlag } from '../project/package-manager.js';
import { DEFAULT_MAX_BODY, MAX_BODY_ENV, MAX_BODY_FLAG } from '../registry/client.js';
import { formatBytes, parseSize } from '../util/size.js';

export interface CommonFlags {
  cwd?: string;
  lockfile?: string;
  pm?: string;
  registry?: string;
  policy?: string;
  now?: string;
  cacheDir?: string;
  concurrency?: string;
  timeout?: string;
  retries?: string;
  offline?: boolean;
  cacheTtl?: string;
  maxBodySize?: string;
  deadline?: string;
  osvUrl?: string;
  advisoriesDb?: string;
  color?: boolean;
  /** false with --no-input: never prompt. */
  input?: boolean;
  /** --verbose: one line per package and finding (nothing grouped or folded), one approve command per version. */
  verbose?: boolean;
}

export function commonOptions(): Option[] {
  return [
    new Option('-C, --cwd <dir>', 'project folder (default: the current folder)'),
    new Option('--lockfile <path>', 'lockfile to check (default: the one in the project: npm-shrinkwrap.json, package-lock.json, pnpm-lock.yaml or yarn.lock)'),
    new Option('--pm <npm|pnpm|yarn>', 'package manager (default: the one whose lockfile is present; package.json packageManager must agree)'),
    new Option('--registry <url>', 'registry to check against (default: npm config registry)'),
    new Option('--policy <path>', 'policy file (default: safe-install.policy.json in the project)'),
    new Option('--now <iso-8601>', 'evaluate as of this instant (reproducible audits)'),
    new Option('--cache-dir <dir>', 'metadata cache folder (default: $XDG_CACHE_HOME/safe-install)'),
    new Option('--concurrency <n>', 'registry requests at once (default 16)'),
    new Option('--timeout <duration>', 'per-request timeout, e.g. 30s (default 30s)'),
    new Option('--retries <n>', 'retries of a failed request (default 2)'),
    new Option('--deadline <duration>', 'the longest the registry part of the check may take, e.g. 5m; past it the check stops (exit 2) saying what it still waited for (default 5m; 0 for none)'),
    new Option('--offline', 'use only the metadata cache; a miss is an error'),
    new Option('--cache-ttl <duration>', 'use cached metadata this long without asking the registry (default 10m; 0 revalidates every entry)'),
    new Option('--max-body-size <size>', `most bytes read from one registry answer, e.g. 512MiB (default ${formatBytes(DEFAULT_MAX_BODY).replace(' ', '')}; also ${MAX_BODY_ENV})`),
    new Option('--osv-url <url>', "the OSV API asked for advisories (default: the policy's advisories.osvUrl, else https://api.osv.dev)"),
    new Option('--advisories-db <path>', "an offline advisory database (a folder of OSV records or OSV's npm zip export) used instead of the network; no advisory request leaves the machine"),
    new Option('--no-color', 'no colours (NO_COLOR is honoured too)'),
    new Option('--no-input', 'never prompt (also without a terminal, or when CI is set)'),
    new Option('--verbose', 'one line per package: nothing grouped by family or folded, one approve command per held version'),
  ];
}

function positiveInt(name: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new GuardError('bad-usage', `--${name} must be a whole number >= ${min}, not "${value}"`);
  return n;
}

/** --max-body-size, else $SAFE_INSTALL_MAX_BODY_SIZE, else undefined (the client's default). */
export function maxBodyBytes(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): number | undefined {
  const [value, source] = flag !== undefined ? [flag, MAX_BODY_FLAG] : [env[MAX_BODY_ENV], MAX_BODY_ENV];
  if (value === undefined || value === '') return undefined;
  try {
    return parseSize(value);
  } catch (err) {
    throw new GuardError('bad-usage', `${source}: ${(err as Error).message}`);
  }
}

function osvUrl(value: string): string {
  try {
    const u = new URL(value);
    if (u.protocol === 'https:' || u.protocol === 'http:') return u.href.replace(/\/+$/, '');
  } catch {
    // said below
  }
  throw new GuardError('bad-usage', `--osv-url must be an http(s) URL, not "${value}"`);
}

export function toCheckOptions(flags: CommonFlags): CheckOptions {
  let now: Date | undefined;
  if (flags.now !== undefined) {
    now = new Date(flags.now);
    if (!/^\d{4}-\d{2}-\d{2}/.test(flags.now) || Number.isNaN(now.getTime())) {
      throw new GuardError('bad-usage', `--now must be an ISO-8601 instant such as 2026-01-31T12:00:00Z, not "${flags.now}"`);
    }
  }
  /** A number of seconds, or a duration such as 90s or 5m. */
  const secondsOrDuration = (name: string, value: string | undefined): number | undefined => {
    if (value === undefined) return undefined;
    try {
      return /^\d+$/.test(value) ? Number(value) * 1000 : parseDuration(value);
    } catch (err) {
      throw new GuardError('bad-usage', `--${name}: ${(err as Error).message}`);
    }
  };
  const timeoutMs = secondsOrDuration('timeout', flags.timeout);
  const deadlineMs = secondsOrDuration('deadline', flags.deadline);
  let ttlMs: number | undefined;
  if (flags.cacheTtl !== undefined) {
    try {
      ttlMs = flags.cacheTtl === '0' ? 0 : parseDuration(flags.cacheTtl);
    } catch (err) {
      throw new GuardError('bad-usage', `--cache-ttl: ${(err as Error).message}`);
    }
  }
  return {
    ttlMs,
    cwd: flags.cwd ?? process.cwd(),
    lockfile: flags.lockfile === undefined ? undefined : resolve(flags.lockfile),
    registry: flags.registry,
    policy: flags.policy,
    now,
    cacheDir: flags.cacheDir,
    concurrency: positiveInt('concurrency', flags.concurrency, 1),
    retries: positiveInt('retries', flags.retries, 0),
    timeoutMs,
    offline: flags.offline,
    maxBodyBytes: maxBodyBytes(flags.maxBodySize),
    pm: parsePmFlag(flags.pm),
    deadlineMs,
    ...(flags.osvUrl !== undefined ? { osvUrl: osvUrl(flags.osvUrl) } : {}),
    ...(flags.advisoriesDb !== undefined ? { advisoriesDb: resolve(flags.advisoriesDb) } : {}),
    watch: watchCheck,
  };
}
