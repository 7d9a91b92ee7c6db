/**
 * Hostile datagrams and streams against the embedded TURN server of a real shard process
 * (a crash shows as the process exiting): each gets its STUN answer or is dropped, and
 * the shard goes on serving.
 */
import { randomBytes } from 'node:crypto';
import { Socket as UdpSocket } from 'node:dgram';
import { connect } from 'node:net';
import {
  Attr,
  Class,
  decode,
  Method,
  StunBuilder,
  StunMessage,
  TransportAddress,
} from '../../src/turn/stun-message';
import { turnRestCredentials } from '../../src/turn/turn-credentials';
import { eventually } from '../support/node-participant';
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

const SECRET = 'hostile-input-turn-secret';
const newId = () => randomBytes(12);
const binding = () => new StunBuilder(Method.Binding, Class.Request, newId()).build();

async function answerTo(client: StunClient, raw: Buffer): Promise<StunMessage> {
  const answer = await client.request(raw);
  if (!answer) throw new Error(`no answer over ${client.transport} to ${raw.toString('hex')}`);
  const message = decode(answer);
  if (!message) throw new Error(`an unreadable answer: ${answer.toString('hex')}`);
  expect(message.transactionId).toEqual(raw.subarray(8, 20));
  return message;
}

describe('embedded TURN server of a shard process under hostile input', () => {
  let certificate: Certificate;
  let shard: ShardProcess;
  let tlsPort: number;
  let peer: UdpSocket;
  let peerAddress: TransportAddress;
  const clients: StunClient[] = [];
  const open = async (transport: Transport) => {
    const port = transport === 'tls' ? tlsPort : shard.turnPort!;
    const client = await StunClient.open(transport, port);
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    certificate = await selfSignedCertificate();
    const echo = await udpEchoPeer();
    peer = echo.socket;
    peerAddress = { address: '127.0.0.1', port: echo.port };
    shard = await startShardProcess({
      env: {
        TURN_MODE: 'embedded',
        TURN_SECRET: SECRET,
        TURN_ALLOWED_PEER_RANGES: '127.0.0.1/32',
        TURN_TLS_CERT_FILE: certificate.certFile,
        TURN_TLS_KEY_FILE: certificate.keyFile,
      },
    });
    tlsPort = shard.turnTlsPort!;
  });

  afterEach(() => {
    clients.splice(0).forEach((client) => client.close());
    expect(shard.exited()).toBeUndefined();
  });

  afterAll(async () => {
    await shard?.stop();
    peer?.close();
    certificate?.remove();
  });

  it.each(['udp', 'tcp', 'tls'] as const)(
    'answers a nonce whose signature is 24 characters but not 24 bytes with 438 (%s)',
    async (transport) => {
      const client = await open(transport);
      const { username } = turnRestCredentials(SECRET, 'mallory', 3600);
      const forged = new StunBuilder(Method.Allocate, Class.Request, newId())
        .add(Attr.RequestedTransport, requestTransportUdp)
        .addString(Attr.Username, username)
        .addString(Attr.Realm, 'video-window')
        .addString(Attr.Nonce, `ffffffff.${'é'.repeat(24)}`)
        .build(randomBytes(16));
      const answer = await answerTo(client, forged);
      expect(errorCode(answer)).toBe(438);
      expect(answer.attributes.get(Attr.Nonce)?.toString()).toMatch(/^[0-9a-f]+\.[0-9a-f]{24}$/);
      expect((await answerTo(client, binding())).cls).toBe(Class.Success);
    },
  );

  describe('with an allocation', () => {
    let client: StunClient;
    let auth: TurnAuth;
    const request = (method: number) => new StunBuilder(method, Class.Request, newId());

    beforeEach(async () => {
      client = await open('udp');
      auth = await authenticate(client, SECRET, 'zero-port');
      const allocated = await answerTo(
        client,
        signed(request(Method.Allocate).add(Attr.RequestedTransport, requestTransportUdp), auth),
      );
      expect(allocated.cls).toBe(Class.Success);
    });

    it('refuses a channel to port 0 with 400 and still binds one to the real peer', async () => {
      const toPortZero = signed(
        request(Method.ChannelBind)
          .addUInt32(Attr.ChannelNumber, 0x4000 << 16)
          .addXorAddress(Attr.XorPeerAddress, { address: '127.0.0.1', port: 0 }),
        auth,
      );
      expect(errorCode(await answerTo(client, toPortZero))).toBe(400);

      const toPeer = signed(
        request(Method.ChannelBind)
          .addUInt32(Attr.ChannelNumber, 0x4000 << 16)
          .addXorAddress(Attr.XorPeerAddress, peerAddress),
        auth,
      );
      expect((await answerTo(client, toPeer)).cls).toBe(Class.Success);
      client.send(Buffer.from([0x40, 0x00, 0x00, 0x04, 1, 2, 3, 4]));
      const echoed = await eventually(
        () => client.other.find((message) => message[0] === 0x40),
        (message) => message !== undefined,
        5_000,
      );
      expect(echoed).toEqual(Buffer.from([0x40, 0x00, 0x00, 0x04, 1, 2, 3, 4]));
    });

    it('drops a Send indication to port 0 and goes on relaying', async () => {
      const permitted = await answerTo(
        client,
        signed(
          request(Method.CreatePermission).addXorAddress(Attr.XorPeerAddress, peerAddress),
          auth,
        ),
      );
      expect(permitted.cls).toBe(Class.Success);
      const send = (to: TransportAddress, data: Buffer) =>
        new StunBuilder(Method.Send, Class.Indication, newId())
          .addXorAddress(Attr.XorPeerAddress, to)
          .add(Attr.Data, data)
          .build();
      client.send(send({ address: '127.0.0.1', port: 0 }, Buffer.from('nowhere')));
      client.send(send(peerAddress, Buffer.from('somewhere')));
      const data = await eventually(
        () => client.other.map(decode).find((message) => message?.method === Method.Data),
        (message) => message !== undefined,
        5_000,
      );
      expect(data?.attributes.get(Attr.Data)?.toString()).toBe('somewhere');
      expect((await answerTo(client, binding())).cls).toBe(Class.Success);
    });
  });

  describe('requests it can identify but not read get 400 Bad Request', () => {
    const software = (id = newId()) =>
      new StunBuilder(Method.Binding, Class.Request, id).addString(Attr.Software, 'hostile');
    const cases: [string, () => Buffer][] = [
      [
        'an attribute longer than the message',
        () => {
          const raw = software().build();
          raw.writeUInt16BE(200, 22);
          return raw;
        },
      ],
      [
        'a wrong FINGERPRINT',
        () => {
          const raw = software().build(undefined, true);
          raw[25] ^= 1;
          return raw;
        },
      ],
      [
        'a peer address of an unknown family',
        () =>
          new StunBuilder(Method.CreatePermission, Class.Request, newId())
            .add(Attr.XorPeerAddress, Buffer.from([0, 3, 0, 0, 1, 2, 3, 4]))
            .build(),
      ],
      [
        'a length that is not a multiple of four',
        () => {
          const raw = Buffer.concat([software().build(), Buffer.from([1, 2, 3])]);
          raw.writeUInt16BE(raw.length - 20, 2);
          return raw;
        },
      ],
    ];

    it.each(['udp', 'tcp'] as const)('over %s', async (transport) => {
      const client = await open(transport);
      for (const [what, make] of cases) {
        const answer = await answerTo(client, make());
        expect([what, answer.cls, errorCode(answer)]).toEqual([what, Class.Error, 400]);
      }
    });

    it('over UDP, a datagram shorter than its header says', async () => {
      const client = await open('udp');
      const answer = await answerTo(client, software().build().subarray(0, 24));
      expect(errorCode(answer)).toBe(400);
    });
  });

  describe('stream framing', () => {
    it('closes a TCP connection that sends neither STUN nor ChannelData', async () => {
      const client = await open('tcp');
      client.send(Buffer.from([0xff, ...randomBytes(40)]));
      expect(await eventually(() => client.closed, Boolean, 5_000)).toBe(true);
    });

    it('answers a request that arrives a few bytes at a time', async () => {
      const client = await open('tcp');
      const request = binding();
      const answered = client.request(request);
      for (let offset = 0; offset < request.length; offset += 7) {
        client.send(request.subarray(offset, offset + 7));
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const answer = await answered;
      expect(answer && decode(answer)?.cls).toBe(Class.Success);
    });

    it('survives frames cut short by a closing client, and TLS garbage', async () => {
      for (const [port, bytes] of [
        [shard.turnPort!, Buffer.from([0x40, 0x00, 0xff, 0xff, 1, 2, 3])],
        [shard.turnPort!, binding().subarray(0, 13)],
        [tlsPort, Buffer.from([0x16, 3, 1, 0, 5, 1, 0, 0, 1, 0])],
        [tlsPort, randomBytes(64)],
      ] as const) {
        await new Promise<void>((resolve) => {
          const socket = connect(port, '127.0.0.1', () => socket.end(bytes));
          socket.on('error', () => undefined);
          socket.on('close', () => resolve());
          socket.resume();
        });
      }
      for (const transport of ['tcp', 'tls'] as const) {
        const client = await open(transport);
        expect((await answerTo(client, binding())).cls).toBe(Class.Success);
      }
    });
  });
});
