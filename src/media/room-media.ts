import { parseScalabilityMode, type types } from 'mediasoup';
import { DomainError } from '../conference/domain-error';
import type { DomainEvents } from '../conference/domain-events';
import { MediaEvents, ProducerInfo, RemoteProducer } from './media-events';

/** `sendrecv`: one transport carrying a client's producers and consumers (Jitsi clients). */
export type TransportDirection = 'send' | 'recv' | 'sendrecv';

export interface TransportOptions {
  initialAvailableOutgoingBitrate: number;
  maxIncomingBitrate: number;
}

/** What each participant may receive at once (peers attached with attach() have no limit). */
export interface ReceiverLimits {
  /** Video consumers resumed at once; the rest stay paused. */
  maxVideos: number;
}

/** What a room needs from the worker pool. */
export interface RouterSupply {
  /** Streams a router serves before the room places newcomers on another one. */
  consumersPerRouter: number;
  /** A router on a worker that carries none of `others`; undefined when none is left. */
  routerBeside(others: types.Router[]): Promise<types.Router | undefined>;
  /** The WebRTC server (one UDP and one TCP port) of the router's worker. */
  webRtcServerOf(router: types.Router): types.WebRtcServer;
}

export interface WebRtcTransportParams {
  id: string;
  iceParameters: types.IceParameters;
  iceCandidates: types.IceCandidate[];
  dtlsParameters: types.DtlsParameters;
  sctpParameters?: types.SctpParameters;
}

/** Where a plain transport sends RTP, and RTCP (on the RTP port unless rtcpPort is named). */
export interface RtpDestination {
  ip: string;
  port: number;
  rtcpPort?: number;
}

export interface ConsumerParams {
  id: string;
  producerId: string;
  participantId: string;
  kind: types.MediaKind;
  rtpParameters: types.RtpParameters;
  type: types.ConsumerType;
  producerPaused: boolean;
  /** Paused by its receiver (a consumer starts paused unless asked otherwise). */
  paused: boolean;
}

/** A consumer as the server sees it (what tests check a client against). */
export interface ConsumerState {
  id: string;
  producerId: string;
  /** The participant whose producer it receives. */
  participantId: string;
  kind: types.MediaKind;
  type: types.ConsumerType;
  paused: boolean;
  producerPaused: boolean;
  preferredLayers?: types.ConsumerLayers;
  currentLayers?: types.ConsumerLayers;
}

interface TransportAppData extends types.AppData {
  participantId: string;
  direction: TransportDirection;
}

interface ProducerAppData extends types.AppData {
  participantId: string;
  source: string;
}

/** One participant's mediasoup objects. Closing a transport closes what it carries. */
class PeerMedia {
  /** The room router its transports are on, chosen when the first one is created. */
  router?: types.Router;
  placement?: Promise<types.Router>;
  readonly transports = new Map<string, types.WebRtcTransport<TransportAppData>>();
  /** Transports that send RTP to a local process (a recorder), never to a client. */
  readonly plainTransports = new Map<string, types.PlainTransport<TransportAppData>>();
  readonly producers = new Map<string, types.Producer<ProducerAppData>>();
  readonly consumers = new Map<string, types.Consumer>();
  /**
   * Its video consumers resumed or being resumed, counted before the worker answers so
   * that concurrent requests cannot pass the limit together.
   */
  readonly resumedVideos = new Set<string>();
  /** Video consumers being made resumed (consume with paused false). */
  videosStarting = 0;
  /**
   * Videos asked to start resumed that the limit kept paused, first asked first: each
   * is resumed when a place frees (a door that never pauses, the Jitsi focus, relies on it).
   */
  readonly heldVideos: types.Consumer[] = [];

  constructor(readonly maxVideos: number) {}

  close() {
    for (const transport of this.transports.values()) transport.close();
    for (const transport of this.plainTransports.values()) transport.close();
  }
}

/**
 * Brings a producer of another shard onto the room's home router (a pipe producer with
 * the same id), for a room spanning shards.
 */
