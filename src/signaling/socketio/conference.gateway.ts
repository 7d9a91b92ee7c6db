import { Inject, OnModuleDestroy } from '@nestjs/common';
import {
  ConnectedSocket,
  MessageBody,
  OnGatewayConnection,
  OnGatewayDisconnect,
  OnGatewayInit,
  SubscribeMessage,
  WebSocketGateway,
  WebSocketServer,
} from '@nestjs/websockets';
import { randomUUID } from 'node:crypto';
import { Server, Socket } from 'socket.io';
import { ClusterService } from '../../cluster/cluster.service';
import { placementHint } from '../../cluster/placement-hint';
import { LocateOptions } from '../../cluster/room-placement.service';
import { APP_CONFIG } from '../../config/config.module';
import { AppConfig } from '../../config/config.schema';
import { BreakoutRooms, mainRoomOf } from '../../conference/breakout-rooms';
import { ConferenceService } from '../../conference/conference.service';
import { DomainError } from '../../conference/domain-error';
import { canModerate, Participant } from '../../conference/participant';
import { ChatMessage, LobbyEntry, RaisedHand } from '../../conference/room';
import { MediaService } from '../../media/media.service';
import { MediaSession } from '../../media/media-session';
import { InjectLogger } from '../../observability/logging.module';
import { MetricsService } from '../../observability/metrics.service';
import type { Logger } from '../../observability/logger';
import { JoinGrant, JoinTokenService } from '../../portal/join-token.service';
import { RecordingInfo } from '../../recording/recording-info';
import { RecordingService } from '../../recording/recording.service';
import { TurnService } from '../../turn/turn.service';
import { TokenBucket } from '../token-bucket';
import { breakoutsView, handleBreakoutRequest, isBreakoutMethod } from './breakout-requests';
import { toErrorBody } from './error-body';
import { JoinAnnouncements } from './join-announcements';
import {
  ChatMessageView,
  ErrorBody,
  JoinResult,
  LobbyEntryView,
  Method,
  ParticipantView,
  ProducerInfo,
  RaisedHandView,
  ReceiveRequest,
  RecordingStateView,
  ReceiveSetup,
  Requests,
  ServerEvents,
} from './protocol';
import { isMethod, requestEnvelope, requestSchemas } from './request-schemas';

interface SocketState {
  /** Present when the client connected with a join token. */
  grant?: JoinGrant;
  /** A guest's identity, the same for every join of the connection (moves keep it). */
  guestIdentity?: string;
  /** What the connection tells the placement of a room it opens. */
  placement: LocateOptions;
  /** Set while a join is under way: a connection joins one room at a time. */
  joining?: boolean;
  participantId?: string;
  /** Set while the client waits in a room's lobby (its future participant id). */
  waitingId?: string;
  /** What the join asked to receive, kept while the client waits in the lobby. */
  receive?: ReceiveRequest;
  requests: TokenBucket;
}

interface ClientEvents {
  request: (body: unknown, ack: (response: unknown) => void) => void;
}

type ConferenceSocket = Socket<ClientEvents, ServerEvents, object, SocketState>;

const roomChannel = (roomId: string) => `room:${roomId}`;

/** Joins within this long of the last announcement to a room are announced together. */
const JOIN_ANNOUNCEMENT_WINDOW_MS = 50;

const lobbyView = ({ id, displayName, knockedAt }: LobbyEntry): LobbyEntryView => ({
  id,
  displayName,
  knockedAt: knockedAt.toISOString(),
});

const recordingView = ({ state, startedAt, reason }: RecordingInfo): RecordingStateView =>
  state === 'recording' ? { active: true, startedAt } : { active: false, reason };
const handsView = (hands: RaisedHand[]): RaisedHandView[] =>
  hands.map(({ participantId, raisedAt }) => ({ participantId, raisedAt: raisedAt.toISOString() }));

const chatView = ({ id, from, text, sentAt }: ChatMessage): ChatMessageView => ({
  id,
  from,
  text,
  sentAt,
});

/**
 * Door 1: socket.io. Authenticates at connection, answers `request` messages with acks
 * and renders conference and media events to the participants connected here.
 */
