/**
 * join-latency: N viewers connect at once to a shard and join a room where one
 * participant already publishes audio and video. Measured per viewer from the start of
 * its socket.io connection: the join answer, ICE and DTLS done (light viewers), the first
 * RTP packet received from the publisher and the first video frame decoded (libwebrtc
 * viewers, whose receive stats are polled every 50 ms); and per join, the CPU the shard's
 * Node thread, its mediasoup workers and the viewers' processes spent.
 *
 * The shard runs in this process; the viewers (light ones, see light-viewer.ts, or
 * mediasoup-client over libwebrtc) run in child processes, --per-process each, so that
 * they share neither the shard's event loop nor its heap.
 */
import { parseArgs } from 'node:util';
import { WorkerPool } from '../src/media/worker-pool.service';
import { startShard, TestShard } from '../test/support/shard';
import { ChildClients } from './child-clients';
import type { LatencyCommand, LatencyReport, Timings, ViewerKind } from './join-latency-clients';
import { debianPackage } from './prerequisites';
import type { Bench, Row } from './run';

const oneDecimal = (n: number) => Math.round(n * 10) / 10;
/** Unmeasured joins per client process before each round (see join-latency-clients.ts). */
const WARM_UP_JOINS = 10;

/** Nearest-rank percentile of ascending values. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

type Clients = ChildClients<LatencyCommand, LatencyReport>;
const startClients = (): Clients => ChildClients.start('join-latency-clients.ts');

/** CPU milliseconds used so far by the shard's Node process and by its mediasoup workers. */
async function shardCpuMs(shard: TestShard) {
  const { user, system } = process.cpuUsage();
  const usages = await Promise.all(
    shard.app
      .get(WorkerPool)
      .workers()
      .map((worker) => worker.getResourceUsage()),
  );
  return {
    node: (user + system) / 1000,
    workers: usages.reduce((sum, u) => sum + u.ru_utime + u.ru_stime, 0),
  };
}

interface Round {
  timings: Timings[];
  failures: string[];
  /** CPU milliseconds over the round's joins. */
  cpu: { node: number; workers: number; viewers: number };
}

/** One room: a publisher, then `size` viewers joining at once. */
async function measureRound(
  shard: TestShard,
  size: number,
  perProcess: number,
  viewer: ViewerKind,
  round: number,
  progress: (m: string) => void,
): Promise<Round> {
  const { baseUrl } = shard;
  const room = `join-latency-${viewer}-${size}-${round}`;
  const label = `${viewer} N=${size} round ${round}`;
  const publisherProcess = startClients();
  const shares = Array.from({ length: Math.ceil(size / perProcess) }, (_, i) =>
    Math.min(perProcess, size - i * perProcess),
  );
  const viewerProcesses = shares.map(startClients);
  const reached = viewerProcesses.map(() => ({ joined: 0, receiving: 0 }));
  const ticker = setInterval(() => {
    const sum = (phase: 'joined' | 'receiving') => reached.reduce((n, r) => n + r[phase], 0);
    progress(`${label}: ${sum('joined')} joined, ${sum('receiving')} receiving`);
  }, 1000);
  try {
    const { participantId } = await publisherProcess.ask(
      { type: 'publish', baseUrl, room },
      'publishing',
    );
    const run = { baseUrl, room, publisherId: participantId, viewer };
    await Promise.all(
      viewerProcesses.map((c) => c.ask({ type: 'warm-up', joins: WARM_UP_JOINS, ...run }, 'warm')),
    );
    const cpuBefore = await shardCpuMs(shard);
    const results = await Promise.all(
      viewerProcesses.map((clients, i) =>
        clients.ask(
          {
            type: 'measure',
            ...run,
            count: shares[i],
            offset: i * perProcess,
          },
          'measured',
          (report) => {
            if (report.type === 'progress') reached[i] = report.reached;
          },
        ),
      ),
    );
    const cpuAfter = await shardCpuMs(shard);
    const failures = results.flatMap((r) => r.failures);
    if (failures.length) progress(`${label}: ${failures.length} failed, first: ${failures[0]}`);
    progress(`${label}: done`);
    return {
      timings: results.flatMap((r) => r.timings),
      failures,
      cpu: {
        node: cpuAfter.node - cpuBefore.node,
        workers: cpuAfter.workers - cpuBefore.workers,
        viewers: results.reduce((sum, r) => sum + r.cpuMs, 0),
      },
    };
  } finally {
    clearInterval(ticker);
    await Promise.all(
      [publisherProcess, ...viewerProcesses].map((c) => c.close({ type: 'close' })),
    );
  }
}