export type RemoteProducerSource = (producer: RemoteProducer) => Promise<types.Producer>;

/** What a request waited for the worker with (see RoomMedia.stillOpen). */
interface StillOpen {
  transport: types.Transport;
  producer?: types.Producer;
  made?: { close(): void };
}

/** For a consumer that cannot be: the capabilities do not fit, or the producer closed. */
const leaveOutUnusable = (error: unknown): undefined => {
  const unusable =
    (error instanceof Error && error.name === 'UnsupportedError') ||
    (error instanceof DomainError && error.code === 'not_found');
  if (!unusable) throw error;
  return undefined;
};

/**
 * The worker refuses a request that does not fit (a transport connected twice, an SSRC
 * in use) with a plain Error: the client's mistake, as mediasoup's TypeErrors for invalid
 * parameters are. A dead worker's InvalidStateError and the rest pass unchanged.
 */
const refusedByWorker = (error: unknown): never => {
  if (error instanceof Error && error.constructor === Error) {
    throw new DomainError('bad_request', error.message);
  }
  throw error;
};

const producerInfo = (producer: types.Producer<ProducerAppData>): ProducerInfo => ({
  id: producer.id,
  participantId: producer.appData.participantId,
  kind: producer.kind,
  source: producer.appData.source,
  paused: producer.paused,
});

/**
 * A room's media: its routers, active-speaker observer and every participant's
 * transports, producers and consumers. It owns and closes all of them.
 *
 * A room starts on one router (one worker, one core). When every router of the room
 * serves `consumersPerRouter` streams, newcomers go to a new router on another worker,
 * and producers are piped between the room's routers when a consumer needs them.
 */
export class RoomMedia {
  private readonly peers = new Map<string, PeerMedia>();
  /** The first is the home router: it carries the active-speaker observer. */
  private readonly routers: types.Router[] = [];
  private growing?: Promise<types.Router | undefined>;
  /** Producers piped to other routers of the room, by `${producerId}>${routerId}`. */
  private readonly pipes = new Map<string, Promise<unknown>>();
  private closed = false;
  /** The participant the active-speaker observer picked last, if still here. */
  private dominantSpeaker?: string;
  /** Producers of participants on other shards (a room spanning shards), by id. */
  private readonly remote = new Map<string, RemoteProducer>();
  /** Those of them piped to this shard, on the home router, by id. */
  private readonly piped = new Map<string, Promise<types.Producer>>();
  private remoteSource?: RemoteProducerSource;

  private constructor(
    readonly roomId: string,
    home: types.Router,
    private readonly speakerObserver: types.ActiveSpeakerObserver,
    private readonly transportOptions: TransportOptions,
    private readonly supply: RouterSupply,
    private readonly events: DomainEvents<MediaEvents>,
    private readonly limits: ReceiverLimits,
  ) {
    this.adopt(home);
    speakerObserver.on('dominantspeaker', ({ producer }) => {
      const participantId = (producer.appData as ProducerAppData).participantId;
      this.dominantSpeaker = participantId;
      events.emit('activeSpeaker', roomId, participantId);
    });
  }

  static async create(
    roomId: string,
    home: types.Router,
    transportOptions: TransportOptions,
    supply: RouterSupply,
    events: DomainEvents<MediaEvents>,
    limits: ReceiverLimits = { maxVideos: Infinity },
  ): Promise<RoomMedia> {
    const speakerObserver = await home.createActiveSpeakerObserver({ interval: 300 });
    return new RoomMedia(roomId, home, speakerObserver, transportOptions, supply, events, limits);
  }

  get rtpCapabilities(): types.RtpCapabilities {
    return this.home.rtpCapabilities;
  }

  /** The router other shards' media arrives on and leaves from (pipe transports). */
  get home(): types.Router {
    return this.routers[0];
  }

