import { z } from 'zod';
import { REACTIONS } from '../../conference/room';
import { breakoutRequestSchemas } from './breakout-requests';
import { Method } from './protocol';

/*
 * Shapes of every socket.io request. They bound sizes and types at the door; mediasoup
 * validates RTP and DTLS parameters in depth and its complaints become bad_request.
 */
const id = z.string().min(1).max(64);
const loose = z.looseObject({});

const dtlsParameters = z.looseObject({
  role: z.enum(['auto', 'client', 'server']).optional(),
  fingerprints: z
    .array(z.object({ algorithm: z.string().max(16), value: z.string().max(256) }))
    .min(1)
    .max(8),
});

const rtpParameters = z.looseObject({
  mid: z.string().max(32).optional(),
  codecs: z.array(loose).min(1).max(16),
  headerExtensions: z.array(loose).max(32).optional(),
  encodings: z.array(loose).max(8).optional(),
  rtcp: loose.optional(),
});

const rtpCapabilities = z.looseObject({
  codecs: z.array(loose).max(64).optional(),
  headerExtensions: z.array(loose).max(64).optional(),
});

/** Deeper than any request needs (RTP parameters have five levels or so). */
const MAX_DEPTH = 16;

/**
 * Whether the value is JSON (no binary attachments: no request takes any) nested at most
 * `maxDepth` levels. Iterative: hostile nesting, thousands deep, exhausts the stack of
 * recursive code (mediasoup's structuredClone, which also fails on a Buffer).
 */
function isShallowJson(value: unknown, maxDepth: number): boolean {
  const pending: [unknown, number][] = [[value, 1]];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [item, depth] = next;
    if (typeof item !== 'object' || item === null) continue;
    if (depth > maxDepth || ArrayBuffer.isView(item) || item instanceof ArrayBuffer) return false;
    for (const child of Object.values(item)) pending.push([child, depth + 1]);
  }
  return true;
}

export const requestEnvelope = z.object({
  method: z.string().max(64),
  data: z
    .unknown()
    .optional()
    .refine(
      (data) => isShallowJson(data, MAX_DEPTH),
      `no binary data, nothing nested more than ${MAX_DEPTH} levels deep`,
    ),
});

export const requestSchemas = {
  getRouterRtpCapabilities: z.object({}).optional(),
  join: z.object({
    room: z.string().min(1).max(64),
    displayName: z.string().trim().min(1).max(100).optional(),
    password: z.string().min(1).max(128).optional(),
    resumable: z.boolean().optional(),
    receive: z.object({ rtpCapabilities, dtlsParameters: dtlsParameters.optional() }).optional(),
    pass: z.string().min(1).max(64).optional(),
  }),
  resume: z.object({ participantId: id, resumeToken: z.string().min(1).max(128) }),
  createWebRtcTransport: z.object({
    direction: z.enum(['send', 'recv']),
    sctp: z.boolean().optional(),
  }),
  connectWebRtcTransport: z.object({ transportId: id, dtlsParameters }),
  restartIce: z.object({ transportId: id }),
  produce: z.object({
    transportId: id,
    kind: z.enum(['audio', 'video']),
    rtpParameters,
    source: z.enum(['mic', 'camera', 'screen']).optional(),
  }),
  closeProducer: z.object({ producerId: id }),
  pauseProducer: z.object({ producerId: id }),
  resumeProducer: z.object({ producerId: id }),
  consume: z.object({ transportId: id, producerId: id, rtpCapabilities }),
  pauseConsumer: z.object({ consumerId: id }),
  resumeConsumer: z.object({ consumerId: id }),
  setPreferredLayers: z.object({
    consumerId: id,
    spatialLayer: z.number().int().min(0).max(3),
    temporalLayer: z.number().int().min(0).max(3).optional(),
  }),
  chat: z.object({ text: z.string().max(10_000) }),
  leave: z.object({}).optional(),
  lobbyAdmit: z.object({ participantId: id }),
  lobbyReject: z.object({ participantId: id }),
  startRecording: z.object({}).optional(),
  stopRecording: z.object({}).optional(),
  muteParticipant: z.object({ participantId: id, kind: z.enum(['audio', 'video']) }),
  kickParticipant: z.object({ participantId: id }),
  raiseHand: z.object({}).optional(),
  lowerHand: z.object({ participantId: id.optional() }).optional(),
  react: z.object({ emoji: z.enum(REACTIONS) }),
  ...breakoutRequestSchemas,
} satisfies Record<Method, z.ZodType>;

export const isMethod = (method: string): method is Method =>
  Object.prototype.hasOwnProperty.call(requestSchemas, method);
