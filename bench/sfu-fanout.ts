/**
 * sfu-fanout: how many RTP packets per second one mediasoup worker forwards, through Video
 * Window's media code and through bare mediasoup, on SRTP-protected transports.
 *
 * Topology per scenario: P publishers, S subscribers; every subscriber consumes every
 * publisher's streams. The measured worker (the SFU) only forwards. A second mediasoup
 * worker is the load generator and the sink, outside the measurement:
 *
 *   Node UDP (plain RTP at realistic rates) -> load worker ingest PlainTransport
 *     -> load worker SRTP PlainTransport (pipe consumers: every simulcast layer)
 *     -> SFU SRTP PlainTransport (the publisher's producers)
 *     -> SFU SRTP PlainTransport per subscriber (consumers)
 *     -> load worker SRTP PlainTransport per subscriber (sink producers count packets)
 *
 * SRTP PlainTransports stand in for WebRTC transports: after ICE and DTLS a WebRtcTransport
 * forwards exactly the same SRTP, and a real WebRTC client per subscriber would cost this
 * 2-core machine far more than the SFU does.
 *
 * "videowindow" builds the SFU side through a shard's MediaService and RoomMedia: the
 * shard's worker pool and router codecs, RoomMedia.produce (active-speaker observer on
 * audio), RoomMedia.consume (paused, then resumed like signaling does). Only the transport
 * is created by the bench (RoomMedia creates WebRtcTransports only) and registered with
 * the participant like RoomMedia does. "bare" is the same topology with plain mediasoup
 * calls on a worker of its own. With `--reference-worker <binary>`, "reference" is bare
 * mediasoup on another build of the worker (the one a build lever is measured against), so
 * that one run measures what the lever brings. `--srtp` picks the SRTP suite; the default
 * is the one Chromium and the shard's WebRTC transports agree on (AEAD_AES_256_GCM).
 */
import { createWorker, types } from 'mediasoup';
import { createSocket, Socket } from 'node:dgram';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { MediaService } from '../src/media/media.service';
import { RoomMedia } from '../src/media/room-media';
import { WorkerPool } from '../src/media/worker-pool.service';
import { startShard, TestShard } from '../test/support/shard';
import type { Bench, Row } from './run';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** How many subscribers' packets are counted (see measure). */
const SAMPLED_SUBSCRIBERS = 10;

const OPUS = { mimeType: 'audio/opus', clockRate: 48000, channels: 2 } as const;
const VP8 = { mimeType: 'video/VP8', clockRate: 90000 } as const;
const LOAD_CODECS: types.RouterRtpCodecCapability[] = [
  { kind: 'audio', ...OPUS },
  { kind: 'video', ...VP8 },
];
/** What a subscriber accepts: Opus and VP8, no RTX, no header extensions. */
export const SUBSCRIBER_CAPABILITIES: types.RtpCapabilities = {
  codecs: [
    { kind: 'audio', ...OPUS, preferredPayloadType: 100, rtcpFeedback: [] },
    { kind: 'video', ...VP8, preferredPayloadType: 101, rtcpFeedback: [] },
  ],
  headerExtensions: [],
};
const SRTP_SUITES: types.SrtpCryptoSuite[] = [
  'AEAD_AES_256_GCM',
  'AEAD_AES_128_GCM',
  'AES_CM_128_HMAC_SHA1_80',
  'AES_CM_128_HMAC_SHA1_32',
];
const srtpPlain = (srtpCryptoSuite: types.SrtpCryptoSuite): types.PlainTransportOptions => ({
  listenInfo: { protocol: 'udp', ip: '127.0.0.1' },
  rtcpMux: true,
  comedia: false,
  enableSrtp: true,
  srtpCryptoSuite,
});

/** One RTP stream a publisher sends: packets per second and payload size. */
export interface StreamSpec {
  kind: types.MediaKind;
  pps: number;
  payloadBytes: number;
}
/** Opus, 20 ms frames. */
export const AUDIO: StreamSpec = { kind: 'audio', pps: 50, payloadBytes: 100 };
/** VP8 at ~550 kbps in ~50 packets/s. */
export const VIDEO: StreamSpec = { kind: 'video', pps: 50, payloadBytes: 1350 };
/** 3-layer VP8 simulcast (~100, ~250, ~550 kbps); a subscriber gets the top layer. */
const SIMULCAST: StreamSpec[] = [
  { kind: 'video', pps: 12.5, payloadBytes: 1000 },
  { kind: 'video', pps: 25, payloadBytes: 1250 },
  VIDEO,
];

