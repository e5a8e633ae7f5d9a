// The quarantine ledger: one JSON file per project (.safe-install/quarantine.json) recording every version that
// was held, why, since when, when it becomes eligible, its fallback, and its release. Written atomically under
// a lock file, so two runs at once never lose each other's entries.
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic.js';
import { redact } from '../util/safe-text.js';
import type { PackageVerdict } from '../verdict/verdict.js';

export const LEDGER_FILE = join('.safe-install', 'quarantine.json');

export interface LedgerEntry {
  name: string;
  version: string;
  status: 'held' | 'released';
  /** The findings that held it (check, code, message), as last seen. */
  findings: { check: string; code: string; message: string }[];
  firstSeen: string;
  lastSeen: string;
  /** When the release-age hold ends, if that is what holds it. */
  eligibleAt?: string;
  /** The newest version that passes and fits every dependent's range, if any. */
  fallback?: string | null;
  releasedAt?: string;
  /** Why it was released: it passes every check now, or an approval (exception) waives what held it. */
  releasedBecause?: 'passes' | 'approved' | 'replaced';
  /** For `replaced`: the version `fix` moved the project to. */
  replacedBy?: string;
}

export interface Ledger {
  version: 1;
  entries: LedgerEntry[];
}

export interface LedgerUpdate {
  held: LedgerEntry[];
  released: LedgerEntry[];
}

const LOCK_STALE_MS = 30_000;

export async function withLock<T>(file: string, fn: () => Promise<T>): Promise<T> {
  const lock = `${file}.lock`;
  const deadline = Date.now() + 10_000;
  for (let delay = 20; ; delay = Math.min(delay * 2, 250)) {
    try {
      const handle = await open(lock, 'wx');
      await handle.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // A lock left by a killed process is removed once it is clearly stale.
      const age = await stat(lock).then((s) => Date.now() - s.mtimeMs, () => 0);
      if (age > LOCK_STALE_MS) await unlink(lock).catch(() => {});
      if (Date.now() > deadline) throw new Error(`${file} is locked by another run (${lock})`);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
  try {
    return await fn();
  } finally {
    await unlink(lock).catch(() => {});
  }
}

export async function readLedger(projectDir: string): Promise<Ledger> {
  try {
    const doc = JSON.parse(await readFile(join(projectDir, LEDGER_FILE), 'utf8'));
    if (doc?.version === 1 && Array.isArray(doc.entries)) return doc;
  } catch {
    // missing or unreadable: start empty (the ledger is a record, not a gate)
  }
  return { version: 1, entries: [] };
}

/**
 * Record this run's verdicts: quarantined versions are held (first-seen kept), and held versions that now pass
 * every check are released. Returns what changed, for the report.
 */
export async function recordVerdicts(projectDir: string, verdicts: PackageVerdict[], now: Date): Promise<LedgerUpdate> {
  const file = join(projectDir, LEDGER_FILE);
  // Nothing held and no ledger yet: leave the project untouched (a passing check writes no file).
  if (!verdicts.some((v) => v.verdict === 'quarantine') && !existsSync(file)) return { held: [], released: [] };
  await mkdir(join(projectDir, '.safe-install'), { recursive: true });
  return withLock(file, async () => {
    const ledger = await readLedger(projectDir);
    const key = (n: string, v: string) => `${n}@${v}`;
    const byKey = new Map(ledger.entries.map((e) => [key(e.name, e.version), e]));
    const update: LedgerUpdate = { held: [], released: [] };
    const stamp = now.toISOString();
    for (const { pkg, verdict, findings } of verdicts) {
      if (pkg.source !== 'registry') continue;
      const existing = byKey.get(key(pkg.name, pkg.version));
      if (verdict === 'quarantine') {
        const holding = findings.filter((f) => f.action === 'quarantine');
        const age = holding.find((f) => f.code === 'too-young')?.data;
        const entry: LedgerEntry = {
          name: pkg.name,
          version: pkg.version,
          status: 'held',
          // A file in the project (often committed): a message naming the registry URL keeps no credential.
          findings: holding.map((f) => ({ check: f.check, code: f.code, message: redact(f.message) })),
          firstSeen: existing?.status === 'held' ? existing.firstSeen : stamp,
          lastSeen: stamp,
          eligibleAt: age?.eligibleAt as string | undefined,
          fallback: (age?.fallback as string | null | undefined) ?? existing?.fallback,
        };
        byKey.set(key(pkg.name, pkg.version), entry);
        update.held.push(entry);
      } else if (existing?.status === 'held' && verdict !== 'block') {
        const approved = findings.some((f) => f.code === 'exception-applied');
        const released: LedgerEntry = { ...existing, status: 'released', lastSeen: stamp, releasedAt: stamp, releasedBecause: approved ? 'approved' : 'passes' };
        byKey.set(key(pkg.name, pkg.version), released);
        update.released.push(released);
      }
    }
    const next: Ledger = { version: 1, entries: [...byKey.values()].sort((a, b) => key(a.name, a.version).localeCompare(key(b.name, b.version))) };
    await writeFileAtomic(file, JSON.stringify(next, null, 2) + '\n');
    return update;
  });
}

/**
 * After `fix` moved the project off held versions: they are no longer installed, so their entries are released
 * as replaced (with what replaced them), and what the re-check holds now is recorded as usual.
 */
export async function recordReplaced(projectDir: string, replaced: { name: string; from: string; to?: string }[], verdicts: PackageVerdict[], now: Date): Promise<LedgerUpdate> {
  const update = await recordVerdicts(projectDir, verdicts, now);
  const file = join(projectDir, LEDGER_FILE);
  if (!replaced.length || !existsSync(file)) return update;
  await withLock(file, async () => {
    const ledger = await readLedger(projectDir);
    const stamp = now.toISOString();
    for (const e of ledger.entries) {
      const r = replaced.find((x) => x.name === e.name && x.from === e.version);
      if (!r || e.status !== 'held') continue;
      Object.assign(e, { status: 'released', lastSeen: stamp, releasedAt: stamp, releasedBecause: 'replaced', ...(r.to && { replacedBy: r.to }) });
      update.released.push(e);
    }
    await writeFileAtomic(file, JSON.stringify(ledger, null, 2) + '\n');
  });
  return update;
}
