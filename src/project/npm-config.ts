// The user's npm configuration, loaded by npm's own loader so that registries, scoped registries,
// per-registry auth, strict-ssl, cafile, proxies and NPM_CONFIG_* mean exactly what they mean to npm.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { GuardError } from '../errors.js';
import { registerSecrets } from '../util/safe-text.js';

const require = createRequire(import.meta.url);

export interface NpmSettings {
  /** Flat options in the shape npm-registry-fetch takes (auth keys stay inside; never print them). */
  flat: Record<string, unknown>;
  /** The default registry, with a trailing slash. */
  registry: string;
  /** `min-release-age` in days, with the config level it came from (project, user, global, env, cli). */
  minReleaseAge?: { days: number; source: string };
  minReleaseAgeExclude?: { patterns: string[]; source: string };
  replaceRegistryHost: string;
  /** pnpm's own keys in the same .npmrc files (pnpm reads them there too), with the level each came from. */
  pnpmKeys: Record<string, { value: unknown; level: string }>;
}

/** pnpm settings that may sit in .npmrc (kebab-case); pnpm-workspace.yaml wins over them as in pnpm. */
export const PNPM_NPMRC_KEYS = [
  'minimum-release-age',
  'minimum-release-age-exclude',
  'trust-policy',
  'trust-policy-exclude',
  'trust-policy-ignore-after',
  'strict-dep-builds',
  'block-exotic-subdeps',
  'only-built-dependencies',
  'never-built-dependencies',
  'ignored-built-dependencies',
] as const;

/** npm's install folder, for its builtin npmrc; absent is fine (no builtin config). */
function npmPath(): string {
  const unix = join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm');
  const windows = join(dirname(process.execPath), 'node_modules', 'npm');
  return [unix, windows].find((p) => existsSync(p)) ?? unix;
}

export async function loadNpmSettings(cwd: string, overrides: { registry?: string } = {}): Promise<NpmSettings> {
  const Config = require('@npmcli/config');
  const { definitions, shorthands, flatten, nerfDarts } = require('@npmcli/config/lib/definitions');
  const argv = [process.execPath, 'npm'];
  if (overrides.registry) argv.push(`--registry=${overrides.registry}`);
  const config = new Config({
    npmPath: npmPath(),
    definitions,
    shorthands,
    flatten,
    nerfDarts,
    argv,
    // A copy: npm's loader writes npm_config_* (and EDITOR, NODE) into the env it is given, and every package
    // manager started later would inherit them (yarn 1 even reads them as its own settings).
    env: { ...process.env },
    execPath: process.execPath,
    platform: process.platform,
    cwd,
    // npm warns on unknown keys through process 'log' events; we do not listen, so nothing leaks.
  });
  try {
    await config.load();
  } catch (err) {
    throw new GuardError('bad-config', `could not read the npm configuration: ${(err as Error).message}`, {
      remedy: 'check your .npmrc files (project, user, global) and NPM_CONFIG_* variables',
      cause: err,
    });
  }
  const flat = { ...config.flat } as Record<string, unknown>;
  const registry = withSlash(String(config.get('registry')));
  registerSecrets(credentialsIn(flat, registry));
  const settings: NpmSettings = {
    flat,
    registry,
    replaceRegistryHost: String(config.get('replace-registry-host') ?? 'npmjs'),
    pnpmKeys: {},
  };
  for (const key of PNPM_NPMRC_KEYS) {
    const value = config.get(key);
    if (value !== undefined && value !== null && value !== '') settings.pnpmKeys[key] = { value, level: String(config.find(key)) };
  }
  const age = config.get('min-release-age');
  if (age !== null && age !== undefined && age !== '') {
    settings.minReleaseAge = { days: Number(age), source: `npm config min-release-age (${config.find('min-release-age')})` };
  }
  const exclude = config.get('min-release-age-exclude');
  const excludeList = ([] as string[]).concat(exclude ?? []).filter(Boolean);
  if (excludeList.length) {
    settings.minReleaseAgeExclude = {
      patterns: excludeList,
      source: `npm config min-release-age-exclude (${config.find('min-release-age-exclude')})`,
    };
  }
  return settings;
}

/**
 * The credentials in npm's settings: tokens and passwords per registry (`//host/:_authToken`, `_auth` (base64 of
 * user:password), `_password` (base64)), and passwords (or a token as the user part) in registry URLs.
 */