export const SCENARIOS: Record<string, { audio: boolean; video?: StreamSpec[] }> = {
  audio: { audio: true },
  video: { audio: true, video: [VIDEO] },
  simulcast: { audio: true, video: SIMULCAST },
};

/** Forwarded packets per second per publisher and subscriber in a scenario. */
function forwardedPerPair(scenario: keyof typeof SCENARIOS): number {
  const { audio, video } = SCENARIOS[scenario];
  return (audio ? AUDIO.pps : 0) + (video ? video[video.length - 1].pps : 0);
}

/** What forwards: Video Window, bare mediasoup, bare mediasoup on the reference worker. */
type Variant = 'bare' | 'videowindow' | 'reference';

/** The SFU side, built either through Video Window's media code or with bare mediasoup. */
interface Sfu {
  worker: types.Worker;
  /** The SRTP PlainTransport options of both sides. */
  srtp: types.PlainTransportOptions;
  addPeer(peerId: string): void;
  transport(peerId: string, direction: 'send' | 'recv'): Promise<types.PlainTransport>;
  produce(
    peerId: string,
    transport: types.PlainTransport,
    kind: types.MediaKind,
    rtpParameters: types.RtpParameters,
  ): Promise<types.Producer>;
  consume(
    peerId: string,
    transport: types.PlainTransport,
    producerId: string,
  ): Promise<types.Consumer>;
  close(): Promise<void>;
}

/** mediasoup spawns the binary its Worker module names; the reference worker swaps it for its own spawn. */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- its export, not a read-only re-export binding
const workerModule = require(join(dirname(require.resolve('mediasoup')), 'Worker')) as {
  workerBin: string;
};

async function bareSfu(
  srtp: types.PlainTransportOptions,
  workerBin = workerModule.workerBin,
): Promise<Sfu> {
  const defaultBin = workerModule.workerBin;
  workerModule.workerBin = workerBin;
  const worker = await createWorker({ logLevel: 'error' }).finally(
    () => (workerModule.workerBin = defaultBin),
  );
  const router = await worker.createRouter({ mediaCodecs: LOAD_CODECS });
  return {
    worker,
    srtp,
    addPeer: () => undefined,
    transport: () => router.createPlainTransport(srtp),
    produce: (_peer, transport, kind, rtpParameters) => transport.produce({ kind, rtpParameters }),
    consume: (_peer, transport, producerId) =>
      transport.consume({ producerId, rtpCapabilities: SUBSCRIBER_CAPABILITIES }),
    close: async () => worker.close(),
  };
}

type RoomInternals = {
  routers: types.Router[];
  peers: Map<
    string,
    {
      router?: types.Router;
      transports: Map<string, unknown>;
      producers: Map<string, types.Producer>;
      consumers: Map<string, types.Consumer>;
    }
  >;
};

async function videoWindowSfu(srtp: types.PlainTransportOptions): Promise<Sfu> {
  const shard: TestShard = await startShard({ LOG_LEVEL: 'error', MEDIASOUP_NUM_WORKERS: '1' });
  const [worker] = shard.app.get(WorkerPool).workers();
  const room: RoomMedia = await shard.app.get(MediaService).openRoom('fanout');
  // RoomMedia creates WebRtcTransports only; the bench adds SRTP PlainTransports to its
  // home router and registers them (and that router) with the participant exactly as
  // createWebRtcTransport does.
  const internals = room as unknown as RoomInternals;
  return {
    worker,
    srtp,
    addPeer: (peerId) => room.addPeer(peerId),
    async transport(participantId, direction) {
      const [home] = internals.routers;
      const transport = await home.createPlainTransport({
        ...srtp,
        appData: { participantId, direction },
      });
      const peer = internals.peers.get(participantId)!;
      peer.router = home;
      peer.transports.set(transport.id, transport);
      transport.observer.once('close', () => peer.transports.delete(transport.id));
      return transport;
    },
    async produce(peerId, transport, kind, rtpParameters) {
      const { id } = await room.produce(peerId, transport.id, kind, rtpParameters, kind);
      return internals.peers.get(peerId)!.producers.get(id)!;
    },
    async consume(peerId, transport, producerId) {
      const { id } = await room.consume(peerId, transport.id, producerId, SUBSCRIBER_CAPABILITIES);
      await room.setConsumerPaused(peerId, id, false);
      return internals.peers.get(peerId)!.consumers.get(id)!;
    },
    close: () => shard.close(),
  };
}

