import type { RoomMedia } from '../media/room-media';
import { Participant } from './participant';
import { ChatMessage, LobbyEntry } from './room';

export type LeaveReason = 'left' | 'disconnected' | 'kicked';
export type LobbyLeaveReason = 'admitted' | 'rejected' | 'left' | 'disconnected' | 'closed';

/** Domain events that the doors render to their protocols. */
export interface ConferenceEvents {
  roomOpened: [roomId: string];
  roomClosed: [roomId: string];
  participantJoined: [participant: Participant];
  participantLeft: [participant: Participant, reason: LeaveReason];
  chatMessage: [message: ChatMessage];
  /** The room's media was lost (its worker died): these participants must join again. */
  rejoinRequired: [roomId: string, participants: Participant[]];
  /** Someone waits in the lobby for a moderator. */
  lobbyKnock: [entry: LobbyEntry];
  /** Someone no longer waits in the lobby. */
  lobbyLeft: [entry: LobbyEntry, reason: LobbyLeaveReason];
  /** A moderator let a waiting participant in (announced before participantJoined). */
  admitted: [participant: Participant, media: RoomMedia];
}
