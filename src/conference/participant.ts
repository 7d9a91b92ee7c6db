export const ROLES = ['moderator', 'participant', 'guest'] as const;
export type Role = (typeof ROLES)[number];

export type Door = 'socketio' | 'xmpp';

export interface Participant {
  readonly id: string;
  readonly roomId: string;
  /** Who the participant is: the token's subject, or a generated guest identity. */
  readonly identity: string;
  readonly displayName: string;
  /**
   * The MUC nick it joined with (XMPP door): the occupant resource Jitsi clients use as its
   * endpoint id, so the other shards of a spanning room render it under the same.
   */
  readonly nick?: string;
  readonly role: Role;
  readonly door: Door;
  /** Its client can resume it after a dropped connection (see ConferenceService.suspend). */
  readonly resumable?: boolean;
  readonly joinedAt: Date;
  /** Set for a participant served by another shard of a room spanning shards: that shard. */
  readonly shard?: string;
}

export const canModerate = (participant: Participant) => participant.role === 'moderator';