/** Connects two SRTP PlainTransports to each other. */
export async function pair(a: types.PlainTransport, b: types.PlainTransport) {
  await a.connect({
    ip: b.tuple.localAddress,
    port: b.tuple.localPort,
    srtpParameters: b.srtpParameters,
  });
  await b.connect({
    ip: a.tuple.localAddress,
    port: a.tuple.localPort,
    srtpParameters: a.srtpParameters,
  });
}

/** A publisher's RTP streams as sent by Node: SSRC, payload type and timing. */
export interface Outgoing {
  spec: StreamSpec;
  ssrc: number;
  payloadType: number;
  port: number;
  sent: number;
  seq: number;
}

/** Builds one RTP packet; VP8 packets carry a payload descriptor and a keyframe each second. */
export function rtpPacket(stream: Outgoing): Buffer {
  const { spec } = stream;
  const packet = Buffer.alloc(12 + spec.payloadBytes);
  packet[0] = 0x80;
  packet[1] = 0x80 | stream.payloadType; // one packet per frame: marker set
  packet.writeUInt16BE(stream.seq & 0xffff, 2);
  const clock = spec.kind === 'audio' ? 48000 : 90000;
  packet.writeUInt32BE(Math.floor((stream.sent * clock) / spec.pps) >>> 0, 4);
  packet.writeUInt32BE(stream.ssrc, 8);
  if (spec.kind === 'video') {
    const keyFrame = stream.sent % Math.round(spec.pps) === 0;
    const pictureId = stream.sent & 0x7fff;
    packet[12] = 0x90; // X, S, partition 0
    packet[13] = 0x80; // I: picture ID present
    packet.writeUInt16BE(0x8000 | pictureId, 14);
    // VP8 payload header: P bit clear on key frames, then start code and 640x360.
    packet[16] = keyFrame ? 0x10 : 0x11;
    if (keyFrame) Buffer.from([0, 0, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01]).copy(packet, 17);
  }
  stream.seq += 1;
  stream.sent += 1;
  return packet;
}

/** Sends every stream at its rate; catches up after timer lateness instead of drifting. */
export function inject(socket: Socket, streams: Outgoing[]) {
  const started = performance.now();
  const timer = setInterval(() => {
    const elapsed = (performance.now() - started) / 1000;
    for (const stream of streams) {
      while (stream.sent < Math.floor(elapsed * stream.spec.pps)) {
        socket.send(rtpPacket(stream), stream.port, '127.0.0.1');
      }
    }
  }, 5);
  return () => clearInterval(timer);
}

/** A count and when it was read (performance.now()). */
interface Reading {
  count: number;
  at: number;
}

/** Per second between two readings. */
export const rate = (from: Reading, to: Reading) =>
  ((to.count - from.count) * 1000) / (to.at - from.at);

/**
 * Packets counted by the given consumers or producers. The requests go out in parallel;
 * the reading is timed at the middle of the answers' spread.
 */
export async function packetCount(
  objects: (types.Consumer | types.Producer)[],
  type: string,
): Promise<Reading> {
  const sent = performance.now();
  const stats = await Promise.all(objects.map((object) => object.getStats()));
  const at = (sent + performance.now()) / 2;
  const count = stats
    .flat()
    .reduce((sum, stat) => sum + (stat.type === type ? stat.packetCount : 0), 0);
  return { count, at };
}

export const cpuMs = async (worker: types.Worker): Promise<{ ms: number; at: number }> => {
  const usage = await worker.getResourceUsage();
  return { ms: usage.ru_utime + usage.ru_stime, at: performance.now() };
};

interface Measurement {
  consumers: number;
  forwardedPps: number;
  expectedPps: number;
  /** Packets per second the SFU's producers received (all simulcast layers). */
  inputPps: number;
  usPerPacket: number;
  workerCpu: number;
  loss: number;
}

