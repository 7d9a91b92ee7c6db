/**
 * A child process of the join-latency bench: the publisher, or a share of the viewers
 * (light viewers, or mediasoup-client over libwebrtc). Times are taken here, per viewer,
 * from the start of its socket.io connection.
 */
import { performance } from 'node:perf_hooks';
import type { NodeParticipant } from '../test/support/node-participant';
import { LightViewer } from './light-viewer';

/** Milliseconds from the start of the connection to each phase the viewer reached. */
export type Timings = Record<string, number>;
export type ViewerKind = 'light' | 'wrtc';
interface WarmUpCommand {
  type: 'warm-up';
  /** How many viewers join (and leave) at once. */
  joins: number;
  baseUrl: string;
  room: string;
  publisherId: string;
  viewer: ViewerKind;
}
interface MeasureCommand extends Omit<WarmUpCommand, 'type' | 'joins'> {
  type: 'measure';
  count: number;
  offset: number;
}
export type LatencyCommand =
  | { type: 'publish'; baseUrl: string; room: string }
  | WarmUpCommand
  | MeasureCommand
  | { type: 'close' };
export type LatencyReport =
  | { type: 'publishing'; participantId: string }
  | { type: 'warm' }
  | { type: 'progress'; reached: Record<Phase, number> }
  | { type: 'measured'; timings: Timings[]; failures: string[]; cpuMs: number };

const POLL_MS = 50;
/**
 * How often a process reports how many of its viewers reached each phase: rarely, as
 * the reports land on the shard's event loop (the bench's parent process).
 */
const PROGRESS_MS = 500;
const FIRST_MEDIA_TIMEOUT_MS = 60_000;
const participants: { close(): void }[] = [];
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

type Phase = 'joined' | 'receiving';
interface ViewerRun {
  baseUrl: string;
  room: string;
  publisherId: string;
  displayName: string;
  onPhase: (phase: Phase) => void;
}
type Measured = { viewer: { close(): void }; timings: Timings };

async function measureLightViewer(run: ViewerRun): Promise<Measured> {
  const { viewer, timings } = await LightViewer.measure(
    run.baseUrl,
    run.room,
    run.displayName,
    run.publisherId,
    run.onPhase,
  );
  return { viewer, timings: { ...timings } };
}

/**
 * The shard's router capabilities, asked once per process: in the warm-up, as a browser
 * asks while its camera starts.
 */
let routerRtpCapabilities: unknown;

/** mediasoup-client: the join sets up receiving, as the web client's does. */
async function measureWrtcViewer(run: ViewerRun): Promise<Measured> {
  const started = performance.now();
  const viewer: NodeParticipant = await (
    await loadNodeParticipant()
  ).connect(run.baseUrl, { timeoutMs: 30_000 });
  routerRtpCapabilities ??= (await viewer.request('getRouterRtpCapabilities', {}))
    .routerRtpCapabilities;
  await viewer.joinReceiving(run.room, run.displayName, routerRtpCapabilities);
  const joined = performance.now() - started;
  run.onPhase('joined');
  let firstPacket = NaN;
  await waitUntil(async () => {
    const fromPublisher = (await viewer.receiveStats())[run.publisherId];
    if (!fromPublisher) return false;
    if (Number.isNaN(firstPacket) && fromPublisher.audioPackets + fromPublisher.videoPackets) {
      firstPacket = performance.now() - started;
      run.onPhase('receiving');
    }
    return fromPublisher.framesDecoded > 0;
  }, 'the first video frame');
  return { viewer, timings: { joined, firstPacket, firstFrame: performance.now() - started } };
}

const measureViewer = (kind: ViewerKind) =>
  kind === 'light' ? measureLightViewer : measureWrtcViewer;

/** Starts `count` viewers joining at once. */
const joinViewers = (
  { baseUrl, room, publisherId, viewer }: WarmUpCommand | MeasureCommand,
  count: number,
  displayName: (i: number) => string,
  onPhase: (phase: Phase) => void = () => undefined,
) =>
  Array.from({ length: count }, (_, i) =>
    measureViewer(viewer)({ baseUrl, room, publisherId, displayName: displayName(i), onPhase }),
  );

/**
 * Unmeasured joins, all at once, then their leaves: the process's media stack is started
 * and its JavaScript optimized before the clock runs, as in a browser that is already
 * open. V8 optimizes a function only after several runs; with a single warm-up join the
 * viewers still ran cold code, and that CPU is taken from the shard that shares this
 * machine (real viewers bring their own).
 */
async function warmUp(command: WarmUpCommand) {
  const warm = await Promise.all(joinViewers(command, command.joins, (i) => `warm-up-${i}`));
  warm.forEach((w) => w.viewer.close());
  send({ type: 'warm' });
}

async function measure(command: MeasureCommand) {
  const reached: Record<Phase, number> = { joined: 0, receiving: 0 };
  const ticker = setInterval(() => send({ type: 'progress', reached }), PROGRESS_MS);
  const cpuBefore = process.cpuUsage();
  const outcomes = await Promise.allSettled(
    joinViewers(
      command,
      command.count,
      (i) => `viewer-${command.offset + i}`,
      (phase) => (reached[phase] += 1),
    ),
  );
  const cpu = process.cpuUsage(cpuBefore);
  clearInterval(ticker);
  const measured = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
  participants.push(...measured.map((m) => m.viewer));
  send({
    type: 'measured',
    timings: measured.map((m) => m.timings),
    failures: outcomes.flatMap((o) => (o.status === 'rejected' ? [String(o.reason)] : [])),
    cpuMs: (cpu.user + cpu.system) / 1000,
  });
}

process.on('message', (command: LatencyCommand) => {
  if (command.type === 'publish') void publish(command.baseUrl, command.room);
  else if (command.type === 'warm-up') void warmUp(command);
  else if (command.type === 'measure') void measure(command);
  else {
    participants.forEach((p) => p.close());
    // @roamhq/wrtc crashes in Node's natural exit once a media source existed.
    process.exit(0);
  }
});
