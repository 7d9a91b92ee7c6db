import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { ClusterService } from '../cluster/cluster.service';
import { LocateOptions, RoomPlacement } from '../cluster/room-placement.service';
import { ShardLoad } from '../cluster/shard';
import { WrongShardError } from '../cluster/wrong-shard.error';
import { APP_CONFIG } from '../config/config.module';
import { AppConfig } from '../config/config.schema';
import { MediaService } from '../media/media.service';
import { MediaSession } from '../media/media-session';
import { RoomMedia } from '../media/room-media';
import { InjectLogger } from '../observability/logging.module';
import type { Logger } from '../observability/logger';
import {
  ConferenceEvents,
  LeaveReason,
  LobbyLeaveReason,
  MediaKind,
  RejoinReason,
} from './conference-events';
import { DomainError } from './domain-error';
import { DomainEvents } from './domain-events';
import { canModerate, Door, Participant, Role } from './participant';
import {
  ChatMessage,
  LobbyEntry,
  RaisedHand,
  Reaction,
  REACTIONS,
  Room,
  ROOM_ID_PATTERN,
} from './room';
import { OPEN_ROOM, RoomPolicy, RoomPolicyProvider } from './room-policy';
import type { RoomSpan } from './room-span';

/** Wrong meeting passwords a room takes within the window before it refuses attempts. */
const PASSWORD_FAILURES_PER_WINDOW = 10;
const PASSWORD_WINDOW_MS = 60_000;

export interface JoinRequest {
  roomId: string;
  identity: string;
  displayName: string;
  /** Its MUC nick (XMPP door). */
  nick?: string;
  role: Role;
  door: Door;
  /** The meeting password, for rooms that ask for one. */
  password?: string;
  /** What the cluster's placement of a new room may consider. */
  placement?: LocateOptions;
  /** The client resumes the participant after a dropped connection (it asked to). */
  resumable?: boolean;
  /** A move's pass (see BreakoutRooms): the main room's decisions let its holder in. */
  pass?: string;
}

/**
 * The port through which breakout rooms apply their main room's admission decisions
 * (registered by BreakoutRooms, so the conference depends on no breakout code).
 */
export interface AdmissionGate {
  /**
   * 'admitted' when the joiner needs no lock, password or lobby check; undefined when
   * the room's own rules apply. Throws the refusal.
   */
  admit(request: JoinRequest): 'admitted' | undefined;
  /** The room opens on this shard whatever the placement would say. */
  runsHere(roomId: string): boolean;
}

/** In the room, with its media session. */
export interface Entered {
  participant: Participant;
  media: MediaSession;
}

/** In the room, or waiting in its lobby for a moderator. */
export type JoinOutcome = Entered | { waiting: LobbyEntry };

export interface RoomInfo {
  id: string;
  createdAt: Date;
  locked: boolean;
  participants: Participant[];
}

/**
 * The conferences on this shard: rooms open on first join and close a grace period
 * after the last participant leaves; every participant gets its media peer. A room's
 * policy (password, cap, lobby) is enforced here, for every door alike.
 */