export function credentialsIn(flat: Record<string, unknown>, registry: string): string[] {
  const out: string[] = [];
  const fromUrl = (v: string) => {
    try {
      const u = new URL(v);
      if (u.password) out.push(u.password);
      else if (u.username) out.push(u.username);
    } catch {
      // not a URL
    }
  };
  fromUrl(registry);
  for (const [key, value] of Object.entries(flat)) {
    if (typeof value !== 'string' || !value) continue;
    if (/(^|:)(_authToken|_password|_auth|token|password)$/i.test(key)) {
      out.push(value);
      if (/(_auth|_password)$/.test(key)) {
        const decoded = Buffer.from(value, 'base64').toString('utf8');
        out.push(decoded, decoded.slice(decoded.indexOf(':') + 1));
      }
    }
    if (/registry$/i.test(key)) fromUrl(value);
  }
  return out;
}

export function withSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}

/** The registry npm would use for a package name: `@scope:registry` or the default. */
export function registryFor(name: string, settings: Pick<NpmSettings, 'flat' | 'registry'>): string {
  if (name.startsWith('@')) {
    const scope = name.slice(0, name.indexOf('/'));
    const scoped = settings.flat[`${scope}:registry`];
    if (typeof scoped === 'string' && scoped) return withSlash(scoped);
  }
  return settings.registry;
}

/**
 * The URL npm downloads a registry package from, given the lockfile's `resolved`: npm's replace-registry-host rule
 * as @npmcli/arborist's reify applies it (`npmjs` = registry.npmjs.org; `never`; `always`; a hostname; a URL with a
 * path prefix, swapped for the configured registry's). The replacement always targets the default registry, never
 * a scoped one (arborist does the same). Undefined when `resolved` is not a URL (npm drops such a node).
 */
export function npmDownloadUrl(resolved: string, settings: Pick<NpmSettings, 'registry' | 'replaceRegistryHost'>): string | undefined {
  try {
    const url = new URL(resolved);
    const registry = new URL(settings.registry);
    const registryPath = registry.pathname.replace(/\/$/, '');
    const rrh = !settings.replaceRegistryHost || settings.replaceRegistryHost === 'npmjs' ? 'registry.npmjs.org' : settings.replaceRegistryHost;
    let match: URL | undefined;
    try {
      match = new URL(rrh);
    } catch {
      match = undefined;
    }
    const matchHost = match?.hostname ?? rrh;
    const matchPath = match?.pathname.replace(/\/$/, '');
    const hasPrefix = (p: string, prefix: string) => p === prefix || p.startsWith(`${prefix}/`);
    if (!(rrh === 'always' || matchHost === url.hostname) || (matchPath && !hasPrefix(url.pathname, matchPath))) return url.href;
    url.protocol = registry.protocol;
    url.hostname = registry.hostname;
    url.port = registry.port;
    if (matchPath) url.pathname = registryPath + url.pathname.slice(matchPath.length);
    else if (registryPath && !hasPrefix(url.pathname, registryPath)) url.pathname = registryPath + url.pathname;
    return url.href;
  } catch {
    return undefined;
  }
}

/** The public registry answers under both names (yarn 1 writes registry.yarnpkg.com, npm registry.npmjs.org). */
export const PUBLIC_REGISTRY_HOSTS: ReadonlySet<string> = new Set(['registry.npmjs.org', 'registry.yarnpkg.com']);

/** The public npm registry's root URL. */
export const NPM_REGISTRY = 'https://registry.npmjs.org/';

/** The registry URL (any scheme, with or without a trailing slash) is the public npm registry's root. */
export function isNpmRegistry(url: string): boolean {
  try {
    const u = new URL(url);
    return PUBLIC_REGISTRY_HOSTS.has(u.hostname.toLowerCase()) && (u.pathname === '/' || u.pathname === '') && !u.port;
  } catch {
    return false;
  }
}

/**
 * Whether `url` is on `registry`: same scheme, host and port, under the registry's path (the rule npm's
 * arborist uses to tell a registry tarball from a remote one). registry.npmjs.org and registry.yarnpkg.com count as one.
 */
export function isOnRegistry(url: string, registry: string): boolean {
  let u: URL;
  let r: URL;
  try {
    u = new URL(url);
    r = new URL(registry);
  } catch {
    return false;
  }
  const path = r.pathname.replace(/\/?$/, '/');
  const samePlace =
    u.origin === r.origin || (u.protocol === 'https:' && r.protocol === 'https:' && u.port === '' && r.port === '' && PUBLIC_REGISTRY_HOSTS.has(u.hostname) && PUBLIC_REGISTRY_HOSTS.has(r.hostname));
  return samePlace && (path === '/' || u.pathname.startsWith(path));
}
