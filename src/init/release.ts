// The release data a published build carries (dist/release.json, written by the release build with
// scripts/release-data.mjs): the repository of the GitHub Action and the full SHA of the release commit its tag
// points to (where dist/action.mjs is committed), so `init --ci github` can pin the action by SHA. A checkout or a
// development build has none; then the workflow falls back to npx and says it is not pinned by integrity.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { toolDir } from '../util/tool-dir.js';

export interface ReleaseData {
  version: string;
  actionRepository: string;
  actionSha: string;
}

export const RELEASE_FILE = join('dist', 'release.json');

/** The release data if present and well formed for this very version; undefined otherwise (never throws). */
export function readRelease(version: string, dir = toolDir()): ReleaseData | undefined {
  try {
    const doc = JSON.parse(readFileSync(join(dir, RELEASE_FILE), 'utf8')) as Partial<ReleaseData>;
    if (doc.version !== version) return undefined;
    if (typeof doc.actionRepository !== 'string' || !/^[A-Za-z0-9-]+\/[A-Za-z0-9._-]+$/.test(doc.actionRepository)) return undefined;
    if (typeof doc.actionSha !== 'string' || !/^[0-9a-f]{40}$/.test(doc.actionSha)) return undefined;
    return { version, actionRepository: doc.actionRepository, actionSha: doc.actionSha };
  } catch {
    return undefined;
  }
}
