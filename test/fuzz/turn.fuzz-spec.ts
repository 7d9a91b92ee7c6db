/**
 * The TURN/STUN door under fuzzing, against a shard process: generated and mutated
 * STUN/TURN messages over UDP, TCP and TLS, unauthenticated and signed with valid REST
 * credentials and a nonce from a real 401 challenge (so that they reach Allocate,
 * Refresh, CreatePermission, ChannelBind and Send); allocation sessions with hostile
 * ChannelData and hostile peer datagrams; hostile stream framing and TLS handshakes.
 * Every request whose header reads gets its answer (never 500, never silence); then the
 * shard lives, the canary call is healthy and every count is back at its baseline.
 *
 * Only loopback is ever sent to: relay sockets bind to 127.0.0.1 (test configuration),
 * the only peer the policy lets through is 127.0.0.1, and a message whose (mutated) peer
 * address the server would relay to anything but the test's own peer port is not sent.
 */
import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import { Socket as UdpSocket } from 'node:dgram';
import { connect, Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { PeerAddressPolicy } from '../../src/turn/peer-address-policy';
import {
  Attr,
  Class,
  decode,
  decodeHeader,
  decodeXorAddress,
  integrityValid,
  MessageClass,
  Method,
  StunBuilder,
  TransportAddress,
} from '../../src/turn/stun-message';
import {
  backToBaseline,
  CanaryCall,
  FuzzProgress,
  fuzzParameters,
  fuzzTimeout,
  largeRun,
  ObjectCounts,
  objectCounts,
} from '../support/fuzz';
import { ShardProcess, startShardProcess } from '../support/shard-process';
import {
  authenticate,
  errorCode,
  requestTransportUdp,
  signed,
  StunClient,
  Transport,
  TurnAuth,
} from '../support/stun-client';
import { Certificate, selfSignedCertificate, udpEchoPeer } from '../support/turn-tools';

const SECRET = 'turn-fuzz-shared-secret';
const ALLOWED_PEERS = ['127.0.0.1/32'];
/** The errors a request may get. 500 (an internal failure) is not among them. */
const EXPECTED_CODES = new Set([400, 401, 403, 420, 437, 438, 440, 441, 442, 443, 486, 508]);
const HOSTILE_NONCE = Buffer.from(`ffffffff.${'é'.repeat(24)}`);
/** Answers come within milliseconds; this only bounds the wait on a loaded machine. */
const ANSWER_TIMEOUT_MS = 10_000;
/** Nonces last 600 s: long runs fetch new ones (and new credentials) every 5 minutes. */
const REAUTHENTICATE_MS = 300_000;

// --- what is generated ---

const PEERS = ['echo', 'port-zero', 'other-loopback', 'private', 'ipv6'] as const;
type PeerName = (typeof PEERS)[number];

type AttributeSpec =
  | { kind: 'bytes'; type: number; value: Buffer }
  | { kind: 'text'; type: number; text: string }
  | { kind: 'peer'; peer: PeerName };

type Auth = 'none' | 'valid' | 'wrong-key' | 'hostile-nonce' | 'integrity-only';

type Mutation =
  | { kind: 'none' }
  | { kind: 'flip'; bits: number[] }
  | { kind: 'truncate'; at: number }
  | { kind: 'length'; value: number }
  | { kind: 'append'; bytes: Buffer };

interface MessageSpec {
  method: number;
  cls: MessageClass;
  attributes: AttributeSpec[];
  auth: Auth;
  fingerprint: boolean;
  mutation: Mutation;
}

const bytes = (maxLength: number) =>
  fc.uint8Array({ maxLength }).map((array) => Buffer.from(array));
const uint32 = (value: number) => {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32BE(value >>> 0);
  return buffer;
};
const attributeBytes = (type: number, value: fc.Arbitrary<Buffer>) =>
  fc.record({ kind: fc.constant('bytes' as const), type: fc.constant(type), value });

const text = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary-ascii', maxLength: 300 }),
  fc.constant(HOSTILE_NONCE.toString()),
);

