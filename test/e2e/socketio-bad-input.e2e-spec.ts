/**
 * Hostile and broken input on the socket.io door: every case gets a clear error, and
 * the shard keeps serving everyone else.
 */
import { JwtService } from '@nestjs/jwt';
import { Socket } from 'socket.io-client';
import { JoinTokenService } from '../../src/portal/join-token.service';
import { NodeParticipant } from '../support/node-participant';
import { connectSocket, errorCode, request } from '../support/signaling-client';
import { startShard, TestShard } from '../support/shard';

const rawRequest = (socket: Socket, ...args: unknown[]) =>
  socket.timeout(5000).emitWithAck(...(args as [string, ...unknown[]]));

describe('socket.io door: bad input', () => {
  let shard: TestShard;
  const open: { close(): void }[] = [];
  const track = <T extends { close(): void }>(client: T) => (open.push(client), client);

  beforeAll(async () => {
    // A small request budget, so that the flood test needs few requests.
    shard = await startShard({
      SIGNALING_REQUESTS_PER_SECOND: '20',
      SIGNALING_REQUEST_BURST: '50',
    });
  });
  afterAll(async () => {
    open.forEach((client) => client.close());
    await shard.close();
  });

  it('answers malformed requests with bad_request and unknown ones with unknown_request', async () => {
    const socket = track(await connectSocket(shard.baseUrl));
    for (const body of ['just a string', 42, null, [], { data: {} }, { method: 7 }]) {
      expect(await rawRequest(socket, 'request', body)).toEqual({
        error: { code: 'bad_request', message: expect.any(String) },
      });
    }
    expect(await rawRequest(socket, 'request', { method: 'selfDestruct' })).toEqual({
      error: { code: 'unknown_request', message: 'unknown method "selfDestruct"' },
    });
    expect(await rawRequest(socket, 'launch', { now: true })).toEqual({
      error: { code: 'unknown_request', message: 'unknown event "launch"' },
    });
    expect(await rawRequest(socket, 'request', { method: '__proto__' })).toMatchObject({
      error: { code: 'unknown_request' },
    });
    await expect(errorCode(request(socket, 'chat', { text: 'hi' }))).resolves.toBe('not_joined');
    await expect(
      errorCode(request(socket, 'createWebRtcTransport', { direction: 'sideways' as 'send' })),
    ).resolves.toBe('bad_request');
    await expect(errorCode(request(socket, 'join', { room: '../../etc/passwd' }))).resolves.toBe(
      'bad_request',
    );
  });

  it('rejects oversized fields, and drops a connection that sends an oversized message', async () => {
    const bystander = track(await NodeParticipant.connect(shard.baseUrl));
    await bystander.join('size-room', 'Bystander');
    const sender = track(await NodeParticipant.connect(shard.baseUrl));
    const { participantId } = await sender.join('size-room', 'Sender');

    await expect(errorCode(sender.request('chat', { text: 'x'.repeat(5000) }))).resolves.toBe(
      'bad_request',
    );
    await expect(
      errorCode(sender.request('join', { room: 'size-room', displayName: 'y'.repeat(500) })),
    ).resolves.toBe('bad_request');

    const disconnected = new Promise<string>((resolve) => sender.socket.on('disconnect', resolve));
    sender.socket.emit('request', {
      method: 'chat',
      data: { text: 'z'.repeat(shard.config.signaling.maxMessageBytes + 1) },
    });
    await expect(disconnected).resolves.toBe('transport close');
    await expect(
      bystander.waitForEvent(
        'participantLeft',
        (e: { participantId: string }) => e.participantId === participantId,
      ),
    ).resolves.toMatchObject({ reason: 'disconnected' });
    await expect(bystander.request('chat', { text: 'still here' })).resolves.toMatchObject({
      text: 'still here',
    });
  });

  it('answers a request flood with too_many_requests and keeps serving others', async () => {
    const flooder = track(await NodeParticipant.connect(shard.baseUrl));
    await flooder.join('flood-room', 'Flooder');
    const neighbour = track(await NodeParticipant.connect(shard.baseUrl));
    await neighbour.join('flood-room', 'Neighbour');
    const { requestBurst } = shard.config.signaling;
    const answers = await Promise.all(
      Array.from({ length: requestBurst * 2 }, (_, i) =>
        errorCode(flooder.request('chat', { text: `spam ${i}` })),
      ),
    );
    // Joining spent a few tokens; of the rest, about a burst's worth goes through.
    const count = (code: string) => answers.filter((answer) => answer === code).length;
    expect(count('resolved')).toBeGreaterThan(requestBurst * 0.8);
    expect(count('too_many_requests')).toBeGreaterThan(requestBurst * 0.8);
    expect(count('resolved') + count('too_many_requests')).toBe(answers.length);
    await expect(neighbour.request('chat', { text: 'unaffected' })).resolves.toMatchObject({
      text: 'unaffected',
    });
  });

  it('never lets a participant touch another participant’s or room’s media objects', async () => {
    const alice = track(await NodeParticipant.connect(shard.baseUrl));
    await alice.join('owner-room', 'Alice');
    await alice.publish(['audio']);
    const mallory = track(await NodeParticipant.connect(shard.baseUrl));
    await mallory.join('owner-room', 'Mallory');
    const outsider = track(await NodeParticipant.connect(shard.baseUrl));
    await outsider.join('other-room', 'Outsider');

    const aliceSend = alice.sendTransport!.id;
    const aliceRecv = alice.recvTransport!.id;
    const aliceProducer = alice.producers.get('audio')!.id;
    const dtlsParameters = {
      role: 'client',
      fingerprints: [{ algorithm: 'sha-256', value: 'AA' }],
    };

    for (const attacker of [mallory, outsider]) {
      const attempts = [
        attacker.request('connectWebRtcTransport', { transportId: aliceSend, dtlsParameters }),
        attacker.request('restartIce', { transportId: aliceSend }),
        attacker.request('closeProducer', { producerId: aliceProducer }),
        attacker.request('pauseProducer', { producerId: aliceProducer }),
        attacker.request('consume', {
          transportId: aliceRecv,
          producerId: aliceProducer,
          rtpCapabilities: attacker.device.rtpCapabilities,
        }),
      ];
      for (const attempt of attempts) await expect(errorCode(attempt)).resolves.toBe('not_found');
    }
    // A producer in another room cannot be consumed even on one's own transport.
    await expect(
      errorCode(
        outsider.request('consume', {
          transportId: outsider.recvTransport!.id,
          producerId: aliceProducer,
          rtpCapabilities: outsider.device.rtpCapabilities,
        }),
      ),
    ).resolves.toBe('not_found');
    // Alice's producer is untouched: Mallory still receives it.
    expect([...mallory.consumers.values()].map((c) => c.producerId)).toEqual([aliceProducer]);
    expect(alice.producers.get('audio')!.paused).toBe(false);
  });

  it('rejects malformed media parameters without harm', async () => {
    const client = track(await NodeParticipant.connect(shard.baseUrl));
    await client.join('params-room', 'Client');
    const transportId = client.sendTransport!.id;
    await expect(
      errorCode(
        client.request('connectWebRtcTransport', { transportId, dtlsParameters: {} as never }),
      ),
    ).resolves.toBe('bad_request');
    await expect(
      errorCode(
        client.request('produce', {
          transportId,
          kind: 'video',
          rtpParameters: { codecs: [{ mimeType: 'video/NOPE', payloadType: 'x' }] },
        }),
      ),
    ).resolves.toBe('bad_request');
    await expect(
      errorCode(
        client.request('produce', {
          transportId: client.recvTransport!.id,
          kind: 'audio',
          rtpParameters: { codecs: [{}] },
        }),
      ),
    ).resolves.toBe('bad_request');
    await expect(errorCode(client.request('join', { room: 'params-room' }))).resolves.toBe(
      'conflict',
    );
  });

  it('answers requests the worker refuses (a second connect, an SSRC in use) with bad_request', async () => {
    const client = track(await NodeParticipant.connect(shard.baseUrl));
    await client.join('refused-room', 'Client');
    await client.publish(['audio']);
    const transportId = client.sendTransport!.id;
    const { rtpParameters } = client.producers.get('audio')!;
    await expect(
      client.request('connectWebRtcTransport', {
        transportId,
        dtlsParameters: { role: 'client', fingerprints: [{ algorithm: 'sha-256', value: 'AB' }] },
      }),
    ).rejects.toMatchObject({ code: 'bad_request', message: expect.stringMatching(/connect/) });
    await expect(
      client.request('produce', {
        transportId,
        kind: 'audio',
        rtpParameters: { ...rtpParameters, mid: '9' },
      }),
    ).rejects.toMatchObject({ code: 'bad_request', message: expect.stringMatching(/ssrc/) });
  });

  it('refuses binary data and data nested deeper than any request needs', async () => {
    const client = track(await NodeParticipant.connect(shard.baseUrl));
    await client.join('deep-room', 'Client');
    let deep: unknown = 'bottom';
    for (let i = 0; i < 3000; i++) deep = { deeper: deep };
    const opus = { mimeType: 'audio/opus', payloadType: 111, clockRate: 48000, channels: 2 };
    await expect(
      client.request('produce', {
        transportId: client.sendTransport!.id,
        kind: 'audio',
        rtpParameters: { codecs: [{ ...opus, parameters: deep }], encodings: [{ ssrc: 1 }] },
      }),
    ).rejects.toMatchObject({ code: 'bad_request', message: expect.stringMatching(/deep/) });
    // socket.io carries a Buffer as a binary attachment.
    await expect(
      client.request('produce', {
        transportId: client.sendTransport!.id,
        kind: 'audio',
        rtpParameters: { codecs: [opus], encodings: [{ ssrc: 1 }], rtcp: Buffer.from('cname') },
      }),
    ).rejects.toMatchObject({ code: 'bad_request', message: expect.stringMatching(/binary/) });
    await expect(client.request('chat', { text: 'still served' })).resolves.toMatchObject({
      text: 'still served',
    });
  });

  it('refuses to consume with capabilities that share no codec with the producer', async () => {
    const publisher = track(await NodeParticipant.connect(shard.baseUrl));
    await publisher.join('codec-room', 'Publisher');
    await publisher.publish(['audio']);
    const viewer = track(await NodeParticipant.connect(shard.baseUrl));
    await viewer.join('codec-room', 'Viewer');
    const producerId = publisher.producers.get('audio')!.id;
    const videoOnly = {
      ...viewer.device.rtpCapabilities,
      codecs: viewer.device.rtpCapabilities.codecs!.filter((codec) => codec.kind === 'video'),
    };
    const transportId = viewer.recvTransport!.id;
    await expect(
      errorCode(viewer.request('consume', { transportId, producerId, rtpCapabilities: videoOnly })),
    ).resolves.toBe('bad_request');
    // The same transport still consumes with usable capabilities.
    expect([...viewer.consumers.values()].map((c) => c.producerId)).toEqual([producerId]);
  });

  it('keeps moderator actions to moderators of the room, and reactions to the known emoji', async () => {
    const tokens = new JoinTokenService(shard.config);
    const moderatorOf = (room: string) =>
      tokens.mint({ room, identity: `host-${room}`, name: 'Host', role: 'moderator' });
    const host = track(
      await NodeParticipant.connect(shard.baseUrl, { token: moderatorOf('meeting-room') }),
    );
    await host.join('meeting-room', 'Host');
    const alice = track(await NodeParticipant.connect(shard.baseUrl));
    const { participantId: aliceId } = await alice.join('meeting-room', 'Alice');
    const bob = track(await NodeParticipant.connect(shard.baseUrl));
    const { participantId: bobId } = await bob.join('meeting-room', 'Bob');
    const otherHost = track(
      await NodeParticipant.connect(shard.baseUrl, { token: moderatorOf('other-meeting') }),
    );
    await otherHost.join('other-meeting', 'Other host');

    await alice.request('raiseHand', {});
    // A participant may lower only its own hand, mute and remove nobody.
    for (const [method, data] of [
      ['lowerHand', { participantId: aliceId }],
      ['muteParticipant', { participantId: aliceId, kind: 'audio' }],
      ['kickParticipant', { participantId: aliceId }],
    ] as const) {
      await expect(errorCode(bob.request(method, data as never))).resolves.toBe('forbidden');
    }
    // A moderator of another room reaches nobody here.
    await expect(
      errorCode(otherHost.request('kickParticipant', { participantId: aliceId })),
    ).resolves.toBe('not_found');
    await expect(
      errorCode(otherHost.request('lowerHand', { participantId: aliceId })),
    ).resolves.toBe('not_found');
    await expect(
      errorCode(host.request('muteParticipant', { participantId: 'nobody', kind: 'audio' })),
    ).resolves.toBe('not_found');
    await expect(
      errorCode(
        host.request('muteParticipant', { participantId: bobId, kind: 'screen' as 'audio' }),
      ),
    ).resolves.toBe('bad_request');
    await expect(errorCode(bob.request('react', { emoji: '💩' as '👍' }))).resolves.toBe(
      'bad_request',
    );
    // Nothing of that changed the room: Alice's hand is still up, everyone still there.
    const { hands } = await bob.request('raiseHand', {});
    expect(hands.map((hand) => hand.participantId)).toEqual([aliceId, bobId]);
    await host.request('kickParticipant', { participantId: bobId });
    await expect(bob.waitForEvent('removed')).resolves.toEqual({ reason: 'kicked' });
    await expect(
      alice.waitForEvent('hands', (e: { hands: unknown[] }) => e.hands.length === 1),
    ).resolves.toEqual({ hands: [{ participantId: aliceId, raisedAt: expect.any(String) }] });
  });

  describe('join tokens', () => {
    let closed: TestShard;
    let tokens: JoinTokenService;

    beforeAll(async () => {
      closed = await startShard({ ALLOW_GUESTS: 'false' });
      tokens = new JoinTokenService(closed.config);
    });
    afterAll(() => closed.close());

    const grant = { room: 'board', identity: 'alice', name: 'Alice', role: 'moderator' as const };

    it('refuses a connection without a token when guests are not allowed', async () => {
      await expect(errorCode(connectSocket(closed.baseUrl))).resolves.toBe('unauthorized');
    });

    it('refuses expired and forged tokens', async () => {
      const expired = tokens.mint(grant, 1);
      await new Promise((resolve) => setTimeout(resolve, 2100));
      await expect(errorCode(connectSocket(closed.baseUrl, { token: expired }))).resolves.toBe(
        'unauthorized',
      );
      const forged = new JwtService({ secret: 'guessed' }).sign(
        { sub: 'alice', room: 'board', name: 'Alice', role: 'moderator' },
        { issuer: closed.config.auth.jwtIssuer },
      );
      await expect(errorCode(connectSocket(closed.baseUrl, { token: forged }))).resolves.toBe(
        'unauthorized',
      );
    });

    it('admits a valid token to its own room only, with its name and role', async () => {
      const token = tokens.mint(grant);
      const wrongRoom = track(await NodeParticipant.connect(closed.baseUrl, { token }));
      await expect(errorCode(wrongRoom.request('join', { room: 'elsewhere' }))).resolves.toBe(
        'forbidden',
      );
      const joined = await wrongRoom.request('join', { room: 'board', displayName: 'Impostor' });
      expect(joined).toMatchObject({ displayName: 'Alice', role: 'moderator' });
    });
  });

  it('is still healthy for everyone afterwards', async () => {
    const response = await fetch(`${shard.baseUrl}/health/ready`);
    expect(response.status).toBe(200);
    const a = track(await NodeParticipant.connect(shard.baseUrl));
    const b = track(await NodeParticipant.connect(shard.baseUrl));
    await a.join('after-room', 'A');
    await b.join('after-room', 'B');
    await a.request('chat', { text: 'all good' });
    await expect(
      b.waitForEvent('chat', (m: { text: string }) => m.text === 'all good'),
    ).resolves.toBeTruthy();
  });
});
