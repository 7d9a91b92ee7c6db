/**
 * Fuzzing the socket.io door (see test/support/fuzz.ts) with real connections to a shard
 * process: requests for every method, valid-shaped and hostile, with ids of the client's
 * own, other participants', other rooms' and closed objects, before and after joining, one
 * at a time and several at once from connections that come and go (some end while their
 * requests are under way); raw socket.io and engine.io frames; and the request limiter.
 * Every request gets `{data}` or `{error: {code, message}}` with a known code (never
 * `internal`, never silence), and afterwards the shard runs, the canary call is healthy
 * and every count is back to its baseline.
 *
 * `npm run fuzz -- --door socketio --runs N`: N runs of the request property (1 to 3
 * connections each), N/2 of the raw frames, N/100 of the limiter.
 */
import fc from 'fast-check';
import type { Socket } from 'socket.io-client';
import WebSocket from 'ws';
import { requestSchemas } from '../../src/signaling/socketio/request-schemas';
import {
  backToBaseline,
  CanaryCall,
  FuzzProgress,
  fuzzParameters,
  fuzzTimeout,
  largeRun,
  objectCounts,
  ObjectCounts,
} from '../support/fuzz';
import { portalApi } from '../support/portal-api';
import { ShardProcess, startShardProcess } from '../support/shard-process';
import { connectSocket, request } from '../support/signaling-client';

/** Low enough for the limiter property to reach, high enough for a session's requests. */
const RATE = 500;
const BURST = 100;
const MAX_MESSAGE_BYTES = 262_144;
const ACK_TIMEOUT_MS = 15_000;
const FUZZ_ROOM = 'fuzz-room';
const OTHER_ROOM = 'fuzz-other';
const KNOWN_CODES = [
  'bad_request',
  'unauthorized',
  'forbidden',
  'password_required',
  'not_found',
  'conflict',
  'room_full',
  'room_locked',
  'not_joined',
  'unknown_request',
  'too_many_requests',
  'too_many_videos',
];
/** Small requests of every kind of answer (before joining), for the limiter. */
const LIMITED_BODIES = [
  { method: 'getRouterRtpCapabilities' },
  { method: 'chat', data: { text: 'hi' } },
  { method: 'join', data: { room: '../etc' } },
  { method: 'selfDestruct' },
  'not an envelope',
];
const METHODS = Object.keys(requestSchemas) as (keyof typeof requestSchemas)[];

/** A property's share of `--runs` in a large run; its own small default otherwise. */
const runsOf = (smallDefault: number, share: number) => ({
  ...fuzzParameters(smallDefault),
  numRuns: largeRun() ? Math.ceil(Number(process.env.FUZZ_RUNS) * share) : smallDefault,
});

// ---- What the generators make: plain values, with references to ids known at run time.

type RefKind =
  | 'ownTransport'
  | 'ownSend'
  | 'ownRecv'
  | 'ownProducer'
  | 'ownConsumer'
  | 'ownWaiting'
  | 'someWaiting'
  | 'victimParticipant'
  | 'victimTransport'
  | 'victimProducer'
  | 'otherRoomTransport'
  | 'otherRoomProducer'
  | 'closedTransport'
  | 'closedProducer'
  | 'closedConsumer'
  | 'lobbyRoom'
  | 'routerCapabilities';

/** Stands for an id (or a value) that only exists once the shard runs. */
class Ref {
  constructor(
    readonly kind: RefKind,
    readonly pick: number,
  ) {}
}

const ref = (...kinds: RefKind[]) =>
  fc.tuple(fc.constantFrom(...kinds), fc.nat()).map(([kind, pick]) => new Ref(kind, pick));

/** Objects and arrays nested `depth` deep, made when sent (fast-check could not print them). */
class Deep {
  constructor(readonly depth: number) {}

  make(): unknown {
    let value: unknown = 'bottom';
    for (let i = 0; i < this.depth; i++) value = i % 2 ? [value] : { deeper: value };
    return value;
  }
}