/** Mostly attributes a server understands (with good and bad values), some junk. */
const attribute: fc.Arbitrary<AttributeSpec> = fc.oneof(
  fc.record({
    kind: fc.constant('text' as const),
    type: fc.constantFrom(Attr.Username, Attr.Realm, Attr.Nonce, Attr.Software),
    text,
  }),
  fc.record({ kind: fc.constant('peer' as const), peer: fc.constantFrom(...PEERS) }),
  attributeBytes(Attr.XorPeerAddress, bytes(24)),
  attributeBytes(Attr.Lifetime, fc.oneof(fc.nat().map(uint32), bytes(8))),
  attributeBytes(
    Attr.RequestedTransport,
    fc.oneof(
      fc.constantFrom(17, 6, 0, 255).map((p) => Buffer.from([p, 0, 0, 0])),
      bytes(6),
    ),
  ),
  attributeBytes(
    Attr.RequestedAddressFamily,
    fc.oneof(
      fc.constantFrom(1, 2, 3).map((f) => Buffer.from([f, 0, 0, 0])),
      bytes(5),
    ),
  ),
  attributeBytes(
    Attr.EvenPort,
    fc.oneof(
      fc.constantFrom(0, 0x80).map((b) => Buffer.from([b])),
      bytes(4),
    ),
  ),
  attributeBytes(Attr.ReservationToken, bytes(12)),
  attributeBytes(
    Attr.ChannelNumber,
    fc.oneof(
      fc.integer({ min: 0x3ff0, max: 0x8010 }).map((n) => uint32(n * 0x10000)),
      bytes(6),
    ),
  ),
  attributeBytes(
    Attr.Data,
    fc.oneof(
      { weight: 9, arbitrary: bytes(1500) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 40_000 }).map((n) => Buffer.alloc(n, 7)) },
    ),
  ),
  // Integrity and fingerprint where they do not belong, and whatever else a type can be.
  fc.oneof(
    attributeBytes(Attr.MessageIntegrity, bytes(24)),
    attributeBytes(Attr.Fingerprint, bytes(6)),
    fc.record({
      kind: fc.constant('bytes' as const),
      type: fc.integer({ min: 0, max: 0xffff }),
      value: bytes(32),
    }),
  ),
);

const mutation = (weightOfNone: number): fc.Arbitrary<Mutation> =>
  fc.oneof(
    { weight: weightOfNone, arbitrary: fc.constant({ kind: 'none' as const }) },
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('flip' as const),
        bits: fc.array(fc.nat(), { minLength: 1, maxLength: 4 }),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }) },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant('length' as const), value: fc.nat(0xffff) }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('append' as const), bytes: bytes(16) }) },
  );

const KNOWN_METHODS = Object.values(Method);
const methodName = (method: number) =>
  Object.entries(Method).find(([, value]) => value === method)?.[0] ?? 'other methods';
/** An upper bound of an attribute's encoded size. */
const encodedSize = (a: AttributeSpec) =>
  4 +
  (a.kind === 'text' ? Buffer.byteLength(a.text) : a.kind === 'bytes' ? a.value.length : 20) +
  3;

/** Messages that fit the 16-bit STUN length and a UDP datagram, credentials included. */
const messageSpec = (auth: fc.Arbitrary<Auth>, weightOfNone: number): fc.Arbitrary<MessageSpec> =>
  fc
    .record({
      method: fc.oneof(
        { weight: 6, arbitrary: fc.constantFrom(...KNOWN_METHODS) },
        { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xfff }) },
      ),
      cls: fc.oneof(
        { weight: 8, arbitrary: fc.constant<MessageClass>(Class.Request) },
        {
          weight: 2,
          arbitrary: fc.constantFrom<MessageClass>(Class.Indication, Class.Success, Class.Error),
        },
      ),
      attributes: fc.array(attribute, { maxLength: 8 }),
      auth,
      fingerprint: fc.boolean(),
      mutation: mutation(weightOfNone),
    })
    .filter(({ attributes }) => attributes.reduce((sum, a) => sum + encodedSize(a), 0) < 64_000);

const anyAuth = fc.constantFrom<Auth>(
  'none',
  'valid',
  'valid',
  'valid',
  'wrong-key',
  'hostile-nonce',
  'integrity-only',
);

// --- from specs to bytes ---

function peerAddress(name: PeerName, echo: TransportAddress): TransportAddress {
  switch (name) {
    case 'echo':
      return echo;
    case 'port-zero':
      return { address: echo.address, port: 0 };
    case 'other-loopback':
      return { address: '127.0.0.2', port: echo.port };
    case 'private':
      return { address: '10.1.2.3', port: 3478 };
    case 'ipv6':
      return { address: '2001:db8::1', port: echo.port };
  }
}