  get activeSpeaker(): string | undefined {
    const speaker = this.dominantSpeaker;
    if (!speaker) return undefined;
    const here = this.peers.has(speaker);
    const elsewhere = [...this.remote.values()].some((p) => p.participantId === speaker);
    return here || elsewhere ? speaker : undefined;
  }

  producersOf(participantId: string): ProducerInfo[] {
    const local = this.peers.get(participantId);
    if (local) return [...local.producers.values()].map(producerInfo);
    return [...this.remote.values()]
      .filter((producer) => producer.participantId === participantId)
      .map(({ shard: _shard, ...info }) => info);
  }

  /** Where the room's producers of other shards are piped from (a room spanning shards). */
  useRemoteSource(source: RemoteProducerSource): void {
    this.remoteSource = source;
  }

  /** A producer of another shard: announced to the doors, piped here when consumed. */
  addRemoteProducer(producer: RemoteProducer): void {
    if (this.closed || this.remote.has(producer.id)) return;
    this.remote.set(producer.id, producer);
    this.events.emit('producerAdded', this.roomId, this.remoteInfo(producer));
  }

  removeRemoteProducer(producerId: string): void {
    const producer = this.remote.get(producerId);
    if (!producer) return;
    this.remote.delete(producerId);
    this.dropPiped(producerId);
    this.events.emit('producerClosed', this.roomId, this.remoteInfo(producer));
  }

  async setRemoteProducerPaused(producerId: string, paused: boolean): Promise<void> {
    const producer = this.remote.get(producerId);
    if (!producer || producer.paused === paused) return;
    producer.paused = paused;
    const piped = await this.piped.get(producerId)?.catch(() => undefined);
    if (piped && !piped.closed) await (paused ? piped.pause() : piped.resume());
    const event = paused ? 'producerPaused' : 'producerResumed';
    this.events.emit(event, this.roomId, this.remoteInfo(producer));
  }

  /** The room's producers of other shards, those of one shard when named. */
  remoteProducers(shard?: string): RemoteProducer[] {
    return [...this.remote.values()].filter((p) => shard === undefined || p.shard === shard);
  }

  /**
   * Closes the pipe producer of a remote producer (its pipe stalled, or its shard went):
   * its consumers here close; the next consumer pipes it again.
   */
  dropPiped(producerId: string): void {
    const piped = this.piped.get(producerId);
    this.piped.delete(producerId);
    void piped?.then((producer) => producer.close()).catch(() => undefined);
  }

  /** The pipe producers of remote producers, for checks and counts. */
  async pipedProducers(): Promise<types.Producer[]> {
    const settled = await Promise.all([...this.piped.values()].map((p) => p.catch(() => null)));
    return settled.filter((p): p is types.Producer => p !== null && !p.closed);
  }

  /** A local producer, made available on the home router (for another shard to pipe). */
  async exportProducer(producerId: string): Promise<void> {
    const producer = this.findLocalProducer(producerId);
    const owner = this.peers.get(producer.appData.participantId)!;
    await this.pipe(producerId, owner.router!, this.home);
  }

  /** Every producer of the room: those of other shards of a spanning room too. */
  producers(): ProducerInfo[] {
    const local = [...this.peers.values()].flatMap((peer) =>
      [...peer.producers.values()].map(producerInfo),
    );
    return [...local, ...[...this.remote.values()].map((p) => this.remoteInfo(p))];
  }

  /** The participant's producers with the bitrate (bits/s) mediasoup measures on each. */
  async producerBitrates(participantId: string): Promise<(ProducerInfo & { bitrate: number })[]> {
    const producers = [...(this.peers.get(participantId)?.producers.values() ?? [])];
    return Promise.all(
      producers.map(async (producer) => {
        const streams = await producer.getStats().catch(() => []);
        const bitrate = streams.reduce((sum, stream) => sum + stream.bitrate, 0);
        return { ...producerInfo(producer), bitrate };
      }),
    );
  }

