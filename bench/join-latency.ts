/**
 * join-latency: N participants connect at once to one in-process shard and join a room
 * where one participant already publishes audio and video. Measured per participant from
 * the start of its socket.io connection: the join answer, the first RTP packet received
 * from the publisher and the first video frame decoded (receive stats polled every 50 ms).
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { NodeParticipant } from '../test/support/node-participant';
import { startShard } from '../test/support/shard';
import type { Bench, Row } from './run';

const POLL_MS = 50;
const FIRST_MEDIA_TIMEOUT_MS = 60_000;

interface Timings {
  joined: number;
  firstPacket: number;
  firstFrame: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Nearest-rank percentile of ascending values. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function waitUntil(check: () => Promise<boolean>, what: string) {
  const deadline = Date.now() + FIRST_MEDIA_TIMEOUT_MS;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(POLL_MS);
  }
}

async function startPublisher(baseUrl: string, room: string) {
  const publisher = await NodeParticipant.connect(baseUrl);
  await publisher.join(room, 'publisher');
  await publisher.publish();
  await waitUntil(async () => {
    let sending = false;
    (await publisher.sendTransport!.getStats()).forEach((report: Record<string, unknown>) => {
      if (report.type === 'outbound-rtp' && Number(report.packetsSent) > 0) sending = true;
    });
    return sending;
  }, 'the publisher to send');
  return publisher;
}

async function measureViewer(
  baseUrl: string,
  room: string,
  publisherId: string,
  index: number,
  viewers: NodeParticipant[],
  onPhase: (phase: 'joined' | 'receiving') => void,
): Promise<Timings> {
  const started = performance.now();
  const viewer = await NodeParticipant.connect(baseUrl, { timeoutMs: 30_000 });
  viewers.push(viewer);
  await viewer.join(room, `viewer-${index}`);
  const joined = performance.now() - started;
  onPhase('joined');
  let firstPacket = NaN;
  await waitUntil(async () => {
    const fromPublisher = (await viewer.receiveStats())[publisherId];
    if (!fromPublisher) return false;
    const now = performance.now() - started;
    if (Number.isNaN(firstPacket) && fromPublisher.audioPackets + fromPublisher.videoPackets) {
      firstPacket = now;
      onPhase('receiving');
    }
    return fromPublisher.framesDecoded > 0;
  }, 'the first video frame');
  return { joined, firstPacket, firstFrame: performance.now() - started };
}

async function measureSize(baseUrl: string, size: number, progress: (m: string) => void) {
  const room = `join-latency-${size}`;
  const publisher = await startPublisher(baseUrl, room);
  const viewers: NodeParticipant[] = [];
  const counts = { joined: 0, receiving: 0 };
  const ticker = setInterval(
    () => progress(`N=${size}: ${counts.joined} joined, ${counts.receiving} receiving`),
    1000,
  );
  try {
    const outcomes = await Promise.allSettled(
      Array.from({ length: size }, (_, index) =>
        measureViewer(baseUrl, room, publisher.joined.participantId, index, viewers, (phase) => {
          counts[phase] += 1;
        }),
      ),
    );
    const timings = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
    const failures = outcomes.flatMap((o) => (o.status === 'rejected' ? [String(o.reason)] : []));
    if (failures.length) progress(`N=${size}: ${failures.length} failed, first: ${failures[0]}`);
    const row: Row = { participants: size, failed: failures.length };
    for (const key of ['joined', 'firstPacket', 'firstFrame'] as const) {
      const sorted = timings.map((t) => t[key]).sort((a, b) => a - b);
      for (const p of [50, 95, 99]) row[`${key} p${p} ms`] = Math.round(percentile(sorted, p));
    }
    progress(`N=${size}: done`);
    return row;
  } finally {
    clearInterval(ticker);
    viewers.forEach((viewer) => viewer.close());
    publisher.close();
  }
}

export const joinLatency: Bench = {
  async run(args, progress) {
    const { values } = parseArgs({
      args,
      options: { sizes: { type: 'string', default: '10,50' }, tiny: { type: 'boolean' } },
    });
    const sizes = values.tiny ? [2] : values.sizes.split(',').map(Number);
    if (sizes.some((size) => !Number.isInteger(size) || size < 1)) {
      throw new Error(`--sizes takes positive integers, got "${values.sizes}"`);
    }
    const shard = await startShard({
      LOG_LEVEL: 'error',
      MAX_PARTICIPANTS_PER_ROOM: String(Math.max(...sizes) + 1),
    });
    try {
      const rows: Row[] = [];
      for (const size of sizes) rows.push(await measureSize(shard.baseUrl, size, progress));
      return rows;
    } finally {
      await shard.close();
    }
  },
};
