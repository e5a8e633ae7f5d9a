// Projects and trees the bench runs on: real lockfiles turned into projects (package.json from the lockfile's
// root entry), an "installed" tree for `npm audit signatures` (which reads node_modules, not the lockfile),
// and synthetic lockfiles with their packuments to show how cost grows.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

const NM = 'node_modules/';
const DEP_FIELDS = ['dependencies', 'optionalDependencies', 'peerDependencies', 'peerDependenciesMeta'];

export function readJson(path) {
  return JSON.parse(readFileSync(path, 'utf8'));
}

export function nameOf(path, entry) {
  return entry.name ?? path.slice(path.lastIndexOf(NM) + NM.length);
}

/** Non-root, non-link entries of a v2/v3 lockfile installed from a registry: [path, entry, name]. */
export function registryEntries(lock) {
  return Object.entries(lock.packages)
    .filter(([path, e]) => path.includes(NM) && !e.link && e.version && (!e.resolved || /^https?:/.test(e.resolved)))
    .map(([path, e]) => [path, e, nameOf(path, e)]);
}

let libc;
function libcHere() {
  if (process.platform !== 'linux') return undefined;
  libc ??= process.report?.getReport?.()?.header?.glibcVersionRuntime ? 'glibc' : 'musl';
  return libc;
}

const matches = (list, value) => {
  if (!list) return true;
  const arr = Array.isArray(list) ? list : [list];
  if (arr.includes(`!${value}`)) return false;
  const positive = arr.filter((x) => !x.startsWith('!'));
  return positive.length === 0 || positive.includes(value);
};

/** Whether npm installs this entry on this machine (os, cpu, libc). */
export function installableHere(entry) {
  return matches(entry.os, process.platform) && matches(entry.cpu, process.arch) && (!entry.libc || matches(entry.libc, libcHere()));
}

/**
 * A project folder from a lockfile: package.json from the lockfile's root entry, the lockfile with the
 * anonymised registry.example.com host put back to registry.npmjs.org (npm's default replace-registry-host
 * then fetches from the configured registry, as behind any mirror), and an optional policy.
 */
export function writeProject(dir, lock, { policy } = {}) {
  mkdirSync(dir, { recursive: true });
  const root = lock.packages[''] ?? {};
  const pkg = { name: root.name ?? 'bench-project', version: root.version ?? '1.0.0', private: true };
  for (const f of ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies', 'workspaces', 'bundleDependencies']) {
    if (root[f] !== undefined) pkg[f] = root[f];
  }
  writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg, null, 2) + '\n');
  const text = JSON.stringify(lock, null, 2).replaceAll('https://registry.example.com/', 'https://registry.npmjs.org/');
  writeFileSync(join(dir, 'package-lock.json'), text + '\n');
  if (policy) writeFileSync(join(dir, 'safe-install.policy.json'), JSON.stringify(policy, null, 2) + '\n');
}

/**
 * The tree `npm ci` would leave, without the tarballs' contents: every lockfile entry as a folder with a
 * package.json (name, version, dependency specs), workspace links as symlinks, and npm's hidden lockfile.
 * `npm audit signatures` reads exactly this (name, version, edges) from disk.
 */
export function writeInstalledTree(dir, lock) {
  const hidden = { name: lock.name, version: lock.version, lockfileVersion: 3, requires: true, packages: {} };
  for (const [path, e] of Object.entries(lock.packages)) {
    if (path === '') continue;
    const at = join(dir, path);
    if (e.link) {
      mkdirSync(dirname(at), { recursive: true });
      symlinkSync(relative(dirname(at), join(dir, e.resolved)), at);
    } else {
      mkdirSync(at, { recursive: true });
      const pkg = { name: nameOf(path, e), version: e.version ?? '0.0.0' };
      for (const f of DEP_FIELDS) if (e[f]) pkg[f] = e[f];
      if (!path.includes(NM) && e.devDependencies) pkg.devDependencies = e.devDependencies;
      if (e.license) pkg.license = e.license;
      writeFileSync(join(at, 'package.json'), JSON.stringify(pkg) + '\n');
    }
    if (path.includes(NM) || e.link) hidden.packages[path] = e;
  }
  // Written last, so it is newer than every folder: arborist then trusts it, as after a real `npm ci`.
  mkdirSync(join(dir, 'node_modules'), { recursive: true });
  writeFileSync(join(dir, 'node_modules', '.package-lock.json'), JSON.stringify(hidden, null, 2) + '\n');
}

// ---------------------------------------------------------------- synthetic trees

const SYN_VERSIONS = 20;
const BLOCK = 1000;

function h32(s) {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  return h;
}

export function synName(i) {
  return i % 5 === 0 ? `@syn${i % 50}/pkg-${i}` : `syn-pkg-${i}`;
}

