// `npm run fuzz -- --door <turn|socketio|xmpp|rest|all> [--runs N] [--seed S]`: the
// doors' property-based fuzz tests (test/fuzz/<door>.fuzz-spec.ts) at a large size, with
// progress lines. The normal suite (`npm test`) runs the same tests small and seeded.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const fuzzDir = join(root, 'test', 'fuzz');
const doors = readdirSync(fuzzDir)
  .filter((file) => file.endsWith('.fuzz-spec.ts'))
  .map((file) => file.replace('.fuzz-spec.ts', ''));

const { values } = parseArgs({
  options: {
    door: { type: 'string', default: 'all' },
    runs: { type: 'string', default: '50000' },
    seed: { type: 'string', default: String(Date.now() % 2 ** 31) },
    help: { type: 'boolean', short: 'h' },
  },
});
const usage = `usage: npm run fuzz -- --door <${[...doors, 'all'].join('|')}> [--runs N] [--seed S]`;
if (values.help) {
  console.log(usage);
  process.exit(0);
}
const chosen = values.door === 'all' ? doors : [values.door];
if (chosen.some((door) => !doors.includes(door))) {
  console.error(`unknown door "${values.door}"\n${usage}`);
  process.exit(2);
}
if (!(Number(values.runs) > 0)) {
  console.error(`--runs must be a positive number\n${usage}`);
  process.exit(2);
}

const run = (command, args, env = {}) =>
  spawnSync(command, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } }).status;

// The fuzz tests drive the built shard (dist/) as its own process.
console.error('[fuzz] building the shard');
if (run('npm', ['run', '--silent', 'build']) !== 0) process.exit(1);

const failed = [];
for (const door of chosen) {
  console.error(`[fuzz] ${door}: ${values.runs} runs, seed ${values.seed}`);
  const status = run(
    join(root, 'node_modules', '.bin', 'jest'),
    ['--selectProjects', 'fuzz', '--runInBand', `test/fuzz/${door}.fuzz-spec.ts`],
    { FUZZ_RUNS: values.runs, FUZZ_SEED: values.seed, FUZZ_PROGRESS: '1' },
  );
  if (status !== 0) failed.push(door);
}
console.error(
  failed.length
    ? `[fuzz] FAILED: ${failed.join(', ')} (seed ${values.seed} reproduces it)`
    : `[fuzz] all passed: ${chosen.join(', ')}, ${values.runs} runs each, seed ${values.seed}`,
);
process.exit(failed.length ? 1 : 0);