/** What no field expects: wrong types, odd numbers, huge, deep, binary, prototype keys. */
const hostile: fc.Arbitrary<unknown> = fc.oneof(
  fc.anything({ maxDepth: 3, maxKeys: 4 }),
  fc.constantFrom(NaN, Infinity, -Infinity, -0, 2 ** 53, -1, 1e308, null, true, [], {}, ''),
  fc.constantFrom('__proto__', 'constructor', 'toString', 'valueOf', 'hasOwnProperty'),
  fc
    .tuple(fc.constantFrom('__proto__', 'constructor', 'toString'), fc.jsonValue({ maxDepth: 2 }))
    .map(([key, value]) => JSON.parse(`{"${key}":${JSON.stringify(value) ?? 'null'}}`)),
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.integer({ min: 1_000, max: 60_000 }).map((n) => 'x'.repeat(n)),
  fc.integer({ min: 10, max: 1_500 }).map((depth) => new Deep(depth)),
  fc.uint8Array({ maxLength: 512 }).map((bytes) => Buffer.from(bytes)),
);

/** Mostly the expected shape, sometimes anything at all. */
const field = <T>(valid: fc.Arbitrary<T>) =>
  fc.oneof(
    { weight: 6, arbitrary: valid as fc.Arbitrary<unknown> },
    { weight: 1, arbitrary: hostile },
  );

/** Mostly the session's own ids (so that requests get far), else others' or made up. */
const id = (own: RefKind[], others: RefKind[]) =>
  fc.oneof(
    { weight: 6, arbitrary: ref(...own) as fc.Arbitrary<unknown> },
    { weight: 3, arbitrary: ref(...others) },
    { weight: 1, arbitrary: fc.uuid() },
    { weight: 1, arbitrary: hostile },
  );
const transportId = id(
  ['ownTransport', 'ownSend', 'ownRecv'],
  ['victimTransport', 'otherRoomTransport', 'closedTransport'],
);
const producerId = id(['ownProducer'], ['victimProducer', 'otherRoomProducer', 'closedProducer']);
const consumerId = id(['ownConsumer'], ['closedConsumer']);
const participantId = id(['ownWaiting'], ['someWaiting', 'victimParticipant']);
const text = fc.oneof(fc.string(), fc.string({ unit: 'binary', maxLength: 200 }));
const optional = { requiredKeys: [] as never[] };

const codec = fc.record(
  {
    kind: field(fc.constantFrom('audio', 'video', 'data')),
    mimeType: field(fc.constantFrom('audio/opus', 'video/VP8', 'video/H264', 'video/rtx', 'x/y')),
    clockRate: field(fc.constantFrom(48000, 90000, 0, -1)),
    channels: field(fc.constantFrom(1, 2, 3)),
    payloadType: field(fc.integer({ min: -1, max: 300 })),
    preferredPayloadType: field(fc.integer({ min: -1, max: 300 })),
    parameters: field(
      fc.dictionary(fc.string({ maxLength: 12 }), fc.oneof(fc.string(), fc.integer())),
    ),
    rtcpFeedback: field(
      fc.array(
        fc.record({
          type: fc.constantFrom('nack', 'ccm', 'transport-cc'),
          parameter: fc.constantFrom('', 'pli', 'fir'),
        }),
        { maxLength: 3 },
      ),
    ),
  },
  optional,
);
const rtpCapabilities = fc.oneof(
  ref('routerCapabilities'),
  fc.record(
    {
      codecs: field(fc.array(codec, { maxLength: 4 })),
      headerExtensions: field(fc.array(hostile, { maxLength: 2 })),
    },
    optional,
  ),
);
const opus = (ssrc: number) => ({
  codecs: [{ mimeType: 'audio/opus', payloadType: 111, clockRate: 48000, channels: 2 }],
  encodings: [{ ssrc }],
});
/** SSRCs for the producers the fixtures and sessions make on purpose. */
let ssrcs = 1;
/** Sometimes exactly what a client sends (so that producers get made), else mutated. */
const rtpParameters = fc.oneof(
  fc.nat().map(opus),
  fc.record(
    {
      mid: field(fc.string({ maxLength: 4 })),
      codecs: field(fc.array(codec, { minLength: 1, maxLength: 3 })),
      headerExtensions: field(
        fc.array(
          fc.record({
            uri: fc.constantFrom('urn:ietf:params:rtp-hdrext:sdes:mid', 'urn:x'),
            id: fc.integer({ min: -1, max: 300 }),
          }),
          { maxLength: 2 },
        ),
      ),
      encodings: field(
        fc.array(
          fc.record(
            {
              ssrc: field(fc.nat()),
              rid: field(fc.string({ maxLength: 3 })),
              scalabilityMode: field(fc.constantFrom('L1T3', 'S3T3', 'L9T9')),
            },
            optional,
          ),
          { maxLength: 3 },
        ),
      ),
      rtcp: field(fc.record({ cname: text, reducedSize: fc.boolean() }, optional)),
    },
    { requiredKeys: ['codecs'] },
  ),
);
const fingerprint = fc
  .uint8Array({ minLength: 32, maxLength: 32 })
  .map((bytes) => [...bytes].map((b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':'));
const dtlsParameters = fc.oneof(
  fingerprint.map((value) => ({ role: 'client', fingerprints: [{ algorithm: 'sha-256', value }] })),
  fc.record(
    {
      role: field(fc.constantFrom('auto', 'client', 'server', 'both')),
      fingerprints: field(
        fc.array(
          fc.record({
            algorithm: field(fc.constantFrom('sha-256', 'sha-1', 'sha-512', 'md5')),
            value: field(fc.stringMatching(/^([0-9A-F]{2}:){0,31}[0-9A-F]{2}$/)),
          }),
          { maxLength: 3 },
        ),
      ),
    },
    { requiredKeys: ['fingerprints'] },
  ),
);
const room = fc.oneof(
  fc.constantFrom(FUZZ_ROOM, OTHER_ROOM),
  ref('lobbyRoom'),
  fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,6}$/),
  text,
);

