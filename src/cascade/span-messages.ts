import { z } from 'zod';
import { ROLES } from '../conference/participant';
import { ROOM_ID_PATTERN } from '../conference/room';

/** The cascade's topic on the cluster bus, and its calls (ClusterCalls methods). */
export const SPAN_TOPIC = 'span';
export const SPAN_CALLS = {
  /** A shard becoming a host asks each other host for its participants and producers. */
  state: 'span.state',
  /** Opens a pipe from the called shard to the caller (answered with its end). */
  open: 'pipe.open',
  /** Sends a producer over the called shard's pipe to the caller. */
  consume: 'pipe.consume',
  /** Moderation of a participant of the called shard, and of its lobby. */
  mute: 'span.mute',
  kick: 'span.kick',
  decide: 'span.lobby.decide',
} as const;

const id = z.string().min(1).max(100);
const roomId = z.string().regex(ROOM_ID_PATTERN);

export const participantWire = z.object({
  id,
  roomId,
  identity: z.string().max(300),
  displayName: z.string().max(300),
  nick: z.string().max(300).optional(),
  role: z.enum(ROLES),
  door: z.enum(['socketio', 'xmpp']),
  joinedAt: z.string(),
});
export type ParticipantWire = z.infer<typeof participantWire>;

export const lobbyEntryWire = participantWire.omit({ joinedAt: true }).extend({
  knockedAt: z.string(),
});
export type LobbyEntryWire = z.infer<typeof lobbyEntryWire>;

const lobbyLeaveReason = z.enum(['admitted', 'rejected', 'left', 'disconnected', 'closed']);

export const producerWire = z.object({
  id,
  participantId: id,
  kind: z.enum(['audio', 'video']),
  source: z.string().max(100),
  paused: z.boolean(),
});

const chatWire = z.object({
  id,
  roomId,
  from: z.object({ participantId: id, displayName: z.string().max(300) }),
  text: z.string().max(100_000),
  sentAt: z.string(),
});

/** What hosts of a spanning room tell each other of their own participants, in order. */
export const spanMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('joined'), roomId, participant: participantWire }),
  z.object({
    type: z.literal('left'),
    roomId,
    participantId: id,
    reason: z.enum(['left', 'disconnected', 'kicked', 'room_ended', 'moved']),
  }),
  z.object({ type: z.literal('producer'), roomId, producer: producerWire }),
  z.object({ type: z.literal('producerClosed'), roomId, producerId: id }),
  z.object({ type: z.literal('producerPaused'), roomId, producerId: id, paused: z.boolean() }),
  z.object({ type: z.literal('chat'), roomId, message: chatWire }),
  z.object({ type: z.literal('knock'), roomId, entry: lobbyEntryWire }),
  z.object({ type: z.literal('lobbyLeft'), roomId, entryId: id, reason: lobbyLeaveReason }),
  z.object({ type: z.literal('locked'), roomId, locked: z.boolean() }),
  /** Close your pipe sending to me (mine from you stalled, or I leave the room). */
  z.object({ type: z.literal('unpipe'), roomId }),
  /** I host the room no more. */
  z.object({ type: z.literal('leaving'), roomId }),
]);
export type SpanMessage = z.infer<typeof spanMessage>;

export const stateRequest = z.object({ roomId });
export const stateAnswer = z.object({
  participants: z.array(participantWire),
  producers: z.array(producerWire),
  lobby: z.array(lobbyEntryWire),
  locked: z.boolean(),
});
export type StateAnswer = z.infer<typeof stateAnswer>;

const srtpParameters = z.object({
  cryptoSuite: z.enum([
    'AEAD_AES_256_GCM',
    'AEAD_AES_128_GCM',
    'AES_CM_128_HMAC_SHA1_80',
    'AES_CM_128_HMAC_SHA1_32',
  ]),
  keyBase64: z.string().max(200),
});
export const pipeEnd = z.object({ port: z.number().int().min(1).max(65535), srtpParameters });
export const openRequest = z.object({ roomId, end: pipeEnd });
export const consumeRequest = z.object({ roomId, producerId: id });
export const muteRequest = z.object({
  roomId,
  participantId: id,
  kind: z.enum(['audio', 'video']),
});
export const kickRequest = z.object({ roomId, participantId: id });
export const decideRequest = z.object({ roomId, entryId: id, admit: z.boolean() });