@WebSocketGateway({ path: '/socket.io' })
export class ConferenceGateway
  implements OnGatewayInit, OnGatewayConnection, OnGatewayDisconnect, OnModuleDestroy
{
  @WebSocketServer() private server!: Server<ClientEvents, ServerEvents>;
  private readonly sockets = new Map<string, ConferenceSocket>();
  private readonly joinAnnouncements: JoinAnnouncements<Participant>;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly conference: ConferenceService,
    private readonly media: MediaService,
    private readonly tokens: JoinTokenService,
    private readonly turn: TurnService,
    private readonly metrics: MetricsService,
    private readonly cluster: ClusterService,
    private readonly recordings: RecordingService,
    private readonly breakouts: BreakoutRooms,
    @InjectLogger() private readonly logger: Logger,
  ) {
    this.joinAnnouncements = new JoinAnnouncements(
      JOIN_ANNOUNCEMENT_WINDOW_MS,
      (roomId, joined) =>
        this.server.to(roomChannel(roomId)).emit(
          'participantsJoined',
          joined.map((p) => this.view(p)),
        ),
      logger,
    );
    this.renderConferenceEvents();
    this.renderMediaEvents();
    this.renderRecordingEvents();
    this.renderBreakoutEvents();
  }

  afterInit(server: Server<ClientEvents, ServerEvents>) {
    server.use((socket: ConferenceSocket, next) => {
      const { auth, query, headers } = socket.handshake;
      const token = (auth as { token?: unknown }).token ?? query.token;
      const { requestsPerSecond, requestBurst } = this.config.signaling;
      socket.data.requests = new TokenBucket(requestsPerSecond, requestBurst);
      const behindProxy = Boolean(this.config.http.trustProxy);
      socket.data.placement = placementHint(headers, query.shard, this.cluster.id, behindProxy);
      try {
        if (typeof token === 'string' && token) {
          socket.data.grant = this.tokens.verify(token);
        } else if (!this.config.auth.allowGuests) {
          throw new DomainError('unauthorized', 'a join token is required');
        }
        next();
      } catch (error) {
        const body = toErrorBody(error, this.logger);
        next(Object.assign(new Error(body.message), { data: body }));
      }
    });
  }

  onModuleDestroy() {
    this.joinAnnouncements.clear();
  }

  handleConnection(socket: ConferenceSocket) {
    this.metrics.socketConnected();
    socket.onAny((event: string, ...args: unknown[]) => {
      const ack = args[args.length - 1];
      if (event !== 'request' && typeof ack === 'function') {
        ack({ error: { code: 'unknown_request', message: `unknown event "${event}"` } });
      }
    });
  }

  async handleDisconnect(socket: ConferenceSocket) {
    this.metrics.socketDisconnected();
    // Nest does not wait for this: a failure here must end in the log.
    await this.leave(socket, 'disconnected').catch((error: unknown) =>
      this.logger.error({ err: error }, 'could not take a disconnected client out'),
    );
  }

  @SubscribeMessage('request')
  async onRequest(
    @ConnectedSocket() socket: ConferenceSocket,
    @MessageBody() body: unknown,
  ): Promise<{ data: unknown } | { error: ErrorBody }> {
    try {
      if (!socket.data.requests.take()) {
        throw new DomainError('too_many_requests', 'slow down: too many requests');
      }
      const { method, data } = requestEnvelope.parse(body);
      if (!isMethod(method)) {
        throw new DomainError('unknown_request', `unknown method "${method}"`);
      }
      this.metrics.socketRequest(method);
      return { data: await this.handle(socket, method, requestSchemas[method].parse(data)) };
    } catch (error) {
      return { error: toErrorBody(error, this.logger) };
    }
  }

  private async handle(socket: ConferenceSocket, method: Method, data: unknown): Promise<unknown> {
    if (method === 'getRouterRtpCapabilities') {
      return { routerRtpCapabilities: this.media.routerRtpCapabilities };
    }
    if (method === 'join') return this.timedJoin(socket, data as Requests['join'][0]);
    if (method === 'resume') return this.resume(socket, data as Requests['resume'][0]);
    if (method === 'leave') {
      const left = await this.leave(socket, 'left');
      if (!left) throw new DomainError('not_joined', 'join a room first');
      return {};
    }
    const participantId = socket.data.participantId;
    if (!participantId) throw new DomainError('not_joined', 'join a room first');
    if (isBreakoutMethod(method)) {
      return handleBreakoutRequest(this.breakouts, participantId, method, data);
    }
    const media = await this.conference.mediaOf(participantId);

    switch (method) {
      case 'createWebRtcTransport': {
        const { direction, sctp } = data as Requests['createWebRtcTransport'][0];
        return media.createWebRtcTransport(direction, sctp ?? false);
      }
      case 'connectWebRtcTransport': {
        const { transportId, dtlsParameters } = data as Requests['connectWebRtcTransport'][0];
        await media.connectTransport(transportId, dtlsParameters);
        return {};
      }
      case 'restartIce': {
        const { transportId } = data as Requests['restartIce'][0];
        return { iceParameters: await media.restartIce(transportId) };
      }
      case 'produce': {
        const { transportId, kind, rtpParameters, source } = data as Requests['produce'][0];
        const defaultSource = kind === 'audio' ? 'mic' : 'camera';
        const producer = await media.produce(
          transportId,
          kind,
          rtpParameters,
          source ?? defaultSource,
        );
        return { producerId: producer.id };
      }
      case 'closeProducer':
        media.closeProducer((data as Requests['closeProducer'][0]).producerId);
        return {};
      case 'pauseProducer':
      case 'resumeProducer': {
        const { producerId } = data as Requests['pauseProducer'][0];
        await media.setProducerPaused(producerId, method === 'pauseProducer');
        return {};
      }
      case 'consume': {
        const { transportId, producerId, rtpCapabilities } = data as Requests['consume'][0];
        return media.consume(transportId, producerId, rtpCapabilities);
      }
      case 'pauseConsumer':
      case 'resumeConsumer': {
        const { consumerId } = data as Requests['pauseConsumer'][0];
        await media.setConsumerPaused(consumerId, method === 'pauseConsumer');
        return {};
      }
      case 'setPreferredLayers': {
        const { consumerId, ...layers } = data as Requests['setPreferredLayers'][0];
        await media.setPreferredLayers(consumerId, layers);
        return {};
      }
      case 'chat':
        return chatView(this.conference.chat(participantId, (data as Requests['chat'][0]).text));
      case 'lobbyAdmit':
        await this.conference.admit(
          participantId,
          (data as Requests['lobbyAdmit'][0]).participantId,
        );
        return {};
      case 'lobbyReject':
        await this.conference.reject(
          participantId,
          (data as Requests['lobbyReject'][0]).participantId,
        );
        return {};
      case 'startRecording':
        return recordingView(await this.recordings.startFor(participantId));
      case 'stopRecording':
        return recordingView(await this.recordings.stopFor(participantId));
      case 'muteParticipant': {
        const { participantId: target, kind } = data as Requests['muteParticipant'][0];
        await this.conference.muteBy(participantId, target, kind);
        return {};
      }
      case 'kickParticipant':
        await this.conference.kickBy(
          participantId,
          (data as Requests['kickParticipant'][0]).participantId,
        );
        return {};
      case 'raiseHand':
        return { hands: handsView(this.conference.raiseHand(participantId)) };
      case 'lowerHand': {
        const target = (data as Requests['lowerHand'][0] | undefined)?.participantId;
        return { hands: handsView(this.conference.lowerHand(participantId, target)) };
      }
      case 'react':
        this.conference.react(participantId, (data as Requests['react'][0]).emoji);
        return {};
    }
  }

  /**
   * A client whose connection dropped comes back on a new one for the same participant;
   * a connection still attached to it (half open) is dropped.
   */
  private async resume(socket: ConferenceSocket, data: Requests['resume'][0]) {
    if (socket.data.participantId || socket.data.waitingId || socket.data.joining) {
      throw new DomainError('conflict', 'already in a room');
    }
    const { participant, media } = await this.conference.resume(
      data.participantId,
      data.resumeToken,
    );
    const { grant } = socket.data;
    if (grant && (grant.room !== participant.roomId || grant.identity !== participant.identity)) {
      throw new DomainError('forbidden', 'this token is for someone else');
    }
    const stale = this.sockets.get(participant.id);
    if (stale && stale !== socket) {
      this.detach(stale);
      stale.disconnect(true);
    }
    return this.enterRoom(socket, participant, media);
  }

  /** Joins one at a time per connection (a second is refused meanwhile), each timed. */
  private async timedJoin(socket: ConferenceSocket, data: Requests['join'][0]) {
    if (socket.data.joining) throw new DomainError('conflict', 'already joining a room');
    socket.data.joining = true;
    const joinAnswered = this.metrics.startJoinTimer();
    try {
      return await this.join(socket, data);
    } finally {
      socket.data.joining = false;
      joinAnswered();
    }
  }

  private async join(
    socket: ConferenceSocket,
    data: Requests['join'][0],
  ): Promise<Requests['join'][1]> {
    if (socket.data.participantId) throw new DomainError('conflict', 'already in a room');
    if (socket.data.waitingId) throw new DomainError('conflict', 'already waiting in a lobby');
    const { grant } = socket.data;
    // A token for a room holds for its breakout rooms (which admit whom the room did).
    if (grant && grant.room !== data.room && grant.room !== mainRoomOf(data.room)) {
      throw new DomainError('forbidden', `this token is for room "${grant.room}"`);
    }
    const outcome = await this.conference.join({
      roomId: data.room,
      identity: grant?.identity ?? (socket.data.guestIdentity ??= `guest-${randomUUID()}`),
      displayName: grant?.name ?? data.displayName ?? 'Guest',
      role: grant?.role ?? 'guest',
      door: 'socketio',
      password: data.password,
      placement: socket.data.placement,
      resumable: data.resumable,
      pass: data.pass,
    });
    if ('waiting' in outcome) {
      const { id, displayName } = outcome.waiting;
      if (socket.disconnected) {
        this.conference.leaveLobby(id, 'disconnected');
        throw new DomainError('not_joined', 'disconnected while joining');
      }
      socket.data.waitingId = id;
      socket.data.receive = data.receive;
      this.sockets.set(id, socket);
      return { lobby: true, participantId: id, displayName };
    }
    const { participant, media } = outcome;
    if (socket.disconnected) {
      await this.conference.leave(participant.id, 'disconnected');
      throw new DomainError('not_joined', 'disconnected while joining');
    }
    return this.enterRoom(socket, participant, media, data.receive);
  }

  /**
   * Makes the socket the participant's and tells it what a newcomer needs to know; sets up
   * its receiving when the join asked for it.
   */
  private async enterRoom(
    socket: ConferenceSocket,
    participant: Participant,
    media: MediaSession,
    receive?: ReceiveRequest,
  ): Promise<JoinResult> {
    socket.data.participantId = participant.id;
    this.sockets.set(participant.id, socket);
    await socket.join(roomChannel(participant.roomId));
    const others = this.conference
      .participantsOf(participant.roomId)
      .filter((p) => p !== participant);
    const result: JoinResult = {
      participantId: participant.id,
      shard: this.cluster.id,
      displayName: participant.displayName,
      role: participant.role,
      routerRtpCapabilities: receive ? undefined : media.rtpCapabilities,
      participants: others.map((p) => this.view(p, media)),
      resumeToken: this.conference.resumeTokenOf(participant.id),
      activeSpeakerId: media.activeSpeaker,
      hands: handsView(this.conference.handsOf(participant.roomId)),
      iceServers: this.turn.iceServersFor(participant.identity),
      videoLimits: {
        maxVideos: this.config.media.maxVideosPerReceiver,
        lastN: this.config.media.lastN,
      },
    };
    if (canModerate(participant)) {
      result.waiting = this.conference.lobbyOf(participant.roomId).map(lobbyView);
    }
    const recording = this.recordings.current(participant.roomId);
    if (recording) result.recording = recordingView(recording);
    const breakouts = this.breakouts.stateOf(participant.roomId);
    if (breakouts) result.breakouts = breakoutsView(breakouts);
    if (receive) {
      const producerIds = result.participants.flatMap((p) => p.producers.map(({ id }) => id));
      result.receive = await this.setUpReceiving(socket, participant, media, producerIds, receive);
    }
    return result;
  }

  /**
   * A receive transport with a consumer of each producer the join answer lists (later
   * ones arrive as newProducer). A join whose receiving cannot be set up fails whole.
   */
  private async setUpReceiving(
    socket: ConferenceSocket,
    participant: Participant,
    media: MediaSession,
    producerIds: string[],
    { rtpCapabilities, dtlsParameters }: ReceiveRequest,
  ): Promise<ReceiveSetup> {
    try {
      return await media.receive(producerIds, rtpCapabilities, dtlsParameters);
    } catch (error) {
      this.detach(socket);
      await this.conference.leave(participant.id, 'left');
      throw error;
    }
  }

  /** The sockets of the room's moderators connected through this door. */
  private moderators(roomId: string): ConferenceSocket[] {
    return this.conference
      .participantsOf(roomId)
      .filter(canModerate)
      .flatMap((moderator) => this.sockets.get(moderator.id) ?? []);
  }

  private renderRecordingEvents() {
    const tell = (recording: RecordingInfo) =>
      this.server?.to(roomChannel(recording.room)).emit('recording', recordingView(recording));
    this.recordings.events.on('recordingStarted', tell);
    this.recordings.events.on('recordingFinished', tell);
  }

  private renderBreakoutEvents() {
    const events = this.breakouts.events;
    events.on('moveRequired', (participant, room, pass) => {
      const socket = this.sockets.get(participant.id);
      if (!socket) return;
      // Detached first: the leave that follows ('moved') tells this socket nothing.
      this.detach(socket);
      socket.emit('moveToRoom', { room, pass });
    });
    events.on('breakoutsChanged', (mainRoomId, state) => {
      const roomIds = [mainRoomId, ...(state?.rooms.map((room) => room.id) ?? [])];
      this.server
        ?.to(roomIds.map(roomChannel))
        .emit('breakouts', { breakouts: state && breakoutsView(state) });
    });
    events.on('breakoutBroadcast', (roomIds, from, text) =>
      this.server?.to(roomIds.map(roomChannel)).emit('breakoutMessage', {
        from: { participantId: from.id, displayName: from.displayName },
        text,
      }),
    );
  }

  private view(participant: Participant, media?: MediaSession): ParticipantView {
    return {
      id: participant.id,
      displayName: participant.displayName,
      role: participant.role,
      producers: media?.producersOf(participant.id) ?? [],
    };
  }

  /**
   * Takes the socket out of its room or the lobby it waits in, at once (a second leave
   * finds it in neither); false when it was in neither.
   */
  private async leave(socket: ConferenceSocket, reason: 'left' | 'disconnected') {
    const { participantId, waitingId } = socket.data;
    if (waitingId) {
      this.sockets.delete(waitingId);
      socket.data.waitingId = undefined;
      this.conference.leaveLobby(waitingId, reason);
      return true;
    }
    if (!participantId) return false;
    this.detach(socket);
    // A lost connection may come back (resume): the participant stays for a while.
    if (reason === 'disconnected') await this.conference.suspend(participantId);
    else await this.conference.leave(participantId, reason);
    return true;
  }

  /** Stops rendering room events to a socket whose participant is gone. */
  private detach(socket: ConferenceSocket) {
    const { participantId } = socket.data;
    if (participantId) this.sockets.delete(participantId);
    socket.data.participantId = undefined;
    for (const channel of [...socket.rooms]) if (channel !== socket.id) void socket.leave(channel);
  }

  /** Emits to everyone in the room, after the joins waiting to be announced. */
  private toRoom(roomId: string) {
    this.joinAnnouncements.flush(roomId);
    return this.server.to(roomChannel(roomId));
  }

  /** Emits to everyone in the room but the participant the event is about. */
  private toRoomExcept(roomId: string, participantId: string) {
    const socket = this.sockets.get(participantId);
    if (!socket) return this.toRoom(roomId);
    this.joinAnnouncements.flush(roomId);
    return socket.to(roomChannel(roomId));
  }

  private renderConferenceEvents() {
    const events = this.conference.events;
    events.on('participantJoined', (participant) =>
      this.joinAnnouncements.add(participant.roomId, participant),
    );
    events.on('participantLeft', (participant, reason) => {
      const socket = this.sockets.get(participant.id);
      if (socket) {
        socket.emit('removed', { reason });
        this.detach(socket);
      }
      this.toRoom(participant.roomId).emit('participantLeft', {
        participantId: participant.id,
        reason,
      });
    });
    events.on('participantMuted', (participant, kind, producerIds) =>
      this.sockets.get(participant.id)?.emit('muted', { kind, producerIds }),
    );
    events.on('chatMessage', (message) =>
      this.toRoomExcept(message.roomId, message.from.participantId).emit('chat', chatView(message)),
    );
    events.on('handsChanged', (roomId, hands) =>
      this.toRoom(roomId).emit('hands', { hands: handsView(hands) }),
    );
    events.on('reaction', (participant, emoji) =>
      this.toRoom(participant.roomId).emit('reaction', { participantId: participant.id, emoji }),
    );
    events.on('lobbyKnock', (entry) => {
      const waiting = this.conference.lobbyOf(entry.roomId).map(lobbyView);
      for (const socket of this.moderators(entry.roomId)) {
        socket.emit('lobbyKnock', { entry: lobbyView(entry), waiting });
      }
    });
    events.on('lobbyLeft', (entry, reason) => {
      const waiting = this.conference.lobbyOf(entry.roomId).map(lobbyView);
      for (const socket of this.moderators(entry.roomId)) {
        socket.emit('lobbyLeft', { participantId: entry.id, reason, waiting });
      }
      const socket = this.sockets.get(entry.id);
      if (!socket || reason === 'admitted') return;
      this.sockets.delete(entry.id);
      socket.data.waitingId = undefined;
      if (reason === 'rejected' || reason === 'closed') socket.emit('rejected', { reason });
    });
    events.on('admitted', (participant, media) => {
      const socket = this.sockets.get(participant.id);
      if (!socket || socket.data.waitingId !== participant.id) return;
      const { receive } = socket.data;
      socket.data.waitingId = undefined;
      socket.data.receive = undefined;
      this.enterRoom(socket, participant, media, receive).then(
        (result) => socket.emit('admitted', result),
        (error: unknown) =>
          socket.emit('rejected', { reason: toErrorBody(error, this.logger).message }),
      );
    });
    events.on('rejoinRequired', (_roomId, participants, reason) => {
      for (const participant of participants) {
        const socket = this.sockets.get(participant.id);
        if (!socket) continue;
        socket.emit('rejoin', { reason });
        this.detach(socket);
      }
    });
  }

  private renderMediaEvents() {
    const events = this.media.events;
    const toOthers =
      (event: 'newProducer' | 'producerClosed' | 'producerPaused' | 'producerResumed') =>
      (roomId: string, producer: ProducerInfo) =>
        this.toRoomExcept(roomId, producer.participantId).emit(event, producer);
    events.on('producerAdded', toOthers('newProducer'));
    events.on('producerClosed', toOthers('producerClosed'));
    events.on('producerPaused', toOthers('producerPaused'));
    events.on('producerResumed', toOthers('producerResumed'));
    const toConsumer =
      (event: 'consumerClosed' | 'consumerPaused' | 'consumerResumed') =>
      (_roomId: string, participantId: string, consumerId: string) =>
        this.sockets.get(participantId)?.emit(event, { consumerId });
    events.on('consumerClosed', toConsumer('consumerClosed'));
    events.on('consumerPaused', toConsumer('consumerPaused'));
    events.on('consumerResumed', toConsumer('consumerResumed'));
    events.on('activeSpeaker', (roomId, participantId) =>
      this.toRoom(roomId).emit('activeSpeaker', { participantId }),
    );
  }
}
