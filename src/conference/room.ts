import type { Participant } from './participant';

export const ROOM_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export interface ChatMessage {
  id: string;
  roomId: string;
  from: { participantId: string; displayName: string };
  text: string;
  sentAt: string;
}

/** How many chat messages a room keeps for people who join later. */
export const CHAT_HISTORY_SIZE = 50;

export class Room {
  readonly participants = new Map<string, Participant>();
  /** The last CHAT_HISTORY_SIZE chat messages, oldest first. */
  readonly history: ChatMessage[] = [];
  readonly createdAt = new Date();
  /** Pending close once the room is empty; cancelled when someone joins in time. */
  closeTimer?: NodeJS.Timeout;

  constructor(readonly id: string) {}

  remember(message: ChatMessage): void {
    this.history.push(message);
    if (this.history.length > CHAT_HISTORY_SIZE) this.history.shift();
  }

  get isEmpty(): boolean {
    return this.participants.size === 0;
  }
}