/** On streams, mutations keep the framing (the first four bytes) intact. */
function mutate(raw: Buffer, change: Mutation, stream: boolean): Buffer {
  if (change.kind === 'flip') {
    const flipped = Buffer.from(raw);
    const from = stream ? 4 : 0;
    for (const bit of change.bits) {
      flipped[from + ((bit >> 3) % (raw.length - from))] ^= 1 << (bit & 7);
    }
    return flipped;
  }
  if (stream || change.kind === 'none') return raw;
  if (change.kind === 'truncate') return raw.subarray(0, change.at % raw.length);
  if (change.kind === 'append') return Buffer.concat([raw, change.bytes]);
  const relengthed = Buffer.from(raw);
  relengthed.writeUInt16BE(change.value, 2);
  return relengthed;
}

/**
 * The bytes of a generated message, and whether they carry valid credentials: signed with
 * the right key and left as signed (bytes appended after the message do not count).
 */
function build(spec: MessageSpec, auth: TurnAuth, echo: TransportAddress, stream: boolean) {
  const builder = new StunBuilder(spec.method, spec.cls, randomBytes(12));
  for (const a of spec.attributes) {
    if (a.kind === 'text') builder.addString(a.type, a.text);
    else if (a.kind === 'peer')
      builder.addXorAddress(Attr.XorPeerAddress, peerAddress(a.peer, echo));
    else builder.add(a.type, a.value);
  }
  const { fingerprint } = spec;
  const raw = {
    none: () => builder.build(undefined, fingerprint),
    valid: () => signed(builder, auth, fingerprint),
    'wrong-key': () => signed(builder, { ...auth, key: randomBytes(16) }, fingerprint),
    'hostile-nonce': () => signed(builder, { ...auth, nonce: HOSTILE_NONCE }, fingerprint),
    'integrity-only': () => builder.build(auth.key, fingerprint),
  }[spec.auth]();
  const mutated = mutate(raw, spec.mutation, stream);
  const intact = mutated.subarray(0, raw.length).equals(raw);
  return { raw: mutated, authentic: spec.auth === 'valid' && intact };
}

