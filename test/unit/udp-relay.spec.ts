/**
 * The native UDP relay (src/turn/native, built by `npm run build`): through the TURN
 * server with real clients and peers in both relay modes, and alone, where expiries,
 * send failures and removal can be driven directly.
 */
import { randomBytes } from 'node:crypto';
import { createSocket, Socket } from 'node:dgram';
import { once } from 'node:events';
import pino from 'pino';
import {
  Attr,
  Class,
  decode,
  decodeXorAddress,
  Method,
  StunBuilder,
} from '../../src/turn/stun-message';
import { TurnServer } from '../../src/turn/turn-server';
import { loadUdpRelayAddon, OffloadedAllocation, UdpRelay } from '../../src/turn/udp-relay';
import { eventually } from '../support/node-participant';
import { authenticate, requestTransportUdp, signed, StunClient } from '../support/stun-client';
import { loopbackTurnOptions } from '../support/turn-tools';

const SECRET = 'udp-relay-spec-secret';
const CHANNEL = 0x4001;

async function boundSocket(): Promise<Socket> {
  const socket = createSocket('udp4');
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  return socket;
}

/** Datagrams a socket receives, in order. */
function collect(socket: Socket): Buffer[] {
  const seen: Buffer[] = [];
  socket.on('message', (message) => seen.push(message));
  return seen;
}

const channelData = (number: number, payload: Buffer, claimed = payload.length) =>
  Buffer.concat([Buffer.from([number >> 8, number & 0xff, claimed >> 8, claimed & 0xff]), payload]);

const settle = () => new Promise((resolve) => setTimeout(resolve, 150));

it('is built, so the TURN server relays natively by default', () => {
  expect(loadUdpRelayAddon()).toBeDefined();
});

describe.each(['native', 'node'] as const)('TURN relaying over UDP (%s)', (udpRelay) => {
  let server: TurnServer;
  let client: StunClient;
  let peer: Socket;
  let peerSeen: Buffer[];
  let relayPort: number;
  let sign: (builder: StunBuilder) => Buffer;

  const request = (method: number) => new StunBuilder(method, Class.Request, randomBytes(12));
  const withPeer = (builder: StunBuilder) =>
    builder.addXorAddress(Attr.XorPeerAddress, {
      address: '127.0.0.1',
      port: peer.address().port,
    });
  const succeeds = async (raw: Buffer) => {
    const answer = decode((await client.request(raw))!);
    expect(answer?.cls).toBe(Class.Success);
    return answer!;
  };
  const fromPeer = (payload: Buffer) => peer.send(payload, relayPort, '127.0.0.1');

  async function start(maxBitsPerSecond: number) {
    server = new TurnServer(
      loopbackTurnOptions(SECRET, pino({ level: 'silent' }), { maxBitsPerSecond, udpRelay }),
    );
    await server.start();
    client = await StunClient.open('udp', server.port);
    const auth = await authenticate(client, SECRET, 'alice');
    sign = (builder) => signed(builder, auth);
    const allocated = await succeeds(
      sign(request(Method.Allocate).add(Attr.RequestedTransport, requestTransportUdp)),
    );
    relayPort = decodeXorAddress(
      allocated.attributes.get(Attr.XorRelayedAddress)!,
      allocated.transactionId,
    )!.port;
    peer = await boundSocket();
    peerSeen = collect(peer);
  }

  afterEach(async () => {
    client.close();
    peer.close();
    await server.stop();
  });

  it('relays ChannelData both ways, and Data indications for a peer without a channel', async () => {
    await start(0);
    expect(!!server['udpRelay']).toBe(udpRelay === 'native');
    // A permission alone: the peer's datagrams come as Data indications.
    await succeeds(sign(withPeer(request(Method.CreatePermission))));
    fromPeer(Buffer.from('as an indication'));
    await eventually(
      () => client.other.length,
      (count) => count === 1,
      2_000,
    );
    const indication = decode(client.other[0])!;
    expect([indication.method, indication.cls]).toEqual([Method.Data, Class.Indication]);
    expect(indication.attributes.get(Attr.Data)?.toString()).toBe('as an indication');

    await succeeds(
      sign(withPeer(request(Method.ChannelBind)).addUInt32(Attr.ChannelNumber, CHANNEL << 16)),
    );
    client.send(channelData(CHANNEL, Buffer.from('to the peer')));
    client.send(channelData(CHANNEL, Buffer.from('claims more'), 100)); // dropped
    client.send(channelData(0x4002, Buffer.from('no such channel'))); // dropped
    fromPeer(Buffer.from('to the client'));
    await eventually(
      () => [peerSeen.length, client.other.length],
      ([toPeer, toClient]) => toPeer >= 1 && toClient >= 2,
      2_000,
    );
    await settle();
    expect(peerSeen.map(String)).toEqual(['to the peer']);
    expect(client.other.slice(1)).toEqual([channelData(CHANNEL, Buffer.from('to the client'))]);
    // STUN on the same socket still reaches the server.
    await succeeds(new StunBuilder(Method.Binding, Class.Request, randomBytes(12)).build());
  });

  it('counts both directions and both paths against one byte budget', async () => {
    await start(8_000); // 1,000 bytes a second, one second of burst
    await succeeds(
      sign(withPeer(request(Method.ChannelBind)).addUInt32(Attr.ChannelNumber, CHANNEL << 16)),
    );
    const payload = Buffer.alloc(490, 1);
    client.send(channelData(CHANNEL, payload)); // 490 of 1,000
    await eventually(
      () => peerSeen.length,
      (count) => count === 1,
      2_000,
    );
    fromPeer(payload); // 980
    await eventually(
      () => client.other.length,
      (count) => count === 1,
      2_000,
    );
    const send = new StunBuilder(Method.Send, Class.Indication, randomBytes(12));
    client.send(withPeer(send).add(Attr.Data, payload).build()); // over, unless half a second went by
    await settle();
    expect(peerSeen).toHaveLength(1);
    expect(client.other).toHaveLength(1);
  });
});