/** Dependencies of package i: up to 3 later packages in its block of 1,000, so every prefix of 1,000s is closed. */
function synDeps(i) {
  const end = (Math.floor(i / BLOCK) + 1) * BLOCK;
  const deps = {};
  for (let k = 0; k < 3; k++) {
    const j = i + 1 + (h32(`${i}:${k}`) % 60);
    if (j < end) deps[synName(j)] = '^1.0.0';
  }
  return deps;
}

const synVersion = (k) => `1.${k}.0`;
const LOCKED = synVersion(SYN_VERSIONS - 1);

function synIntegrity(name, version) {
  return `sha512-${createHash('sha512').update(`${name}@${version}`).digest('base64')}`;
}

/** Packument of synthetic package i: 20 versions over 2023-2025, real-shaped manifests, unsigned. */
export function synPackument(i) {
  const name = synName(i);
  const base = name.startsWith('@') ? name.slice(name.indexOf('/') + 1) : name;
  const versions = {};
  const time = {};
  const deps = synDeps(i);
  const scripts = i % 50 === 7 ? { postinstall: 'node install.js', test: 'node test.js' } : { test: 'node test.js' };
  for (let k = 0; k < SYN_VERSIONS; k++) {
    const version = synVersion(k);
    versions[version] = {
      name,
      version,
      description: `synthetic package ${i} for the safe-install benchmark`,
      main: 'index.js',
      license: 'MIT',
      repository: { type: 'git', url: `git+https://github.com/safe-install-bench/${base}.git` },
      scripts,
      dependencies: deps,
      _id: `${name}@${version}`,
      dist: {
        integrity: synIntegrity(name, version),
        shasum: createHash('sha1').update(`${name}@${version}`).digest('hex'),
        tarball: `https://registry.npmjs.org/${name}/-/${base}-${version}.tgz`,
        fileCount: 4,
        unpackedSize: 4096 + k,
      },
    };
    time[version] = new Date(Date.UTC(2023, 0, 1) + (k * 30 + (i % 30)) * 86_400_000).toISOString();
  }
  return {
    _id: name,
    name,
    'dist-tags': { latest: LOCKED },
    versions,
    time: { created: time[synVersion(0)], modified: time[LOCKED], ...time },
  };
}

/** A v3 lockfile of the first n synthetic packages (flat), each at its newest version. */
export function synLockfile(n) {
  const packages = {};
  const depended = new Set();
  for (let i = 0; i < n; i++) for (const d of Object.keys(synDeps(i))) depended.add(d);
  const rootDeps = {};
  for (let i = 0; i < n; i++) {
    const name = synName(i);
    const base = name.startsWith('@') ? name.slice(name.indexOf('/') + 1) : name;
    if (!depended.has(name) || i < 20) rootDeps[name] = '^1.0.0';
    const entry = {
      version: LOCKED,
      resolved: `https://registry.npmjs.org/${name}/-/${base}-${LOCKED}.tgz`,
      integrity: synIntegrity(name, LOCKED),
      license: 'MIT',
    };
    const deps = synDeps(i);
    if (Object.keys(deps).length) entry.dependencies = deps;
    if (i % 50 === 7) entry.hasInstallScript = true;
    packages[`node_modules/${name}`] = entry;
  }
  packages[''] = { name: `synthetic-${n}`, version: '1.0.0', dependencies: rootDeps };
  const ordered = { '': packages[''] };
  for (const k of Object.keys(packages)
    .filter((k) => k)
    .sort())
    ordered[k] = packages[k];
  return { name: `synthetic-${n}`, version: '1.0.0', lockfileVersion: 3, requires: true, packages: ordered };
}

// ---------------------------------------------------------------- pnpm projects

/** name@version of every package a pnpm lockfile (v9) locks: the keys of its `packages`. */
export function pnpmLockedIds(lockText, parseYaml) {
  const doc = parseYaml(lockText);
  if (!/^9\./.test(String(doc?.lockfileVersion))) throw new Error(`pnpm-lock.yaml: lockfileVersion ${doc?.lockfileVersion}, expected 9.x`);
  return new Set(Object.keys(doc.packages ?? {}));
}

/** name@version of every registry entry of an npm lockfile. */
export function npmLockedIds(lock) {
  return new Set(registryEntries(lock).map(([, e, name]) => `${name}@${e.version}`));
}

/**
 * A pnpm project folder: package.json and pnpm-lock.yaml as given, an .npmrc (registry, store, cache), and
 * optionally pnpm-workspace.yaml settings (pnpm 10 reads its own settings there) and a safe-install policy.
 */
export function writePnpmProject(dir, { packageJson, lockText, npmrc, workspace, policy }) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), packageJson);
  writeFileSync(join(dir, 'pnpm-lock.yaml'), lockText);
  writeFileSync(join(dir, '.npmrc'), npmrc);
  if (workspace) writeFileSync(join(dir, 'pnpm-workspace.yaml'), workspace);
  if (policy) writeFileSync(join(dir, 'safe-install.policy.json'), JSON.stringify(policy, null, 2) + '\n');
}
