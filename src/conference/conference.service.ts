import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { RoomDirectory } from '../cluster/room-directory';
import { APP_CONFIG } from '../config/config.module';
import { AppConfig } from '../config/config.schema';
import { MediaService } from '../media/media.service';
import { RoomMedia } from '../media/room-media';
import { InjectLogger } from '../observability/logging.module';
import type { Logger } from '../observability/logger';
import { ConferenceEvents, LeaveReason } from './conference-events';
import { DomainError } from './domain-error';
import { Door, Participant, Role } from './participant';
import { ChatMessage, Room, ROOM_ID_PATTERN } from './room';

export interface JoinRequest {
  roomId: string;
  identity: string;
  displayName: string;
  role: Role;
  door: Door;
  /** The meeting password, for rooms that ask for one. */
  password?: string;
}

/**
 * The conferences on this shard: rooms open on first join and close a grace period
 * after the last participant leaves; every participant gets its media peer.
 */
@Injectable()
export class ConferenceService implements OnModuleDestroy {
  readonly events = new EventEmitter<ConferenceEvents>();
  private readonly rooms = new Map<string, Room>();
  private readonly participants = new Map<string, Participant>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly media: MediaService,
    private readonly directory: RoomDirectory,
    @InjectLogger() private readonly logger: Logger,
  ) {
    media.events.on('roomMediaLost', (roomId) => this.resetRoom(roomId));
  }

  async join(request: JoinRequest): Promise<{ participant: Participant; media: RoomMedia }> {
    const { roomId } = request;
    if (!ROOM_ID_PATTERN.test(roomId)) {
      throw new DomainError('bad_request', 'room names are 1-64 letters, digits, "_", "-", "."');
    }
    const room = await this.openRoom(roomId);
    clearTimeout(room.closeTimer);
    let media: RoomMedia;
    try {
      media = await this.media.openRoom(roomId);
    } catch (error) {
      if (room.isEmpty) this.scheduleClose(room);
      throw error;
    }
    // Checked after the await, when nothing else can join before this participant.
    if (this.rooms.get(roomId) !== room) {
      throw new DomainError('conflict', `room ${roomId} restarted while joining: join again`);
    }
    if (room.participants.size >= this.config.conference.maxParticipantsPerRoom) {
      throw new DomainError('room_full', `room ${roomId} is full`);
    }
    const participant: Participant = {
      id: randomUUID(),
      roomId,
      identity: request.identity,
      displayName: request.displayName,
      role: request.role,
      door: request.door,
      joinedAt: new Date(),
    };
    room.participants.set(participant.id, participant);
    this.participants.set(participant.id, participant);
    media.addPeer(participant.id);
    this.logger.info({ roomId, participantId: participant.id, door: request.door }, 'joined');
    this.events.emit('participantJoined', participant);
    return { participant, media };
  }

  async leave(participantId: string, reason: LeaveReason): Promise<void> {
    const participant = this.participants.get(participantId);
    if (!participant) return;
    this.participants.delete(participantId);
    const room = this.rooms.get(participant.roomId);
    room?.participants.delete(participantId);
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

  /** The room's last chat messages, oldest first (for newcomers, whatever their door). */
  recentChat(roomId: string): ChatMessage[] {
    return [...(this.rooms.get(roomId)?.history ?? [])];
  }

  /** Removes a participant from its room; the doors tell it why ('kicked'). */
  async kick(roomId: string, participantId: string): Promise<void> {
    const participant = this.participants.get(participantId);
    if (participant?.roomId !== roomId) {
      throw new DomainError('not_found', `no participant ${participantId} in room ${roomId}`);
    }
    await this.leave(participantId, 'kicked');
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

  async onModuleDestroy() {
    for (const room of [...this.rooms.values()]) await this.closeRoom(room);
  }

  private async openRoom(roomId: string): Promise<Room> {
    let room = this.rooms.get(roomId);
    if (!room) {
      room = new Room(roomId);
      this.rooms.set(roomId, room);
      await this.directory.claim(roomId);
      this.logger.info({ roomId }, 'room opened');
      this.events.emit('roomOpened', roomId);
    }
    return room;
  }

  private scheduleClose(room: Room) {
    clearTimeout(room.closeTimer);
    room.closeTimer = setTimeout(() => {
      if (room.isEmpty && this.rooms.get(room.id) === room) void this.closeRoom(room);
    }, this.config.conference.emptyRoomGraceMs);
  }

  private async closeRoom(room: Room) {
    clearTimeout(room.closeTimer);
    for (const participantId of room.participants.keys()) this.participants.delete(participantId);
    room.participants.clear();
    this.rooms.delete(room.id);
    await this.media.closeRoom(room.id);
    await this.directory.release(room.id);
    this.logger.info({ roomId: room.id }, 'room closed');
    this.events.emit('roomClosed', room.id);
  }

  /** The room's router died with its worker: everyone is told to join again. */
  private resetRoom(roomId: string) {
    const room = this.rooms.get(roomId);
    if (!room) return;
    const participants = [...room.participants.values()];
    this.logger.warn({ roomId, participants: participants.length }, 'room media lost');
    void this.closeRoom(room);
    this.events.emit('rejoinRequired', roomId, participants);
  }
}