  async createWebRtcTransport(
    participantId: string,
    direction: TransportDirection,
    enableSctp: boolean,
  ): Promise<WebRtcTransportParams> {
    const peer = this.peer(participantId);
    const { initialAvailableOutgoingBitrate, maxIncomingBitrate } = this.transportOptions;
    const router = await this.routerOf(peer);
    const transport = await router.createWebRtcTransport<TransportAppData>({
      webRtcServer: this.supply.webRtcServerOf(router),
      initialAvailableOutgoingBitrate,
      enableSctp,
      appData: { participantId, direction },
    });
    if (this.closed || !this.peers.has(participantId)) {
      transport.close();
      throw new DomainError('not_joined', 'the participant left while the transport was created');
    }
    // Kept before the next wait, so that a participant leaving meanwhile closes it.
    peer.transports.set(transport.id, transport);
    transport.observer.once('close', () => peer.transports.delete(transport.id));
    if (direction !== 'recv') await transport.setMaxIncomingBitrate(maxIncomingBitrate);
    return {
      id: transport.id,
      iceParameters: transport.iceParameters,
      iceCandidates: transport.iceCandidates,
      dtlsParameters: transport.dtlsParameters,
      sctpParameters: transport.sctpParameters,
    };
  }

  /**
   * A receive transport that sends plain RTP from listenIp to the destination (a local
   * recorder process): no ICE, no DTLS, the destination fixed now.
   */
  async createPlainTransport(
    participantId: string,
    listenIp: string,
    destination: RtpDestination,
  ): Promise<{ id: string }> {
    const peer = this.peer(participantId);
    const router = await this.routerOf(peer);
    const transport = await router.createPlainTransport<TransportAppData>({
      listenInfo: { protocol: 'udp', ip: listenIp },
      rtcpMux: destination.rtcpPort === undefined,
      comedia: false,
      appData: { participantId, direction: 'recv' },
    });
    if (this.closed || !this.peers.has(participantId)) {
      transport.close();
      throw new DomainError('not_joined', 'the peer left while the transport was created');
    }
    peer.plainTransports.set(transport.id, transport);
    transport.observer.once('close', () => peer.plainTransports.delete(transport.id));
    await transport.connect(destination);
    return { id: transport.id };
  }

  closePlainTransport(participantId: string, transportId: string): void {
    this.peers.get(participantId)?.plainTransports.get(transportId)?.close();
  }

  async connectTransport(
    participantId: string,
    transportId: string,
    dtlsParameters: types.DtlsParameters,
  ): Promise<void> {
    await this.transport(participantId, transportId)
      .connect({ dtlsParameters })
      .catch(refusedByWorker);
  }

  /** Closes one of the participant's transports, and so what it carries. */
  closeTransport(participantId: string, transportId: string): void {
    this.transport(participantId, transportId).close();
  }

  async restartIce(participantId: string, transportId: string): Promise<types.IceParameters> {
    return this.transport(participantId, transportId).restartIce();
  }

  async produce(
    participantId: string,
    transportId: string,
    kind: types.MediaKind,
    rtpParameters: types.RtpParameters,
    source: string,
  ): Promise<ProducerInfo> {
    const transport = this.transport(participantId, transportId);
    if (transport.appData.direction === 'recv') {
      throw new DomainError('bad_request', 'produce needs a send transport');
    }
    const peer = this.peer(participantId);
    const producer = await transport
      .produce<ProducerAppData>({ kind, rtpParameters, appData: { participantId, source } })
      .catch(refusedByWorker);
    this.stillOpen({ transport, made: producer });
    peer.producers.set(producer.id, producer);
    producer.observer.once('close', () => {
      peer.producers.delete(producer.id);
      this.forgetPipes(producer.id);
      this.events.emit('producerClosed', this.roomId, producerInfo(producer));
    });
    if (kind === 'audio') {
      await this.pipe(producer.id, peer.router!, this.home)
        .then(() => this.speakerObserver.addProducer({ producerId: producer.id }))
        .catch(() => undefined);
      // Nobody hears of a producer that closed meanwhile (its participant left).
      this.stillOpen({ transport });
    }
    const info = producerInfo(producer);
    this.events.emit('producerAdded', this.roomId, info);
    return info;
  }