async function measure(
  sfu: Sfu,
  scenario: keyof typeof SCENARIOS,
  publishers: number,
  subscribers: number,
  seconds: number,
  progress: (m: string) => void,
): Promise<Measurement> {
  const { audio, video } = SCENARIOS[scenario];
  const load = await createWorker({ logLevel: 'error' });
  const loadRouter = await load.createRouter({ mediaCodecs: LOAD_CODECS });
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  socket.on('message', () => undefined); // RTCP from the ingest transports
  let stop = () => undefined as void;
  try {
    const streams: Outgoing[] = [];
    const producers: types.Producer[] = [];
    let ssrc = 1000;
    for (let p = 0; p < publishers; p++) {
      const peerId = `publisher-${p}`;
      sfu.addPeer(peerId);
      const ingest = await loadRouter.createPlainTransport({
        listenInfo: { protocol: 'udp', ip: '127.0.0.1' },
        rtcpMux: true,
        comedia: true,
      });
      const uplink = await loadRouter.createPlainTransport(sfu.srtp);
      const send = await sfu.transport(peerId, 'send');
      await pair(uplink, send);
      const tracks: StreamSpec[][] = [...(audio ? [[AUDIO]] : []), ...(video ? [video] : [])];
      for (const layers of tracks) {
        const kind = layers[0].kind;
        const payloadType = kind === 'audio' ? 111 : 96;
        const outgoing = layers.map((spec) => ({
          spec,
          ssrc: ssrc++,
          payloadType,
          port: ingest.tuple.localPort,
          sent: 0,
          seq: 0,
        }));
        streams.push(...outgoing);
        const codec = kind === 'audio' ? { ...OPUS, payloadType } : { ...VP8, payloadType };
        const ingested = await ingest.produce({
          kind,
          rtpParameters: {
            codecs: [codec],
            encodings: outgoing.map((o) => ({ ssrc: o.ssrc })),
          },
        });
        const piped = await uplink.consume({
          producerId: ingested.id,
          rtpCapabilities: loadRouter.rtpCapabilities,
          pipe: true,
        });
        producers.push(await sfu.produce(peerId, send, kind, piped.rtpParameters));
      }
    }

    // Every subscriber receives the same streams, so packets are counted on the first
    // SAMPLED_SUBSCRIBERS only and scaled: thousands of stats requests to a busy worker
    // take minutes to answer.
    const consumers: types.Consumer[] = [];
    const sinks: types.Producer[] = [];
    let consumerCount = 0;
    const sampled = Math.min(subscribers, SAMPLED_SUBSCRIBERS);
    let subscribed = 0;
    const subscribe = async (s: number) => {
      const peerId = `subscriber-${s}`;
      sfu.addPeer(peerId);
      const recv = await sfu.transport(peerId, 'recv');
      const sink = await loadRouter.createPlainTransport(sfu.srtp);
      await pair(recv, sink);
      for (const producer of producers) {
        const consumer = await sfu.consume(peerId, recv, producer.id);
        consumerCount += 1;
        const { codecs, encodings } = consumer.rtpParameters;
        const sinkProducer = await sink.produce({
          kind: consumer.kind,
          rtpParameters: { codecs, encodings: [{ ssrc: encodings![0].ssrc }] },
        });
        if (s < sampled) {
          consumers.push(consumer);
          sinks.push(sinkProducer);
        }
      }
      if (++subscribed % 50 === 0)
        progress(`${scenario}: ${subscribed}/${subscribers} subscribers`);
    };
    // Subscribers are set up 10 at a time: the worker answers requests in parallel.
    let next = 0;
    const lane = async () => {
      while (next < subscribers) await subscribe(next++);
    };
    await Promise.all(Array.from({ length: 10 }, lane));

    progress(`${scenario}: injecting, measuring for ${seconds} s`);
    stop = inject(socket, streams);
    await sleep(Math.min(3000, seconds * 500));
    const input0 = await packetCount(producers, 'inbound-rtp');
    const forwarded0 = await packetCount(consumers, 'outbound-rtp');
    const received0 = await packetCount(sinks, 'inbound-rtp');
    const cpu0 = await cpuMs(sfu.worker);
    await sleep(seconds * 1000);
    const cpu1 = await cpuMs(sfu.worker);
    const input1 = await packetCount(producers, 'inbound-rtp');
    const forwarded1 = await packetCount(consumers, 'outbound-rtp');
    const received1 = await packetCount(sinks, 'inbound-rtp');
    progress(`${scenario}: measured`);

    const forwardedPps = (rate(forwarded0, forwarded1) * subscribers) / sampled;
    const cpuWindow = (cpu1.at - cpu0.at) / 1000;
    const cpuUs = (cpu1.ms - cpu0.ms) * 1000;
    return {
      consumers: consumerCount,
      forwardedPps,
      expectedPps: publishers * subscribers * forwardedPerPair(scenario),
      inputPps: rate(input0, input1),
      usPerPacket: cpuUs / (forwardedPps * cpuWindow),
      workerCpu: cpuUs / 1e6 / cpuWindow,
      loss: Math.max(0, 1 - rate(received0, received1) / rate(forwarded0, forwarded1)),
    };
  } finally {
    stop();
    socket.close();
    load.close();
  }
}

