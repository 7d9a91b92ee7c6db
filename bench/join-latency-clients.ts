/**
 * A child process of the join-latency bench: the publisher, or a share of the viewers
 * (light viewers, or mediasoup-client over libwebrtc). Times are taken here, per viewer,
 * from the start of its socket.io connection.
 */
import { performance } from 'node:perf_hooks';
import type { NodeParticipant } from '../test/support/node-participant';
import { dtlsCertificate, LightViewer } from './light-viewer';

/** Milliseconds from the start of the connection to each phase the viewer reached. */
export type Timings = Record<string, number>;
export type ViewerKind = 'light' | 'wrtc';
export type LatencyCommand =
  | { type: 'publish'; baseUrl: string; room: string }
  | {
      type: 'measure';
      baseUrl: string;
      room: string;
      publisherId: string;
      viewer: ViewerKind;
      count: number;
      offset: number;
    }
  | { type: 'close' };
export type LatencyReport =
  | { type: 'publishing'; participantId: string }
  | { type: 'phase'; phase: 'joined' | 'receiving' }
  | { type: 'measured'; timings: Timings[]; failures: string[]; cpuMs: number };

const POLL_MS = 50;
const FIRST_MEDIA_TIMEOUT_MS = 60_000;
const participants: { close(): void }[] = [];
const cpuMs = ({ user, system }: NodeJS.CpuUsage) => (user + system) / 1000;
const send = (report: LatencyReport) => process.send!(report);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitUntil(check: () => Promise<boolean>, what: string) {
  const deadline = Date.now() + FIRST_MEDIA_TIMEOUT_MS;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(POLL_MS);
  }
}

/** libwebrtc is loaded only where it is used: light viewers' processes stay light. */
const loadNodeParticipant = async () =>
  (await import('../test/support/node-participant')).NodeParticipant;

async function publish(baseUrl: string, room: string) {
  const publisher = await (await loadNodeParticipant()).connect(baseUrl);
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

async function measureLightViewer(
  baseUrl: string,
  room: string,
  publisherId: string,
  index: number,
): Promise<Timings> {
  const { viewer, timings } = await LightViewer.measure(
    baseUrl,
    room,
    `viewer-${index}`,
    publisherId,
    (phase) => send({ type: 'phase', phase }),
  );
  participants.push(viewer);
  return { ...timings };
}

async function measureWrtcViewer(
  baseUrl: string,
  room: string,
  publisherId: string,
  index: number,
): Promise<Timings> {
  const started = performance.now();
  const viewer: NodeParticipant = await (
    await loadNodeParticipant()
  ).connect(baseUrl, { timeoutMs: 30_000 });
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
  const measureViewer = command.viewer === 'light' ? measureLightViewer : measureWrtcViewer;
  await (command.viewer === 'light' ? dtlsCertificate() : loadNodeParticipant());
  const cpuBefore = process.cpuUsage();
  const outcomes = await Promise.allSettled(
    Array.from({ length: count }, (_, i) => measureViewer(baseUrl, room, publisherId, offset + i)),
  );
  send({
    type: 'measured',
    timings: outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : [])),
    failures: outcomes.flatMap((o) => (o.status === 'rejected' ? [String(o.reason)] : [])),
    cpuMs: cpuMs(process.cpuUsage(cpuBefore)),
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