  closeProducer(participantId: string, producerId: string): void {
    this.producer(participantId, producerId).close();
  }

  async setProducerPaused(participantId: string, producerId: string, paused: boolean) {
    const producer = this.producer(participantId, producerId);
    if (producer.paused === paused) return;
    await (paused ? producer.pause() : producer.resume());
    if (producer.closed) return;
    if (producer.kind === 'audio') {
      // A muted microphone leaves the active-speaker observer, which then picks among the
      // others at once; merely paused, it would stay the dominant speaker until outtalked.
      await (
        paused
          ? this.speakerObserver.removeProducer({ producerId })
          : this.speakerObserver.addProducer({ producerId })
      ).catch(() => undefined);
    }
    this.events.emit(
      paused ? 'producerPaused' : 'producerResumed',
      this.roomId,
      producerInfo(producer),
    );
  }

  async consume(
    participantId: string,
    transportId: string,
    producerId: string,
    rtpCapabilities: types.RtpCapabilities,
    paused = true,
  ): Promise<ConsumerParams> {
    const transport = this.anyTransport(participantId, transportId);
    if (transport.appData.direction === 'send') {
      throw new DomainError('bad_request', 'consume needs a recv transport');
    }
    const producer = await this.findProducer(producerId);
    const owner = producer.appData.participantId;
    if (owner === participantId) {
      throw new DomainError('bad_request', 'a participant does not consume its own producer');
    }
    const peer = this.peer(participantId);
    try {
      const ownerRouter = this.peers.get(owner)?.router ?? this.home;
      await this.pipe(producerId, ownerRouter, peer.router!);
    } finally {
      this.stillOpen({ transport, producer });
    }
    // A video asked to start resumed beyond the receiver's limit starts paused instead.
    const resumed = !paused && (producer.kind === 'audio' || this.hasVideoRoom(peer));
    // transport.consume validates the capabilities itself (router.canConsume would do it a
    // second time: a fifth of a join's CPU) and rejects unusable ones with UnsupportedError.
    const holdsSlot = resumed && producer.kind === 'video';
    if (holdsSlot) peer.videosStarting += 1;
    const consumer = await transport
      .consume({ producerId, rtpCapabilities, paused: !resumed, appData: { owner } })
      .catch(refusedByWorker)
      .finally(() => holdsSlot && (peer.videosStarting -= 1));
    this.stillOpen({ transport, producer, made: consumer });
    peer.consumers.set(consumer.id, consumer);
    if (consumer.kind === 'video') {
      if (resumed) peer.resumedVideos.add(consumer.id);
      else if (!paused) peer.heldVideos.push(consumer);
    }
    const notify = (event: 'consumerClosed' | 'consumerPaused' | 'consumerResumed') => () =>
      this.events.emit(event, this.roomId, participantId, consumer.id);
    consumer.on('producerclose', notify('consumerClosed'));
    consumer.on('producerpause', notify('consumerPaused'));
    consumer.on('producerresume', notify('consumerResumed'));
    consumer.observer.once('close', () => {
      peer.consumers.delete(consumer.id);
      this.releaseVideo(peer, consumer);
    });
    return {
      id: consumer.id,
      producerId,
      participantId: producer.appData.participantId,
      kind: consumer.kind,
      rtpParameters: consumer.rtpParameters,
      type: consumer.type,
      producerPaused: consumer.producerPaused,
      paused: consumer.paused,
    };
  }

  /** The participant's consumers as the server sees them. */
  consumersOf(participantId: string): ConsumerState[] {
    return [...(this.peers.get(participantId)?.consumers.values() ?? [])].map((consumer) => ({
      id: consumer.id,
      producerId: consumer.producerId,
      participantId: String(consumer.appData.owner),
      kind: consumer.kind,
      type: consumer.type,
      paused: consumer.paused,
      producerPaused: consumer.producerPaused,
      preferredLayers: consumer.preferredLayers,
      currentLayers: consumer.currentLayers,
    }));
  }