const round = (value: number, digits = 0) => Number(value.toFixed(digits));

/**
 * LiveKit's published benchmark ("Benchmarking" in LiveKit's self-hosting docs): one room
 * per run on a 16-core c2-standard-16; the packets per second the server sent out and
 * its CPU utilization. `modelPps` is what this bench's stream model would forward in the
 * same room (a video publisher: Opus and one forwarded VP8 layer), `cost` the scenario
 * whose measured cost per packet stands in for it.
 */
const LIVEKIT_CORES = 16;
const LIVEKIT_RUNS = [
  {
    scenario: 'LiveKit 150 publishers x 150 subscribers (video)',
    ppsOut: 762_749,
    cpu: 0.85,
    modelPps: 150 * 149 * forwardedPerPair('video'),
    cost: 'simulcast',
  },
  {
    scenario: 'LiveKit 1 publisher x 3000 subscribers (video)',
    ppsOut: 560_962,
    cpu: 0.92,
    modelPps: 3000 * forwardedPerPair('video'),
    cost: 'simulcast',
  },
  {
    scenario: 'LiveKit 10 audio publishers x 3000 subscribers',
    ppsOut: 959_156,
    cpu: 0.8,
    modelPps: 10 * 3000 * forwardedPerPair('audio'),
    cost: 'audio',
  },
];

const [livekitMeeting] = LIVEKIT_RUNS;

/** Published reference points, in forwarded packets per second per core. */
export const ANCHORS: Row[] = [
  {
    reference: 'Jitsi Videobridge evaluation',
    figure: '~50k pps (1000+ streams) on ~0.8 of a quad-core',
    'pps/core': round(50_000 / (0.8 * 4)),
  },
  {
    reference: 'LiveKit large-meeting run',
    figure:
      `${livekitMeeting.ppsOut.toLocaleString('en-US')} pps out at ` +
      `${round(livekitMeeting.cpu * 100)}% of ${LIVEKIT_CORES} cores (c2-standard-16)`,
    'pps/core': round(livekitMeeting.ppsOut / (livekitMeeting.cpu * LIVEKIT_CORES)),
  },
  {
    reference: 'mediasoup documentation',
    figure: '~500 consumers per worker (~25k pps at 50 pps each)',
    'pps/core': 25_000,
  },
];

/**
 * LiveKit's runs projected onto a measured cost per forwarded packet: the cores Video
 * Window would need for the packets LiveKit sent (comparable with the cores LiveKit
 * used), and for the packets our stream model expects in the same room.
 */
function projections(usPerPacket: Record<string, number>): Row[] {
  return LIVEKIT_RUNS.flatMap(({ scenario, ppsOut, cpu, modelPps, cost }) => {
    const measured = usPerPacket[cost] ?? usPerPacket.video;
    if (!measured) return [];
    const us = round(measured, 2); // as shown: cores = pps x the cost in the row
    return [
      {
        projection: scenario,
        'LiveKit pps out': ppsOut,
        'LiveKit cores used': round(cpu * LIVEKIT_CORES, 1),
        'us/packet used': us,
        'cores at LiveKit pps': round((ppsOut * us) / 1e6, 1),
        'our model pps': modelPps,
        'cores at our model pps': round((modelPps * us) / 1e6, 1),
      },
    ];
  });
}

