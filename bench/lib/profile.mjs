// Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time per function, and total (inclusive) time
// per function of the project's own code (dist/), so a hot spot can be named with its milliseconds.
import { readFileSync } from 'node:fs';

function label(cf, root) {
  const url = (cf.url || '').replace(/^file:\/\//, '').replace(root, '');
  const where = url ? `${url.replace(/^.*node_modules\//, 'node_modules/')}:${cf.lineNumber + 1}` : '';
  return `${cf.functionName || '(anonymous)'} ${where}`.trim();
}

// Where the main thread's time goes: the first frame, from the leaf up, that names an activity. A native file
// system call counts for the caller that made it (cache read, cache write...), else as "file system calls".
const FS_CALLS = [
  'openFileHandle',
  'read',
  'fstat',
  'close',
  'writeBuffer',
  'writeString',
  'writeLatin1String',
  'rename',
  'mkdir',
  'readFileUtf8',
  'lstat',
  'stat',
  'realpath',
  'readdir',
  'unlink',
  'chmod',
];
const BUCKETS = [
  ['loading modules (resolve, read, compile)', (f) => /^node:internal\/modules\//.test(f.url) || ['compileSourceTextModule', 'wrapSafe', 'internalModuleStat', 'ModuleWrap'].includes(f.functionName)],
  ['JSON.parse of packuments (fetchFromRegistry / parsePackument self time)', (f) => f.functionName === 'fetchFromRegistry' || f.functionName === 'parsePackument', true],
  ['packument -> slim facts', (f) => f.functionName === 'slimPackument' || /\/dist\/registry\/facts\.js$/.test(f.url)],
  ['metadata cache: read + JSON.parse', (f) => /\/dist\/registry\/cache\.js$/.test(f.url) && ['get', 'getDoc'].includes(f.functionName)],
  ['metadata cache: write (JSON.stringify, mkdir, write, rename)', (f) => /\/dist\/registry\/cache\.js$/.test(f.url) && ['put', 'putDoc', 'write'].includes(f.functionName)],
  [
    'HTTP client (undici or npm-registry-fetch, make-fetch-happen, minipass, agents, node:http; body reading)',
    (f) =>
      /node_modules\/(undici|npm-registry-fetch|make-fetch-happen|minipass[^/]*|@npmcli\/agent|agent-base|socks[^/]*|lru-cache|http-cache-semantics|proc-log|promise-retry|retry)\//.test(f.url) ||
      /\/dist\/registry\/(http|body)\.js$/.test(f.url) ||
      /^node:(_http|net|internal\/http|internal\/stream|stream|zlib|internal\/streams|internal\/dns|dns)/.test(f.url),
  ],
  ['registry signature verification (ECDSA P-256)', (f) => f.functionName === 'verifyRegistrySignature'],
  ['provenance verification (sigstore)', (f) => /node_modules\/@sigstore\//.test(f.url) || /\/dist\/verify\/provenance\.js$/.test(f.url)],
  ['other checks and verdicts', (f) => /\/dist\/(checks|verdict)\//.test(f.url) || f.functionName === 'judge'],
  ['lockfile reading', (f) => /\/dist\/lockfile\//.test(f.url)],
  ['policy loading (ajv)', (f) => /\/dist\/policy\//.test(f.url) || /node_modules\/ajv/.test(f.url)],
  ['npm config loading', (f) => /\/dist\/project\//.test(f.url) || /node_modules\/@npmcli\/config\//.test(f.url)],
  ['report output (JSON)', (f) => /\/dist\/(report|cli)\//.test(f.url)],
];

function bucketOf(id, byId, parent) {
  const leafName = byId.get(id).callFrame.functionName;
  if (leafName === '(garbage collector)') return 'garbage collection';
  if (leafName === '(idle)') return 'idle (waiting for I/O)';
  if (leafName === '(program)') return '(program): V8 and native code outside JS';
  let fs = false;
  let leaf = true;
  for (let cur = id; cur !== undefined; cur = parent.get(cur), leaf = false) {
    const cf = byId.get(cur).callFrame;
    if (!cf.url && FS_CALLS.includes(cf.functionName)) {
      fs = true;
      continue;
    }
    const hit = BUCKETS.find(([, test, leafOnly]) => (!leafOnly || leaf) && test(cf));
    if (hit) return hit[0];
  }
  return fs ? 'file system calls (other)' : 'other';
}

export function summarizeProfile(path, root, top = 15) {
  const prof = JSON.parse(readFileSync(path, 'utf8'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map();
  // timeDeltas[i] is the time before samples[i]; attribute it to that sample.
  for (let i = 0; i < prof.samples.length; i++) {
    const id = prof.samples[i];
    selfUs.set(id, (selfUs.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0));
  }
  const totalUs = prof.endTime - prof.startTime;
  const self = new Map();
  const incl = new Map();
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    const l = label(node.callFrame, root);
    self.set(l, (self.get(l) ?? 0) + us);
    // Inclusive: every distinct function on the stack gets the sample once.
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const ln = label(byId.get(cur).callFrame, root);
      if (seen.has(ln)) continue;
      seen.add(ln);
      incl.set(ln, (incl.get(ln) ?? 0) + us);
    }
  }
  // Self time by where the code lives: a package under node_modules, a dist/ file, node's internals, or V8.
  const byModule = new Map();
  for (const [id, us] of selfUs) {
    const cf = byId.get(id).callFrame;
    const url = (cf.url || '').replace(/^file:\/\//, '');
    let m;
    if (!url) m = cf.functionName.startsWith('(') ? cf.functionName : `(native) ${cf.functionName}`;
    else if (url.startsWith('node:')) m = 'node: internals';
    else if (url.includes('/node_modules/')) {
      const rest = url.slice(url.lastIndexOf('/node_modules/') + 14).split('/');
      m = `node_modules/${rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]}`;
    } else m = url.replace(root, '');
    byModule.set(m, (byModule.get(m) ?? 0) + us);
  }
  const buckets = new Map();
  for (const [id, us] of selfUs) {
    const name = bucketOf(id, byId, parent);
    buckets.set(name, (buckets.get(name) ?? 0) + us);
  }
  const ms = (us) => Math.round(us / 100) / 10;
  const sorted = (m, f = () => true, n = top) =>
    [...m]
      .filter(([l]) => f(l))
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([l, us]) => ({ fn: l, ms: ms(us) }));
  return {
    totalMs: ms(totalUs),
    self: sorted(self),
    byModule: sorted(byModule),
    buckets: sorted(buckets, undefined, 30),
    ownInclusive: sorted(incl, (l) => / dist\//.test(` ${l}`) || l.includes('/dist/')),
    inclusive: sorted(incl, (l) => !l.startsWith('(root)') && !l.startsWith('(program)') && !l.startsWith('(idle)')),
  };
}
