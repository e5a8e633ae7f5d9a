// The quarantine ledger: one JSON file per project (.safe-install/quarantine.json) recording every version that
// was held, why, since when, when it becomes eligible, its fallback, and its release. Written atomically under
// a lock file (util/lock.ts, in the ignored scratch folder .safe-install/tmp/), so two runs at once never lose
// each other's entries. Only the commands that install or edit state record (the install, the hook, add,
// update, fix), and only as of the real present: `check` and any run with --now read nothing and write nothing
// here (cli/held.ts).
import { existsSync, readFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { classifyError, GuardError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic.js';
import { scratchDir, withLocks } from '../util/lock.js';
import { redact } from '../util/safe-text.js';
import type { PackageVerdict } from '../verdict/verdict.js';
import { once } from '../util/lazy.js';

export const LEDGER_FILE = join('.safe-install', 'quarantine.json');

/** Read-modify-write of the ledger, under its own lock in the project's scratch folder. */
function withLedgerLock<T>(projectDir: string, fn: () => Promise<T>): Promise<T> {
  return withLocks([join(scratchDir(projectDir), 'quarantine.json.lock')], fn, { what: join(projectDir, LEDGER_FILE) });
}

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

/** A ledger larger than this is not read (a real one holds a few KB per held version). */
const MAX_LEDGER_BYTES = 32 * 1024 * 1024;

const require = createRequire(import.meta.url);
type Validator = ((doc: unknown) => boolean) & { errors?: { instancePath: string; message?: string; params?: Record<string, unknown> }[] | null };
/** The validator `npm run build` generates (scripts/compile-policy-schema.cjs); compiled here when running from src/. */
const ledgerValidator = once((): Validator => {
  try {
    return require('./ledger-validator.cjs') as Validator;
  } catch {
    const Ajv = require('ajv');
    const schemaFile = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'policies', 'quarantine-ledger.schema.json');
    return new Ajv({ allErrors: true, strict: false }).compile(JSON.parse(readFileSync(schemaFile, 'utf8'))) as Validator;
  }
});

function badLedger(file: string, why: string, cause?: unknown): GuardError {
  return new GuardError('bad-ledger', `the quarantine ledger ${file} ${why}`, {
    remedy:
      `the ledger is only a record of what was held (verdicts never depend on it): restore it from version control ` +
      `(git checkout -- ${LEDGER_FILE}), or delete it and the next check records what is held again (first-seen times start over)`,
    ...(cause === undefined ? {} : { cause }),
  });
}

/**
 * The project's ledger; empty when there is none. A ledger that exists but cannot be read, is not JSON, or does
 * not match policies/quarantine-ledger.schema.json is a GuardError (`bad-ledger`) naming the file and how to
 * repair it: never a crash, and never silently replaced (a check that cannot read it does not write it).
 */
export async function readLedger(projectDir: string): Promise<Ledger> {
  const file = join(projectDir, LEDGER_FILE);
  let text: string;
  try {
    const st = await stat(file);
    if (!st.isFile()) throw badLedger(file, 'is not a file');
    if (st.size > MAX_LEDGER_BYTES) throw badLedger(file, `is ${st.size} bytes, more than a ledger ever holds (${MAX_LEDGER_BYTES})`);
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (err instanceof GuardError) throw err;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !(await isDanglingLink(file))) return { version: 1, entries: [] };
    const fs = classifyError(err);
    throw badLedger(file, `cannot be read: ${fs ? fs.message : (err as Error).message}`, err);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw badLedger(file, `is not valid JSON (${(err as Error).message})`, err);
  }
  const validate = ledgerValidator();
  if (!validate(doc)) {
    const problems = [
      ...new Set(
        (validate.errors ?? []).map((e) => {
          const field = e.instancePath ? e.instancePath.slice(1).replace(/\//g, '.') : '(top level)';
          const extra = e.params?.additionalProperty ? ` "${e.params.additionalProperty}"` : e.params?.allowedValues ? ` (${(e.params.allowedValues as string[]).join(', ')})` : '';
          return `${field}: ${e.message}${extra}`;
        }),
      ),
    ];
    const shown = problems.slice(0, 8).join('\n  ') + (problems.length > 8 ? `\n  ... and ${problems.length - 8} more` : '');
    throw badLedger(file, `is not a valid ledger (schema policies/quarantine-ledger.schema.json):\n  ${shown}`);
  }
  return doc as Ledger;
}

async function isDanglingLink(file: string): Promise<boolean> {
  const { lstat } = await import('node:fs/promises');
  return lstat(file).then(
    (s) => s.isSymbolicLink(),
    () => false,
  );
}

/**
 * Record this run's verdicts: quarantined versions are held (first-seen kept), and held versions that now pass
 * every check are released. Returns what changed, for the report.
 */
export async function recordVerdicts(projectDir: string, verdicts: PackageVerdict[], now: Date): Promise<LedgerUpdate> {
  const file = join(projectDir, LEDGER_FILE);
  // Nothing held and no ledger yet: leave the project untouched (a passing check writes no file).
  if (!verdicts.some((v) => v.verdict === 'quarantine') && !existsSync(file)) return { held: [], released: [] };
  return withLedgerLock(projectDir, async () => {
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
  await withLedgerLock(projectDir, async () => {
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
