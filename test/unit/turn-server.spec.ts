/**
 * The TURN server and an allocation in this process, with real sockets and clients,
 * where faults can be injected that no client can cause: relay and listening sockets
 * that fail, a logger that throws (standing in for any internal failure while a request
 * is handled), a client that cannot be sent to.
 */
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import pino from 'pino';
import { Allocation } from '../../src/turn/allocation';
import {
  Attr,
  Class,
  decode,
  decodeXorAddress,
  Method,
  StunBuilder,
  StunMessage,
} from '../../src/turn/stun-message';
import { TurnServer, TurnServerOptions } from '../../src/turn/turn-server';
import { eventually } from '../support/node-participant';
import {
  authenticate,
  errorCode,
  requestTransportUdp,
  signed,
  StunClient,
  Transport,
  TurnAuth,
} from '../support/stun-client';
import { Certificate, loopbackTurnOptions, selfSignedCertificate } from '../support/turn-tools';

const SECRET = 'turn-server-spec-secret';

interface LogLine {
  level: number;
  msg: string;
  err?: { message: string };
}

describe('TURN server faults', () => {
  let certificate: Certificate;
  const lines: LogLine[] = [];
  /** A message whose logging throws, or none. */
  let failingLogMessage: string | undefined;
  let server: TurnServer;
  let startServer: (overrides?: Partial<TurnServerOptions>) => Promise<void>;
  const clients: StunClient[] = [];

  const logged = (msg: string) => lines.filter((line) => line.msg === msg);
  const request = (method: number) => new StunBuilder(method, Class.Request, randomBytes(12));
  const allocate = () => request(Method.Allocate).add(Attr.RequestedTransport, requestTransportUdp);
  const open = async (transport: Transport = 'udp') => {
    const port = transport === 'tls' ? server.tlsPort : server.port;
    const client = await StunClient.open(transport, port);
    clients.push(client);
    return client;
  };
  const answerTo = async (client: StunClient, raw: Buffer): Promise<StunMessage> => {
    const answer = await client.request(raw);
    const message = answer && decode(answer);
    if (!message) throw new Error(`no readable answer to ${raw.toString('hex')}`);
    return message;
  };
  /** A client with credentials of `identity` and, unless told otherwise, an allocation. */
  const allocated = async (identity: string, transport: Transport = 'udp') => {
    const client = await open(transport);
    const auth = await authenticate(client, SECRET, identity);
    const answer = await answerTo(client, signed(allocate(), auth));
    const relayed = answer.attributes.get(Attr.XorRelayedAddress);
    const relayPort = relayed && decodeXorAddress(relayed, answer.transactionId)?.port;
    return { client, auth, answer, relayPort };
  };
  const allocationOn = (relayPort?: number): Allocation => {
    const allocation = [...server['allocations']].find(
      (candidate) => candidate.relayedAddress?.port === relayPort,
    );
    if (!allocation) throw new Error(`no allocation relays on port ${relayPort}`);
    return allocation;
  };

  beforeAll(async () => {
    certificate = await selfSignedCertificate();
  });

  beforeEach(async () => {
    lines.length = 0;
    failingLogMessage = undefined;
    const logger = pino(
      {
        level: 'debug',
        hooks: {
          logMethod(args, method) {
            if (failingLogMessage && args.includes(failingLogMessage)) {
              throw new Error('injected failure');
            }
            return method.apply(this, args);
          },
        },
      },
      { write: (line: string) => lines.push(JSON.parse(line) as LogLine) },
    );
    startServer = async (overrides = {}) => {
      server = new TurnServer(
        loopbackTurnOptions(SECRET, logger, {
          tls: {
            port: 0,
            cert: readFileSync(certificate.certFile),
            key: readFileSync(certificate.keyFile),
          },
          ...overrides,
        }),
      );
      await server.start();
    };
    await startServer();
  });

  afterEach(async () => {
    clients.splice(0).forEach((client) => client.close());
    await server.stop();
  });

  afterAll(() => certificate?.remove());

  it('releases an allocation whose relay socket fails or closes, once: quota, client and count', async () => {
    const first = await allocated('quota');
    const second = await allocated('quota');
    expect([first.answer.cls, second.answer.cls]).toEqual([Class.Success, Class.Success]);
    const third = await allocated('quota');
    expect(errorCode(third.answer)).toBe(486);

    const failure = Object.assign(new Error('send EINVAL'), { code: 'EINVAL', syscall: 'send' });
    allocationOn(first.relayPort).relay.emit('error', failure);
    expect(server.allocationCount).toBe(1);
    const refreshed = await answerTo(first.client, signed(request(Method.Refresh), first.auth));
    expect(errorCode(refreshed)).toBe(437);
    // Exactly one slot came free: the third client gets it, a fourth does not.
    expect((await answerTo(third.client, signed(allocate(), third.auth))).cls).toBe(Class.Success);
    expect(errorCode((await allocated('quota')).answer)).toBe(486);
    expect(logged('TURN relay socket failed').map((line) => line.err?.message)).toEqual([
      'send EINVAL',
    ]);

    allocationOn(second.relayPort).relay.close();
    expect(
      await eventually(
        () => server.allocationCount,
        (count) => count === 1,
        2_000,
      ),
    ).toBe(1);
    expect((await answerTo(second.client, signed(allocate(), second.auth))).cls).toBe(
      Class.Success,
    );
    expect(server.allocationCount).toBe(2);
  });

  it('answers a second Allocate that arrives while the first still binds with 437, not silence', async () => {
    const client = await open('tcp');
    const auth = await authenticate(client, SECRET, 'impatient');
    // One write: the server reads both before the first one's relay socket is bound.
    client.send(Buffer.concat([signed(allocate(), auth), signed(allocate(), auth)]));
    const answers = await eventually(
      () => client.other.map((raw) => decode(raw)!),
      (received) => received.length >= 2,
      5_000,
    );
    expect(answers.map((answer) => errorCode(answer) ?? answer.cls)).toEqual([437, Class.Success]);
  });

  it.each(['udp', 'tcp', 'tls'] as const)(
    'answers 500 to a request whose handling fails, logs it once and goes on (%s)',
    async (transport) => {
      const { client, auth } = await allocated('failing', transport);
      const permission = (address: string) =>
        signed(
          request(Method.CreatePermission).addXorAddress(Attr.XorPeerAddress, {
            address,
            port: 9,
          }),
          auth,
        );
      failingLogMessage = 'TURN peer refused';
      expect(errorCode(await answerTo(client, permission('127.0.0.2')))).toBe(500);
      expect(logged('TURN message handling failed')).toHaveLength(1);

      failingLogMessage = undefined;
      expect(errorCode(await answerTo(client, permission('127.0.0.2')))).toBe(403);
      expect((await answerTo(client, permission('127.0.0.1'))).cls).toBe(Class.Success);
    },
  );

  it('answers 500 to an Allocate that fails after binding its relay', async () => {
    const client = await open();
    const auth: TurnAuth = await authenticate(client, SECRET, 'late-failure');
    failingLogMessage = 'TURN allocation created';
    expect(errorCode(await answerTo(client, signed(allocate(), auth)))).toBe(500);
    expect(logged('TURN message handling failed')).toHaveLength(1);
    failingLogMessage = undefined;
    const binding = await answerTo(client, request(Method.Binding).build());
    expect(binding.cls).toBe(Class.Success);
  });

  it('logs errors of its UDP socket and TCP and TLS listeners instead of throwing them', async () => {
    server['udp']!.emit('error', new Error('udp trouble'));
    server['tcp']!.emit('error', new Error('accept EMFILE'));
    server['tls']!.emit('error', new Error('tls accept EMFILE'));
    expect(lines.map((line) => line.err?.message)).toEqual(
      expect.arrayContaining(['udp trouble', 'accept EMFILE', 'tls accept EMFILE']),
    );
    for (const transport of ['udp', 'tcp', 'tls'] as const) {
      const answer = await answerTo(await open(transport), request(Method.Binding).build());
      expect(answer.cls).toBe(Class.Success);
    }
  });

  it('closes an idle TCP connection once its allocation has ended by itself', async () => {
    await server.stop();
    await startServer({ defaultLifetimeSeconds: 1, maxLifetimeSeconds: 1, streamIdleMs: 300 });
    const { client, answer } = await allocated('idle', 'tcp');
    expect(answer.cls).toBe(Class.Success);
    // Idle past the idle time while allocated: the connection stays...
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(client.closed).toBe(false);
    // ...and goes once the allocation has expired and it is still idle.
    expect(await eventually(() => client.closed, Boolean, 3_000)).toBe(true);
    expect(server.allocationCount).toBe(0);
  });

  it('logs the failure of a relay on a reserved port once, as its allocation fails', async () => {
    const reserver = await open();
    const reserving = await answerTo(
      reserver,
      signed(
        allocate().add(Attr.EvenPort, Buffer.from([0x80])),
        await authenticate(reserver, SECRET, 'a'),
      ),
    );
    const token = reserving.attributes.get(Attr.ReservationToken)!;
    const claimer = await open();
    const claim = allocate().add(Attr.ReservationToken, token);
    const claimed = await answerTo(
      claimer,
      signed(claim, await authenticate(claimer, SECRET, 'b')),
    );
    const relayed = claimed.attributes.get(Attr.XorRelayedAddress)!;
    const port = decodeXorAddress(relayed, claimed.transactionId)!.port;
    allocationOn(port).relay.emit('error', new Error('reserved relay trouble'));
    expect(lines.filter((line) => line.err?.message === 'reserved relay trouble')).toHaveLength(1);
    expect(server.allocationCount).toBe(1);
  });

  it('drops a reserved port whose socket fails (the token then gets 508)', async () => {
    const client = await open();
    const auth = await authenticate(client, SECRET, 'reserving');
    const reserving = await answerTo(
      client,
      signed(allocate().add(Attr.EvenPort, Buffer.from([0x80])), auth),
    );
    const token = reserving.attributes.get(Attr.ReservationToken)!;
    expect(token).toHaveLength(8);
    const [{ socket }] = [...server['reservations'].values()];
    socket.emit('error', new Error('reserved port trouble'));
    expect(server['reservations'].size).toBe(0);
    expect(logged('TURN reserved port failed')).toHaveLength(1);

    const other = await open();
    const claim = allocate().add(Attr.ReservationToken, token);
    const answer = await answerTo(other, signed(claim, await authenticate(other, SECRET, 'b')));
    expect(errorCode(answer)).toBe(508);
  });
});

describe('TURN allocation', () => {
  it('ends, telling its owner once, when relaying a peer datagram fails', async () => {
    const closings: (Error | undefined)[] = [];
    const allocation = new Allocation(
      '1',
      'user',
      () => {
        throw new Error('client gone');
      },
      false,
      0,
      (_closed, error) => closings.push(error),
    );
    await allocation.bind('127.0.0.1', '127.0.0.1', false);
    allocation.permit('127.0.0.1');
    const peer = createSocket('udp4');
    await new Promise<void>((resolve) => peer.bind(0, '127.0.0.1', resolve));
    try {
      peer.send(Buffer.from('hello'), allocation.relayedAddress.port, '127.0.0.1');
      await eventually(
        () => closings.length,
        (count) => count > 0,
        2_000,
      );
      allocation.close();
      expect(closings.map((error) => error?.message)).toEqual(['client gone']);
      expect(allocation.isClosed).toBe(true);
    } finally {
      peer.close();
    }
  });
});
