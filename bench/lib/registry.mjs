// The bench registry: test/registry/server.ts (compiled to bench/.build), plus what registry.npmjs.org does and
// the test registry does not: a client that asks for the abbreviated metadata ("corgi",
// `Accept: application/vnd.npm.install-v1+json`, as npm's installer and `npm audit signatures` do) gets it, a
// client that asks for `application/json` (safe-install, npm with --min-release-age / `before`) gets the whole
// document. Without this, npm would parse the full documents here and look slower than against the real registry.
const CORGI_ACCEPT = 'application/vnd.npm.install-v1+json';
const CORGI_PREFIX = '-corgi-/';
// The fields registry.npmjs.org keeps per version in the abbreviated document.
const CORGI_FIELDS = [
  'name',
  'version',
  'deprecated',
  'dependencies',
  'optionalDependencies',
  'devDependencies',
  'bundleDependencies',
  'bundledDependencies',
  'peerDependencies',
  'peerDependenciesMeta',
  'acceptDependencies',
  'bin',
  'directories',
  'dist',
  'engines',
  '_hasShrinkwrap',
  'hasInstallScript',
  'cpu',
  'os',
  'libc',
  'funding',
  'license',
];
const INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall'];

export function corgiOf(doc) {
  const versions = {};
  for (const [v, m] of Object.entries(doc.versions ?? {})) {
    const o = {};
    for (const k of CORGI_FIELDS) if (m[k] !== undefined) o[k] = m[k];
    if (m.scripts && INSTALL_SCRIPTS.some((s) => typeof m.scripts[s] === 'string')) o.hasInstallScript = true;
    versions[v] = o;
  }
  return { name: doc.name, modified: doc.time?.modified, 'dist-tags': doc['dist-tags'] ?? {}, versions };
}

/** Start a TestRegistry that also serves abbreviated packuments; `add(doc, tarballs)` serves both forms. */
export async function startBenchRegistry(TestRegistry, opts = {}) {
  const reg = await TestRegistry.start(opts);
  // Reaches into the test registry's (TypeScript-private) request handler and store: the bench owns only bench/.
  if (typeof reg.handle !== 'function' || typeof reg.storePackument !== 'function') {
    throw new Error('test/registry/server.ts changed: TestRegistry.handle/storePackument are gone; update bench/lib/registry.mjs');
  }
  const handle = reg.handle.bind(reg);
  reg.handle = (req, res) => {
    const raw = (req.url ?? '/').split('?')[0];
    if (String(req.headers.accept ?? '').includes(CORGI_ACCEPT) && !raw.startsWith('/-/') && !raw.includes('/-/')) {
      req.url = `/${CORGI_PREFIX}${(req.url ?? '/').slice(1)}`;
    }
    return handle(req, res);
  };
  reg.add = (doc, tarballs = {}) => {
    reg.addRawPackument(doc, tarballs);
    // The same tarball URLs (rewritten to this server) as addRawPackument gives the full document.
    const corgi = corgiOf(doc);
    for (const m of Object.values(corgi.versions)) {
      if (typeof m.dist?.tarball === 'string') m.dist = { ...m.dist, tarball: m.dist.tarball.replace(/^https?:\/\/registry\.(npmjs\.org|example\.com|yarnpkg\.com)\//, reg.url) };
    }
    reg.storePackument(`${CORGI_PREFIX}${doc.name}`, corgi, new Map(), Date.now() - 60_000);
  };
  return reg;
}