describe('TURN/STUN door fuzzing', () => {
  let certificate: Certificate;
  const policy = new PeerAddressPolicy(ALLOWED_PEERS);
  let shard: ShardProcess;
  let canary: CanaryCall;
  let baseline: ObjectCounts;
  let peer: UdpSocket;
  let echo: TransportAddress;
  const codes = new Map<string, number>();
  let skippedUnsafe = 0;
  let sessionSteps = 0;

  const count = (what: string) => codes.set(what, (codes.get(what) ?? 0) + 1);
  const alive = () => {
    const ended = shard.exited();
    if (ended) throw new Error(`the shard exited (${ended})\n${shard.output()}`);
  };
  const portOf = (transport: Transport) =>
    transport === 'tls' ? shard.turnTlsPort! : shard.turnPort!;

  /** Whether the server would relay what `raw` says only to loopback ports of this test. */
  const safe = (raw: Buffer) =>
    (decode(raw)?.peerAddresses ?? []).every(
      ({ address, port }) =>
        !policy.permits(address) ||
        (address === echo.address && (port === echo.port || port === 0)),
    );

  /**
   * Sends `raw` and checks the answer against what its bytes call for: nothing for
   * non-requests, 400 for a request that does not read, the Binding answer, a 401
   * challenge for an unsigned TURN request, else a success (only for an authentic
   * request, signed in return) or an expected error.
   */
  async function exchange(client: StunClient, raw: Buffer, authenticSpec: boolean, key: Buffer) {
    const header = decodeHeader(raw);
    if (header?.cls !== Class.Request) {
      client.send(raw);
      count('not a request');
      return undefined;
    }
    const answerBytes = await client.request(raw, ANSWER_TIMEOUT_MS);
    alive();
    const sent = () => `${client.transport} ${raw.toString('hex').slice(0, 400)}`;
    if (!answerBytes) throw new Error(`no answer to ${sent()}`);
    const answer = decode(answerBytes);
    if (!answer)
      throw new Error(`an unreadable answer ${answerBytes.toString('hex')} to ${sent()}`);
    const code = errorCode(answer);
    count(`${methodName(header.method)} ${code ?? 'success'}`);
    const problem = (why: string) => new Error(`${why}: answer ${code ?? 'success'} to ${sent()}`);
    if (answer.method !== header.method || !answer.transactionId.equals(header.transactionId)) {
      throw problem('an answer to another request');
    }
    if (answer.cls !== Class.Success && answer.cls !== Class.Error) throw problem('not an answer');
    const request = decode(raw);
    if (!request) {
      if (code !== 400) throw problem('an unreadable request needs 400');
    } else if (request.method === Method.Binding) {
      if ((code ?? 0) !== (request.unknown.length ? 420 : 0))
        throw problem('a wrong Binding answer');
    } else if (request.integrityOffset < 0) {
      const challenged = answer.attributes.has(Attr.Realm) && answer.attributes.has(Attr.Nonce);
      if (code !== 401 || !challenged) throw problem('an unsigned request needs a 401 challenge');
    } else if (code === undefined) {
      if (!authenticSpec) throw problem('success without valid credentials');
      if (!integrityValid(answer, key)) throw problem('a success not signed with the key');
    } else if (!EXPECTED_CODES.has(code)) {
      throw problem('an unexpected error code');
    }
    return answer;
  }

  /** A client with fresh credentials and a nonce, renewed when they grow old. */
  class FuzzClient {
    auth!: TurnAuth;
    private authenticatedAt = 0;

    private constructor(
      readonly client: StunClient,
      private readonly identity: string,
    ) {}

    static async open(transport: Transport, identity: string) {
      const opened = new FuzzClient(await StunClient.open(transport, portOf(transport)), identity);
      await opened.reauthenticateIfOld();
      return opened;
    }

    get stream() {
      return this.client.transport !== 'udp';
    }

    async reauthenticateIfOld() {
      if (Date.now() - this.authenticatedAt < REAUTHENTICATE_MS) return;
      this.auth = await authenticate(this.client, SECRET, this.identity);
      this.authenticatedAt = Date.now();
    }

    request(builder: StunBuilder) {
      return exchange(this.client, signed(builder, this.auth), true, this.auth.key);
    }

    /** Sends a generated message (unless its peer addresses are unsafe) and checks the answer. */
    async fuzz(spec: MessageSpec) {
      const { raw, authentic } = build(spec, this.auth, echo, this.stream);
      if (!safe(raw)) {
        skippedUnsafe++;
        return undefined;
      }
      return exchange(this.client, raw, authentic, this.auth.key);
    }

    async allocate() {
      const builder = new StunBuilder(Method.Allocate, Class.Request, randomBytes(12));
      return this.request(builder.add(Attr.RequestedTransport, requestTransportUdp));
    }

    /** Deallocates: Refresh with LIFETIME 0 (success, or 437 when nothing is left). */
    async deallocate() {
      const refresh = new StunBuilder(Method.Refresh, Class.Request, randomBytes(12));
      const answer = await this.request(refresh.addUInt32(Attr.Lifetime, 0));
      const code = errorCode(answer!);
      if (code !== undefined && code !== 437) throw new Error(`deallocation got ${code}`);
    }

    close() {
      this.client.close();
    }
  }

  /** fuzzParameters, with a large run's count divided by `share` for costlier inputs. */
  const parameters = <T>(smallRuns: number, share = 1): fc.Parameters<T> => {
    const defaults = fuzzParameters<T>(smallRuns);
    return largeRun() ? { ...defaults, numRuns: Math.ceil(defaults.numRuns! / share) } : defaults;
  };

  beforeAll(async () => {
    certificate = await selfSignedCertificate();
    const echoPeer = await udpEchoPeer();
    peer = echoPeer.socket;
    echo = { address: '127.0.0.1', port: echoPeer.port };
    shard = await startShardProcess({
      env: {
        TURN_MODE: 'embedded',
        TURN_SECRET: SECRET,
        TURN_ALLOWED_PEER_RANGES: ALLOWED_PEERS.join(','),
        TURN_TLS_CERT_FILE: certificate.certFile,
        TURN_TLS_KEY_FILE: certificate.keyFile,
      },
    });
    canary = await CanaryCall.start(shard.url);
    baseline = await objectCounts(shard);
  }, 60_000);

  afterAll(async () => {
    if (process.env.FUZZ_PROGRESS) {
      const answers = [...codes].map(([what, n]) => `${what}: ${n}`).join(', ');
      process.stderr.write(
        `[fuzz] turn: ${sessionSteps} session steps; answers: ${answers}; ` +
          `not sent (a peer outside the test): ${skippedUnsafe}\n`,
      );
    }
    canary?.close();
    await shard?.stop();
    peer?.close();
    certificate?.remove();
  });

  it(
    'answers every generated and mutated message over UDP, TCP and TLS as its bytes call for',
    async () => {
      const clients = {
        udp: await FuzzClient.open('udp', 'fuzz-single'),
        tcp: await FuzzClient.open('tcp', 'fuzz-single'),
        tls: await FuzzClient.open('tls', 'fuzz-single'),
      };
      // An allocation to start with, so that signed requests reach past it.
      for (const client of Object.values(clients)) await client.allocate();
      const runs = parameters<[Transport, MessageSpec]>(1_500);
      const progress = new FuzzProgress('turn single messages', runs.numRuns);
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom<Transport>('udp', 'udp', 'udp', 'tcp', 'tcp', 'tls'),
          messageSpec(anyAuth, 5),
          async (transport, spec) => {
            const client = clients[transport];
            await client.reauthenticateIfOld();
            await client.fuzz(spec);
            progress.tick();
            if (client.client.closed) throw new Error(`the server closed the ${transport} client`);
          },
        ),
        runs,
      );
      progress.done();
      for (const client of Object.values(clients)) {
        await client.deallocate();
        client.close();
      }
    },
    fuzzTimeout(60_000),
  );

  type Step =
    | { kind: 'message'; spec: MessageSpec }
    | { kind: 'permission'; peer: PeerName }
    | { kind: 'channel'; channel: number; peer: PeerName }
    | { kind: 'send'; peer: PeerName; data: Buffer }
    | { kind: 'channel-data'; channel: number; data: Buffer; claimedExtra: number }
    | { kind: 'from-peer'; size: number }
    | { kind: 'refresh'; lifetime: number };

  const channelNumber = fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min: 0x4000, max: 0x4003 }) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }) },
  );
  const step: fc.Arbitrary<Step> = fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({
        kind: fc.constant('message' as const),
        spec: messageSpec(fc.constantFrom<Auth>('valid', 'valid', 'valid', 'none'), 5),
      }),
    },
    fc.record({ kind: fc.constant('permission' as const), peer: fc.constantFrom(...PEERS) }),
    fc.record({
      kind: fc.constant('channel' as const),
      channel: channelNumber,
      peer: fc.constantFrom(...PEERS),
    }),
    fc.record({
      kind: fc.constant('send' as const),
      peer: fc.constantFrom(...PEERS),
      data: bytes(1200),
    }),
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('channel-data' as const),
        channel: channelNumber,
        data: bytes(1200),
        claimedExtra: fc.oneof(fc.constant(0), fc.integer({ min: -4, max: 8 })),
      }),
    },
    fc.record({
      kind: fc.constant('from-peer' as const),
      size: fc.oneof(fc.integer({ min: 0, max: 1500 }), fc.constantFrom(65_507, 65_000, 9_000)),
    }),
    fc.record({ kind: fc.constant('refresh' as const), lifetime: fc.nat() }),
  );

  async function take(client: FuzzClient, relayed: TransportAddress | undefined, next: Step) {
    const request = (method: number) => new StunBuilder(method, Class.Request, randomBytes(12));
    switch (next.kind) {
      case 'message':
        return client.fuzz(next.spec);
      case 'permission':
        return client.request(
          request(Method.CreatePermission).addXorAddress(
            Attr.XorPeerAddress,
            peerAddress(next.peer, echo),
          ),
        );
      case 'channel':
        return client.request(
          request(Method.ChannelBind)
            .addUInt32(Attr.ChannelNumber, next.channel * 0x10000)
            .addXorAddress(Attr.XorPeerAddress, peerAddress(next.peer, echo)),
        );
      case 'refresh':
        return client.request(request(Method.Refresh).addUInt32(Attr.Lifetime, next.lifetime));
      case 'send':
        return client.client.send(
          new StunBuilder(Method.Send, Class.Indication, randomBytes(12))
            .addXorAddress(Attr.XorPeerAddress, peerAddress(next.peer, echo))
            .add(Attr.Data, next.data)
            .build(),
        );
      case 'channel-data': {
        // Streams frame by the length and the first byte: only real channels, true lengths.
        const stream = client.stream;
        const channel = stream ? 0x4000 | (next.channel & 0x3fff) : next.channel;
        const claimed = stream
          ? next.data.length
          : Math.max(0, next.data.length + next.claimedExtra);
        const padding = stream ? (4 - (next.data.length % 4)) % 4 : 0;
        const frame = Buffer.alloc(4 + next.data.length + padding);
        frame.writeUInt16BE(channel, 0);
        frame.writeUInt16BE(claimed, 2);
        next.data.copy(frame, 4);
        return client.client.send(frame);
      }
      case 'from-peer':
        if (relayed) peer.send(Buffer.alloc(next.size, 0x5a), relayed.port, relayed.address);
        return undefined;
    }
  }

  it(
    'keeps sessions of allocation, permissions, channels and relaying working under hostile steps',
    async () => {
      const runs = parameters<[Transport, number, Step[]]>(150, 5);
      const progress = new FuzzProgress('turn sessions', runs.numRuns);
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom<Transport>('udp', 'udp', 'udp', 'tcp', 'tcp', 'tls'),
          fc.nat(7),
          fc.array(step, { minLength: 1, maxLength: 10 }),
          async (transport, user, steps) => {
            const client = await FuzzClient.open(transport, `fuzz-session-${user}`);
            try {
              const allocated = await client.allocate();
              if (allocated?.cls !== Class.Success) {
                throw new Error(`the session's Allocate got ${errorCode(allocated!)}`);
              }
              const relayedValue = allocated.attributes.get(Attr.XorRelayedAddress);
              const relayed =
                relayedValue && decodeXorAddress(relayedValue, allocated.transactionId);
              for (const next of steps) await take(client, relayed, next);
              sessionSteps += steps.length;
              progress.tick();
              if (client.client.closed)
                throw new Error(`the server closed the ${transport} client`);
              await client.deallocate();
            } finally {
              client.close();
            }
          },
        ),
        runs,
      );
      progress.done();
    },
    fuzzTimeout(60_000),
  );

  const binding = () => new StunBuilder(Method.Binding, Class.Request, randomBytes(12)).build();
  const chunk = fc.oneof(
    bytes(64),
    fc.constant(Buffer.from([0xff, 0x00, 0x00, 0x00])),
    fc.constant(null).map(() => binding()),
    fc.nat(19).map((n) => binding().subarray(0, n)),
    fc.constant(Buffer.from([0x40, 0x00, 0xff, 0xff])),
    fc.constant(null).map(() => {
      const header = binding();
      header.writeUInt16BE(0xfffc, 2);
      return header;
    }),
    fc
      .integer({ min: 0, max: 70_000 })
      .chain((n) =>
        fc.constantFrom(Buffer.alloc(n, 0), Buffer.alloc(n, 0x40), Buffer.alloc(n, 0x16)),
      ),
  );

  it(
    'survives hostile stream framing and TLS handshakes, and goes on serving streams',
    async () => {
      const probe = await FuzzClient.open('tcp', 'fuzz-probe');
      const runs = parameters<[string, Buffer[], string]>(60, 20);
      const progress = new FuzzProgress('turn stream connections', runs.numRuns);
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom('tcp', 'tls', 'raw-to-tls'),
          fc.array(chunk, { minLength: 1, maxLength: 6 }),
          fc.constantFrom('end', 'destroy'),
          async (kind, chunks, ending) => {
            const port = kind === 'tcp' ? shard.turnPort! : shard.turnTlsPort!;
            const socket: Socket = await new Promise((resolve, reject) => {
              const opened =
                kind === 'tls'
                  ? connectTls({ port, host: '127.0.0.1', rejectUnauthorized: false }, () =>
                      resolve(opened),
                    )
                  : connect(port, '127.0.0.1', () => resolve(opened));
              opened.once('error', reject);
            });
            socket.on('error', () => undefined);
            socket.resume();
            const closed = new Promise((resolve) => socket.once('close', resolve));
            for (const piece of chunks) if (!socket.destroyed) socket.write(piece);
            if (ending === 'end') socket.end();
            else socket.destroy();
            await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 200))]);
            socket.destroy();
            progress.tick();
            const answer = await exchange(probe.client, binding(), false, probe.auth.key);
            if (answer?.cls !== Class.Success) throw new Error('the probe was not answered');
          },
        ),
        runs,
      );
      progress.done();
      probe.close();
    },
    fuzzTimeout(60_000),
  );

  it('leaves the shard alive, the canary call healthy and every count at its baseline', async () => {
    alive();
    await canary.assertHealthy();
    expect(await backToBaseline(shard, baseline)).toEqual(baseline);
    expect([...codes.keys()].filter((answer) => answer.endsWith(' 500'))).toEqual([]);
  }, 60_000);
});