export const sfuFanout: Bench = {
  async run(args, progress) {
    const { values } = parseArgs({
      args,
      options: {
        scenarios: { type: 'string', default: 'audio,video,simulcast' },
        publishers: { type: 'string', default: '10' },
        subscribers: { type: 'string', default: '40' },
        seconds: { type: 'string', default: '10' },
        rounds: { type: 'string', default: '3' },
        srtp: { type: 'string', default: SRTP_SUITES[0] },
        'reference-worker': { type: 'string' },
        tiny: { type: 'boolean' },
      },
    });
    const scenarios = values.scenarios.split(',') as (keyof typeof SCENARIOS)[];
    const unknown = scenarios.filter((s) => !SCENARIOS[s]);
    if (unknown.length) throw new Error(`unknown scenarios: ${unknown.join(', ')}`);
    const suite = values.srtp as types.SrtpCryptoSuite;
    if (!SRTP_SUITES.includes(suite))
      throw new Error(`unknown --srtp ${suite}: one of ${SRTP_SUITES.join(', ')}`);
    const srtp = srtpPlain(suite);
    const referenceWorker = values['reference-worker'];
    const [publishers, subscribers, seconds, roundCount] = values.tiny
      ? [2, 3, 1, 1]
      : [values.publishers, values.subscribers, values.seconds, values.rounds].map(Number);
    const rows: Row[] = [];
    const vwCost: Record<string, number> = {};
    for (const scenario of scenarios) {
      // Rounds alternate the variants so that other work on the machine hits both alike;
      // each variant's median round (by cost per packet) is reported.
      const builds: [Variant, () => Promise<Sfu>][] = [
        ['bare', () => bareSfu(srtp)],
        ['videowindow', () => videoWindowSfu(srtp)],
        ...(referenceWorker
          ? [['reference', () => bareSfu(srtp, referenceWorker)] as [Variant, () => Promise<Sfu>]]
          : []),
      ];
      const rounds: Record<Variant, Measurement[]> = { bare: [], videowindow: [], reference: [] };
      for (let pass = 1; pass <= roundCount; pass++) {
        for (const [variant, build] of builds) {
          progress(
            `${scenario} / ${variant} (round ${pass}/${roundCount}): ` +
              `${publishers} publishers x ${subscribers} subscribers`,
          );
          const sfu = await build();
          try {
            rounds[variant].push(
              await measure(sfu, scenario, publishers, subscribers, seconds, progress),
            );
          } finally {
            await sfu.close();
          }
        }
      }
      const median = (ms: Measurement[]) =>
        [...ms].sort((a, b) => a.usPerPacket - b.usPerPacket)[Math.floor((ms.length - 1) / 2)];
      const results = Object.fromEntries(
        builds.map(([variant]) => [variant, median(rounds[variant])]),
      ) as Partial<Record<Variant, Measurement>>;
      const { bare, videowindow, reference } = results as Record<Variant, Measurement>;
      vwCost[scenario] = videowindow.usPerPacket;
      for (const [variant, m] of Object.entries(results)) {
        rows.push({
          scenario,
          variant,
          srtp: suite,
          publishers,
          subscribers,
          consumers: m.consumers,
          'expected pps': round(m.expectedPps),
          'input pps': round(m.inputPps),
          'forwarded pps': round(m.forwardedPps),
          'worker cpu': round(m.workerCpu, 3),
          'us/packet': round(m.usPerPacket, 2),
          'pps/core': round(1e6 / m.usPerPacket),
          loss: round(m.loss, 4),
          'ratio vs bare': round(bare.usPerPacket / m.usPerPacket, 3),
          ...(reference && {
            'ratio vs reference': round(reference.usPerPacket / m.usPerPacket, 3),
          }),
          rounds: roundCount,
        });
      }
      progress(
        `${scenario}: videowindow ${round(1e6 / videowindow.usPerPacket)} pps/core, ` +
          `bare ${round(1e6 / bare.usPerPacket)}, ratio ${round(bare.usPerPacket / videowindow.usPerPacket, 3)}` +
          (reference
            ? `; reference worker ${round(1e6 / reference.usPerPacket)}, ratio ${round(reference.usPerPacket / videowindow.usPerPacket, 3)}`
            : ''),
      );
    }
    for (const anchor of ANCHORS) progress(`anchor: ${Object.values(anchor).join(' | ')}`);
    const projected = projections(vwCost);
    for (const p of projected) progress(`projection: ${Object.values(p).join(' | ')}`);
    return [...rows, ...ANCHORS, ...projected];
  },
};
