import { build } from 'esbuild';
import { readFile } from 'node:fs/promises';
const ownRequire = { name: 'o', setup(b) { b.onLoad({ filter: /[\\/]dist[\\/].*\.js$/ }, async (a) => ({ contents: (await readFile(a.path, 'utf8')).replace(/const require = createRequire\(import\.meta\.url\);/g, '').replace(/createRequire\(import\.meta\.url\)\(/g, 'require('), loader: 'js' })); } };
await build({ entryPoints: ['/work/wt-bundle/dist/cli/entry.js'], bundle: true, platform: 'node', format: 'cjs', minify: true, outfile: '/work/wt-bundle/dist/si-test.cjs', external: ['react-devtools-core', 'iconv-lite'], plugins: [ownRequire], define: { 'import.meta.url': '__siUrl' }, banner: { js: "const __siUrl = require('url').pathToFileURL(__filename).href;" }, logLevel: 'error' });
