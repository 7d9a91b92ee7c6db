/**
 * churn: a compressed long run. Each cycle, participants in a child process join one of
 * a few rooms, publish audio and video, receive each other and leave (half with a leave
 * request, half by disconnecting). After a warm-up cycle the shard's state is recorded;
 * after every checkpoint it must come back: rooms, participants, mediasoup objects (as
 * /metrics reports them and as the worker itself lists them), socket.io connections,
 * open file descriptors, heap (after a forced collection) and RSS of the shard process,
 * and the mediasoup worker's RSS.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { WorkerPool } from '../src/media/worker-pool.service';
import { startShard, TestShard } from '../test/support/shard';
import { ChildClients } from './child-clients';
import type { ChurnCommand, ChurnReport } from './churn-clients';
import type { Bench, Row } from './run';
import { memoryAfterGc } from './signaling-capacity';

const ROOMS = 3;
const SETTLE_TIMEOUT_MS = 15_000;
const MiB = 2 ** 20;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The /metrics gauges that must return to zero when everyone has left. */
export const COUNTED = [
  'rooms',
  'participants',
  'transports',
  'producers',
  'consumers',
  'socketio_connections',
] as const;

/** The unlabelled samples of /metrics, by name without the videowindow_ prefix. */
async function scrapeCounts(baseUrl: string): Promise<Record<(typeof COUNTED)[number], number>> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const sample = (name: string) =>
    Number(
      /^videowindow_(\S+) (\S+)$/m.exec(
        text.split('\n').find((l) => l.startsWith(`videowindow_${name} `)) ?? '',
      )?.[2] ?? NaN,
    );
  return Object.fromEntries(COUNTED.map((name) => [name, sample(name)])) as Record<
    (typeof COUNTED)[number],
    number
  >;
}

/** Routers and all their objects, as the mediasoup worker itself lists them. */
async function workerObjects(shard: TestShard) {
  let routers = 0;
  let objects = 0;
  for (const worker of shard.app.get(WorkerPool).workers()) {
    const dump = await worker.dump();
    routers += dump.routerIds.length;
    objects += dump.channelMessageHandlers.channelRequestHandlers.length;
  }
  return { routers, objects };
}

function workersRssMiB(shard: TestShard): number {
  let kib = 0;
  for (const worker of shard.app.get(WorkerPool).workers()) {
    const status = readFileSync(`/proc/${worker.pid}/status`, 'utf8');
    kib += Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? NaN);
  }
  return kib / 1024;
}

async function snapshot(shard: TestShard) {
  const counts = await scrapeCounts(shard.baseUrl);
  const worker = await workerObjects(shard);
  return {
    ...counts,
    'worker routers': worker.routers,
    'worker objects': worker.objects,
    fds: readdirSync('/proc/self/fd').length,
    'heap MiB': memoryAfterGc().heapUsed / MiB,
    'rss MiB': process.memoryUsage().rss / MiB,
    'worker rss MiB': workersRssMiB(shard),
  };
}
type Snapshot = Awaited<ReturnType<typeof snapshot>>;

/** Waits until the shard holds no participant and no media object any more. */
async function settled(shard: TestShard): Promise<Snapshot> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  for (;;) {
    const s = await snapshot(shard);
    const empty = COUNTED.every((name) => s[name] === 0) && s['worker objects'] === 0;
    if (empty || Date.now() > deadline) return s;
    await sleep(250);
  }
}

const round1 = (n: number) => Math.round(n * 10) / 10;

export const churn: Bench = {
  async run(args, progress) {
    const { values } = parseArgs({
      args,
      options: {
        cycles: { type: 'string', default: '30' },
        participants: { type: 'string', default: '4' },
        checkpoints: { type: 'string', default: '3' },
        tiny: { type: 'boolean' },
      },
    });
    const [cycles, participants, checkpoints] = values.tiny
      ? [2, 2, 1]
      : [values.cycles, values.participants, values.checkpoints].map(Number);
    const shard = await startShard({ LOG_LEVEL: 'error', MEDIASOUP_NUM_WORKERS: '1' });
    let failed = 0;
    let firstError: string | undefined;
    // A fresh client process per cycle: libwebrtc objects pile up in a process that keeps
    // them (see test/support/node-participant.ts), and a client crash costs one cycle only.
    const runCycle = async (index: number) => {
      const room = `churn-${index % ROOMS}`;
      const clients = ChildClients.start<ChurnCommand, ChurnReport>('churn-clients.ts');
      try {
        const report = await clients.ask(
          { type: 'cycle', baseUrl: shard.baseUrl, room, participants },
          'cycled',
        );
        failed += report.failed;
        firstError ??= report.firstError;
      } catch (error) {
        failed += 1;
        firstError ??= String(error);
      } finally {
        await clients.close({ type: 'close' });
      }
    };
    try {
      await runCycle(-1); // warm-up: lazily created state (JIT, pools) is not a leak
      const baseline = await settled(shard);
      const rows: Row[] = [];
      const record = (label: string, cyclesDone: number, s: Snapshot) => {
        const row: Row = {
          at: label,
          cycles: cyclesDone,
          joins: cyclesDone * participants,
          failed,
        };
        for (const [key, value] of Object.entries(s)) row[key] = round1(value);
        rows.push(row);
      };
      record('baseline', 0, baseline);
      const perCheckpoint = Math.ceil(cycles / checkpoints);
      for (let done = 0; done < cycles;) {
        const until = Math.min(cycles, done + perCheckpoint);
        for (; done < until; done++) await runCycle(done);
        const s = await settled(shard);
        record('checkpoint', done, s);
        progress(
          `${done}/${cycles} cycles: ${s.transports} transports, ${s.fds} fds, ` +
            `heap ${round1(s['heap MiB'])} MiB, rss ${round1(s['rss MiB'])} MiB`,
        );
      }
      const last = rows[rows.length - 1];
      const delta: Row = { at: 'delta', cycles, joins: cycles * participants, failed };
      for (const key of Object.keys(baseline)) {
        delta[key] = round1(Number(last[key]) - Number(rows[0][key]));
      }
      rows.push(delta);
      if (firstError) progress(`${failed} cycles failed, first: ${firstError}`);
      return rows;
    } finally {
      await shard.close();
    }
  },
};
