/**
 * signaling-capacity: idle socket.io participants (joined, no media) are added to an
 * in-process shard in steps up to each size. Per step: the shard's heap and external
 * memory per connection (after a forced GC), its RSS, and its event-loop delay while the
 * clients connect and join, then while they sit idle. The clients run in a child process,
 * so their objects, their work and their file descriptors are not the shard's.
 */
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { startShard } from '../test/support/shard';
import { ChildClients } from './child-clients';
import type { Bench, Row } from './run';
import type { ClientsCommand, ClientsReport } from './signaling-clients';

const ROOM_SIZE = 50;

/**
 * Memory after a forced collection, which keeps garbage out of the per-connection
 * figure; --expose-gc can be switched on at run time and read from a fresh context.
 * (A forced collection in a process that has used @roamhq/wrtc can crash it in wrtc's
 * finalizers: run this bench in its own process.)
 */
export function memoryAfterGc(): NodeJS.MemoryUsage {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
  return process.memoryUsage();
}

const LOOP_SAMPLING_MS = 10;

/** The delay beyond the sampling interval: the histogram records whole intervals. */
const delayMs = (nanoseconds: number) =>
  Math.max(0, Math.round((nanoseconds / 1e6 - LOOP_SAMPLING_MS) * 10) / 10);

/** Sockets the shard process needs besides the clients' (mediasoup pipes, listeners...). */
const SPARE_FILE_DESCRIPTORS = 200;

/** The soft limit on open files (`ulimit -n`), where Linux tells it. */
function openFilesLimit(): number {
  try {
    const limits = readFileSync('/proc/self/limits', 'utf8');
    const limit = /^Max open files\s+(\d+)/m.exec(limits)?.[1];
    return limit ? Number(limit) : Infinity;
  } catch {
    return Infinity;
  }
}

export const signalingCapacity: Bench = {
  async run(args, progress) {
    const { values } = parseArgs({
      args,
      options: {
        sizes: { type: 'string', default: '1000,5000,10000' },
        'idle-seconds': { type: 'string', default: '5' },
        tiny: { type: 'boolean' },
      },
    });
    const sizes = values.tiny ? [20] : values.sizes.split(',').map(Number);
    const idleMs = (values.tiny ? 0.5 : Number(values['idle-seconds'])) * 1000;
    if (sizes.some((size) => !Number.isInteger(size) || size < 1)) {
      throw new Error(`--sizes takes positive integers, got "${values.sizes}"`);
    }
    const largest = Math.max(...sizes);
    const limit = openFilesLimit();
    if (largest + SPARE_FILE_DESCRIPTORS > limit) {
      throw new Error(
        `${largest} connections need about ${largest + SPARE_FILE_DESCRIPTORS} open files ` +
          `per process, but "ulimit -n" is ${limit}: raise it or lower --sizes`,
      );
    }
    const shard = await startShard({ LOG_LEVEL: 'error' });
    const clients = ChildClients.start<ClientsCommand, ClientsReport>('signaling-clients.ts');
    try {
      const baseline = memoryAfterGc();
      const rows: Row[] = [];
      for (const total of [...sizes].sort((a, b) => a - b)) {
        const rampDelay = monitorEventLoopDelay({ resolution: LOOP_SAMPLING_MS });
        rampDelay.enable();
        const started = performance.now();
        const added = await clients.ask(
          { type: 'add', baseUrl: shard.baseUrl, total, roomSize: ROOM_SIZE },
          'added',
          (report) => {
            if (report.type === 'progress') progress(`${report.connected}/${total} connected`);
          },
        );
        const rampSeconds = (performance.now() - started) / 1000;
        rampDelay.disable();
        if (added.failed) progress(`${added.failed} failed, first: ${added.firstError}`);

        const idleDelay = monitorEventLoopDelay({ resolution: LOOP_SAMPLING_MS });
        idleDelay.enable();
        await new Promise((resolve) => setTimeout(resolve, idleMs));
        idleDelay.disable();

        const memory = memoryAfterGc();
        const perConnection = (bytes: number) => Math.round(bytes / added.connected);
        rows.push({
          connections: added.connected,
          failed: added.failed,
          'ramp s': Math.round(rampSeconds * 10) / 10,
          'heap B/conn': perConnection(memory.heapUsed - baseline.heapUsed),
          'external B/conn': perConnection(memory.external - baseline.external),
          'rss MiB': Math.round(memory.rss / 2 ** 20),
          'ramp delay p99 ms': delayMs(rampDelay.percentile(99)),
          'ramp delay max ms': delayMs(rampDelay.max),
          'idle delay p99 ms': delayMs(idleDelay.percentile(99)),
        });
        progress(`${added.connected} connected: done`);
      }
      return rows;
    } finally {
      await clients.close({ type: 'close' });
      await shard.close();
    }
  },
};
