// Builds the TURN server's native UDP relay (src/turn/native, N-API, C) with node-gyp
// against this Node's own headers (no download), and copies it next to the compiled
// TypeScript (dist/turn/udp_relay.node). Incremental: make rebuilds only what changed.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'src', 'turn', 'native');
const nodePrefix = dirname(dirname(process.execPath));
const nodeGyp =
  process.env.npm_config_node_gyp ??
  join(nodePrefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');

const started = performance.now();
const configured = existsSync(join(source, 'build', 'Makefile'));
const args = [nodeGyp, configured ? 'build' : 'rebuild', '--loglevel=warn'];
if (existsSync(join(nodePrefix, 'include', 'node', 'node_api.h')))
  args.push(`--nodedir=${nodePrefix}`);
execFileSync(process.execPath, args, { cwd: source, stdio: ['ignore', 'ignore', 'inherit'] });
mkdirSync(join(root, 'dist', 'turn'), { recursive: true });
copyFileSync(
  join(source, 'build', 'Release', 'udp_relay.node'),
  join(root, 'dist', 'turn', 'udp_relay.node'),
);
console.log(
  `native UDP relay built into dist/turn in ${Math.round(performance.now() - started)} ms`,
);
