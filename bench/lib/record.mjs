// Records real registry metadata (and, where the install rows need them, real tarballs) once into bench/data,
// from the registry this machine's npm is configured with. Only what is missing is fetched.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function machineRegistry() {
  const url = execFileSync('npm', ['config', 'get', 'registry'], { encoding: 'utf8' }).trim();
  return url.endsWith('/') ? url : `${url}/`;
}

export function escapeName(name) {
  return name.startsWith('@') ? `@${encodeURIComponent(name.slice(1))}` : encodeURIComponent(name);
}

const fileOf = (dir, name) => join(dir, `${encodeURIComponent(name)}.json`);

async function get(url, what) {
  let last;
  for (let attempt = 0; attempt < 4; attempt++) {
    try {
      const res = await fetch(url, { headers: { accept: 'application/json' } });
      if (res.status === 404) return null;
      if (!res.ok) throw new Error(`${res.status} ${res.statusText}`);
      return Buffer.from(await res.arrayBuffer());
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 500 * 2 ** attempt));
    }
  }
  throw new Error(`could not fetch ${what} from ${url}: ${last?.message ?? last}`);
}

async function pool(items, n, fn) {
  let i = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (i < items.length) await fn(items[i++]);
    }),
  );
}

function atomicWrite(path, data) {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

/**
 * Packuments of `names`, fetched once into `dir` (the mirror's JSON as received). A name in `optional` that the
 * registry does not have is remembered as absent (`<name>.json.404`) instead of failing. Returns the fetched count.
 */
export async function recordPackuments(names, dir, registry, log, optional = new Set()) {
  mkdirSync(dir, { recursive: true });
  const missing = [...new Set(names)].filter((n) => !existsSync(fileOf(dir, n)) && !existsSync(`${fileOf(dir, n)}.404`));
  if (!missing.length) return 0;
  log(`recording ${missing.length} packuments from ${registry} into ${dir} ...`);
  let done = 0;
  await pool(missing, 16, async (name) => {
    const body = await get(`${registry}${escapeName(name)}`, `the packument of ${name}`);
    if (body === null && optional.has(name)) return void writeFileSync(`${fileOf(dir, name)}.404`, '');
    if (body === null) throw new Error(`${registry} has no package ${name}`);
    JSON.parse(body.toString('utf8')); // fail here, not later, on a broken answer
    atomicWrite(fileOf(dir, name), body);
    if (++done % 200 === 0) log(`  ${done}/${missing.length}`);
  });
  return missing.length;
}

export function hasPackument(dir, name) {
  return existsSync(fileOf(dir, name));
}

export function readPackument(dir, name) {
  return JSON.parse(readFileSync(fileOf(dir, name), 'utf8'));
}

export function tarballFile(dir, name, version) {
  return join(dir, `${encodeURIComponent(name)}-${version}.tgz`);
}

function sri(buf) {
  return `sha512-${createHash('sha512').update(buf).digest('base64')}`;
}

/**
 * Tarballs of `pkgs` ({name, version, integrity}), fetched once into `dir` from the URL in the recorded
 * packument (rewritten to the machine's registry), each checked against the lockfile's integrity.
 */
export async function recordTarballs(pkgs, dir, packumentDir, registry, log) {
  mkdirSync(dir, { recursive: true });
  const missing = pkgs.filter((p) => !existsSync(tarballFile(dir, p.name, p.version)));
  if (!missing.length) return 0;
  log(`recording ${missing.length} tarballs into ${dir} ...`);
  await pool(missing, 8, async (p) => {
    const manifest = readPackument(packumentDir, p.name).versions?.[p.version];
    if (!manifest?.dist?.tarball) throw new Error(`${p.name}@${p.version}: no dist.tarball in the recorded packument`);
    const url = manifest.dist.tarball.replace(/^https?:\/\/registry\.npmjs\.org\//, registry);
    const body = await get(url, `the tarball of ${p.name}@${p.version}`);
    if (body === null) throw new Error(`${url}: 404`);
    const algo = (p.integrity ?? manifest.dist.integrity ?? '').split('-')[0];
    if (algo === 'sha512' && sri(body) !== (p.integrity ?? manifest.dist.integrity).split(/\s+/).find((s) => s.startsWith('sha512-'))) {
      throw new Error(`${p.name}@${p.version}: the tarball from ${url} does not match the lockfile's integrity`);
    }
    atomicWrite(tarballFile(dir, p.name, p.version), body);
  });
  return missing.length;
}