  /**
   * A receive transport with a consumer of each of the producers, leaving out those the
   * capabilities cannot decode or that closed meanwhile. With the client's DTLS parameters
   * the transport is connected at once and the consumers start unpaused.
   */
  async receive(
    participantId: string,
    producerIds: string[],
    rtpCapabilities: types.RtpCapabilities,
    dtlsParameters?: types.DtlsParameters,
  ): Promise<{ transport: WebRtcTransportParams; consumers: ConsumerParams[] }> {
    const transport = await this.createWebRtcTransport(participantId, 'recv', false);
    // Connecting and consuming are independent worker requests.
    const [consumers] = await Promise.all([
      Promise.all(
        producerIds.map((producerId) =>
          this.consume(
            participantId,
            transport.id,
            producerId,
            rtpCapabilities,
            !dtlsParameters,
          ).catch(leaveOutUnusable),
        ),
      ),
      dtlsParameters && this.connectTransport(participantId, transport.id, dtlsParameters),
    ]);
    return { transport, consumers: consumers.filter((c) => c !== undefined) };
  }

  /**
   * Pauses or resumes one of the participant's consumers. Resuming a video beyond the
   * participant's limit (ReceiverLimits.maxVideos) is refused: pause another first.
   */
  async setConsumerPaused(participantId: string, consumerId: string, paused: boolean) {
    const peer = this.peer(participantId);
    const consumer = this.consumer(participantId, consumerId);
    if (consumer.kind === 'video') {
      if (paused) this.releaseVideo(peer, consumer);
      else if (!peer.resumedVideos.has(consumer.id)) {
        if (!this.hasVideoRoom(peer)) {
          throw new DomainError(
            'too_many_videos',
            `at most ${peer.maxVideos} videos are received at once: pause one first`,
          );
        }
        peer.resumedVideos.add(consumer.id);
        const held = peer.heldVideos.indexOf(consumer);
        if (held >= 0) peer.heldVideos.splice(held, 1);
      }
    }
    await (paused ? consumer.pause() : consumer.resume());
    // A video shown again starts from a keyframe rather than waiting for the next one.
    if (!paused && consumer.kind === 'video')
      await consumer.requestKeyFrame().catch(() => undefined);
  }

  async requestKeyFrame(participantId: string, consumerId: string) {
    await this.consumer(participantId, consumerId).requestKeyFrame();
  }

  async setPreferredLayers(
    participantId: string,
    consumerId: string,
    layers: types.ConsumerLayers,
  ) {
    const consumer = this.consumer(participantId, consumerId);
    if (consumer.type !== 'simulcast' && consumer.type !== 'svc') {
      throw new DomainError('bad_request', 'only simulcast and SVC consumers have layers');
    }
    const { spatialLayers, temporalLayers } = parseScalabilityMode(
      consumer.rtpParameters.encodings?.[0]?.scalabilityMode,
    );
    const { spatialLayer, temporalLayer = 0 } = layers;
    if (spatialLayer >= spatialLayers || temporalLayer >= temporalLayers) {
      throw new DomainError(
        'bad_request',
        `consumer ${consumerId} has spatial layers 0-${spatialLayers - 1} and temporal layers 0-${temporalLayers - 1}`,
      );
    }
    await consumer.setPreferredLayers(layers).catch(refusedByWorker);
  }

  /**
   * Registers a participant (with the room's receiver limits) or another media peer such
   * as a recorder (`limited: false`); media objects can be created for it from now on.
   */
  addPeer(participantId: string, limited = true): void {
    if (this.peers.has(participantId)) return;
    this.peers.set(participantId, new PeerMedia(limited ? this.limits.maxVideos : Infinity));
  }

  closePeer(participantId: string): void {
    const peer = this.peers.get(participantId);
    if (!peer) return;
    peer.close();
    this.peers.delete(participantId);
    const { router } = peer;
    const emptied = router && router !== this.home && !this.peersOn(router).length;
    if (emptied) router.close();
  }