const requestData: Record<(typeof METHODS)[number], fc.Arbitrary<unknown>> = {
  getRouterRtpCapabilities: fc.constant({}),
  join: fc.record(
    {
      room: field(room),
      displayName: field(text),
      password: field(text),
      pass: field(text),
      receive: field(
        fc.record(
          { rtpCapabilities, dtlsParameters: field(dtlsParameters) },
          { requiredKeys: ['rtpCapabilities'] },
        ),
      ),
    },
    { requiredKeys: ['room'] },
  ),
  resume: fc.record({ participantId, resumeToken: field(text) }),
  createWebRtcTransport: fc.record(
    { direction: field(fc.constantFrom('send', 'recv')), sctp: field(fc.boolean()) },
    { requiredKeys: ['direction'] },
  ),
  connectWebRtcTransport: fc.record({ transportId, dtlsParameters: field(dtlsParameters) }),
  restartIce: fc.record({ transportId }),
  produce: fc.record(
    {
      transportId,
      kind: field(fc.constantFrom('audio', 'video')),
      rtpParameters: field(rtpParameters),
      source: field(fc.constantFrom('mic', 'camera', 'screen')),
    },
    { requiredKeys: ['transportId', 'kind', 'rtpParameters'] },
  ),
  closeProducer: fc.record({ producerId }),
  pauseProducer: fc.record({ producerId }),
  resumeProducer: fc.record({ producerId }),
  consume: fc.record({ transportId, producerId, rtpCapabilities: field(rtpCapabilities) }),
  pauseConsumer: fc.record({ consumerId }),
  resumeConsumer: fc.record({ consumerId }),
  setPreferredLayers: fc.record(
    {
      consumerId,
      spatialLayer: field(fc.integer({ min: -1, max: 4 })),
      temporalLayer: field(fc.integer({ min: -1, max: 4 })),
    },
    { requiredKeys: ['consumerId', 'spatialLayer'] },
  ),
  chat: fc.record({ text: field(text) }),
  leave: fc.constant({}),
  lobbyAdmit: fc.record({ participantId }),
  lobbyReject: fc.record({ participantId }),
  startRecording: fc.constant({}),
  stopRecording: fc.constant({}),
  muteParticipant: fc.record({
    participantId,
    kind: field(fc.constantFrom('audio', 'video', 'screen')),
  }),
  kickParticipant: fc.record({ participantId }),
  raiseHand: fc.constant({}),
  lowerHand: fc.record({ participantId }, optional),
  react: fc.record({ emoji: field(fc.constantFrom('👍', '🎉', '💩', 'x')) }),
  createBreakouts: fc.record(
    {
      rooms: field(fc.oneof(fc.integer({ min: -1, max: 30 }), fc.array(text, { maxLength: 3 }))),
      assign: field(fc.constantFrom('manual', 'evenly', 'randomly', 'x')),
      allowChoice: field(fc.boolean()),
      durationSeconds: field(fc.integer({ min: -1, max: 90_000 })),
    },
    { requiredKeys: ['rooms'] },
  ),
  moveToBreakout: fc.record({
    participantId,
    room: field(
      fc.oneof(
        room,
        room.map((main) => `${String(main)}.breakout-1`),
      ),
    ),
  }),
  joinBreakout: fc.record({ room: field(fc.oneof(room, fc.constant(`${FUZZ_ROOM}.breakout-1`))) }),
  broadcastToBreakouts: fc.record({ text: field(text) }),
  closeBreakouts: fc.constant({}),
};

