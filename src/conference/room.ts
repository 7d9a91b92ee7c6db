import type { Participant } from './participant';
import type { RoomPolicy } from './room-policy';

export const ROOM_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export interface ChatMessage {
  id: string;
  roomId: string;
  from: { participantId: string; displayName: string };
  text: string;
  sentAt: string;
}

/** Someone waiting in a room's lobby; admitted, they become a participant with this id. */
export type LobbyEntry = Omit<Participant, 'joinedAt'> & { readonly knockedAt: Date };

/** Someone's raised hand; a room's hands are a queue, first raised first. */
export interface RaisedHand {
  participantId: string;
  raisedAt: Date;
}

/** The emoji reactions a participant may send (anything else is bad input). */
export const REACTIONS = ['👍', '👏', '😂', '❤️', '🎉', '😮'] as const;
export type Reaction = (typeof REACTIONS)[number];

/** How many chat messages a room keeps for people who join later. */
export const CHAT_HISTORY_SIZE = 50;

export class Room {
  /** Everyone in the room: this shard's participants, and other shards' (tagged). */
  readonly participants = new Map<string, Participant>();
  /** Who waits to be admitted, in order of arrival (on other shards too: tagged). */
  readonly lobby = new Map<string, LobbyEntry>();
  /** The last CHAT_HISTORY_SIZE chat messages, oldest first. */
  readonly history: ChatMessage[] = [];
  /** Raised hands by participant id, in the order they were raised. */
  readonly hands = new Map<string, RaisedHand>();
  readonly createdAt = new Date();
  /** A locked room refuses new participants, except moderators. */
  locked = false;
  /** A held room is never empty enough to close (see ConferenceService.holdOpen). */
  held = false;
  /** Pending close once the room is empty; cancelled when someone joins in time. */
  closeTimer?: NodeJS.Timeout;

  /**
   * The room's admission rules, read once when the room opens, and the cluster's
   * agreement that it runs on this shard.
   */
  constructor(
    readonly id: string,
    readonly policy: Promise<RoomPolicy>,
    readonly claimed: Promise<void>,
  ) {}

  remember(message: ChatMessage): void {
    this.history.push(message);
    if (this.history.length > CHAT_HISTORY_SIZE) this.history.shift();
  }

  /** The participants this shard serves. */
  get localCount(): number {
    let count = 0;
    for (const participant of this.participants.values()) if (!participant.shard) count++;
    return count;
  }

  /** Nobody inside and nobody waiting, on this shard. */
  get isEmpty(): boolean {
    if (this.held || this.localCount > 0) return false;
    for (const entry of this.lobby.values()) if (!entry.shard) return false;
    return true;
  }
}
