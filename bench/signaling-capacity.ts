/**
 * signaling-capacity: idle socket.io participants (joined, no media) are added to an
 * in-process shard in steps up to each size. Per step: the shard thread's heap per
 * connection (after a forced GC) and its event-loop delay while the clients connect and
 * join, then while they sit idle. The clients run in a worker thread, so their objects
 * are on another heap and their work on another loop; the process RSS includes them.
 */
import { once } from 'node:events';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Worker } from 'node:worker_threads';
import { startShard } from '../test/support/shard';
import type { Bench, Row } from './run';
import type { ClientsCommand, ClientsReport } from './signaling-clients';

const ROOM_SIZE = 50;

/**
 * The heap after a forced collection, which keeps garbage out of the per-connection
 * figure; --expose-gc can be switched on at run time and read from a fresh context.
 * (A forced collection in a process that has used @roamhq/wrtc can crash it in wrtc's
 * finalizers: run this bench in its own process.)
 */
export function heapUsedAfterGc(): number {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
  return process.memoryUsage().heapUsed;
}

const LOOP_SAMPLING_MS = 10;

/** The delay beyond the sampling interval: the histogram records whole intervals. */
const delayMs = (nanoseconds: number) =>
  Math.max(0, Math.round((nanoseconds / 1e6 - LOOP_SAMPLING_MS) * 10) / 10);

/** Starts the client thread; .ts files load through the same hook as the benches. */
function startClients(): Worker {
  const register = join(__dirname, 'register-ts.js');
  const clients = join(__dirname, 'signaling-clients.ts');
  return new Worker(`require(${JSON.stringify(register)}); require(${JSON.stringify(clients)});`, {
    eval: true,
  });
}

async function addClients(
  clients: Worker,
  command: Extract<ClientsCommand, { type: 'add' }>,
  progress: (message: string) => void,
) {
  const onReport = (message: ClientsReport) => {
    if (message.type === 'progress') progress(`${message.connected}/${command.total} connected`);
  };
  clients.on('message', onReport);
  clients.postMessage(command);
  try {
    while (true) {
      const [message] = (await once(clients, 'message')) as [ClientsReport];
      if (message.type === 'added') return message;
    }
  } finally {
    clients.off('message', onReport);
  }
}

export const signalingCapacity: Bench = {
  async run(args, progress) {
    const { values } = parseArgs({
      args,
      options: {
        sizes: { type: 'string', default: '500,1000,2000' },
        'idle-seconds': { type: 'string', default: '5' },
        tiny: { type: 'boolean' },
      },
    });
    const sizes = values.tiny ? [20] : values.sizes.split(',').map(Number);
    const idleMs = (values.tiny ? 0.5 : Number(values['idle-seconds'])) * 1000;
    if (sizes.some((size) => !Number.isInteger(size) || size < 1)) {
      throw new Error(`--sizes takes positive integers, got "${values.sizes}"`);
    }
    const shard = await startShard({ LOG_LEVEL: 'error' });
    const clients = startClients();
    try {
      const baseline = heapUsedAfterGc();
      const rows: Row[] = [];
      for (const total of [...sizes].sort((a, b) => a - b)) {
        const rampDelay = monitorEventLoopDelay({ resolution: LOOP_SAMPLING_MS });
        rampDelay.enable();
        const started = performance.now();
        const added = await addClients(
          clients,
          { type: 'add', baseUrl: shard.baseUrl, total, roomSize: ROOM_SIZE },
          progress,
        );
        const rampSeconds = (performance.now() - started) / 1000;
        rampDelay.disable();
        if (added.failed) progress(`${added.failed} failed, first: ${added.firstError}`);

        const idleDelay = monitorEventLoopDelay({ resolution: LOOP_SAMPLING_MS });
        idleDelay.enable();
        await new Promise((resolve) => setTimeout(resolve, idleMs));
        idleDelay.disable();

        const heap = heapUsedAfterGc() - baseline;
        rows.push({
          connections: added.connected,
          failed: added.failed,
          'ramp s': Math.round(rampSeconds * 10) / 10,
          'heap KiB/conn': Math.round(heap / added.connected / 1024),
          'rss MiB': Math.round(process.memoryUsage().rss / 2 ** 20),
          'ramp delay p99 ms': delayMs(rampDelay.percentile(99)),
          'ramp delay max ms': delayMs(rampDelay.max),
          'idle delay p99 ms': delayMs(idleDelay.percentile(99)),
        });
        progress(`${added.connected} connected: done`);
      }
      return rows;
    } finally {
      const exited = once(clients, 'exit');
      clients.postMessage({ type: 'close' } satisfies ClientsCommand);
      await exited;
      await shard.close();
    }
  },
};