  close(): void {
    this.closed = true;
    for (const peer of this.peers.values()) peer.close();
    this.peers.clear();
    for (const router of this.routers) router.close();
  }

  /** Counts of open mediasoup objects, for leak checks and metrics. */
  stats() {
    let transports = 0;
    let producers = 0;
    let consumers = 0;
    for (const peer of this.peers.values()) {
      transports += peer.transports.size + peer.plainTransports.size;
      producers += peer.producers.size;
      consumers += peer.consumers.size;
    }
    return {
      peers: this.peers.size,
      routers: this.routers.length,
      transports,
      producers,
      consumers,
    };
  }

  /** Bits per second the room's transports currently receive and send (mediasoup's estimate). */
  async bitrates(): Promise<{ in: number; out: number }> {
    const transports = [...this.peers.values()].flatMap((peer) => [...peer.transports.values()]);
    const stats = await Promise.all(
      transports.map((transport) => transport.getStats().catch(() => [])),
    );
    const total = { in: 0, out: 0 };
    for (const stat of stats.flat()) {
      total.in += stat.recvBitrate;
      total.out += stat.sendBitrate;
    }
    return total;
  }

  private adopt(router: types.Router) {
    this.routers.push(router);
    router.on('workerclose', () => {
      this.closed = true;
      this.peers.clear();
      this.events.emit('roomMediaLost', this.roomId);
    });
    router.observer.once('close', () => {
      this.routers.splice(this.routers.indexOf(router), 1);
      for (const key of this.pipes.keys())
        if (key.endsWith(`>${router.id}`)) this.pipes.delete(key);
    });
  }

  private routerOf(peer: PeerMedia): Promise<types.Router> {
    peer.placement ??= this.place().then((router) => (peer.router = router));
    return peer.placement;
  }

  /** The least busy router of the room, or a new one when all serve their share. */
  private async place(): Promise<types.Router> {
    for (;;) {
      const [router, consumers] = this.routers
        .map((r) => [r, this.consumersOn(r)] as const)
        .sort((a, b) => a[1] - b[1])[0];
      if (consumers < this.supply.consumersPerRouter) return router;
      this.growing ??= this.supply
        .routerBeside([...this.routers])
        .then((added) => {
          if (added && this.closed) added.close();
          else if (added) this.adopt(added);
          return this.closed ? undefined : added;
        })
        .finally(() => (this.growing = undefined));
      const added = await this.growing;
      if (this.closed) throw new DomainError('not_joined', 'the room closed');
      if (!added) return router;
    }
  }

  /**
   * A video of the peer paused or closed: its place goes to the first video held back,
   * resumed from a keyframe.
   */
  private releaseVideo(peer: PeerMedia, consumer: types.Consumer) {
    const held = peer.heldVideos.indexOf(consumer);
    if (held >= 0) peer.heldVideos.splice(held, 1);
    if (!peer.resumedVideos.delete(consumer.id)) return;
    const next = peer.heldVideos.find((c) => !c.closed);
    if (!next || !this.hasVideoRoom(peer)) return;
    peer.heldVideos.splice(peer.heldVideos.indexOf(next), 1);
    peer.resumedVideos.add(next.id);
    void next
      .resume()
      .then(() => next.requestKeyFrame())
      .catch(() => undefined);
  }

  /** Whether the peer may have one more video resumed. */
  private hasVideoRoom(peer: PeerMedia): boolean {
    return peer.resumedVideos.size + peer.videosStarting < peer.maxVideos;
  }

  private peersOn(router: types.Router): PeerMedia[] {
    return [...this.peers.values()].filter((peer) => peer.router === router);
  }

  private consumersOn(router: types.Router): number {
    return this.peersOn(router).reduce((sum, peer) => sum + peer.consumers.size, 0);
  }

