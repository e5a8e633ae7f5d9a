// `--format text,json,sarif,github`, each optionally `=path` (written atomically instead of printed); at most one
// goes to stdout. One run renders every requested report from the same CheckResult.
import { appendFile, mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { GuardError } from '../errors.js';
import type { CheckResult } from '../pipeline.js';
import { writeFileAtomic } from '../util/atomic.js';
import { toCycloneDx } from './cyclonedx.js';
import { toGithubOutput, toGithubSummary } from './github.js';
import { toJson } from './json.js';
import { toSarif } from './sarif.js';
import { makeStyle, toText, type Style } from './text.js';
import { at } from '../util/at.js';

export const FORMATS = ['text', 'json', 'sarif', 'github', 'cyclonedx'] as const;
export type FormatName = (typeof FORMATS)[number];

export interface FormatSpec {
  format: FormatName;
  /** Absolute path to write the report to; undefined: stdout. */
  path?: string;
}

const USAGE = 'use --format with text, json, sarif, github or cyclonedx, each optionally =file, comma-separated: --format json=out.json,github';

/**
 * Parse `--format` values (a comma-separated list; the flag may be given more than once). Paths are resolved
 * against `base` (the current folder). Throws GuardError('bad-usage') for an unknown format, an empty entry or
 * path, two formats on stdout, or two formats writing one file.
 */
export function parseFormats(value: string | readonly string[], base: string = process.cwd()): FormatSpec[] {
  const entries = (typeof value === 'string' ? [value] : value).flatMap((v) => v.split(','));
  const specs: FormatSpec[] = [];
  for (const raw of entries) {
    const entry = raw.trim();
    if (!entry) throw new GuardError('bad-usage', `--format has an empty entry in "${[value].flat().join(',')}"`, { remedy: USAGE });
    const eq = entry.indexOf('=');
    const name = (eq === -1 ? entry : entry.slice(0, eq)).trim().toLowerCase();
    if (!(FORMATS as readonly string[]).includes(name)) {
      throw new GuardError('bad-usage', `unknown --format "${eq === -1 ? entry : entry.slice(0, eq)}" (known: ${FORMATS.join(', ')})`, { remedy: USAGE });
    }
    if (eq === -1) {
      specs.push({ format: name as FormatName });
      continue;
    }
    const path = entry.slice(eq + 1).trim();
    if (!path) throw new GuardError('bad-usage', `--format ${name}= needs a file name after "="`, { remedy: USAGE });
    specs.push({ format: name as FormatName, path: resolve(base, path) });
  }
  const toStdout = specs.filter((s) => !s.path);
  if (toStdout.length > 1) {
    throw new GuardError('bad-usage', `--format: only one report can go to stdout, not ${toStdout.map((s) => s.format).join(' and ')}`, {
      remedy: `write the others to files, e.g. --format ${at(toStdout, 0).format},${toStdout
        .slice(1)
        .map((s) => `${s.format}=safe-install.${extensionOf(s.format)}`)
        .join(',')}`,
    });
  }
  const byPath = new Map<string, FormatName>();
  for (const s of specs) {
    if (!s.path) continue;
    const other = byPath.get(s.path);
    if (other) throw new GuardError('bad-usage', `--format: ${other} and ${s.format} would both write ${s.path}`, { remedy: USAGE });
    byPath.set(s.path, s.format);
  }
  return specs;
}

/**
 * The reports `check` writes, from its flags: `--format <list>`; `--json` is shorthand for `--format json`
 * (to stdout); neither: the text report.
 */
export function formatsFromFlags(flags: { format?: string | readonly string[]; json?: boolean }, base: string = process.cwd()): FormatSpec[] {
  const values = [flags.format ?? []].flat();
  if (flags.json) values.push('json');
  return values.length ? parseFormats(values, base) : [{ format: 'text' }];
}

export interface EmitExtras {
  /** Appended to the text report (and to the text part of `github`): the ledger and approval hints. */
  textSuffix?: string;
  /** The text report with one line per package (--verbose). */
  verbose?: boolean;
}

/**
 * Render every requested report and write it: files atomically (parent folders created), at most one to stdout.
 * `github` also appends the Markdown summary to $GITHUB_STEP_SUMMARY when that is set. `style` colours the text
 * printed to stdout; reports written to files are never coloured.
 */
export async function emitReports(result: CheckResult, specs: FormatSpec[], style: Style, extras: EmitExtras = {}): Promise<void> {
  const plain = makeStyle(false);
  for (const spec of specs) {
    // A file gets no colours, in the suffix (rendered by the caller for stdout) either.
    const output = spec.path ? render(result, spec.format, plain, { ...extras, textSuffix: extras.textSuffix?.replace(/\x1b\[[0-9;]*m/g, '') }) : render(result, spec.format, style, extras);
    if (spec.path) {
      try {
        await mkdir(dirname(spec.path), { recursive: true });
        await writeFileAtomic(spec.path, output);
      } catch (err) {
        throw new GuardError('bad-usage', `could not write the ${spec.format} report to ${spec.path}: ${(err as Error).message}`, {
          remedy: 'check the path given to --format',
          cause: err,
        });
      }
    } else {
      process.stdout.write(output);
    }
    if (spec.format === 'github') await appendStepSummary(toGithubSummary(result));
  }
}

function render(result: CheckResult, format: FormatName, style: Style, extras: EmitExtras): string {
  switch (format) {
    case 'text':
      return toText(result, style, extras) + (extras.textSuffix ?? '');
    case 'json':
      return JSON.stringify(toJson(result), null, 2) + '\n';
    case 'sarif':
      return JSON.stringify(toSarif(result), null, 2) + '\n';
    case 'github':
      return toGithubOutput(result, toText(result, style, extras) + (extras.textSuffix ?? ''));
    case 'cyclonedx':
      return toCycloneDx(result);
  }
}

async function appendStepSummary(markdown: string): Promise<void> {
  const file = process.env.GITHUB_STEP_SUMMARY;
  if (!file) return;
  try {
    await appendFile(file, markdown);
  } catch (err) {
    throw new GuardError('bad-config', `could not append the job summary to $GITHUB_STEP_SUMMARY (${file}): ${(err as Error).message}`, {
      remedy: 'unset GITHUB_STEP_SUMMARY, or point it at a writable file',
      cause: err,
    });
  }
}

function extensionOf(format: FormatName): string {
  return format === 'text' ? 'txt' : format === 'github' ? 'github.txt' : format === 'cyclonedx' ? 'cdx.json' : format;
}