/** A request body: mostly an envelope of a known method, else anything. */
const requestBody: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 16,
    arbitrary: fc
      .constantFrom(...METHODS)
      .chain((method) => field(requestData[method]).map((data) => ({ method, data }))),
  },
  {
    weight: 1,
    arbitrary: fc.record(
      {
        method: fc.oneof(
          fc.constantFrom('__proto__', 'constructor', 'toString', ''),
          text,
          hostile,
        ),
        data: hostile,
      },
      optional,
    ),
  },
  { weight: 1, arbitrary: hostile },
);

/** A session's request, or its lobby moderator's decision about someone waiting. */
const step = fc.oneof(
  { weight: 8, arbitrary: requestBody.map((body) => ({ byHost: false, body })) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom('lobbyAdmit', 'lobbyReject'), participantId)
      .map(([method, who]) => ({ byHost: true, body: { method, data: { participantId: who } } })),
  },
);

/** Requests sent at once; some twice or thrice (a double click: two joins, two connects). */
const batch = fc
  .array(
    fc.tuple(step, fc.oneof({ weight: 3, arbitrary: fc.constant(1) }, fc.constantFrom(2, 3))),
    {
      minLength: 1,
      maxLength: 4,
    },
  )
  .map((steps) => steps.flatMap(([one, times]) => Array.from({ length: times }, () => one)));

const session = fc.record({
  start: fc.constantFrom('none', 'room', 'media', 'media', 'receive', 'lobby', 'other'),
  batches: fc.array(batch, { minLength: 1, maxLength: 4 }),
  ending: fc.constantFrom('leave', 'disconnect', 'midway'),
});

type Session = typeof session extends fc.Arbitrary<infer T> ? T : never;

// ---- Checking answers.

type Ack = { data?: unknown; error?: { code: unknown; message: unknown } };

/** Answers by method and outcome ('data' or the error code), reported with FUZZ_PROGRESS. */
const answerCounts = new Map<string, number>();

const describeBody = (body: unknown) => JSON.stringify(body)?.slice(0, 1000);

function checkAck(ack: unknown, body: unknown): Ack {
  const answer = ack as Ack;
  const keys = typeof ack === 'object' && ack !== null ? Object.keys(ack) : [];
  const valid =
    (keys.length === 1 && keys[0] === 'data') ||
    (keys.length === 1 &&
      keys[0] === 'error' &&
      KNOWN_CODES.includes(answer.error?.code as string) &&
      typeof answer.error?.message === 'string');
  if (!valid) throw new Error(`answer ${JSON.stringify(ack)} to ${describeBody(body)}`);
  const method = (body as { method?: unknown })?.method;
  const outcome = `${METHODS.includes(method as never) ? method : '?'} ${answer.error?.code ?? 'data'}`;
  answerCounts.set(outcome, (answerCounts.get(outcome) ?? 0) + 1);
  return answer;
}

/** Ids a session made, to be used by its later requests. */
interface OwnIds {
  ownTransport: string[];
  ownSend: string[];
  ownRecv: string[];
  ownProducer: string[];
  ownConsumer: string[];
  ownWaiting: string[];
}

interface SessionState {
  own: OwnIds;
  /** The connection may close before every request is answered. */
  mayClose: boolean;
}

const noOwnIds = (): OwnIds => ({
  ownTransport: [],
  ownSend: [],
  ownRecv: [],
  ownProducer: [],
  ownConsumer: [],
  ownWaiting: [],
});

function remember(own: OwnIds, body: unknown, { data }: Ack) {
  if (data === undefined) return;
  const { method, data: sent } = body as { method: string; data: { direction?: string } };
  const answer = data as {
    id: string;
    producerId: string;
    participantId: string;
    lobby?: true;
    receive?: { transport: { id: string }; consumers: { id: string }[] };
  };
  if (method === 'createWebRtcTransport') {
    own.ownTransport.push(answer.id);
    (sent.direction === 'send' ? own.ownSend : own.ownRecv).push(answer.id);
  }
  if (method === 'produce') own.ownProducer.push(answer.producerId);
  if (method === 'consume') own.ownConsumer.push(answer.id);
  if (method === 'join' && answer.lobby) own.ownWaiting.push(answer.participantId);
  if (method === 'join' && answer.receive) {
    own.ownTransport.push(answer.receive.transport.id);
    own.ownRecv.push(answer.receive.transport.id);
    own.ownConsumer.push(...answer.receive.consumers.map((c) => c.id));
  }
}

