/**
 * A child process of the join-latency bench: the publisher, or a share of the viewers
 * (mediasoup-client over libwebrtc). Times are taken here, per viewer, from the start of
 * its socket.io connection.
 */
import { performance } from 'node:perf_hooks';
import { NodeParticipant } from '../test/support/node-participant';

export interface Timings {
  joined: number;
  firstPacket: number;
  firstFrame: number;
}
export type LatencyCommand =
  | { type: 'publish'; baseUrl: string; room: string }
  | {
      type: 'measure';
      baseUrl: string;
      room: string;
      publisherId: string;
      count: number;
      offset: number;
    }
  | { type: 'close' };
export type LatencyReport =
  | { type: 'publishing'; participantId: string }
  | { type: 'phase'; phase: 'joined' | 'receiving' }
  | { type: 'measured'; timings: Timings[]; failures: string[] };

const POLL_MS = 50;
const FIRST_MEDIA_TIMEOUT_MS = 60_000;
const participants: NodeParticipant[] = [];
const send = (report: LatencyReport) => process.send!(report);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitUntil(check: () => Promise<boolean>, what: string) {
  const deadline = Date.now() + FIRST_MEDIA_TIMEOUT_MS;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(POLL_MS);
  }
}

async function publish(baseUrl: string, room: string) {
  const publisher = await NodeParticipant.connect(baseUrl);
  participants.push(publisher);
  await publisher.join(room, 'publisher');
  await publisher.publish();
  await waitUntil(async () => {
    let sending = false;
    (await publisher.sendTransport!.getStats()).forEach((report: Record<string, unknown>) => {
      if (report.type === 'outbound-rtp' && Number(report.packetsSent) > 0) sending = true;
    });
    return sending;
  }, 'the publisher to send');
  send({ type: 'publishing', participantId: publisher.joined.participantId });
}

async function measureViewer(baseUrl: string, room: string, publisherId: string, index: number) {
  const started = performance.now();
  const viewer = await NodeParticipant.connect(baseUrl, { timeoutMs: 30_000 });
  participants.push(viewer);
  await viewer.join(room, `viewer-${index}`);
  const joined = performance.now() - started;
  send({ type: 'phase', phase: 'joined' });
  let firstPacket = NaN;
  await waitUntil(async () => {
    const fromPublisher = (await viewer.receiveStats())[publisherId];
    if (!fromPublisher) return false;
    if (Number.isNaN(firstPacket) && fromPublisher.audioPackets + fromPublisher.videoPackets) {
      firstPacket = performance.now() - started;
      send({ type: 'phase', phase: 'receiving' });
    }
    return fromPublisher.framesDecoded > 0;
  }, 'the first video frame');
  return { joined, firstPacket, firstFrame: performance.now() - started };
}

async function measure(command: Extract<LatencyCommand, { type: 'measure' }>) {
  const { baseUrl, room, publisherId, count, offset } = command;
  const outcomes = await Promise.allSettled(
    Array.from({ length: count }, (_, i) => measureViewer(baseUrl, room, publisherId, offset + i)),
  );
  send({
    type: 'measured',
    timings: outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : [])),
    failures: outcomes.flatMap((o) => (o.status === 'rejected' ? [String(o.reason)] : [])),
  });
}

process.on('message', (command: LatencyCommand) => {
  if (command.type === 'publish') void publish(command.baseUrl, command.room);
  else if (command.type === 'measure') void measure(command);
  else {
    participants.forEach((p) => p.close());
    // @roamhq/wrtc crashes in Node's natural exit once a media source existed.
    process.exit(0);
  }
});
