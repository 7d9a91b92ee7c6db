/**
 * The admission rules of a room. Rooms that belong to a meeting get the meeting's
 * settings from the portal; any other room is open to everyone, as before.
 */
export interface RoomPolicy {
  /** People in the room (moderators included) beyond which only moderators get in. */
  maxParticipants?: number;
  /** Non-moderators wait in the lobby until a moderator admits them. */
  lobby: boolean;
  /** Present when non-moderators must give a password: checks one. */
  checkPassword?: (candidate: string) => Promise<boolean>;
}

export const OPEN_ROOM: RoomPolicy = { lobby: false };

/**
 * The port through which the conference learns a room's rules when the room opens. The
 * portal registers its meetings with ConferenceService.usePolicies at start-up, so the
 * domain depends on no portal module.
 */
export interface RoomPolicyProvider {
  policyFor(roomId: string): Promise<RoomPolicy | undefined>;
}
