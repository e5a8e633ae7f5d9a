// Helpers for the adversarial suite: a project that the real npm locks, and a way to see what ran.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestRegistry } from '../registry/server.js';
import { cleanEnv, cli, npm, scriptedWith, tempDir, type RunResult } from '../integration/helpers.js';

export interface AttackProject {
  dir: string;
  env: NodeJS.ProcessEnv;
  /** Lines appended to $SI_TEST_LOG by whatever ran (scripts, shadowing bins): the attack's visible effect. */
  ran(): string[];
  guard(...args: string[]): Promise<RunResult>;
  npm(...args: string[]): Promise<RunResult>;
}

/** A project with `package.json` from `pkg`; the caller writes the lockfile (honest or tampered). */
export function attackProject(registry: TestRegistry, pkg: Record<string, unknown>, extraEnv: Record<string, string> = {}): AttackProject {
  const dir = tempDir('si-attack-');
  const log = join(dir, 'effects.log');
  const env = cleanEnv(registry.url, { SI_TEST_LOG: log, ...extraEnv });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', ...pkg }, null, 2));
  return {
    dir,
    env,
    ran: () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').filter(Boolean) : []),
    guard: (...args) => cli(args, { cwd: dir, env }),
    npm: (...args) => npm(args, { cwd: dir, env }),
  };
}

/** No stack trace reached the user (a V8 frame line or an "internal error"). */
export function noStackTrace(text: string): boolean {
  return !/\n\s+at .+[:(]\d+:\d+\)?/.test(text) && !/internal error/i.test(text);
}

/**
 * A v3 lockfile for top-level `deps` (name -> version) as `registry` serves them, with `resolved` URLs and
 * integrity, as users' lockfiles are (npm ci then asks for the tarballs only, never the packuments).
 */
export function writeResolvedLockfile(dir: string, registry: TestRegistry, deps: Record<string, string>): void {
  const packages: Record<string, unknown> = { '': { name: 'app', version: '1.0.0', dependencies: deps } };
  for (const [name, version] of Object.entries(deps)) {
    packages[`node_modules/${name}`] = { version, resolved: registry.tarballUrl(name, version), integrity: registry.integrityOf(name, version) };
  }
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ name: 'app', version: '1.0.0', lockfileVersion: 3, requires: true, packages }, null, 2));
}

/** What an attacker's copy of a package logs to $SI_TEST_LOG: "EVIL <name>:<event>", beside the honest "<name>:<event>". */
export const EVIL_LOGGER = "require('fs').appendFileSync(process.env.SI_TEST_LOG, 'EVIL ' + require('./package.json').name + ':' + process.argv[2] + '\\n')";

/** Version 1.0.0 whose postinstall runs `node log.js postinstall`, with `logger` as log.js (EVENT_LOGGER or EVIL_LOGGER). */
export const postinstallVersion = (logger: string) => scriptedWith(logger)('1.0.0', ['postinstall']);
