import { Participant } from './participant';
import { ChatMessage } from './room';

export type LeaveReason = 'left' | 'disconnected' | 'kicked';

/** Domain events that the doors render to their protocols. */
export interface ConferenceEvents {
  roomOpened: [roomId: string];
  roomClosed: [roomId: string];
  participantJoined: [participant: Participant];
  participantLeft: [participant: Participant, reason: LeaveReason];
  chatMessage: [message: ChatMessage];
  /** The room's media was lost (its worker died): these participants must join again. */
  rejoinRequired: [roomId: string, participants: Participant[]];
}
