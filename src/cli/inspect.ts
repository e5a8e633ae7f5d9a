// `safe-install inspect <name>@<version> [--against <version>] [--json]`: download the tarball of a (held)
// version and of the version it replaces, never run anything from them, and show what changed: what a reviewer
// needs before an override. Exit 0 when the report was produced (whatever it says), 2 when it could not be
// (GuardError, mapped to exit 2 by the CLI entry).
import { basename, resolve } from 'node:path';
import { GuardError, redact } from '../errors.js';
import { DEFAULT_UNPACK_LIMITS, type UnpackLimits } from '../inspect/unpack.js';
import { parseSize } from '../util/size.js';
import { colourWanted, makeStyle } from '../report/text.js';
import { formatInspectText } from '../report/inspect-text.js';
import { inspectTrees } from '../inspect/diff.js';
import type { InspectReport } from '../inspect/types.js';
import { chooseBase, createFetchContext, extractVersion, fetchPackument, lockedVersions, parseSpec, resolveVersion, versionMeta } from '../inspect/fetch.js';
import { maxBodyBytes } from './options.js';

export interface InspectFlags {
  cwd?: string;
  registry?: string;
  against?: string;
  json?: boolean;
  color?: boolean;
  cacheDir?: string;
  maxBodySize?: string;
  /** --max-size: the largest download and unpacked size of one tarball ("512MiB", "3G", bytes; K, M, G binary). */
  maxSize?: string;
  /** --max-files: the most entries one tarball may have. */
  maxFiles?: string;
}

/** The unpack limits the flags ask for; bad values are usage errors. */
export function limitsFromFlags(flags: InspectFlags): Partial<UnpackLimits> {
  const limits: Partial<UnpackLimits> = {};
  if (flags.maxSize !== undefined) {
    let n: number;
    try {
      n = parseSize(flags.maxSize);
    } catch {
      throw new GuardError('bad-usage', `--max-size ${flags.maxSize} is not a size`, { remedy: 'for example --max-size 2GiB, 800M or a number of bytes' });
    }
    limits.maxSize = n;
    // A file larger than the whole limit cannot be unpacked anyway.
    limits.maxFileBytes = Math.min(DEFAULT_UNPACK_LIMITS.maxFileBytes, n);
  }
  if (flags.maxFiles !== undefined) {
    const n = Number(flags.maxFiles);
    if (!Number.isInteger(n) || n < 1) throw new GuardError('bad-usage', `--max-files ${flags.maxFiles} is not a positive whole number`, { remedy: 'for example --max-files 200000' });
    limits.maxEntries = n;
  }
  return limits;
}

/** Build the report for `spec` (`name@version`); throws GuardError when it cannot. */
export async function buildInspectReport(spec: string, flags: InspectFlags = {}): Promise<InspectReport> {
  const { name, version: wanted } = parseSpec(spec);
  const cwd = resolve(flags.cwd ?? process.cwd());
  const limits = limitsFromFlags(flags);
  const ctx = await createFetchContext(name, { cwd, registry: flags.registry, cacheDir: flags.cacheDir, maxBodyBytes: maxBodyBytes(flags.maxBodySize), limits });
  try {
    const packument = await fetchPackument(ctx);
    const version = resolveVersion(packument, name, wanted, 'version', ctx.registry);
    const notes: string[] = [];
    if (version !== wanted) notes.push(`${wanted} is ${version}`);
    const locked = lockedVersions(cwd, name);
    const { choice, notes: choiceNotes } = chooseBase(packument, name, version, {
      ...(flags.against !== undefined ? { against: flags.against } : { locked }),
      registry: ctx.registry,
    });
    notes.push(...choiceNotes);
    if (choice?.reason !== 'lockfile' && locked.versions.some((l) => l.version === version)) {
      notes.push(`${basename(locked.lockfile ?? 'the lockfile')} locks ${name}@${version} itself`);
    }
    // The lockfile's integrity is checked on download too, for whichever of the two it locks.
    const lockedIntegrity = (v: string) => locked.versions.find((l) => l.version === v)?.integrity;
    // Both downloads finish (or fail) before the temporary folder is removed.
    const [target, base] = await Promise.allSettled([
      extractVersion(ctx, version, 'target', lockedIntegrity(version)),
      choice ? extractVersion(ctx, choice.version, 'base', choice.integrity ?? lockedIntegrity(choice.version)) : Promise.resolve(null),
    ]);
    if (target.status === 'rejected') throw target.reason;
    if (base.status === 'rejected') throw base.reason;
    const t = target.value;
    const b = base.value;
    notes.push(...t.notes.map((n) => `${version}: ${n}`), ...(b && choice ? b.notes.map((n) => `${choice.version}: ${n}`) : []));
    return inspectTrees({
      name,
      registry: redact(ctx.registry),
      target: { dir: t.dir, meta: versionMeta(packument, version), notUnpacked: t.notUnpacked },
      base: choice && b ? { dir: b.dir, meta: versionMeta(packument, choice.version), reason: choice.reason, detail: choice.detail, notUnpacked: b.notUnpacked } : null,
      notes,
      limits: { maxFileBytes: ctx.limits.maxFileBytes },
    });
  } finally {
    await ctx.cleanup();
  }
}

export async function inspectCommand(spec: string, flags: InspectFlags): Promise<number> {
  const report = await buildInspectReport(spec, flags);
  if (flags.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  else process.stdout.write(formatInspectText(report, makeStyle(colourWanted(process.stdout, flags.color))));
  return 0;
}
