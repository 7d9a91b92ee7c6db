// Builds the browser client into dist/public: app.js (+ map) bundled by esbuild, and the
// static index.html and styles.css. The shard serves them at / and under /assets/.
import { build } from 'esbuild';
import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'src', 'web', 'client');
const out = join(root, 'dist', 'public');

const started = performance.now();
await mkdir(out, { recursive: true });
const result = await build({
  entryPoints: [join(source, 'main.ts')],
  outfile: join(out, 'app.js'),
  bundle: true,
  platform: 'browser',
  format: 'iife',
  target: 'es2020',
  minify: true,
  sourcemap: true,
  metafile: true,
  legalComments: 'linked',
  define: { 'process.env.NODE_ENV': '"production"' },
  logLevel: 'warning',
});
await Promise.all(
  ['index.html', 'styles.css'].map((file) => copyFile(join(source, file), join(out, file))),
);

const bytes = result.metafile.outputs[relative(process.cwd(), join(out, 'app.js'))]?.bytes;
const size = bytes === undefined ? '' : ` (app.js ${(bytes / 1024).toFixed(1)} KiB)`;
const took = Math.round(performance.now() - started);
console.log(`web client built into ${relative(process.cwd(), out) || '.'}${size} in ${took} ms`);
