// Build step (after tsc and the validators): the published package runs from one file, dist/safe-install.mjs,
// with every library inside it, so installing the guard adds one package with no dependencies and no install
// scripts, and nothing an install removes from node_modules can break it (issue 19). The same for the GitHub
// Action's entry, dist/action.mjs. Bundled from tsc's output (dist/**/*.js), so the generated validators
// (dist/policy/policy-validator.cjs, dist/quarantine/ledger-validator.cjs) are included like any module.
//
// Data the code reads at run time stays beside the bundle, found from the package root (src/util/tool-dir.ts):
// policies/ (the shipped default and the schema), trust/ (the Sigstore trusted root and npm keys), package.json.
import { build } from 'esbuild';
import { chmod, cp, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

// Our modules make their `require` with createRequire(import.meta.url) (ESM has none); in the bundle that would
// resolve libraries from the bundle's folder at run time, where they are not. Turned back into the plain
// `require`, the bundler sees each call (every one names a literal module) and includes the library.
const ownRequire = {
  name: 'own-require',
  setup(b) {
    b.onLoad({ filter: /[\\/]dist[\\/].*\.js$/ }, async (args) => {
      let text = await readFile(args.path, 'utf8');
      text = text.replace(/const require = createRequire\(import\.meta\.url\);/g, '').replace(/createRequire\(import\.meta\.url\)\(/g, 'require(');
      return { contents: text, loader: 'js' };
    });
  },
};

// ink imports react-devtools-core only for DEV=true; the guard never wants it: an empty module in its place.
const noDevtools = {
  name: 'no-devtools',
  setup(b) {
    b.onResolve({ filter: /^react-devtools-core$/ }, () => ({ path: 'react-devtools-core', namespace: 'empty' }));
    b.onLoad({ filter: /.*/, namespace: 'empty' }, () => ({ contents: 'export default {};', loader: 'js' }));
  },
};

// iconv-lite is an optional dependency of minipass-fetch (only for textConverted(), which nothing here calls),
// half a megabyte of code tables: left out (its require fails, as when it is not installed). So are the
// CycloneDX library's optional XML writer and validator (xmlbuilder2, libxmljs2): the SBOM is written as JSON. React, its
// reconciler and scheduler (ink's) pick their production build from NODE_ENV: only that one is bundled; the
// guard's own code and every other library still read the real NODE_ENV (yarn 1's production mode).
const trimmed = {
  name: 'trimmed',
  setup(b) {
    b.onResolve({ filter: /^(iconv-lite|xmlbuilder2|libxmljs2)$/ }, (args) => ({ path: args.path, namespace: 'absent' }));
    b.onLoad({ filter: /.*/, namespace: 'absent' }, (args) => ({ contents: `throw new Error('${args.path} is not part of the safe-install build');`, loader: 'js' }));
    b.onLoad({ filter: /[\\/]node_modules[\\/](react|react-reconciler|scheduler)[\\/].*\.js$/ }, async (args) => ({
      contents: (await readFile(args.path, 'utf8')).replace(/process\.env\.NODE_ENV/g, '"production"'),
      loader: 'js',
    }));
  },
};

// Libraries' own run-time lookups from one file: __dirname and __filename name the bundle (CommonJS code inside
// an ES module has none otherwise). @npmcli/run-script's default node-gyp lookup is not used (we always pass
// nodeGyp, src/install/node-gyp.ts); its node-gyp-bin folder (the `node-gyp` command an install script calls,
// which starts that node-gyp) is looked up as <package>/lib/node-gyp-bin: copied there below and shipped.
const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20.18',
  // CommonJS libraries inside an ES module: give them a real `require` for Node's built-ins.
  banner: {
    js: [
      "import { createRequire as __siCreateRequire } from 'node:module';",
      "import { fileURLToPath as __siFileURLToPath } from 'node:url';",
      "import { dirname as __siDirname } from 'node:path';",
      'const require = __siCreateRequire(import.meta.url);',
      'const __filename = __siFileURLToPath(import.meta.url);',
      'const __dirname = __siDirname(__filename);',
    ].join(' '),
  },
  plugins: [ownRequire, noDevtools, trimmed],
  jsx: 'automatic',
  // The libraries' licence notices go to dist/*.LEGAL.txt (shipped): the bundle itself stays pure ASCII, which
  // V8 keeps as a one-byte string (a single non-ASCII character in a comment made it parse as two-byte text).
  legalComments: 'external',
  minify: process.env.SI_BUNDLE_MINIFY !== '0',
  logLevel: 'warning',
};

await build({ ...common, entryPoints: [join(root, 'dist', 'cli', 'entry.js')], outfile: join(root, 'dist', 'safe-install.mjs'), banner: { js: '#!/usr/bin/env node\n' + common.banner.js } });
await chmod(join(root, 'dist', 'safe-install.mjs'), 0o755);
await cp(join(root, 'node_modules', '@npmcli', 'run-script', 'lib', 'node-gyp-bin'), join(root, 'lib', 'node-gyp-bin'), { recursive: true });
// The GitHub Action's entry (action.yml): the same CLI, started from the action's inputs.
await build({ ...common, entryPoints: [join(root, 'dist', 'action', 'main.js')], outfile: join(root, 'dist', 'action.mjs') });

// The package's bin: a few lines that let Node 22.1+ keep V8's compiled code of the bundle (module.enableCompileCache)
// before importing it, so later starts skip most of compiling 3 MB (bench/RESULTS.md, issue 19). The cache goes in
// the user's own cache folder (where the registry metadata cache is), never the shared temporary folder, where
// another user could plant compiled code. Node 20 has no such cache: the call is skipped.
await writeFile(
  join(root, 'dist', 'cli.mjs'),
  `#!/usr/bin/env node
// safe-install's command (package.json bin), generated by scripts/bundle.mjs: everything is in safe-install.mjs.
import module from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
try {
  module.enableCompileCache?.(join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'safe-install', 'v8-compile-cache'));
} catch {
  // no cache: the same guard, compiled each time
}
// A package with its bundle missing (half removed) is said in one line, never with a stack (--debug shows it).
await import('./safe-install.mjs').catch((err) => {
  const file = new URL('./safe-install.mjs', import.meta.url).pathname;
  process.stderr.write(\`safe-install: cannot load \${file}: \${err?.code ?? err?.message ?? err}\\n  -> reinstall safe-install (npm ci), or run node .safe-install/guard/dist/safe-install.mjs <command> from a project set up with init\\n\`);
  if (process.argv.includes('--debug') || /^(1|true|yes)$/i.test(process.env.SAFE_INSTALL_DEBUG ?? '')) process.stderr.write(\`\${err?.stack ?? err}\\n\`);
  process.exitCode = 2;
});
`,
  { mode: 0o755 },
);
