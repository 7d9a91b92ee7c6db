import type { MediaSession } from '../media/media-session';
import { Participant } from './participant';
import { ChatMessage, LobbyEntry, RaisedHand, Reaction } from './room';

/**
 * Why a participant left: on its own, lost, removed by a moderator, the room was ended,
 * or it went to another room of the meeting (breakout rooms).
 */
export type LeaveReason = 'left' | 'disconnected' | 'kicked' | 'room_ended' | 'moved';
export type LobbyLeaveReason = 'admitted' | 'rejected' | 'left' | 'disconnected' | 'closed';

export type MediaKind = 'audio' | 'video';

/** Why a room's participants must join again: its media died, or it moved to another shard. */
export type RejoinReason = 'media-restart' | 'moved';

/** Domain events that the doors render to their protocols. */
export interface ConferenceEvents {
  roomOpened: [roomId: string];
  roomClosed: [roomId: string];
  participantJoined: [participant: Participant];
  participantLeft: [participant: Participant, reason: LeaveReason];
  chatMessage: [message: ChatMessage];
  /** A moderator paused these producers of the participant's on the server. */
  participantMuted: [participant: Participant, kind: MediaKind, producerIds: string[]];
  /** Someone raised or lowered a hand (or left with it raised): the room's queue now. */
  handsChanged: [roomId: string, hands: RaisedHand[]];
  /** A participant sent an emoji reaction to the room. */
  reaction: [participant: Participant, emoji: Reaction];
  /** The room cannot go on here: these participants must join again. */
  rejoinRequired: [roomId: string, participants: Participant[], reason: RejoinReason];
  /** Someone waits in the lobby for a moderator. */
  lobbyKnock: [entry: LobbyEntry];
  /** Someone no longer waits in the lobby. */
  lobbyLeft: [entry: LobbyEntry, reason: LobbyLeaveReason];
  /** The room was locked or unlocked here (not told by another host of a spanning room). */
  roomLocked: [roomId: string, locked: boolean];
  /** A moderator let a waiting participant in (announced before participantJoined). */
  admitted: [participant: Participant, media: MediaSession];
}