describe('socket.io door fuzzing', () => {
  let shard: ShardProcess;
  let canary: CanaryCall;
  let baseline: ObjectCounts;
  let host: Socket;
  let victim: Socket;
  let outsider: Socket;
  const known: Record<Exclude<RefKind, keyof OwnIds>, unknown[]> = {
    someWaiting: [],
    victimParticipant: [],
    victimTransport: [],
    victimProducer: [],
    otherRoomTransport: [],
    otherRoomProducer: [],
    closedTransport: [],
    closedProducer: [],
    closedConsumer: [],
    lobbyRoom: [],
    routerCapabilities: [],
  };
  const progress = new FuzzProgress('socketio');

  /**
   * The generated value with every Ref replaced by an id (or value) of its kind, and every
   * Deep by its nesting. Both sit near the top: what lies deeper is passed on as it is.
   */
  const resolve = (value: unknown, own: OwnIds, depth = 0): unknown => {
    if (depth > 8) return value;
    if (value instanceof Deep) return value.make();
    if (value instanceof Ref) {
      const ids: unknown[] =
        value.kind in own
          ? own[value.kind as keyof OwnIds]
          : known[value.kind as keyof typeof known];
      return ids.length ? ids[value.pick % ids.length] : `no-${value.kind}`;
    }
    if (Array.isArray(value)) return value.map((item) => resolve(item, own, depth + 1));
    if (typeof value === 'object' && value !== null && !Buffer.isBuffer(value)) {
      const copy: Record<string, unknown> = {};
      // defineProperty keeps own "__proto__" keys as keys, as JSON.parse makes them.
      for (const [key, item] of Object.entries(value)) {
        const resolved = resolve(item, own, depth + 1);
        Object.defineProperty(copy, key, { value: resolved, enumerable: true });
      }
      return copy;
    }
    return value;
  };

  /** For failure messages: whether the shard runs, and what it logged as errors last. */
  const shardState = () => {
    const errors = shard
      .output()
      .split('\n')
      .filter((line) => line.includes('"level":50'));
    return `\nshard ${shard.exited() ?? 'running'}; last errors:\n${errors.slice(-2).join('\n')}`;
  };

  /**
   * Sends a request and checks its answer. An answer may be missing only when the socket
   * closed and `session` expected it to: the session ended it, or sent a message larger
   * than socket.io takes (which closes the connection).
   */
  const ask = async (socket: Socket, body: unknown, session?: SessionState) => {
    progress.tick();
    if (session && Buffer.byteLength(JSON.stringify(body) ?? '') > MAX_MESSAGE_BYTES * 0.75) {
      session.mayClose = true;
    }
    let ack: unknown;
    try {
      ack = await socket.timeout(ACK_TIMEOUT_MS).emitWithAck('request', body);
    } catch (error) {
      if (session?.mayClose && !socket.connected) return undefined;
      throw new Error(`no answer to ${describeBody(body)} (${String(error)})${shardState()}`);
    }
    let answer: Ack;
    try {
      answer = checkAck(ack, body);
    } catch (error) {
      throw new Error(`${(error as Error).message}${shardState()}`);
    }
    if (session) remember(session.own, body, answer);
    return answer;
  };

  /** A connection that joins (or not), sends batches of requests at once and goes. */
  const runSession = async ({ start, batches, ending }: Session) => {
    const socket = await connectSocket(shard.url);
    const state: SessionState = { own: noOwnIds(), mayClose: false };
    const joins: Record<string, unknown> = {
      room: { room: FUZZ_ROOM },
      media: { room: FUZZ_ROOM },
      receive: { room: FUZZ_ROOM, receive: { rtpCapabilities: known.routerCapabilities[0] } },
      lobby: { room: known.lobbyRoom[0] },
      other: { room: OTHER_ROOM },
    };
    try {
      if (start !== 'none') await ask(socket, { method: 'join', data: joins[start] }, state);
      if (start === 'media') {
        for (const direction of ['send', 'recv']) {
          await ask(socket, { method: 'createWebRtcTransport', data: { direction } }, state);
        }
        const produce = {
          transportId: state.own.ownSend[0],
          kind: 'audio',
          rtpParameters: opus(ssrcs++),
        };
        const consume = {
          transportId: state.own.ownRecv[0],
          producerId: known.victimProducer[0],
          rtpCapabilities: known.routerCapabilities[0],
        };
        await Promise.all([
          ask(socket, { method: 'produce', data: produce }, state),
          ask(socket, { method: 'consume', data: consume }, state),
        ]);
      }
      for (const [index, batch] of batches.entries()) {
        const answers = batch.map(({ byHost, body }) =>
          byHost
            ? ask(host, resolve(body, state.own))
            : ask(socket, resolve(body, state.own), state),
        );
        if (ending === 'midway' && index === batches.length - 1) {
          state.mayClose = true;
          socket.disconnect();
        }
        await Promise.all(answers);
      }
      if (ending === 'leave') await ask(socket, { method: 'leave', data: {} }, state);
    } finally {
      socket.disconnect();
    }
  };

  beforeAll(async () => {
    shard = await startShardProcess({
      env: {
        SIGNALING_REQUESTS_PER_SECOND: String(RATE),
        SIGNALING_REQUEST_BURST: String(BURST),
        SIGNALING_MAX_MESSAGE_BYTES: String(MAX_MESSAGE_BYTES),
        EMPTY_ROOM_GRACE_MS: '200',
      },
    });
    canary = await CanaryCall.start(shard.url);
    baseline = await objectCounts(shard);

    // A meeting with a lobby, and its host waiting for knocks.
    const http = portalApi(() => ({ baseUrl: shard.url }));
    const account = { email: 'fuzz@example.org', password: 'fuzz-password', displayName: 'Fuzz' };
    expect((await http.register(account)).status).toBe(201);
    const { email, password } = account;
    const { accessToken } = (await http.login({ email, password })).body;
    const meeting = await http.call(
      'POST',
      '/meetings',
      { title: 'Fuzz', lobby: true },
      accessToken,
    );
    const minted = await http.call(
      'POST',
      `/meetings/${meeting.body.id}/join-token`,
      undefined,
      accessToken,
    );
    known.lobbyRoom.push(meeting.body.room);
    host = await connectSocket(shard.url, { token: minted.body.token });
    await request(host, 'join', { room: meeting.body.room });
    host.on('lobbyKnock', ({ entry }: { entry: { id: string } }) => {
      known.someWaiting.push(entry.id);
      known.someWaiting.splice(0, known.someWaiting.length - 20);
    });

    // Other participants' media objects, in the fuzzed room and in another one.
    const withMedia = async (roomId: string) => {
      const socket = await connectSocket(shard.url);
      const joined = await request(socket, 'join', { room: roomId });
      const send = await request(socket, 'createWebRtcTransport', { direction: 'send' });
      const recv = await request(socket, 'createWebRtcTransport', { direction: 'recv' });
      const { producerId } = await request(socket, 'produce', {
        transportId: send.id,
        kind: 'audio',
        rtpParameters: opus(ssrcs++),
      });
      return { socket, joined, send, recv, producerId };
    };
    const victimMedia = await withMedia(FUZZ_ROOM);
    victim = victimMedia.socket;
    if (!('lobby' in victimMedia.joined)) {
      known.victimParticipant.push(victimMedia.joined.participantId);
      known.routerCapabilities.push(victimMedia.joined.routerRtpCapabilities);
    }
    known.victimTransport.push(victimMedia.send.id, victimMedia.recv.id);
    known.victimProducer.push(victimMedia.producerId);
    const otherMedia = await withMedia(OTHER_ROOM);
    outsider = otherMedia.socket;
    known.otherRoomTransport.push(otherMedia.send.id, otherMedia.recv.id);
    known.otherRoomProducer.push(otherMedia.producerId);
    // And the ids of objects that closed when their participant left.
    const gone = await withMedia(FUZZ_ROOM);
    const consumer = await request(gone.socket, 'consume', {
      transportId: gone.recv.id,
      producerId: victimMedia.producerId,
      rtpCapabilities: known.routerCapabilities[0],
    });
    await request(gone.socket, 'leave', {});
    gone.socket.close();
    known.closedTransport.push(gone.send.id, gone.recv.id);
    known.closedProducer.push(gone.producerId);
    known.closedConsumer.push(consumer.id);
  }, 60_000);

  afterAll(async () => {
    for (const socket of [host, victim, outsider]) socket?.close();
    canary?.close();
    progress.done();
    if (process.env.FUZZ_PROGRESS) {
      const counts = [...answerCounts].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`);
      process.stderr.write(`[fuzz] socketio answers: ${counts.join(', ')}\n`);
    }
    await shard?.stop();
  });

  it(
    'answers every request, alone or several at once, from connections that come and go',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(session, { minLength: 1, maxLength: 3 }), async (sessions) => {
          await Promise.all(sessions.map(runSession));
        }),
        runsOf(150, 1),
      );
    },
    fuzzTimeout(60_000),
  );

  it(
    'answers raw socket.io frames or closes the connection: unknown events, binary, no acks, garbage',
    async () => {
      const reserved = [
        'connect',
        'connect_error',
        'disconnect',
        'disconnecting',
        'newListener',
        'removeListener',
      ];
      const frame = fc.oneof(
        {
          weight: 4,
          arbitrary: fc.record({
            kind: fc.constant('request' as const),
            body: requestBody,
            acked: fc.boolean(),
          }),
        },
        {
          weight: 2,
          arbitrary: fc.record({
            kind: fc.constant('event' as const),
            name: fc
              .string({ maxLength: 20 })
              .filter((name) => name !== 'request' && !reserved.includes(name)),
            args: fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 2 }),
            acked: fc.boolean(),
          }),
        },
        {
          weight: 2,
          arbitrary: fc.record({
            kind: fc.constant('binary' as const),
            method: fc.constantFrom(...METHODS),
            attachments: fc.array(fc.uint8Array({ maxLength: 64 }), { minLength: 1, maxLength: 3 }),
          }),
        },
        {
          weight: 1,
          arbitrary: fc.record({
            kind: fc.constant('garbage' as const),
            text: fc.oneof(
              fc.string({ unit: 'binary', maxLength: 100 }),
              fc.constantFrom(
                '4',
                '42',
                '42[',
                '43',
                '41',
                '40',
                '44',
                '47',
                '45-',
                '6',
                '5',
                '3',
                '2',
                '1',
                '0',
                '42"x"',
                '42{}',
                '42[1,2]',
                '42["disconnect"]',
                '42["newListener"]',
                `4${'9'.repeat(30)}["x"]`,
                '451-["request",{"_placeholder":true,"num":9}]',
                '451-["request",{"_placeholder":"x"}]',
              ),
              fc
                .integer({ min: 1, max: 8_000 })
                .map((depth) => `42["request",${'['.repeat(depth)}${']'.repeat(depth)}]`),
            ),
          }),
        },
        {
          weight: 1,
          arbitrary: fc.record({
            kind: fc.constant('deep' as const),
            method: fc.constantFrom(...METHODS),
            depth: fc.integer({ min: 1, max: 20_000 }),
          }),
        },
        {
          weight: 1,
          arbitrary: fc.record({
            kind: fc.constant('bytes' as const),
            data: fc.uint8Array({ maxLength: 200 }),
          }),
        },
      );
      await fc.assert(
        fc.asyncProperty(fc.array(frame, { minLength: 1, maxLength: 6 }), async (frames) => {
          const ws = new WebSocket(
            `${shard.url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`,
          );
          const acks = new Map<number, (answer: unknown) => void>();
          let connected!: () => void;
          const ready = new Promise<void>((resolve) => (connected = resolve));
          const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
          ws.on('error', () => undefined);
          const wrong: unknown[] = [];
          let outcome: unknown;
          try {
            ws.on('message', (message: Buffer) => {
              const text = message.toString();
              if (text === '2') ws.send('3'); // engine.io ping
              if (text.startsWith('40')) connected();
              const ack = /^43(\d+)(\[.*)$/s.exec(text);
              if (ack) acks.get(Number(ack[1]))?.(JSON.parse(ack[2])[0]);
            });
            await new Promise(
              (resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)),
            );
            ws.send('40');
            await ready;

            let nextId = 0;
            const expected: Promise<void>[] = [];
            /** An ack id whose answer must pass `check`; expected[id] settles when it comes. */
            const expectAck = (check: (answer: unknown) => void) => {
              const ackId = nextId++;
              expected.push(
                new Promise<void>((resolve) =>
                  acks.set(ackId, (answer) => {
                    try {
                      check(answer);
                    } catch (error) {
                      wrong.push(error);
                    }
                    resolve();
                  }),
                ),
              );
              return ackId;
            };
            const malformed = frames.some((f) => f.kind === 'garbage' || f.kind === 'bytes');
            for (const f of frames) {
              progress.tick();
              if (f.kind === 'request') {
                const body = resolve(f.body, noOwnIds());
                const ackId = f.acked ? expectAck((answer) => checkAck(answer, body)) : '';
                ws.send(`42${ackId}${JSON.stringify(['request', body])}`);
              } else if (f.kind === 'event') {
                const check = (answer: unknown) => {
                  if ((checkAck(answer, f.name) as Ack).error?.code !== 'unknown_request') {
                    throw new Error(`event ${f.name} answered ${JSON.stringify(answer)}`);
                  }
                };
                const ackId = f.acked ? expectAck(check) : '';
                ws.send(`42${ackId}${JSON.stringify([f.name, ...f.args])}`);
              } else if (f.kind === 'deep') {
                // Written out: deeper than socket.io-client would encode.
                const data = `${'{"a":'.repeat(f.depth)}1${'}'.repeat(f.depth)}`;
                const body = `{"method":"${f.method}","data":${data}}`;
                const ackId = expectAck((answer) =>
                  checkAck(answer, `${f.method} ${f.depth} deep`),
                );
                ws.send(`42${ackId}["request",${body}]`);
              } else if (f.kind === 'binary') {
                const placeholders = f.attachments.map((_, num) => ({ _placeholder: true, num }));
                const body = { method: f.method, data: { blobs: placeholders } };
                const ackId = expectAck((answer) => checkAck(answer, body));
                ws.send(`45${f.attachments.length}-${ackId}${JSON.stringify(['request', body])}`);
                for (const bytes of f.attachments) ws.send(Buffer.from(bytes));
              } else {
                ws.send(f.kind === 'garbage' ? f.text : Buffer.from(f.data));
              }
            }
            // The connection is still served (a last request is answered) or was closed. After
            // garbage, earlier answers may be lost and the client may have left the namespace
            // ('41'): it connects again first.
            if (malformed) ws.send('40');
            const probe = { method: 'getRouterRtpCapabilities' };
            const probeId = expectAck((answer) => checkAck(answer, probe));
            ws.send(`42${probeId}${JSON.stringify(['request', probe])}`);
            outcome = await Promise.race([
              (malformed ? expected[probeId] : Promise.all(expected)).then(() => 'answered'),
              malformed ? closed.then(() => 'closed') : new Promise<never>(() => undefined),
              new Promise((resolve) => setTimeout(resolve, ACK_TIMEOUT_MS, 'silence')),
            ]);
          } finally {
            ws.terminate();
          }
          if (wrong.length) throw wrong[0];
          if (outcome === 'silence') {
            throw new Error(`no answer to raw frames ${JSON.stringify(frames).slice(0, 500)}`);
          }
        }),
        runsOf(300, 0.5),
      );
    },
    fuzzTimeout(60_000),
  );

  it(
    'limits each connection to its burst and rate, answering the rest too_many_requests',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 4 * BURST }),
          fc.array(fc.integer({ min: 0, max: 30 }), { maxLength: 3 }),
          fc.array(fc.constantFrom(...LIMITED_BODIES), { minLength: 1, maxLength: 5 }),
          async (count, pauses, bodies) => {
            const socket = await connectSocket(shard.url);
            try {
              const started = performance.now();
              const answers: Promise<Ack | undefined>[] = [];
              const chunk = Math.ceil(count / (pauses.length + 1));
              for (let sent = 0, part = 0; sent < count; part++) {
                for (let i = 0; i < chunk && sent < count; i++, sent++) {
                  answers.push(ask(socket, bodies[sent % bodies.length]));
                }
                await new Promise((resolve) => setTimeout(resolve, pauses[part] ?? 0));
              }
              const acks = await Promise.all(answers);
              const seconds = (performance.now() - started) / 1000;
              const limited = acks.filter((ack) => ack?.error?.code === 'too_many_requests');
              const served = acks.length - limited.length;
              // A fresh connection has its whole burst; after that the rate is the most.
              expect(served).toBeGreaterThanOrEqual(Math.min(count, BURST));
              expect(served).toBeLessThanOrEqual(BURST + RATE * seconds + 1);
            } finally {
              socket.disconnect();
            }
          },
        ),
        runsOf(10, 0.01),
      );
    },
    fuzzTimeout(60_000),
  );

  it('is alive afterwards, the canary call healthy, and every count back to its baseline', async () => {
    // The victim's producer survived everyone else's attempts on it.
    await expect(
      request(victim, 'pauseProducer', { producerId: known.victimProducer[0] as string }),
    ).resolves.toEqual({});
    for (const socket of [host, victim, outsider]) socket.close();
    expect(shard.exited()).toBeUndefined();
    await canary.assertHealthy();
    expect(await backToBaseline(shard, baseline, 20_000)).toEqual(baseline);
  });
});
