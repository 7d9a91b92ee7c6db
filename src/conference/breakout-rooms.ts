import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { randomBytes, randomInt } from 'node:crypto';
import { APP_CONFIG } from '../config/config.module';
import { AppConfig } from '../config/config.schema';
import { InjectLogger } from '../observability/logging.module';
import type { Logger } from '../observability/logger';
import { ConferenceService, JoinRequest } from './conference.service';
import { DomainError } from './domain-error';
import { DomainEvents } from './domain-events';
import { canModerate, Participant } from './participant';
import { ROOM_ID_PATTERN } from './room';

/** A breakout room's id: its main room's, then `.breakout-<n>` (n from 1). */
export const breakoutRoomId = (mainRoomId: string, n: number) => `${mainRoomId}.breakout-${n}`;
const BREAKOUT_ROOM_ID = /^(.+)\.breakout-([1-9][0-9]*)$/;

/** The main room of a room named like a breakout room (whether or not it is live). */
export const mainRoomOf = (roomId: string): string | undefined =>
  BREAKOUT_ROOM_ID.exec(roomId)?.[1];

/**
 * How long a move's pass into a main room lets its holder in (a client joins within
 * seconds); one into a breakout room holds while the room is open, so that a client who
 * must join again (a media restart, a resume too late) gets back in.
 */
const PASS_TTL_MS = 60_000;
const MAX_NAME_LENGTH = 50;

export type BreakoutAssignment = 'manual' | 'evenly' | 'randomly';
/** Why breakout rooms closed: a moderator returned everyone, the timer ran out, the admin API. */
export type BreakoutEndReason = 'returned' | 'timer' | 'closed' | 'room_ended';

export interface BreakoutOptions {
  /** How many rooms (named "Room 1"…), or their names. */
  rooms: number | string[];
  /** Who goes where at once: nobody (moderators move people), or everyone but moderators. */
  assign?: BreakoutAssignment;
  /** Participants may pick a breakout room themselves (else only moderators move them). */
  allowChoice?: boolean;
  /** The rooms close and everyone returns after this long. */
  durationSeconds?: number;
}

export interface BreakoutRoom {
  id: string;
  name: string;
}

/** The breakout rooms of a main room, with who is in each right now. */
export interface BreakoutState {
  mainRoomId: string;
  allowChoice: boolean;
  startedAt: Date;
  endsAt?: Date;
  rooms: (BreakoutRoom & { participants: Participant[] })[];
}

interface BreakoutSession {
  mainRoomId: string;
  rooms: BreakoutRoom[];
  allowChoice: boolean;
  startedAt: Date;
  endsAt?: Date;
  timer?: NodeJS.Timeout;
}

interface Pass {
  secret: string;
  roomId: string;
  expiresAt: number;
}

export interface BreakoutEvents {
  breakoutsStarted: [state: BreakoutState];
  breakoutsFinished: [mainRoomId: string, reason: BreakoutEndReason];
  /** The rooms or who is in them changed (undefined: they closed). */
  breakoutsChanged: [mainRoomId: string, state: BreakoutState | undefined];
  /**
   * The participant must go to another room: its door tells its client to join `roomId`
   * with `pass` (which skips lobby and password) and stops serving it here; it then
   * leaves its room ('moved').
   */
  moveRequired: [participant: Participant, roomId: string, pass: string];
  /** A moderator's message to the main room and every breakout room. */
  breakoutBroadcast: [roomIds: string[], from: Participant, text: string];
}

/**
 * Breakout rooms: real rooms of their own, `<main>.breakout-<n>`, run on the main room's
 * shard while the main room stays open. Whoever the main room let in (through its lobby
 * and password) moves between them with a pass and no further check; nobody else enters
 * a breakout room but the main room's moderators.
 */
