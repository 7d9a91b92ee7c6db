/**
 * `npm run bench -- <name> [options]`: runs bench/<name>.ts, prints progress on stderr
 * and a table at the end, and writes the report to bench/results/<name>-<timestamp>.json.
 * `npm run bench -- all [--quick]` runs every bench and sums them up (bench/all.ts).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { EXIT_MISSING_PREREQUISITE, MissingPrerequisite, Prerequisite } from './prerequisites';

export type Row = Record<string, string | number>;

export interface Bench {
  /** What it needs beyond this project: checked (and installed where it can be) first. */
  needs?: Prerequisite[];
  /** The columns of the table printed at the end (default: every column of the rows). */
  columns?: string[];
  /** Runs with the command-line options after the bench's name; returns the table rows. */
  run(args: string[], progress: (message: string) => void): Promise<Row[]>;
}

export interface BenchReport {
  bench: string;
  startedAt: string;
  args: string[];
  machine: {
    cpu: string;
    cores: number;
    memoryGiB: number;
    node: string;
    /** Other work on the machine skews the figures: the 1-minute load when the run began. */
    loadAverageAtStart: number;
  };
  rows: Row[];
}

/** Each bench is loaded when it is asked for: a process loads only the code it runs. */
const BENCHES: Record<string, () => Promise<Bench>> = {
  'join-latency': async () => (await import('./join-latency')).joinLatency,
  'signaling-capacity': async () => (await import('./signaling-capacity')).signalingCapacity,
  portal: async () => (await import('./portal')).portal,
  turn: async () => (await import('./turn')).turnBench,
  xmpp: async () => (await import('./xmpp')).xmppBench,
  'sfu-fanout': async () => (await import('./sfu-fanout')).sfuFanout,
  'join-burst': async () => (await import('./join-burst')).joinBurst,
  churn: async () => (await import('./churn')).churn,
  cluster: async () => (await import('./cluster')).clusterBench,
  'jitsi-join': async () => (await import('./jitsi-join')).jitsiJoin,
  recording: async () => (await import('./recording')).recordingBench,
  cascade: async () => (await import('./cascade')).cascadeBench,
  resume: async () => (await import('./resume')).resumeBench,
  'large-room': async () => (await import('./large-room')).largeRoom,
  all: async () => (await import('./all')).all,
};

export const BENCH_NAMES = Object.keys(BENCHES);

const DEFAULT_RESULTS_DIR = join(__dirname, 'results');

export async function runBench(
  name: string,
  args: string[],
  options: { resultsDir?: string; progress?: (message: string) => void } = {},
): Promise<{ file: string; report: BenchReport; columns?: string[] }> {
  if (!BENCHES[name]) {
    throw new Error(`unknown bench "${name}"; known: ${BENCH_NAMES.join(', ')}`);
  }
  const bench = await BENCHES[name]();
  const progress = options.progress ?? ((message) => console.error(`[${name}] ${message}`));
  for (const prerequisite of bench.needs ?? []) await prerequisite.ensure(progress);
  const startedAt = new Date().toISOString();
  const loadAverageAtStart = loadavg()[0];
  const rows = await bench.run(args, progress);
  const report: BenchReport = {
    bench: name,
    startedAt,
    args,
    machine: {
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      loadAverageAtStart,
    },
    rows,
  };
  const resultsDir = options.resultsDir ?? DEFAULT_RESULTS_DIR;
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `${name}-${startedAt.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
  return { file, report, columns: bench.columns };
}

async function main() {
  const [name, ...args] = process.argv.slice(2);
  if (!name) {
    console.error(`usage: npm run bench -- <${BENCH_NAMES.join('|')}> [options]`);
    process.exit(64);
  }
  try {
    const { file, report, columns } = await runBench(name, args);
    console.table(report.rows, columns);
    console.log(`results: ${file}`);
    // @roamhq/wrtc crashes in Node's natural exit once a media source existed.
    process.exit(0);
  } catch (error) {
    if (error instanceof MissingPrerequisite) {
      console.error(`[${name}] ${error.message}`);
      process.exit(EXIT_MISSING_PREREQUISITE);
    }
    console.error(error);
    console.error(`[${name}] ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}

if (require.main === module) void main();
