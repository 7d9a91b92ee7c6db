import type { Participant } from './participant';

export const ROOM_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export interface ChatMessage {
  id: string;
  roomId: string;
  from: { participantId: string; displayName: string };
  text: string;
  sentAt: string;
}

export class Room {
  readonly participants = new Map<string, Participant>();
  readonly createdAt = new Date();
  /** A locked room refuses new participants, except moderators. */
  locked = false;
  /** Pending close once the room is empty; cancelled when someone joins in time. */
  closeTimer?: NodeJS.Timeout;

  constructor(readonly id: string) {}

  get isEmpty(): boolean {
    return this.participants.size === 0;
  }
}