@Injectable()
export class BreakoutRooms implements OnModuleDestroy {
  readonly events: DomainEvents<BreakoutEvents>;
  private readonly sessions = new Map<string, BreakoutSession>();
  /** Each identity's latest pass (a newer move voids the one before). */
  private readonly passes = new Map<string, Pass>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly conference: ConferenceService,
    @InjectLogger() private readonly logger: Logger,
  ) {
    this.events = new DomainEvents(logger);
    conference.useAdmission({
      admit: (request) => this.admit(request),
      runsHere: (roomId) => this.sessionOf(roomId) !== undefined,
    });
    const changed = (participant: Participant) => {
      const session = this.sessionOf(participant.roomId);
      if (session) this.announce(session);
    };
    conference.events.on('participantJoined', (participant) => {
      // Late into a breakout room that closed meanwhile: back to the main room.
      const main = mainRoomOf(participant.roomId);
      if (main && !this.sessionOf(participant.roomId) && !participant.shard) {
        this.relocateInBackground(participant, main);
      }
      changed(participant);
    });
    conference.events.on('participantLeft', changed);
    conference.events.on('roomClosed', (roomId) => {
      if (this.sessions.has(roomId)) this.finishInBackground(roomId, 'room_ended');
    });
  }

  /** A moderator of the main room opens its breakout rooms (see open). */
  async create(moderatorId: string, options: BreakoutOptions): Promise<BreakoutState> {
    const moderator = this.moderator(moderatorId, 'create breakout rooms');
    if (mainRoomOf(moderator.roomId) !== undefined) {
      throw new DomainError('bad_request', 'create breakout rooms from the main room');
    }
    return this.open(moderator.roomId, options);
  }

  /** Opens the live room's breakout rooms; with `assign`, sends everyone but moderators. */
  async open(mainRoomId: string, options: BreakoutOptions): Promise<BreakoutState> {
    this.conference.roomInfo(mainRoomId);
    if (mainRoomOf(mainRoomId) !== undefined) {
      throw new DomainError('bad_request', 'a breakout room has no breakout rooms');
    }
    if (this.sessions.has(mainRoomId)) {
      throw new DomainError('conflict', `room ${mainRoomId} has breakout rooms already`);
    }
    const names = this.namesOf(options.rooms);
    if (!ROOM_ID_PATTERN.test(breakoutRoomId(mainRoomId, names.length))) {
      throw new DomainError('bad_request', 'the room name is too long for breakout rooms');
    }
    const session: BreakoutSession = {
      mainRoomId,
      rooms: names.map((name, i) => ({ id: breakoutRoomId(mainRoomId, i + 1), name })),
      allowChoice: options.allowChoice ?? false,
      startedAt: new Date(),
    };
    if (options.durationSeconds !== undefined) {
      if (!Number.isInteger(options.durationSeconds) || options.durationSeconds < 1) {
        throw new DomainError('bad_request', 'the duration is a whole number of seconds');
      }
      session.endsAt = new Date(Date.now() + options.durationSeconds * 1000);
      session.timer = setTimeout(
        () => this.finishInBackground(mainRoomId, 'timer'),
        options.durationSeconds * 1000,
      );
    }
    this.sessions.set(mainRoomId, session);
    this.conference.holdOpen(mainRoomId, true);
    this.logger.info({ roomId: mainRoomId, rooms: names.length }, 'breakout rooms opened');
    this.events.emit('breakoutsStarted', this.state(session));
    this.announce(session);
    if (options.assign === 'evenly' || options.assign === 'randomly') {
      const people = this.conference
        .participantsOf(mainRoomId)
        .filter((p) => this.movable(p) && !canModerate(p));
      if (options.assign === 'randomly') shuffle(people);
      for (const [i, participant] of people.entries()) {
        await this.relocate(participant, session.rooms[i % session.rooms.length].id);
      }
    }
    return this.state(session);
  }

  /** A moderator (in the main room or one of its breakout rooms) moves someone (see move). */
  async moveBy(moderatorId: string, participantId: string, roomId: string): Promise<void> {
    const moderator = this.moderator(moderatorId, 'move people');
    await this.move(this.liveSession(moderator.roomId).mainRoomId, participantId, roomId);
  }

  /** Moves a participant of the main room or a breakout room into another of them. */
  async move(mainRoomId: string, participantId: string, roomId: string): Promise<void> {
    const session = this.liveSession(mainRoomId);
    const inSession = (id: string) => id === mainRoomId || session.rooms.some((r) => r.id === id);
    if (!inSession(roomId)) throw new DomainError('not_found', `no breakout room ${roomId}`);
    const participant = this.conference
      .participantsOf(mainRoomId)
      .concat(session.rooms.flatMap((room) => this.conference.participantsOf(room.id)))
      .find((p) => p.id === participantId);
    if (!participant) {
      throw new DomainError('not_found', `no participant ${participantId} in these rooms`);
    }
    if (!this.movable(participant)) {
      throw new DomainError('bad_request', 'only web participants of this shard can be moved');
    }
    if (participant.roomId !== roomId) await this.relocate(participant, roomId);
  }

  /**
   * A participant goes to a breakout room of its own choice (when allowed), or back to
   * the main room (always).
   */
  async choose(participantId: string, roomId: string): Promise<void> {
    const participant = this.conference.participant(participantId);
    const session = this.liveSession(participant.roomId);
    if (roomId !== session.mainRoomId && !session.allowChoice && !canModerate(participant)) {
      throw new DomainError('forbidden', 'a moderator assigns the breakout rooms');
    }
    await this.move(session.mainRoomId, participantId, roomId);
  }

  /** A moderator sends a message to the main room and every breakout room. */
  broadcast(moderatorId: string, text: string): void {
    const moderator = this.moderator(moderatorId, 'broadcast to breakout rooms');
    const session = this.liveSession(moderator.roomId);
    const trimmed = text.trim();
    if (!trimmed) throw new DomainError('bad_request', 'empty message');
    if (trimmed.length > this.config.conference.maxChatLength) {
      throw new DomainError('bad_request', 'message too long');
    }
    const roomIds = [session.mainRoomId, ...session.rooms.map((room) => room.id)];
    this.events.emit('breakoutBroadcast', roomIds, moderator, trimmed);
  }

  /** A moderator closes the breakout rooms: everyone returns to the main room. */
  async returnAll(moderatorId: string): Promise<void> {
    const moderator = this.moderator(moderatorId, 'close breakout rooms');
    await this.finish(this.liveSession(moderator.roomId).mainRoomId, 'returned');
  }

  /** Closes the main room's breakout rooms; everyone in them returns to it. */
  async finish(mainRoomId: string, reason: BreakoutEndReason): Promise<void> {
    const session = this.sessions.get(mainRoomId);
    if (!session) throw new DomainError('not_found', `room ${mainRoomId} has no breakout rooms`);
    this.sessions.delete(mainRoomId);
    clearTimeout(session.timer);
    for (const room of session.rooms) {
      for (const participant of this.conference.participantsOf(room.id)) {
        if (participant.shard) continue;
        if (reason !== 'room_ended' && this.movable(participant)) {
          await this.relocate(participant, mainRoomId);
        } else await this.conference.leave(participant.id, 'room_ended');
      }
    }
    this.conference.holdOpen(mainRoomId, false);
    this.logger.info({ roomId: mainRoomId, reason }, 'breakout rooms closed');
    this.events.emit('breakoutsFinished', mainRoomId, reason);
    this.events.emit('breakoutsChanged', mainRoomId, undefined);
  }

  /** The breakout rooms the room belongs to or has (undefined when none are open). */
  stateOf(roomId: string): BreakoutState | undefined {
    const session = this.sessionOf(roomId);
    return session && this.state(session);
  }

  onModuleDestroy() {
    for (const session of this.sessions.values()) clearTimeout(session.timer);
    this.sessions.clear();
  }

  /**
   * The main room's decisions, for a join: a pass from a move lets its holder in (no
   * lock, password or lobby), the latest pass of its identity only; a breakout room
   * takes the main room's moderators and,
   * when participants may choose, whoever is in the main room already (XMPP occupants
   * may be in both); nobody else.
   */
  private admit(request: JoinRequest): 'admitted' | undefined {
    const { roomId, identity, pass } = request;
    const main = mainRoomOf(roomId);
    const session = main === undefined ? undefined : this.sessionOf(roomId);
    if (main !== undefined && !session) {
      throw new DomainError('not_found', `no breakout room ${roomId}`);
    }
    if (pass !== undefined) {
      const granted = this.passes.get(identity);
      const valid = granted?.secret === pass && granted.roomId === roomId;
      if (valid && (session || granted.expiresAt >= Date.now())) return 'admitted';
      // Into a main room, a stale pass is no pass: the room's own rules apply.
      if (!session) return undefined;
      throw new DomainError('forbidden', 'this pass is for someone else or another room');
    }
    if (!session) return undefined;
    if (request.role === 'moderator') return 'admitted';
    const inMain = this.conference
      .participantsOf(session.mainRoomId)
      .some((p) => p.identity === identity);
    if (session.allowChoice && inMain) return 'admitted';
    throw new DomainError('forbidden', 'breakout rooms are entered from their main room');
  }

  private async relocate(participant: Participant, roomId: string) {
    const now = Date.now();
    for (const [identity, old] of this.passes) {
      if (old.expiresAt < now && !this.sessionOf(old.roomId)) this.passes.delete(identity);
    }
    const pass = randomBytes(18).toString('base64url');
    this.passes.set(participant.identity, { secret: pass, roomId, expiresAt: now + PASS_TTL_MS });
    this.logger.info({ participantId: participant.id, from: participant.roomId, roomId }, 'moved');
    this.events.emit('moveRequired', participant, roomId, pass);
    await this.conference.leave(participant.id, 'moved');
  }

  private relocateInBackground(participant: Participant, roomId: string) {
    this.relocate(participant, roomId).catch((error: unknown) =>
      this.logger.error({ err: error, participantId: participant.id }, 'could not move'),
    );
  }

  private finishInBackground(mainRoomId: string, reason: BreakoutEndReason) {
    if (!this.sessions.has(mainRoomId)) return;
    this.finish(mainRoomId, reason).catch((error: unknown) =>
      this.logger.error({ err: error, roomId: mainRoomId }, 'could not close breakout rooms'),
    );
  }

  /** Whom a move can reach: a web client (it can join elsewhere) served by this shard. */
  private movable(participant: Participant) {
    return participant.door === 'socketio' && !participant.shard;
  }

  private moderator(participantId: string, what: string): Participant {
    const participant = this.conference.participant(participantId);
    if (!canModerate(participant)) throw new DomainError('forbidden', `only moderators ${what}`);
    return participant;
  }

  private sessionOf(roomId: string): BreakoutSession | undefined {
    const own = this.sessions.get(roomId);
    if (own) return own;
    const main = mainRoomOf(roomId);
    const session = main === undefined ? undefined : this.sessions.get(main);
    return session?.rooms.some((room) => room.id === roomId) ? session : undefined;
  }

  private liveSession(roomId: string): BreakoutSession {
    const session = this.sessionOf(roomId);
    if (!session) throw new DomainError('not_found', `room ${roomId} has no breakout rooms`);
    return session;
  }

  private namesOf(rooms: number | string[]): string[] {
    const max = this.config.conference.maxBreakoutRooms;
    const count = typeof rooms === 'number' ? rooms : rooms.length;
    if (!Number.isInteger(count) || count < 1) {
      throw new DomainError('bad_request', 'at least one breakout room');
    }
    if (count > max) throw new DomainError('bad_request', `at most ${max} breakout rooms`);
    if (typeof rooms === 'number') return Array.from({ length: count }, (_, i) => `Room ${i + 1}`);
    return rooms.map((name) => {
      const trimmed = name.trim();
      if (!trimmed || trimmed.length > MAX_NAME_LENGTH) {
        throw new DomainError('bad_request', `room names are 1-${MAX_NAME_LENGTH} characters`);
      }
      return trimmed;
    });
  }

  private announce(session: BreakoutSession) {
    this.events.emit('breakoutsChanged', session.mainRoomId, this.state(session));
  }

  private state(session: BreakoutSession): BreakoutState {
    return {
      mainRoomId: session.mainRoomId,
      allowChoice: session.allowChoice,
      startedAt: session.startedAt,
      endsAt: session.endsAt,
      rooms: session.rooms.map((room) => ({
        ...room,
        participants: this.conference.participantsOf(room.id),
      })),
    };
  }
}

/** Fisher-Yates, in place. */
function shuffle<T>(items: T[]) {
  for (let i = items.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [items[i], items[j]] = [items[j], items[i]];
  }
}