  /** Makes the producer (on `from`) consumable on `to`, once per pair. */
  private pipe(producerId: string, from: types.Router, to: types.Router): Promise<unknown> {
    if (from === to) return Promise.resolve();
    const key = `${producerId}>${to.id}`;
    let piped = this.pipes.get(key);
    if (!piped) {
      piped = from.pipeToRouter({ producerId, router: to });
      piped.catch(() => this.pipes.delete(key));
      this.pipes.set(key, piped);
    }
    return piped;
  }

  private forgetPipes(producerId: string) {
    for (const key of this.pipes.keys())
      if (key.startsWith(`${producerId}>`)) this.pipes.delete(key);
  }

  /**
   * Fails a request whose transport (its participant left, the room closed) or producer
   * closed while it waited for the worker, and closes what it made meanwhile.
   */
  private stillOpen({ transport, producer, made }: StillOpen) {
    if (!transport.closed && !producer?.closed) return;
    made?.close();
    if (transport.closed) throw new DomainError('not_joined', 'left the room meanwhile');
    throw new DomainError('not_found', `producer ${producer!.id} closed meanwhile`);
  }

  private peer(participantId: string): PeerMedia {
    const peer = this.peers.get(participantId);
    if (!peer || this.closed) throw new DomainError('not_joined', 'not in this room');
    return peer;
  }

  private transport(participantId: string, transportId: string) {
    const transport = this.peer(participantId).transports.get(transportId);
    if (!transport) throw new DomainError('not_found', `no transport ${transportId} of yours`);
    return transport;
  }

  private anyTransport(participantId: string, transportId: string) {
    const peer = this.peer(participantId);
    const transport = peer.transports.get(transportId) ?? peer.plainTransports.get(transportId);
    if (!transport) throw new DomainError('not_found', `no transport ${transportId} of yours`);
    return transport;
  }

  private producer(participantId: string, producerId: string) {
    const producer = this.peer(participantId).producers.get(producerId);
    if (!producer) throw new DomainError('not_found', `no producer ${producerId} of yours`);
    return producer;
  }

  private consumer(participantId: string, consumerId: string) {
    const consumer = this.peer(participantId).consumers.get(consumerId);
    if (!consumer) throw new DomainError('not_found', `no consumer ${consumerId} of yours`);
    return consumer;
  }

  private findLocalProducer(producerId: string): types.Producer<ProducerAppData> {
    for (const peer of this.peers.values()) {
      const producer = peer.producers.get(producerId);
      if (producer) return producer;
    }
    throw new DomainError('not_found', `no producer ${producerId} in this room`);
  }

  /** A producer of the room: a local one, or a remote one piped here on demand. */
  private async findProducer(producerId: string): Promise<types.Producer<ProducerAppData>> {
    const remote = this.remote.get(producerId);
    if (!remote || !this.remoteSource) return this.findLocalProducer(producerId);
    let piped = this.piped.get(producerId);
    if (!piped) {
      piped = this.remoteSource(remote).then((producer) => this.adoptPiped(remote, producer));
      this.piped.set(producerId, piped);
      piped.catch(() => this.piped.get(producerId) === piped && this.piped.delete(producerId));
    }
    return (await piped) as types.Producer<ProducerAppData>;
  }

  private async adoptPiped(remote: RemoteProducer, producer: types.Producer) {
    if (this.closed || !this.remote.has(remote.id)) {
      producer.close();
      throw new DomainError('not_found', `producer ${remote.id} closed meanwhile`);
    }
    producer.observer.once('close', () => {
      this.forgetPipes(producer.id);
      void this.piped.get(producer.id)?.then((current) => {
        if (current === producer) this.piped.delete(producer.id);
      });
    });
    if (producer.kind === 'audio' && !producer.paused) {
      await this.speakerObserver.addProducer({ producerId: producer.id }).catch(() => undefined);
    }
    return producer;
  }

  private remoteInfo({ shard: _shard, ...info }: RemoteProducer): ProducerInfo {
    return { ...info };
  }
}
