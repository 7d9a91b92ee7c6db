import { Inject, Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { ClusterBus } from '../cluster/cluster-bus';
import { ClusterCalls } from '../cluster/cluster-calls';
import { ClusterService } from '../cluster/cluster.service';
import { RoomDirectory } from '../cluster/room-directory';
import { LocateOptions, RoomPlacement } from '../cluster/room-placement.service';
import { ShardEntry } from '../cluster/shard';
import { RoomHost, servingShard } from '../cluster/span-policy';
import { APP_CONFIG } from '../config/config.module';
import { AppConfig } from '../config/config.schema';
import { detectAnnouncedAddress } from '../config/announced-address';
import { MediaKind } from '../conference/conference-events';
import { ConferenceService } from '../conference/conference.service';
import { DomainError } from '../conference/domain-error';
import { Participant } from '../conference/participant';
import { LobbyEntry } from '../conference/room';
import { RoomSpan } from '../conference/room-span';
import { MediaService } from '../media/media.service';
import { ProducerInfo } from '../media/media-events';
import { RoomMedia } from '../media/room-media';
import type { Logger } from '../observability/logger';
import { InjectLogger } from '../observability/logging.module';
import { MetricsService } from '../observability/metrics.service';
import { PipedProducerParams, PipeEnd, PipeListen, ShardPipes } from './shard-pipes';
import {
  consumeRequest,
  decideRequest,
  kickRequest,
  LobbyEntryWire,
  muteRequest,
  openRequest,
  ParticipantWire,
  pipeEnd,
  SPAN_CALLS,
  SPAN_TOPIC,
  SpanMessage,
  spanMessage,
  StateAnswer,
  stateAnswer,
  stateRequest,
} from './span-messages';

/** This shard's half of a spanning room. */
interface SpanningRoom {
  media: RoomMedia;
  pipes: ShardPipes;
  /** The other hosts this shard tells of its participants. */
  peers: Set<string>;
}

/** How often a host asks another for its half of the room before it gives up (3 s each). */
const STATE_CALL_ATTEMPTS = 5;

const wire = (p: Participant): ParticipantWire => ({
  id: p.id,
  roomId: p.roomId,
  identity: p.identity,
  displayName: p.displayName,
  nick: p.nick,
  role: p.role,
  door: p.door,
  joinedAt: p.joinedAt.toISOString(),
});

const lobbyWire = ({
  knockedAt,
  shard: _shard,
  resumable: _resumable,
  ...entry
}: LobbyEntry): LobbyEntryWire => ({
  ...entry,
  knockedAt: knockedAt.toISOString(),
});

const producerWire = ({ id, participantId, kind, source, paused }: ProducerInfo) => ({
  id,
  participantId,
  kind,
  source,
  paused,
});

/**
 * Rooms spanning shards (`cluster.span.enabled`): places each joiner on a shard by the
 * span policy, makes this shard a host of the room beside the others, tells them of its
 * own participants, producers and chat over the cluster bus (so that every door renders
 * theirs as its own), pipes media between the hosts (ShardPipes), rebuilds a stalled
 * pipe, and forgets a host that died.
 */
@Injectable()
export class RoomSpanService implements RoomSpan, OnModuleInit, OnModuleDestroy {
  private readonly rooms = new Map<string, SpanningRoom>();
  private readonly listen: PipeListen;
  private stallTimer?: NodeJS.Timeout;
  /** A check of the pipes is under way (a slow one is not overlapped by the next). */
  private checking = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly conference: ConferenceService,
    private readonly media: MediaService,
    private readonly cluster: ClusterService,
    private readonly placement: RoomPlacement,
    private readonly directory: RoomDirectory,
    private readonly bus: ClusterBus,
    private readonly calls: ClusterCalls,
    private readonly metrics: MetricsService,
    @InjectLogger() private readonly logger: Logger,
  ) {
    const { span } = config.cluster;
    this.listen = {
      ip: span.pipeListenIp,
      announcedAddress: this.cluster.self.pipeAddress || detectAnnouncedAddress(),
      portRange: { min: config.media.rtcMinPort, max: config.media.rtcMaxPort },
    };
  }

  onModuleInit() {
    if (!this.config.cluster.span.enabled) return;
    this.conference.useSpan(this);
    this.bus.subscribe(SPAN_TOPIC, (payload, from) => this.receive(payload, from));
    this.answerCalls();
    this.tellOwnEvents();
    this.cluster.events.on('shardGone', (shardId) => this.forgetShard(shardId));
    this.stallTimer = setInterval(
      () => void this.checkStalls(),
      this.config.cluster.span.stallCheckMs,
    );
    this.stallTimer.unref();
    this.registerMetrics();
  }

  onModuleDestroy() {
    clearInterval(this.stallTimer);
  }

  async servingShard(roomId: string, placement: LocateOptions = {}): Promise<ShardEntry> {
    const shards = await this.cluster.freshShards();
    const live = new Map(shards.map((shard) => [shard.id, shard]));
    const [table, ownerId] = await Promise.all([
      this.directory.hostsOf(roomId),
      this.directory.ownerOf(roomId),
    ]);
    const here = this.conference.participantsOf(roomId).filter((p) => !p.shard).length;
    if (this.rooms.has(roomId)) table[this.cluster.id] = here;
    // The home first: the policy fills hosts in order.
    let hosts: RoomHost[] = Object.entries(table)
      .filter(([shardId]) => live.has(shardId))
      .map(([shardId, participants]) => ({ shard: live.get(shardId)!, participants }))
      .sort((a, b) => Number(b.shard.id === ownerId) - Number(a.shard.id === ownerId));
    let candidates = shards.filter((shard) => shard.state === 'active');
    while (hosts.length) {
      const choice = servingShard(hosts, candidates, placement.region, this.config.cluster.span);
      // Sent to a shard yet brought here: the proxy found it down, and so may we.
      const suspect = placement.ownerSuspect && choice.id !== this.cluster.id;
      if (!suspect || (await this.cluster.reachable(choice))) return choice;
      hosts = hosts.filter((host) => host.shard.id !== choice.id);
      candidates = candidates.filter((shard) => shard.id !== choice.id);
    }
    // Nobody hosts it: a new room, placed as a room on one shard is.
    return this.placement.locate(roomId, placement);
  }

  async host(roomId: string): Promise<void> {
    const self = this.cluster.id;
    let owner = await this.directory.claim(roomId, self);
    if (owner !== self && !(await this.liveShard(owner))) {
      owner = await this.directory.takeOver(roomId, owner, self);
    }
    if (owner === self) this.cluster.hold(roomId);
    this.cluster.hostSpanning(roomId);
    await this.directory.setHost(roomId, self, 0);
    const media = await this.media.openRoom(roomId);
    const pipes = new ShardPipes(media, this.pipeSignaling(roomId), this.listen);
    media.useRemoteSource(pipes.bring);
    const room: SpanningRoom = { media, pipes, peers: new Set() };
    this.rooms.set(roomId, room);
    const others = Object.keys(await this.directory.hostsOf(roomId)).filter((id) => id !== self);
    await Promise.all(others.map((shardId) => this.meet(roomId, room, shardId)));
    this.logger.info({ roomId, home: owner, hosts: [...room.peers] }, 'hosting a spanning room');
  }

  async kick(participant: Participant): Promise<void> {
    await this.calls.call(participant.shard!, SPAN_CALLS.kick, {
      roomId: participant.roomId,
      participantId: participant.id,
    });
  }

  async mute(participant: Participant, kind: MediaKind): Promise<string[]> {
    return this.calls.call<string[]>(participant.shard!, SPAN_CALLS.mute, {
      roomId: participant.roomId,
      participantId: participant.id,
      kind,
    });
  }

  async decide(entry: LobbyEntry, admit: boolean): Promise<void> {
    await this.calls.call(entry.shard!, SPAN_CALLS.decide, {
      roomId: entry.roomId,
      entryId: entry.id,
      admit,
    });
  }

  /** Asks another host for its half of the room; it knows this shard as a host from then on. */
  private async meet(roomId: string, room: SpanningRoom, shardId: string) {
    if (!(await this.liveShard(shardId))) {
      await this.directory.removeHost(roomId, shardId);
      return;
    }
    try {
      const state = stateAnswer.parse(await this.stateOf(shardId, roomId));
      if (this.rooms.get(roomId) !== room) return;
      room.peers.add(shardId);
      for (const participant of state.participants) this.addRemote(shardId, participant);
      for (const producer of state.producers)
        room.media.addRemoteProducer({ ...producer, shard: shardId });
      for (const entry of state.lobby) this.addRemoteLobbyEntry(shardId, entry);
      if (state.locked) this.conference.setLocked(roomId, true, shardId);
    } catch (error) {
      if (error instanceof DomainError && error.code === 'not_found') {
        await this.directory.removeHost(roomId, shardId);
      } else {
        this.logger.warn({ err: error, roomId, shardId }, 'could not meet a host of the room');
      }
    }
  }

  /**
   * Another host's half of the room. A call that times out (a busy bus, a busy shard) is
   * made again while that shard is alive: giving up would leave this host blind to it.
   */
  private async stateOf(shardId: string, roomId: string): Promise<unknown> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.calls.call(shardId, SPAN_CALLS.state, { roomId });
      } catch (error) {
        const timedOut = error instanceof DomainError && error.code === 'unavailable';
        if (!timedOut || attempt >= STATE_CALL_ATTEMPTS || !(await this.liveShard(shardId)))
          throw error;
        this.logger.warn(
          { roomId, shardId, attempt },
          'a host of the room did not answer: asking again',
        );
      }
    }
  }

  private answerCalls() {
    const self = this.cluster.id;
    this.calls.handle(SPAN_CALLS.state, async (payload, from) => {
      const { roomId } = stateRequest.parse(payload);
      const room = this.roomOrNotFound(roomId);
      room.peers.add(from);
      const participants = this.conference.participantsOf(roomId).filter((p) => !p.shard);
      return {
        participants: participants.map(wire),
        producers: participants.flatMap((p) => room.media.producersOf(p.id).map(producerWire)),
        lobby: this.conference
          .lobbyOf(roomId)
          .filter((entry) => !entry.shard)
          .map(lobbyWire),
        locked: this.conference.roomInfo(roomId).locked,
      } satisfies StateAnswer;
    });
    this.calls.handle(SPAN_CALLS.open, async (payload, from) => {
      const { roomId, end } = openRequest.parse(payload);
      return this.roomOrNotFound(roomId).pipes.open(from, end as PipeEnd);
    });
    this.calls.handle(SPAN_CALLS.consume, async (payload, from) => {
      const { roomId, producerId } = consumeRequest.parse(payload);
      return this.roomOrNotFound(roomId).pipes.consume(from, producerId);
    });
    this.calls.handle(SPAN_CALLS.mute, async (payload) => {
      const { roomId, participantId, kind } = muteRequest.parse(payload);
      this.ownParticipant(roomId, participantId);
      return this.conference.mute(roomId, participantId, kind);
    });
    this.calls.handle(SPAN_CALLS.kick, async (payload) => {
      const { roomId, participantId } = kickRequest.parse(payload);
      this.ownParticipant(roomId, participantId);
      await this.conference.kick(roomId, participantId);
    });
    this.calls.handle(SPAN_CALLS.decide, async (payload) => {
      const { roomId, entryId, admit } = decideRequest.parse(payload);
      await this.conference.decideWaiting(roomId, entryId, admit);
    });
    this.logger.info({ shardId: self }, 'rooms may span shards');
  }

  /** What this shard's own participants do, told to the room's other hosts. */
  private tellOwnEvents() {
    const conference = this.conference.events;
    conference.on('participantJoined', (p) => {
      if (p.shard) return;
      this.tell(p.roomId, { type: 'joined', roomId: p.roomId, participant: wire(p) });
      this.recordCount(p.roomId);
    });
    conference.on('participantLeft', (p, reason) => {
      if (p.shard) return;
      this.tell(p.roomId, { type: 'left', roomId: p.roomId, participantId: p.id, reason });
      this.recordCount(p.roomId);
    });
    conference.on('chatMessage', (message) => {
      if (this.isRemote(message.roomId, message.from.participantId)) return;
      this.tell(message.roomId, { type: 'chat', roomId: message.roomId, message });
    });
    conference.on('lobbyKnock', (entry) => {
      if (entry.shard) return;
      this.tell(entry.roomId, { type: 'knock', roomId: entry.roomId, entry: lobbyWire(entry) });
    });
    conference.on('lobbyLeft', (entry, reason) => {
      if (entry.shard) return;
      this.tell(entry.roomId, {
        type: 'lobbyLeft',
        roomId: entry.roomId,
        entryId: entry.id,
        reason,
      });
    });
    conference.on('roomLocked', (roomId, locked) => {
      this.tell(roomId, { type: 'locked', roomId, locked });
    });
    conference.on('roomClosed', (roomId) => void this.leaveRoom(roomId));
    const media = this.media.events;
    const own = (roomId: string, producer: ProducerInfo) =>
      this.rooms.has(roomId) && !this.isRemote(roomId, producer.participantId);
    media.on('producerAdded', (roomId, producer) => {
      if (own(roomId, producer)) {
        this.tell(roomId, { type: 'producer', roomId, producer: producerWire(producer) });
      }
    });
    media.on('producerClosed', (roomId, producer) => {
      if (own(roomId, producer)) {
        this.tell(roomId, { type: 'producerClosed', roomId, producerId: producer.id });
      }
    });
    for (const [event, paused] of [
      ['producerPaused', true],
      ['producerResumed', false],
    ] as const) {
      media.on(event, (roomId, producer) => {
        if (own(roomId, producer)) {
          this.tell(roomId, { type: 'producerPaused', roomId, producerId: producer.id, paused });
        }
      });
    }
  }

  private receive(payload: unknown, from: string) {
    const parsed = spanMessage.safeParse(payload);
    if (!parsed.success) {
      this.logger.warn({ from, issues: parsed.error.issues.length }, 'bad span message');
      return;
    }
    const message = parsed.data;
    const room = this.rooms.get(message.roomId);
    if (!room) return;
    room.peers.add(from);
    const { roomId } = message;
    switch (message.type) {
      case 'joined':
        return this.addRemote(from, message.participant);
      case 'left':
        for (const producer of room.media.remoteProducers(from)) {
          if (producer.participantId === message.participantId) {
            room.media.removeRemoteProducer(producer.id);
          }
        }
        return this.conference.removeRemoteParticipant(
          message.participantId,
          roomId,
          message.reason,
        );
      case 'producer':
        return room.media.addRemoteProducer({ ...message.producer, shard: from });
      case 'producerClosed':
        return room.media.removeRemoteProducer(message.producerId);
      case 'producerPaused':
        void room.media.setRemoteProducerPaused(message.producerId, message.paused);
        return;
      case 'chat':
        return this.conference.receiveChat(message.message);
      case 'knock':
        return this.addRemoteLobbyEntry(from, message.entry);
      case 'lobbyLeft':
        return this.conference.removeRemoteLobbyEntry(roomId, message.entryId, message.reason);
      case 'locked':
        return this.conference.setLocked(roomId, message.locked, from);
      case 'unpipe':
        return room.pipes.stopSending(from);
      case 'leaving':
        return this.dropShard(roomId, room, from, 'left');
    }
  }

  private addRemote(shard: string, participant: ParticipantWire) {
    this.conference.addRemoteParticipant({
      ...participant,
      joinedAt: new Date(participant.joinedAt),
      shard,
    });
  }

  private addRemoteLobbyEntry(shard: string, entry: LobbyEntryWire) {
    this.conference.addRemoteLobbyEntry({
      ...entry,
      knockedAt: new Date(entry.knockedAt),
      shard,
    });
  }

  /** The room's participants, lobby, producers and pipes of a shard that left it or died. */
  private dropShard(
    roomId: string,
    room: SpanningRoom,
    shardId: string,
    reason: 'left' | 'disconnected',
  ) {
    room.peers.delete(shardId);
    room.pipes.closeShard(shardId);
    for (const producer of room.media.remoteProducers(shardId)) {
      room.media.removeRemoteProducer(producer.id);
    }
    for (const participant of this.conference.participantsOf(roomId)) {
      if (participant.shard === shardId) {
        this.conference.removeRemoteParticipant(participant.id, roomId, reason);
      }
    }
    for (const entry of this.conference.lobbyOf(roomId)) {
      if (entry.shard === shardId) {
        this.conference.removeRemoteLobbyEntry(roomId, entry.id, 'disconnected');
      }
    }
  }

  /** A shard died: its half of every room goes, and one of the others takes over its leases. */
  private forgetShard(shardId: string) {
    for (const [roomId, room] of this.rooms) {
      if (!room.peers.has(shardId)) continue;
      this.logger.warn({ roomId, shardId }, 'a host of the spanning room is gone');
      this.dropShard(roomId, room, shardId, 'disconnected');
      void (async () => {
        await this.directory.removeHost(roomId, shardId);
        const owner = await this.directory.takeOver(roomId, shardId, this.cluster.id);
        if (owner === this.cluster.id && this.rooms.get(roomId) === room) {
          this.cluster.hold(roomId);
        }
      })().catch((error: unknown) =>
        this.logger.warn({ err: error, roomId, shardId }, 'could not forget the gone host'),
      );
    }
  }

  private async leaveRoom(roomId: string) {
    const room = this.rooms.get(roomId);
    if (!room) return;
    this.rooms.delete(roomId);
    this.cluster.leaveSpanning(roomId);
    this.tell(roomId, { type: 'leaving', roomId }, room);
    room.pipes.close();
    await this.directory.removeHost(roomId, this.cluster.id).catch((error: unknown) => {
      this.logger.warn({ err: error, roomId }, 'could not leave the room in the directory');
    });
  }

  /** Rebuilds every pipe to this shard that receives nothing while its producers send. */
  private async checkStalls() {
    if (this.checking) return;
    this.checking = true;
    try {
      await this.rebuildStalledPipes();
    } finally {
      this.checking = false;
    }
  }

  private async rebuildStalledPipes() {
    const intervalMs = this.config.cluster.span.stallCheckMs;
    for (const [roomId, room] of this.rooms) {
      const stalled = await room.pipes.stalledShards(intervalMs).catch(() => []);
      for (const shardId of stalled) {
        this.logger.warn({ roomId, shardId }, 'the pipe from the shard stalled: rebuilding it');
        room.pipes.stopReceiving(shardId);
        this.tell(roomId, { type: 'unpipe', roomId }, room, shardId);
        // Announced again, the producers are consumed (and piped) again.
        for (const producer of room.media.remoteProducers(shardId)) {
          room.media.removeRemoteProducer(producer.id);
          room.media.addRemoteProducer(producer);
        }
      }
    }
  }

  private tell(roomId: string, message: SpanMessage, room = this.rooms.get(roomId), only?: string) {
    if (!room) return;
    for (const shardId of only ? [only] : room.peers) {
      this.bus.send(shardId, SPAN_TOPIC, message).catch((error: unknown) => {
        this.logger.warn({ err: error, roomId, shardId }, 'could not tell a host of the room');
      });
    }
  }

  private recordCount(roomId: string) {
    if (!this.rooms.has(roomId)) return;
    const count = this.conference.participantsOf(roomId).filter((p) => !p.shard).length;
    this.directory.setHost(roomId, this.cluster.id, count).catch((error: unknown) => {
      this.logger.warn({ err: error, roomId }, 'could not record the room in the directory');
    });
  }

  private pipeSignaling(roomId: string) {
    return {
      open: async (shard: string, ours: PipeEnd) =>
        pipeEnd.parse(
          await this.calls.call(shard, SPAN_CALLS.open, { roomId, end: ours }),
        ) as PipeEnd,
      consume: (shard: string, producerId: string) =>
        this.calls.call<PipedProducerParams>(shard, SPAN_CALLS.consume, { roomId, producerId }),
      addressOf: (shard: string) => this.cluster.shard(shard)?.pipeAddress,
    };
  }

  private registerMetrics() {
    const registers = [this.metrics.registry];
    const rooms = () => [...this.rooms.values()];
    new Gauge({
      name: 'videowindow_cascade_pipes_in',
      help: 'Streams arriving from other shards of spanning rooms (pipe producers)',
      registers,
      async collect() {
        const counts = await Promise.all(rooms().map((room) => room.pipes.counts()));
        this.set(counts.reduce((sum, count) => sum + count.in, 0));
      },
    });
    new Gauge({
      name: 'videowindow_cascade_pipes_out',
      help: 'Streams sent to other shards of spanning rooms (one pipe consumer per shard)',
      registers,
      async collect() {
        const counts = await Promise.all(rooms().map((room) => room.pipes.counts()));
        this.set(counts.reduce((sum, count) => sum + count.out, 0));
      },
    });
  }

  private roomOrNotFound(roomId: string): SpanningRoom {
    const room = this.rooms.get(roomId);
    if (!room) throw new DomainError('not_found', `room ${roomId} is not hosted here`);
    return room;
  }

  private ownParticipant(roomId: string, participantId: string) {
    const participant = this.conference.participantsOf(roomId).find((p) => p.id === participantId);
    if (!participant || participant.shard) {
      throw new DomainError('not_found', `no participant ${participantId} here`);
    }
  }

  private isRemote(roomId: string, participantId: string): boolean {
    return Boolean(
      this.conference.participantsOf(roomId).find((p) => p.id === participantId)?.shard,
    );
  }

  private async liveShard(shardId: string): Promise<ShardEntry | undefined> {
    return (
      this.cluster.shard(shardId) ??
      (await this.cluster.freshShards()).find((shard) => shard.id === shardId)
    );
  }
}