describe('the native relay alone', () => {
  let clientSocket: Socket;
  let relaySocket: Socket;
  let peer: Socket;
  let user: Socket;
  let relay: UdpRelay;
  const punted: Buffer[] = [];
  const closings: (Error | undefined)[] = [];
  const received: string[] = [];
  const allocation: OffloadedAllocation = {
    receive: (data) => received.push(data.toString()),
    close: (error) => closings.push(error),
  };

  beforeEach(async () => {
    punted.length = closings.length = received.length = 0;
    [clientSocket, relaySocket, peer, user] = await Promise.all(
      Array.from({ length: 4 }, boundSocket),
    );
    relay = UdpRelay.start(clientSocket, (message) => punted.push(message))!;
  });

  afterEach(() => {
    relay.stop();
    [clientSocket, relaySocket, peer, user].forEach((socket) => socket.close());
  });

  const mirror = () =>
    relay.offload(allocation, relaySocket, { address: '127.0.0.1', port: user.address().port }, 0);
  const peerAddress = () => ({ address: '127.0.0.1', port: peer.address().port });

  it('hands up what is not ChannelData, and forgets permissions and channels that expire', async () => {
    const userSeen = collect(user);
    const mirrored = mirror();
    mirrored.permit('127.0.0.1', Date.now() + 300);
    mirrored.bindChannel(CHANNEL, peerAddress(), Date.now() + 60_000);
    user.send(Buffer.from([0x00]), clientSocket.address().port, '127.0.0.1');
    peer.send(Buffer.from('live'), relaySocket.address().port, '127.0.0.1');
    await eventually(
      () => [punted.length, userSeen.length],
      ([up, toUser]) => up === 1 && toUser === 1,
      2_000,
    );
    expect(userSeen[0]).toEqual(channelData(CHANNEL, Buffer.from('live')));
    await new Promise((resolve) => setTimeout(resolve, 400));
    peer.send(Buffer.from('expired'), relaySocket.address().port, '127.0.0.1');
    await settle();
    expect([userSeen.length, received]).toEqual([1, []]);
  });

  it('ends an allocation whose relay socket cannot send, and relays nothing once removed', async () => {
    const mirrored = mirror();
    mirrored.permit('127.0.0.1', Date.now() + 60_000);
    mirrored.bindChannel(CHANNEL, { address: '127.0.0.1', port: 0 }, Date.now() + 60_000);
    user.send(
      channelData(CHANNEL, Buffer.from('to port 0')),
      clientSocket.address().port,
      '127.0.0.1',
    );
    await eventually(
      () => closings.length,
      (count) => count === 1,
      2_000,
    );
    expect(closings[0]?.message).toMatch(/relay send failed/);
    mirrored.close();
    peer.send(Buffer.from('after'), relaySocket.address().port, '127.0.0.1');
    await settle();
    expect(received).toEqual([]);
  });
});
