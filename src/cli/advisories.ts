// `safe-install advisories update [--from URL]`: download OSV's npm export and index it into the cache, where the
// advisories check finds it (while it is younger than the policy's advisories.maxAge) and then sends no advisory
// request anywhere. Progress goes to stderr on a terminal only; the result line to stdout.
import { constants } from 'node:os';
import { GuardError } from '../errors.js';
import { AdvisoryDbError } from '../advisories/db.js';
import { DEFAULT_MAX_DOWNLOAD, OSV_NPM_EXPORT, updateAdvisoryDb, type UpdateProgress } from '../advisories/update.js';
import { parseDuration } from '../util/duration.js';
import { loadNpmSettings } from '../project/npm-config.js';
import { defaultCacheDir } from '../registry/cache.js';
import { createTransport, type Transport } from '../registry/http.js';
import { displayText } from '../util/safe-text.js';
import { formatBytes, parseSize } from '../util/size.js';

export interface AdvisoriesUpdateFlags {
  from?: string;
  cacheDir?: string;
  maxSize?: string;
  timeout?: string;
  cwd?: string;
}

/** npm's settings that concern the connection (proxy, TLS); never a credential: the advisory host is no registry. */
const CONNECTION_KEYS = ['ca', 'cert', 'key', 'strictSSL', 'httpsProxy', 'proxy', 'noProxy', 'localAddress', 'userAgent'];

function progressLine(): ((p: UpdateProgress) => void) | undefined {
  if (!process.stderr.isTTY || process.env.TERM === 'dumb') return undefined;
  let last = 0;
  return (p) => {
    const now = Date.now();
    if (now - last < 100) return;
    last = now;
    const text =
      p.phase === 'download'
        ? `downloading: ${formatBytes(p.bytes)}${p.total ? ` of ${formatBytes(p.total)} (${Math.floor((p.bytes / p.total) * 100)}%)` : ''}`
        : `indexing: ${p.entries}/${p.entryCount} records read, ${p.records} npm records`;
    process.stderr.write(`\r\x1b[Ksafe-install: ${text}`);
  };
}

export async function advisoriesUpdateCommand(flags: AdvisoriesUpdateFlags): Promise<number> {
  const cacheDir = flags.cacheDir ?? defaultCacheDir();
  let maxDownloadBytes = DEFAULT_MAX_DOWNLOAD;
  if (flags.maxSize !== undefined) {
    try {
      maxDownloadBytes = parseSize(flags.maxSize);
    } catch (err) {
      throw new GuardError('bad-usage', `--max-size: ${(err as Error).message}`);
    }
  }
  let timeoutMs = 30_000;
  if (flags.timeout !== undefined) {
    try {
      timeoutMs = /^\d+$/.test(flags.timeout) ? Number(flags.timeout) * 1000 : parseDuration(flags.timeout);
    } catch (err) {
      throw new GuardError('bad-usage', `--timeout: ${(err as Error).message}`);
    }
  }
  const from = flags.from ?? OSV_NPM_EXPORT;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(from) && !/^(https?|file):/i.test(from)) {
    throw new GuardError('bad-usage', `--from ${from}: only http(s) URLs, file: URLs and paths are read`);
  }
  let transport: Transport | undefined;
  if (/^https?:\/\//i.test(from)) {
    try {
      new URL(from);
    } catch {
      throw new GuardError('bad-usage', `--from: not a URL: ${from}`);
    }
    const settings = await loadNpmSettings(flags.cwd ?? process.cwd());
    const fetchOptions: Record<string, unknown> = {};
    for (const k of CONNECTION_KEYS) if (settings.flat[k] !== undefined) fetchOptions[k] = settings.flat[k];
    transport = createTransport({ fetchOptions, timeoutMs, retries: 2 });
  }
  const progress = progressLine();
  // Ctrl-C: the temporary folder is removed by update.ts's exit handler, the lock by lock.ts's; the old database
  // stays in use.
  const onSignal = (signal: NodeJS.Signals) => {
    if (progress) process.stderr.write('\r\x1b[K');
    process.stderr.write(`Interrupted (${signal}): the advisory database was not changed\n`);
    process.exit(128 + (constants.signals[signal] ?? 1));
  };
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  for (const s of signals) process.on(s, onSignal);
  try {
    const { dir, meta, bytes } = await updateAdvisoryDb({ cacheDir, from, transport, maxDownloadBytes, onProgress: progress });
    if (progress) process.stderr.write('\r\x1b[K');
    process.stdout.write(
      `Updated the advisory database: ${meta.records} records for ${meta.names} npm packages from ${displayText(from)} (${formatBytes(bytes)}, sha256 ${meta.sha256 ?? '?'})\n` +
        `  in ${displayText(dir)}; checks use it while it is younger than the policy's advisories.maxAge, with no advisory request\n`,
    );
    return 0;
  } catch (err) {
    if (progress) process.stderr.write('\r\x1b[K');
    if (err instanceof AdvisoryDbError) {
      throw new GuardError('registry-error', err.message, {
        remedy: 'the advisory database in use was not changed; check the URL (--from) and the network, and run this again',
      });
    }
    throw err;
  } finally {
    for (const s of signals) process.removeListener(s, onSignal);
  }
}