@Injectable()
export class ConferenceService implements OnModuleDestroy {
  readonly events: DomainEvents<ConferenceEvents>;
  private readonly rooms = new Map<string, Room>();
  private readonly participants = new Map<string, Participant>();
  private readonly waiting = new Map<string, LobbyEntry>();
  /** Per participant: the secret that resumes it after its connection dropped. */
  private readonly resumeTokens = new Map<string, string>();
  /** Participants whose connection dropped, until they resume or their grace ends. */
  private readonly suspended = new Map<string, NodeJS.Timeout>();
  /** Per room: when recent wrong passwords were given (kept across room reopenings). */
  private readonly passwordFailures = new Map<string, number[]>();
  private policies?: RoomPolicyProvider;
  private span?: RoomSpan;
  private admission?: AdmissionGate;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly media: MediaService,
    private readonly placement: RoomPlacement,
    private readonly cluster: ClusterService,
    @InjectLogger() private readonly logger: Logger,
  ) {
    this.events = new DomainEvents(logger);
    media.events.on('roomMediaLost', (roomId) => this.resetRoom(roomId, 'media-restart'));
    cluster.events.on('roomLost', (roomId) => this.resetRoom(roomId, 'moved'));
    cluster.measureLoadWith(() => this.load());
  }

  /** Where rooms opened from now on get their rules; without one every room is open. */
  usePolicies(provider: RoomPolicyProvider): void {
    this.policies = provider;
  }

  /** Where joins learn of decisions taken in another room (breakout rooms). */
  useAdmission(gate: AdmissionGate): void {
    this.admission = gate;
  }

  /**
   * A held room stays open while empty (a main room whose people are all in breakout
   * rooms); released, it closes after the usual grace once empty. A room that is not
   * live has nothing to hold.
   */
  holdOpen(roomId: string, held: boolean): void {
    const room = this.rooms.get(roomId);
    if (!room) return;
    room.held = held;
    if (held) clearTimeout(room.closeTimer);
    else if (room.isEmpty) this.scheduleClose(room);
  }

  /** From now on rooms may span shards, as `span` places their joiners. */
  useSpan(span: RoomSpan): void {
    this.span = span;
  }

  /** A participant of another shard of a spanning room, as that shard told it. */
  addRemoteParticipant(participant: Participant): void {
    const room = this.rooms.get(participant.roomId);
    if (!room || !participant.shard || room.participants.has(participant.id)) return;
    room.participants.set(participant.id, participant);
    this.events.emit('participantJoined', participant);
  }

  removeRemoteParticipant(participantId: string, roomId: string, reason: LeaveReason): void {
    const room = this.rooms.get(roomId);
    const participant = room?.participants.get(participantId);
    if (!participant?.shard) return;
    room!.participants.delete(participantId);
    this.events.emit('participantLeft', participant, reason);
  }

  /** A chat message of a participant on another shard of a spanning room. */
  receiveChat(message: ChatMessage): void {
    const room = this.rooms.get(message.roomId);
    if (!room?.participants.get(message.from.participantId)?.shard) return;
    room.remember(message);
    this.events.emit('chatMessage', message);
  }

  async join(request: JoinRequest): Promise<JoinOutcome> {
    const { roomId } = request;
    if (!ROOM_ID_PATTERN.test(roomId)) {
      throw new DomainError('bad_request', 'room names are 1-64 letters, digits, "_", "-", "."');
    }
    const admitted = this.admission?.admit(request) === 'admitted';
    const room = await this.openRoom(roomId, request.placement);
    clearTimeout(room.closeTimer);
    try {
      const policy = await room.policy;
      const checked = request.role === 'moderator' || admitted;
      if (room.locked && !checked) {
        throw new DomainError('room_locked', `room ${roomId} is locked`);
      }
      if (!checked) await this.checkPassword(room, policy, request.password);
      if (policy.lobby && !checked) return { waiting: this.knock(room, request) };
      // A room that closed meanwhile gets no media (nobody would close it again).
      this.checkCurrent(room);
      const media = await this.media.openRoom(roomId);
      // Checked after the awaits, when nothing else can join before this participant.
      this.checkCurrent(room);
      this.checkCapacity(room, policy, request.role);
      const participant = this.enter(room, media, { id: randomUUID(), ...request });
      const session = new MediaSession(participant.id, media);
      this.events.emit('participantJoined', participant);
      return { participant, media: session };
    } catch (error) {
      if (room.isEmpty) this.scheduleClose(room);
      throw error;
    }
  }

  /**
   * A moderator lets someone in from the lobby of the moderator's room (on the shard it
   * waits on, in a room spanning shards).
   */
  async admit(moderatorId: string, entryId: string): Promise<void> {
    const entry = this.lobbyEntryFor(moderatorId, entryId);
    if (entry.shard) return this.span!.decide(entry, true);
    await this.admitWaiting(entry.roomId, entryId);
  }

  /** A moderator turns someone in the lobby of the moderator's room away. */
  async reject(moderatorId: string, entryId: string): Promise<void> {
    const entry = this.lobbyEntryFor(moderatorId, entryId);
    if (entry.shard) return this.span!.decide(entry, false);
    this.removeFromLobby(entry, 'rejected');
  }

  /**
   * Lets in, or turns away, someone waiting in the room's lobby on this shard: a
   * moderator's decision, here or on another host of the room.
   */
  async decideWaiting(roomId: string, entryId: string, admit: boolean): Promise<void> {
    if (admit) await this.admitWaiting(roomId, entryId);
    else this.removeFromLobby(this.waitingIn(roomId, entryId), 'rejected');
  }

  private async admitWaiting(roomId: string, entryId: string): Promise<void> {
    const entry = this.waitingIn(roomId, entryId);
    const room = this.rooms.get(entry.roomId)!;
    const media = await this.media.openRoom(room.id);
    const policy = await room.policy;
    if (this.waiting.get(entryId) !== entry) {
      throw new DomainError('not_found', 'nobody with this id waits in the lobby');
    }
    this.checkCurrent(room);
    this.checkCapacity(room, policy, entry.role);
    this.removeFromLobby(entry, 'admitted');
    const participant = this.enter(room, media, entry);
    this.events.emit('admitted', participant, new MediaSession(participant.id, media));
    this.events.emit('participantJoined', participant);
  }

  /** Someone waiting in a lobby gave up or went away. */
  leaveLobby(entryId: string, reason: 'left' | 'disconnected'): void {
    const entry = this.waiting.get(entryId);
    if (entry) this.removeFromLobby(entry, reason);
  }

  /**
   * Settles when the lobby entry's wait ends: with the participant and media when a
   * moderator admits it, undefined when it is rejected, leaves or the room closes.
   */
  whenAdmitted(entryId: string): Promise<Entered | undefined> {
    return new Promise((resolve) => {
      if (!this.waiting.has(entryId)) return resolve(undefined);
      const onAdmitted = (participant: Participant, media: MediaSession) => {
        if (participant.id === entryId) settle({ participant, media });
      };
      const onLeft = (entry: LobbyEntry, reason: LobbyLeaveReason) => {
        if (entry.id === entryId && reason !== 'admitted') settle(undefined);
      };
      const settle = (outcome: Entered | undefined) => {
        this.events.off('admitted', onAdmitted);
        this.events.off('lobbyLeft', onLeft);
        resolve(outcome);
      };
      this.events.on('admitted', onAdmitted);
      this.events.on('lobbyLeft', onLeft);
    });
  }

  /** Someone waits in the lobby of another host of this spanning room (`entry.shard`). */
  addRemoteLobbyEntry(entry: LobbyEntry): void {
    const room = this.rooms.get(entry.roomId);
    if (!room || !entry.shard || room.lobby.has(entry.id)) return;
    room.lobby.set(entry.id, entry);
    this.events.emit('lobbyKnock', entry);
  }

  removeRemoteLobbyEntry(roomId: string, entryId: string, reason: LobbyLeaveReason): void {
    const room = this.rooms.get(roomId);
    const entry = room?.lobby.get(entryId);
    if (!room || !entry?.shard) return;
    room.lobby.delete(entryId);
    this.events.emit('lobbyLeft', entry, reason);
  }

  lobbyOf(roomId: string): LobbyEntry[] {
    return [...(this.rooms.get(roomId)?.lobby.values() ?? [])];
  }

  async leave(participantId: string, reason: LeaveReason): Promise<void> {
    const participant = this.participants.get(participantId);
    if (!participant) return;
    this.participants.delete(participantId);
    this.resumeTokens.delete(participantId);
    clearTimeout(this.suspended.get(participantId));
    this.suspended.delete(participantId);
    const room = this.rooms.get(participant.roomId);
    room?.participants.delete(participantId);
    if (room?.hands.delete(participantId)) this.announceHands(room);
    const media = await this.media.room(participant.roomId).catch(() => undefined);
    media?.closePeer(participantId);
    this.logger.info({ roomId: participant.roomId, participantId, reason }, 'left');
    this.events.emit('participantLeft', participant, reason);
    if (room?.isEmpty) this.scheduleClose(room);
  }

  chat(participantId: string, text: string): ChatMessage {
    const from = this.participant(participantId);
    const trimmed = text.trim();
    if (!trimmed) throw new DomainError('bad_request', 'empty chat message');
    if (trimmed.length > this.config.conference.maxChatLength) {
      throw new DomainError('bad_request', 'chat message too long');
    }
    const message: ChatMessage = {
      id: randomUUID(),
      roomId: from.roomId,
      from: { participantId: from.id, displayName: from.displayName },
      text: trimmed,
      sentAt: new Date().toISOString(),
    };
    this.rooms.get(from.roomId)?.remember(message);
    this.events.emit('chatMessage', message);
    return message;
  }

  /**
   * The secret a participant's client resumes it with after its connection drops (see
   * suspend); it resumes this participant only, and only while it is in the room.
   */
  resumeTokenOf(participantId: string): string | undefined {
    if (!this.participant(participantId).resumable) return undefined;
    let token = this.resumeTokens.get(participantId);
    if (!token) {
      token = randomBytes(24).toString('base64url');
      this.resumeTokens.set(participantId, token);
    }
    return token;
  }

  /**
   * The participant's connection dropped: a resumable one stays in the room, media and
   * all, for the resume grace period, then leaves as 'disconnected' unless its client
   * resumed it; any other leaves at once.
   */
  async suspend(participantId: string): Promise<void> {
    const participant = this.participants.get(participantId);
    if (!participant?.resumable) return this.leave(participantId, 'disconnected');
    if (this.suspended.has(participantId)) return;
    const grace = this.config.conference.resumeGraceMs;
    const timer = setTimeout(() => {
      this.suspended.delete(participantId);
      this.leave(participantId, 'disconnected').catch((error: unknown) =>
        this.logger.error({ err: error, participantId }, 'could not take a lost participant out'),
      );
    }, grace);
    this.suspended.set(participantId, timer);
    this.logger.info({ participantId, graceMs: grace }, 'connection lost: kept for resuming');
  }

  /**
   * A client comes back for its participant with the resume token: the same participant
   * goes on (nobody saw it leave). Refused for another participant's token (forbidden)
   * and once the participant is gone, its grace over (not_found).
   */
  async resume(participantId: string, token: string): Promise<Entered> {
    const participant = this.participants.get(participantId);
    const expected = this.resumeTokens.get(participantId);
    if (!participant || !expected) {
      throw new DomainError('not_found', 'nothing to resume: the participant left the room');
    }
    const given = Buffer.from(token);
    if (given.length !== expected.length || !timingSafeEqual(given, Buffer.from(expected))) {
      throw new DomainError('forbidden', 'this resume token is not for this participant');
    }
    clearTimeout(this.suspended.get(participantId));
    this.suspended.delete(participantId);
    this.logger.info({ roomId: participant.roomId, participantId }, 'resumed');
    return { participant, media: await this.mediaOf(participantId) };
  }

  /** Raises the participant's hand: it joins the end of the room's queue (once). */
  raiseHand(participantId: string): RaisedHand[] {
    const participant = this.participant(participantId);
    const room = this.liveRoom(participant.roomId);
    if (!room.hands.has(participantId)) {
      room.hands.set(participantId, { participantId, raisedAt: new Date() });
      this.announceHands(room);
    }
    return this.handsOf(room.id);
  }

  /**
   * Lowers a raised hand: one's own, or anyone's in the room for a moderator. A hand
   * that is not raised is no error (someone else lowered it first).
   */
  lowerHand(byId: string, participantId = byId): RaisedHand[] {
    const by = this.participant(byId);
    if (participantId !== byId && !canModerate(by)) {
      throw new DomainError('forbidden', "only moderators lower someone else's hand");
    }
    const room = this.liveRoom(by.roomId);
    this.participantIn(room.id, participantId);
    if (room.hands.delete(participantId)) this.announceHands(room);
    return this.handsOf(room.id);
  }

  /** The room's raised hands, first raised first. */
  handsOf(roomId: string): RaisedHand[] {
    return [...(this.rooms.get(roomId)?.hands.values() ?? [])];
  }

  /** Sends an emoji reaction to the participant's room. */
  react(participantId: string, emoji: string): void {
    const participant = this.participant(participantId);
    if (!(REACTIONS as readonly string[]).includes(emoji)) {
      throw new DomainError('bad_request', `reactions are ${REACTIONS.join(' ')}`);
    }
    this.events.emit('reaction', participant, emoji as Reaction);
  }

  /** A moderator of the room mutes one of its participants (see mute). */
  async muteBy(moderatorId: string, participantId: string, kind: MediaKind): Promise<string[]> {
    const moderator = this.moderator(moderatorId, 'mute others');
    return this.mute(moderator.roomId, participantId, kind);
  }

  /** A moderator of the room removes one of its participants (see kick). */
  async kickBy(moderatorId: string, participantId: string): Promise<void> {
    const moderator = this.moderator(moderatorId, 'remove people');
    if (participantId === moderatorId) throw new DomainError('bad_request', 'leave instead');
    await this.kick(moderator.roomId, participantId);
  }

  /** The room's last chat messages, oldest first (for newcomers, whatever their door). */
  recentChat(roomId: string): ChatMessage[] {
    return [...(this.rooms.get(roomId)?.history ?? [])];
  }

  /** The participant's media session (not_joined when it is in no room here). */
  async mediaOf(participantId: string): Promise<MediaSession> {
    const participant = this.participant(participantId);
    return new MediaSession(participant.id, await this.media.room(participant.roomId));
  }

  participant(participantId: string): Participant {
    const participant = this.participants.get(participantId);
    if (!participant) throw new DomainError('not_joined', 'join a room first');
    return participant;
  }

  participantsOf(roomId: string): Participant[] {
    return [...(this.rooms.get(roomId)?.participants.values() ?? [])];
  }

  roomIds(): string[] {
    return [...this.rooms.keys()];
  }

  /** A live room as moderation sees it. */
  roomInfo(roomId: string): RoomInfo {
    const room = this.liveRoom(roomId);
    return {
      id: room.id,
      createdAt: room.createdAt,
      locked: room.locked,
      participants: [...room.participants.values()],
    };
  }

  /** Removes a participant from its room; the doors tell it why ('kicked'). */
  async kick(roomId: string, participantId: string): Promise<void> {
    const participant = this.participantIn(roomId, participantId);
    if (participant.shard) return this.span!.kick(participant);
    await this.leave(participantId, 'kicked');
  }

  /**
   * Pauses the participant's producers of one kind on the server. The others see them
   * paused as usual; the participant is told and may unmute itself again.
   */
  async mute(roomId: string, participantId: string, kind: MediaKind): Promise<string[]> {
    const participant = this.participantIn(roomId, participantId);
    if (participant.shard) return this.span!.mute(participant, kind);
    const media = await this.media.room(roomId);
    const producerIds = media
      .producersOf(participantId)
      .filter((producer) => producer.kind === kind && !producer.paused)
      .map((producer) => producer.id);
    for (const producerId of producerIds) {
      await media.setProducerPaused(participantId, producerId, true);
    }
    this.logger.info({ roomId, participantId, kind, producerIds }, 'muted');
    this.events.emit('participantMuted', participant, kind, producerIds);
    return producerIds;
  }

  /** Everyone is removed ('room_ended') and the room closes at once. */
  async endRoom(roomId: string): Promise<void> {
    const room = this.liveRoom(roomId);
    for (const participantId of [...room.participants.keys()]) {
      await this.leave(participantId, 'room_ended');
    }
    if (this.rooms.get(roomId) === room) await this.closeRoom(room);
  }

  /** `byShard`: another host of the spanning room did it (and tells the others itself). */
  setLocked(roomId: string, locked: boolean, byShard?: string): void {
    this.liveRoom(roomId).locked = locked;
    this.logger.info({ roomId, locked, byShard }, locked ? 'room locked' : 'room unlocked');
    if (!byShard) this.events.emit('roomLocked', roomId, locked);
  }

  async onModuleDestroy() {
    for (const room of [...this.rooms.values()]) await this.closeRoom(room);
  }

  /**
   * Non-moderators give the room's password. After a burst of wrong ones the room stops
   * checking for a while (like an account lockout), so a password cannot be guessed by
   * brute force nor the shard's CPU spent on password hashing; moderators are unaffected.
   */
  private async checkPassword(room: Room, policy: RoomPolicy, password: string | undefined) {
    if (!policy.checkPassword) return;
    if (!password) throw new DomainError('password_required', 'this meeting needs a password');
    const now = Date.now();
    const failures = (this.passwordFailures.get(room.id) ?? []).filter(
      (at) => now - at < PASSWORD_WINDOW_MS,
    );
    if (failures.length) this.passwordFailures.set(room.id, failures);
    else this.passwordFailures.delete(room.id);
    if (failures.length >= PASSWORD_FAILURES_PER_WINDOW) {
      throw new DomainError('too_many_requests', 'too many wrong passwords: try again later');
    }
    if (!(await policy.checkPassword(password))) {
      this.passwordFailures.set(room.id, [...failures, now]);
      throw new DomainError('forbidden', 'wrong meeting password');
    }
  }

  /** The meeting's cap binds everyone but moderators; the shard's cap binds everyone. */
  private checkCapacity(room: Room, policy: RoomPolicy, role: Role) {
    const count = room.participants.size;
    const meetingFull =
      role !== 'moderator' &&
      policy.maxParticipants !== undefined &&
      count >= policy.maxParticipants;
    if (meetingFull || count >= this.config.conference.maxParticipantsPerRoom) {
      throw new DomainError('room_full', `room ${room.id} is full`);
    }
  }

  private checkCurrent(room: Room) {
    if (this.rooms.get(room.id) !== room) {
      throw new DomainError('conflict', `room ${room.id} restarted while joining: join again`);
    }
  }

  private knock(room: Room, request: JoinRequest): LobbyEntry {
    this.checkCurrent(room);
    if (room.lobby.size >= this.config.conference.maxParticipantsPerRoom) {
      throw new DomainError('room_full', `the lobby of room ${room.id} is full`);
    }
    const { roomId, identity, displayName, nick, role, door, resumable } = request;
    const entry: LobbyEntry = {
      id: randomUUID(),
      roomId,
      identity,
      displayName,
      nick,
      role,
      door,
      resumable,
      knockedAt: new Date(),
    };
    room.lobby.set(entry.id, entry);
    this.waiting.set(entry.id, entry);
    this.logger.info({ roomId, participantId: entry.id, door }, 'waiting in the lobby');
    this.events.emit('lobbyKnock', entry);
    return entry;
  }

  private moderator(participantId: string, what: string): Participant {
    const participant = this.participant(participantId);
    if (!canModerate(participant)) throw new DomainError('forbidden', `only moderators ${what}`);
    return participant;
  }

  private announceHands(room: Room) {
    this.events.emit('handsChanged', room.id, this.handsOf(room.id));
  }

  private lobbyEntryFor(moderatorId: string, entryId: string): LobbyEntry {
    const moderator = this.participant(moderatorId);
    if (!canModerate(moderator)) {
      throw new DomainError('forbidden', 'only moderators admit or reject people in the lobby');
    }
    const entry = this.rooms.get(moderator.roomId)?.lobby.get(entryId);
    if (!entry) throw new DomainError('not_found', 'nobody with this id waits in the lobby');
    return entry;
  }

  private waitingIn(roomId: string, entryId: string): LobbyEntry {
    const entry = this.waiting.get(entryId);
    if (entry?.roomId !== roomId) {
      throw new DomainError('not_found', 'nobody with this id waits in the lobby');
    }
    return entry;
  }

  private removeFromLobby(entry: LobbyEntry, reason: LobbyLeaveReason) {
    this.waiting.delete(entry.id);
    const room = this.rooms.get(entry.roomId);
    room?.lobby.delete(entry.id);
    this.logger.info({ roomId: entry.roomId, participantId: entry.id, reason }, 'left the lobby');
    this.events.emit('lobbyLeft', entry, reason);
    if (room?.isEmpty) this.scheduleClose(room);
  }

  /** Makes someone a participant of the room, with a media peer. */
  private enter(room: Room, media: RoomMedia, who: Omit<Participant, 'joinedAt'>): Participant {
    const participant: Participant = {
      id: who.id,
      roomId: room.id,
      identity: who.identity,
      displayName: who.displayName,
      nick: who.nick,
      role: who.role,
      door: who.door,
      resumable: who.resumable,
      joinedAt: new Date(),
    };
    room.participants.set(participant.id, participant);
    this.participants.set(participant.id, participant);
    media.addPeer(participant.id);
    this.logger.info({ roomId: room.id, participantId: participant.id, door: who.door }, 'joined');
    return participant;
  }

  private liveRoom(roomId: string): Room {
    const room = this.rooms.get(roomId);
    if (!room) throw new DomainError('not_found', `no live room ${roomId}`);
    return room;
  }

  private participantIn(roomId: string, participantId: string): Participant {
    const participant = this.liveRoom(roomId).participants.get(participantId);
    if (!participant) {
      throw new DomainError('not_found', `no participant ${participantId} in room ${roomId}`);
    }
    return participant;
  }

  /**
   * The live room, opened here on its first join if the cluster places it on this shard
   * (else WrongShardError names the shard that runs it).
   */
  private async openRoom(roomId: string, placement?: LocateOptions): Promise<Room> {
    let room = this.rooms.get(roomId);
    if (this.admission?.runsHere(roomId)) {
      room ??= this.createRoom(roomId);
    } else if (this.span) {
      // A spanning room's joiner may be served elsewhere even when the room lives here.
      const serving = await this.span.servingShard(roomId, placement);
      if (serving.id !== this.cluster.id) throw new WrongShardError(roomId, serving);
      room = this.rooms.get(roomId) ?? this.createRoom(roomId);
    } else if (!room) {
      const owner = await this.placement.locate(roomId, placement);
      if (owner.id !== this.cluster.id) throw new WrongShardError(roomId, owner);
      room = this.rooms.get(roomId) ?? this.createRoom(roomId);
    }
    await room.claimed;
    return room;
  }

  private createRoom(roomId: string): Room {
    const claimed = this.span ? this.span.host(roomId) : this.placement.claimHere(roomId);
    const room = new Room(roomId, this.loadPolicy(roomId), claimed);
    this.rooms.set(roomId, room);
    room.claimed.then(
      () => {
        this.logger.info({ roomId }, 'room opened');
        this.events.emit('roomOpened', roomId);
      },
      () => {
        if (this.rooms.get(roomId) === room) this.rooms.delete(roomId);
      },
    );
    return room;
  }

  /** What this shard carries, for the cluster's placement of new rooms. */
  private async load(): Promise<ShardLoad> {
    let participants = 0;
    for (const room of this.rooms.values()) participants += room.localCount;
    return { rooms: this.rooms.size, participants, workerCpu: await this.media.workerCpu() };
  }

  /** The room's rules; a failure to read them fails the joins awaiting them, not the process. */
  private loadPolicy(roomId: string): Promise<RoomPolicy> {
    const policy = (async () => (await this.policies?.policyFor(roomId)) ?? OPEN_ROOM)();
    policy.catch((error: unknown) =>
      this.logger.error({ err: error, roomId }, 'could not read the room policy'),
    );
    return policy;
  }

  private scheduleClose(room: Room) {
    clearTimeout(room.closeTimer);
    room.closeTimer = setTimeout(() => {
      if (room.isEmpty && this.rooms.get(room.id) === room) this.closeInBackground(room);
    }, this.config.conference.emptyRoomGraceMs);
  }

  /** For a timer or an event, where nobody would hear of a failure but the log. */
  private closeInBackground(room: Room) {
    this.closeRoom(room).catch((error: unknown) =>
      this.logger.error({ err: error, roomId: room.id }, 'could not close the room'),
    );
  }

  private async closeRoom(room: Room) {
    clearTimeout(room.closeTimer);
    for (const participantId of room.participants.keys()) {
      this.participants.delete(participantId);
      this.resumeTokens.delete(participantId);
      clearTimeout(this.suspended.get(participantId));
      this.suspended.delete(participantId);
    }
    room.participants.clear();
    const waiting = [...room.lobby.values()];
    room.lobby.clear();
    this.rooms.delete(room.id);
    for (const entry of waiting) {
      this.waiting.delete(entry.id);
      this.events.emit('lobbyLeft', entry, 'closed');
    }
    try {
      await this.media.closeRoom(room.id);
    } finally {
      // Unless a join opened the room again meanwhile: that one holds the lease now.
      if (!this.rooms.has(room.id)) await this.placement.release(room.id);
    }
    this.logger.info({ roomId: room.id }, 'room closed');
    this.events.emit('roomClosed', room.id);
  }

  /**
   * The room cannot go on here: its router died with its worker ('media-restart'), or
   * another shard runs it now ('moved'). Everyone is told to join again.
   */
  private resetRoom(roomId: string, reason: RejoinReason) {
    const room = this.rooms.get(roomId);
    if (!room) return;
    const participants = [...room.participants.values()];
    this.logger.warn({ roomId, participants: participants.length, reason }, 'room reset');
    this.closeInBackground(room);
    this.events.emit('rejoinRequired', roomId, participants, reason);
  }
}