/**
 * `rounds` rounds of `size` concurrent joins, each into a fresh room with fresh client
 * processes; percentiles over the joins of all rounds, and each round's own p50.
 */
async function measureSize(
  shard: TestShard,
  size: number,
  perProcess: number,
  viewer: ViewerKind,
  rounds: number,
  progress: (m: string) => void,
): Promise<Row> {
  const measured: Round[] = [];
  for (let round = 1; round <= rounds; round++) {
    measured.push(await measureRound(shard, size, perProcess, viewer, round, progress));
  }
  const joins = size * rounds;
  const row: Row = {
    viewer,
    participants: size,
    rounds,
    'client processes': Math.ceil(size / perProcess),
    failed: measured.reduce((n, r) => n + r.failures.length, 0),
  };
  const keys = Object.keys(measured.find((r) => r.timings.length)?.timings[0] ?? {});
  const sorted = (timings: Timings[], key: string) =>
    timings.map((t) => t[key]).sort((a, b) => a - b);
  for (const key of keys) {
    const all = sorted(
      measured.flatMap((r) => r.timings),
      key,
    );
    for (const p of [50, 95, 99]) row[`${key} p${p} ms`] = Math.round(percentile(all, p));
  }
  const last = keys[keys.length - 1];
  row[`${last} p50 by round`] = measured
    .map((r) => Math.round(percentile(sorted(r.timings, last), 50)))
    .join(' / ');
  const cpuPerJoin = (part: keyof Round['cpu']) =>
    oneDecimal(measured.reduce((sum, r) => sum + r.cpu[part], 0) / joins);
  row['shard node ms/join'] = cpuPerJoin('node');
  row['shard workers ms/join'] = cpuPerJoin('workers');
  row['viewer ms/join'] = cpuPerJoin('viewers');
  return row;
}

export const joinLatency: Bench = {
  // The light viewers' DTLS client makes its certificate with openssl.
  needs: [debianPackage('openssl', ['openssl'])],
  async run(args, progress) {
    const { values } = parseArgs({
      args,
      options: {
        sizes: { type: 'string', default: '10,50,100' },
        'per-process': { type: 'string', default: '25' },
        rounds: { type: 'string', default: '3' },
        viewers: { type: 'string', default: 'light,wrtc' },
        tiny: { type: 'boolean' },
      },
    });
    const sizes = values.tiny ? [2] : values.sizes.split(',').map(Number);
    const perProcess = Number(values['per-process']);
    const rounds = values.tiny ? 1 : Number(values.rounds);
    const viewers = values.viewers.split(',') as ViewerKind[];
    if (viewers.some((v) => v !== 'light' && v !== 'wrtc')) {
      throw new Error('--viewers takes light, wrtc or both');
    }
    if ([...sizes, perProcess, rounds].some((n) => !Number.isInteger(n) || n < 1)) {
      throw new Error('--sizes, --per-process and --rounds take positive integers');
    }
    const largest = Math.max(...sizes);
    // Room for the publisher, the viewers and warm-up viewers whose leaving is not through.
    const warmUps = WARM_UP_JOINS * Math.ceil(largest / perProcess);
    const shard = await startShard({
      LOG_LEVEL: 'error',
      MAX_PARTICIPANTS_PER_ROOM: String(largest + 1 + warmUps),
    });
    try {
      const rows: Row[] = [];
      for (const viewer of viewers)
        for (const size of sizes)
          rows.push(await measureSize(shard, size, perProcess, viewer, rounds, progress));
      return rows;
    } finally {
      await shard.close();
    }
  },
};
