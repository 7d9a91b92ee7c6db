/**
 * cascade: one large room on one shard against the same room spread over three, through
 * Video Window's media code (RoomMedia, and ShardPipes with SRTP PipeTransports between
 * the shards), each shard a mediasoup worker of its own (a process, a core). Measures CPU
 * per forwarded packet, the pipes' share of it, the latency a hop between shards adds,
 * and projects the largest room before any shard passes 80% of its core.
 *
 * Topology: P publishers (Opus and one VP8 stream, 50 packets/s each, plain RTP from Node),
 * spread over the shards; every other participant receives every publisher's streams on a
 * plain transport aimed at a port nobody listens on (the kernel drops them; packets are
 * counted at the consumers, sampled). On three shards, every producer crosses to each
 * other shard once (a pipe consumer there), then fans out to that shard's receivers. The
 * pipes are negotiated by direct calls between the shards' ShardPipes instead of the
 * cluster bus: the bus carries signaling, not media.
 */
import { createWorker, types } from 'mediasoup';
import { createSocket, Socket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { ShardPipes } from '../src/cascade/shard-pipes';
import { DomainEvents } from '../src/conference/domain-events';
import { ROUTER_MEDIA_CODECS } from '../src/media/media-codecs';
import { MediaEvents } from '../src/media/media-events';
import { RoomMedia } from '../src/media/room-media';
import type { Bench, Row } from './run';
import {
  AUDIO,
  cpuMs,
  inject,
  Outgoing,
  packetCount,
  rate,
  SUBSCRIBER_CAPABILITIES,
  VIDEO,
} from './sfu-fanout';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const round = (value: number, digits = 0) => Number(value.toFixed(digits));
const SAMPLED_PER_SHARD = 5;
/** Nobody listens here: what the consumers send is dropped by the kernel. */
const SINK_PORT = 9;
/** The payload type of Opus for the receivers (SUBSCRIBER_CAPABILITIES). */
const PROBE_PAYLOAD_TYPE = 100;

interface SimShard {
  id: string;
  worker: types.Worker;
  media: RoomMedia;
  pipes?: ShardPipes;
}

type Internals = {
  routers: types.Router[];
  peers: Map<string, { router?: types.Router; transports: Map<string, unknown> }>;
};

/** Registers a plain transport with the participant, as createWebRtcTransport does. */
async function plainTransport(
  shard: SimShard,
  participantId: string,
  comedia: boolean,
  port = SINK_PORT,
) {
  const internals = shard.media as unknown as Internals;
  const transport = await shard.media.home.createPlainTransport({
    listenInfo: { protocol: 'udp', ip: '127.0.0.1' },
    rtcpMux: true,
    comedia,
    appData: { participantId, direction: comedia ? 'send' : 'recv' },
  });
  const peer = internals.peers.get(participantId)!;
  peer.router = shard.media.home;
  peer.transports.set(transport.id, transport);
  if (!comedia) await transport.connect({ ip: '127.0.0.1', port });
  return transport;
}

async function startShards(count: number): Promise<SimShard[]> {
  const logger = pino({ level: 'silent' });
  const shards: SimShard[] = [];
  for (let i = 0; i < count; i++) {
    const worker = await createWorker({ logLevel: 'error' });
    const router = await worker.createRouter({ mediaCodecs: ROUTER_MEDIA_CODECS });
    const media = await RoomMedia.create(
      'cascade',
      router,
      { initialAvailableOutgoingBitrate: 1_000_000, maxIncomingBitrate: 10_000_000 },
      {
        consumersPerRouter: Number.MAX_SAFE_INTEGER,
        routerBeside: async () => undefined,
        webRtcServerOf: () => {
          throw new Error('plain transports only');
        },
      },
      new DomainEvents<MediaEvents>(logger),
    );
    shards.push({ id: `shard${i + 1}`, worker, media });
  }
  const byId = new Map(shards.map((shard) => [shard.id, shard]));
  for (const shard of shards) {
    shard.pipes = new ShardPipes(
      shard.media,
      {
        open: (to, ours) => byId.get(to)!.pipes!.open(shard.id, ours),
        consume: (to, producerId) => byId.get(to)!.pipes!.consume(shard.id, producerId),
        addressOf: () => '127.0.0.1',
      },
      { ip: '127.0.0.1', announcedAddress: '127.0.0.1', portRange: { min: 40000, max: 49999 } },
    );
    shard.media.useRemoteSource(shard.pipes.bring);
  }
  return shards;
}

interface Result {
  forwardedPps: number;
  pipePps: number;
  cpuPerShard: number[];
  usPerPacket: number;
  hopMs?: number;
}

async function run(
  shardCount: number,
  participants: number,
  publishers: number,
  seconds: number,
  progress: (message: string) => void,
): Promise<Result> {
  const shards = await startShards(shardCount);
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  socket.on('message', () => undefined);
  const probe = await latencyProbe(shards);
  let stop = () => undefined as void;
  try {
    const streams: Outgoing[] = [];
    const producerIds: string[] = [];
    let ssrc = 1000;
    for (let p = 0; p < publishers; p++) {
      const shard = shards[p % shardCount];
      const peerId = `publisher-${p}`;
      shard.media.addPeer(peerId);
      const ingest = await plainTransport(shard, peerId, true);
      for (const spec of [AUDIO, VIDEO]) {
        const payloadType = spec.kind === 'audio' ? 111 : 96;
        const codec =
          spec.kind === 'audio'
            ? { mimeType: 'audio/opus', clockRate: 48000, channels: 2, payloadType }
            : { mimeType: 'video/VP8', clockRate: 90000, payloadType };
        const stream = {
          spec,
          ssrc: ssrc++,
          payloadType,
          port: ingest.tuple.localPort,
          sent: 0,
          seq: 0,
        };
        streams.push(stream);
        const info = await shard.media.produce(
          peerId,
          ingest.id,
          spec.kind,
          { codecs: [codec], encodings: [{ ssrc: stream.ssrc }] },
          spec.kind,
        );
        producerIds.push(info.id);
        for (const other of shards) {
          if (other !== shard) other.media.addRemoteProducer({ ...info, shard: shard.id });
        }
      }
    }
    const viewers = participants - publishers;
    const sampled: types.Consumer[] = [];
    const perShard = new Map<SimShard, number>();
    let next = 0;
    const subscribe = async (v: number) => {
      const shard = shards[v % shardCount];
      const peerId = `viewer-${v}`;
      shard.media.addPeer(peerId);
      const recv = await plainTransport(shard, peerId, false);
      const sample = (perShard.get(shard) ?? 0) < SAMPLED_PER_SHARD;
      perShard.set(shard, (perShard.get(shard) ?? 0) + 1);
      for (const producerId of producerIds) {
        const { id } = await shard.media.consume(
          peerId,
          recv.id,
          producerId,
          SUBSCRIBER_CAPABILITIES,
          false,
        );
        if (sample)
          sampled.push(
            (
              shard.media as unknown as {
                peers: Map<string, { consumers: Map<string, types.Consumer> }>;
              }
            ).peers
              .get(peerId)!
              .consumers.get(id)!,
          );
      }
      if ((v + 1) % 50 === 0) progress(`${shardCount} shard(s): ${v + 1}/${viewers} viewers`);
    };
    await Promise.all(
      Array.from({ length: 10 }, async () => {
        while (next < viewers) await subscribe(next++);
      }),
    );
    progress(`${shardCount} shard(s): sending, measuring for ${seconds} s`);
    stop = inject(socket, streams);
    const stopProbe = probe.start();
    await sleep(2000);
    const piped = (await Promise.all(shards.map((shard) => shard.media.pipedProducers()))).flat();
    const [forwarded0, pipe0] = [
      await packetCount(sampled, 'outbound-rtp'),
      await packetCount(piped, 'inbound-rtp'),
    ];
    const cpu0 = await Promise.all(shards.map((shard) => cpuMs(shard.worker)));
    await sleep(seconds * 1000);
    const cpu1 = await Promise.all(shards.map((shard) => cpuMs(shard.worker)));
    const [forwarded1, pipe1] = [
      await packetCount(sampled, 'outbound-rtp'),
      await packetCount(piped, 'inbound-rtp'),
    ];
    stopProbe();
    const sampledViewers = [...perShard.values()].reduce(
      (sum, n) => sum + Math.min(n, SAMPLED_PER_SHARD),
      0,
    );
    const scale = viewers / sampledViewers;
    const forwardedPps = rate(forwarded0, forwarded1) * scale;
    const cpuPerShard = cpu0.map((c0, i) => (cpu1[i].ms - c0.ms) / (cpu1[i].at - c0.at));
    const totalCpu = cpuPerShard.reduce((sum, cpu) => sum + cpu, 0);
    return {
      forwardedPps,
      pipePps: rate(pipe0, pipe1),
      cpuPerShard,
      usPerPacket: (totalCpu * 1e6) / forwardedPps,
      hopMs: probe.hopMs(),
    };
  } finally {
    stop();
    socket.close();
    probe.close();
    for (const shard of shards) shard.worker.close();
  }
}

/**
 * A probe publisher on the first shard, received on the first shard and (over a pipe) on
 * the second by Node sockets: each packet carries its send time, so the difference of
 * the median delays is what one hop between shards adds.
 */
async function latencyProbe(shards: SimShard[]) {
  const sockets: Socket[] = [];
  const delays: number[][] = [];
  const [first] = shards;
  first.media.addPeer('probe');
  const ingest = await plainTransport(first, 'probe', true);
  const codec = { mimeType: 'audio/opus', clockRate: 48000, channels: 2, payloadType: 111 };
  const info = await first.media.produce(
    'probe',
    ingest.id,
    'audio',
    { codecs: [codec], encodings: [{ ssrc: 4242 }] },
    'probe',
  );
  for (const other of shards.slice(1)) other.media.addRemoteProducer({ ...info, shard: first.id });
  for (const [i, shard] of shards.slice(0, 2).entries()) {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    sockets.push(socket);
    delays[i] = [];
    socket.on('message', (packet) => {
      if (packet.length >= 20 && (packet[1] & 0x7f) === PROBE_PAYLOAD_TYPE)
        delays[i].push(performance.now() - packet.readDoubleBE(12));
    });
    const peerId = `probe-receiver-${i}`;
    shard.media.addPeer(peerId);
    const recv = await plainTransport(shard, peerId, false, socket.address().port);
    await shard.media.consume(peerId, recv.id, info.id, SUBSCRIBER_CAPABILITIES, false);
  }
  const sender = createSocket('udp4');
  let seq = 0;
  const median = (values: number[]) =>
    [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  return {
    start() {
      const timer = setInterval(() => {
        const packet = Buffer.alloc(40);
        packet[0] = 0x80;
        packet[1] = 111;
        packet.writeUInt16BE(seq++ & 0xffff, 2);
        packet.writeUInt32BE(seq * 960, 4);
        packet.writeUInt32BE(4242, 8);
        packet.writeDoubleBE(performance.now(), 12);
        sender.send(packet, ingest.tuple.localPort, '127.0.0.1');
      }, 20);
      return () => clearInterval(timer);
    },
    hopMs: () =>
      shards.length > 1 && delays[1].length && delays[0].length
        ? median(delays[1]) - median(delays[0])
        : undefined,
    close() {
      sender.close();
      sockets.forEach((socket) => socket.close());
    },
  };
}

export const cascadeBench: Bench = {
  columns: [
    'variant',
    'participants',
    'forwarded pps',
    'pipe pps',
    'µs/packet',
    'busiest shard CPU',
    'hop ms',
    'largest room at 80%',
  ],
  async run(args, progress) {
    const { values } = parseArgs({
      args,
      options: {
        participants: { type: 'string', default: '300' },
        publishers: { type: 'string', default: '6' },
        seconds: { type: 'string', default: '5' },
        tiny: { type: 'boolean' },
      },
    });
    const participants = values.tiny ? 12 : Number(values.participants);
    const publishers = values.tiny ? 2 : Number(values.publishers);
    const seconds = values.tiny ? 1 : Number(values.seconds);
    if (
      ![participants, publishers, seconds].every((n) => Number.isInteger(n) && n > 0) ||
      publishers >= participants
    ) {
      throw new Error('--participants, --publishers (fewer) and --seconds take positive integers');
    }
    const rows: Row[] = [];
    const results: Record<string, Result> = {};
    for (const [variant, count] of [
      ['one shard', 1],
      ['three shards', 3],
    ] as const) {
      progress(`${variant}: ${participants} participants, ${publishers} publishing`);
      const result = await run(count, participants, publishers, seconds, progress);
      results[variant] = result;
      const busiest = Math.max(...result.cpuPerShard);
      rows.push({
        variant,
        participants,
        'forwarded pps': Math.round(result.forwardedPps),
        'pipe pps': Math.round(result.pipePps),
        'µs/packet': round(result.usPerPacket, 2),
        'busiest shard CPU': `${round(busiest * 100)}%`,
        'hop ms': result.hopMs === undefined ? '-' : round(result.hopMs, 2),
        // CPU grows with the streams forwarded: about with participants, publishers fixed.
        'largest room at 80%': `~${Math.floor((participants * 0.8) / busiest)} (projected)`,
      });
    }
    const one = results['one shard'];
    const three = results['three shards'];
    rows.push({
      variant: 'pipe overhead',
      participants,
      'forwarded pps': '-',
      'pipe pps': Math.round(three.pipePps),
      'µs/packet': `${round(((three.usPerPacket - one.usPerPacket) / one.usPerPacket) * 100, 1)}% more per forwarded packet`,
      'busiest shard CPU': '-',
      'hop ms': three.hopMs === undefined ? '-' : round(three.hopMs, 2),
      'largest room at 80%': '-',
    });
    return rows;
  },
};
