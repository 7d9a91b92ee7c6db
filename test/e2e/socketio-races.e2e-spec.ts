/**
 * One connection's requests racing each other and the connection's own end, from real
 * clients: a connection joins one room at a time, and nothing it made (a participant, a
 * lobby entry, transports, producers, consumers) outlives it.
 */
import type { types } from 'mediasoup';
import type { Socket } from 'socket.io-client';
import { ConferenceService } from '../../src/conference/conference.service';
import { MediaService } from '../../src/media/media.service';
import { WorkerPool } from '../../src/media/worker-pool.service';
import { JoinTokenService } from '../../src/portal/join-token.service';
import type { JoinResult, WaitingInLobby } from '../../src/signaling/socketio/protocol';
import { eventually, NodeParticipant } from '../support/node-participant';
import { startShard, TestShard } from '../support/shard';
import { connectSocket, errorCode, request } from '../support/signaling-client';

const opus = (ssrc: number) => ({
  codecs: [{ mimeType: 'audio/opus', payloadType: 111, clockRate: 48000, channels: 2 }],
  encodings: [{ ssrc }],
});

describe('socket.io door: racing requests', () => {
  let shard: TestShard;
  let conference: ConferenceService;
  let media: MediaService;
  const routers: types.Router[] = [];
  const open: { close(): void }[] = [];
  const track = <T extends { close(): void }>(client: T) => (open.push(client), client);
  const socket = async (token?: string) => track(await connectSocket(shard.baseUrl, { token }));
  const moderatorToken = (room: string) =>
    new JoinTokenService(shard.config).mint({
      room,
      identity: `host-of-${room}`,
      name: 'Host',
      role: 'moderator',
    });

  /** What the room still holds; all zero once everyone left and the room closed. */
  const leftovers = (room: string) => ({
    participants: conference.participantsOf(room).length,
    waiting: conference.lobbyOf(room).length,
    roomOpen: conference.roomIds().includes(room),
  });
  const gone = { participants: 0, waiting: 0, roomOpen: false };
  const cleared = (room: string) =>
    eventually(
      () => leftovers(room),
      (left) => JSON.stringify(left) === JSON.stringify(gone),
    );
  const mediaOf = async (room: string) => (await media.room(room)).stats();
  /** Transports the workers hold, whatever the rooms' books say. */
  const workerTransports = async () => {
    const dumps = await Promise.all(routers.filter((r) => !r.closed).map((r) => r.dump()));
    return dumps.flatMap((dump) => dump.transportIds).sort();
  };

  beforeAll(async () => {
    shard = await startShard({ EMPTY_ROOM_GRACE_MS: '100' });
    conference = shard.app.get(ConferenceService);
    media = shard.app.get(MediaService);
    for (const worker of shard.app.get(WorkerPool).workers()) {
      worker.observer.on('newrouter', (router: types.Router) => routers.push(router));
    }
    // Rooms named lobby-* have a lobby (as a meeting with one would).
    conference.usePolicies({
      policyFor: async (roomId) => (roomId.startsWith('lobby-') ? { lobby: true } : undefined),
    });
  });
  afterAll(async () => {
    open.forEach((client) => client.close());
    await shard.close();
  });

  it('refuses a second join while the first is under way, and leaves no ghost', async () => {
    const client = await socket();
    const answers = await Promise.all([
      errorCode(request(client, 'join', { room: 'twice' })),
      errorCode(request(client, 'join', { room: 'twice' })),
    ]);
    expect(answers.sort()).toEqual(['conflict', 'resolved']);
    expect(leftovers('twice').participants).toBe(1);
    client.close();
    expect(await cleared('twice')).toEqual(gone);
  });

  it('puts one connection in a lobby once, and takes it out when the connection ends', async () => {
    const host = await socket(moderatorToken('lobby-twice'));
    await request(host, 'join', { room: 'lobby-twice' });
    const guest = await socket();
    const answers = await Promise.all([
      errorCode(request(guest, 'join', { room: 'lobby-twice' })),
      errorCode(request(guest, 'join', { room: 'lobby-twice' })),
    ]);
    expect(answers.sort()).toEqual(['conflict', 'resolved']);
    expect(leftovers('lobby-twice').waiting).toBe(1);
    guest.close();
    host.close();
    expect(await cleared('lobby-twice')).toEqual(gone);
  });

  it('ends up in a consistent state after a join and a leave sent together', async () => {
    for (const receive of [false, true]) {
      const client = await socket();
      const { routerRtpCapabilities } = await request(client, 'getRouterRtpCapabilities', {});
      const [joined, left] = await Promise.all([
        errorCode(
          request(client, 'join', {
            room: 'join-leave',
            receive: receive ? { rtpCapabilities: routerRtpCapabilities } : undefined,
          }),
        ),
        errorCode(request(client, 'leave', {})),
      ]);
      // Either the leave came too early (the join stands) or it ended the join.
      expect([`${joined} ${left}`]).toContainEqual(
        expect.stringMatching(/^(resolved not_joined|not_joined resolved)$/),
      );
      const inRoom = leftovers('join-leave').participants;
      expect(inRoom).toBe(left === 'not_joined' ? 1 : 0);
      // The connection can go on: leave (if still in) and join again.
      if (inRoom) await request(client, 'leave', {});
      await expect(errorCode(request(client, 'join', { room: 'join-leave' }))).resolves.toBe(
        'resolved',
      );
      client.close();
    }
    expect(await cleared('join-leave')).toEqual(gone);
  });

  it('leaves nothing behind when the connection ends in the middle of a join', async () => {
    const publisher = track(await NodeParticipant.connect(shard.baseUrl));
    await publisher.join('mid-join', 'Publisher');
    await publisher.publish(['audio', 'video']);
    const own = await workerTransports();
    for (let i = 0; i < 5; i++) {
      const client = await socket();
      const answer = request(client, 'join', {
        room: 'mid-join',
        receive: { rtpCapabilities: publisher.device.rtpCapabilities },
      });
      client.close();
      await answer.catch(() => undefined);
    }
    await eventually(
      () => conference.participantsOf('mid-join').length,
      (n) => n === 1,
    );
    expect(conference.participantsOf('mid-join').map((p) => p.displayName)).toEqual(['Publisher']);
    expect(await eventually(workerTransports, (ids) => ids.length <= own.length)).toEqual(own);
    expect(await mediaOf('mid-join')).toMatchObject({ transports: 2, producers: 2, consumers: 0 });
    publisher.close();
    expect(await cleared('mid-join')).toEqual(gone);
  });

  it('takes a receiving join that fails half way out again, with what it made', async () => {
    const publisher = track(await NodeParticipant.connect(shard.baseUrl));
    await publisher.join('half-way', 'Publisher');
    await publisher.publish(['audio', 'video']);
    const client = await socket();
    const refusedDtls = { role: 'client', fingerprints: [{ algorithm: 'rot13', value: 'AB' }] };
    // The consumers are made beside the refused connect: they must go with the join.
    await expect(
      errorCode(
        request(client, 'join', {
          room: 'half-way',
          receive: {
            rtpCapabilities: publisher.device.rtpCapabilities,
            dtlsParameters: refusedDtls,
          },
        }),
      ),
    ).resolves.toBe('bad_request');
    expect(conference.participantsOf('half-way').map((p) => p.displayName)).toEqual(['Publisher']);
    expect(await mediaOf('half-way')).toMatchObject({
      transports: 2,
      producers: 2,
      consumers: 0,
    });
    await expect(errorCode(request(client, 'join', { room: 'half-way' }))).resolves.toBe(
      'resolved',
    );
    client.close();
    publisher.close();
    expect(await cleared('half-way')).toEqual(gone);
  });

  it('lets a waiting guest leave or vanish while a moderator admits it', async () => {
    const room = 'lobby-admit';
    const host = await socket(moderatorToken(room));
    await request(host, 'join', { room });
    for (const ending of ['leave', 'disconnect'] as const) {
      for (let i = 0; i < 3; i++) {
        const guest = await socket();
        const { participantId } = (await request(guest, 'join', { room })) as WaitingInLobby;
        const admitted = errorCode(request(host, 'lobbyAdmit', { participantId }));
        if (ending === 'leave') await errorCode(request(guest, 'leave', {}));
        guest.close();
        expect(['resolved', 'not_found']).toContain(await admitted);
        await eventually(
          () => leftovers(room),
          (left) => left.participants === 1 && left.waiting === 0,
        );
        expect(leftovers(room)).toMatchObject({ participants: 1, waiting: 0 });
      }
    }
    host.close();
    expect(await cleared(room)).toEqual(gone);
  });

  it('answers the second of two leaves with not_joined', async () => {
    for (const room of ['two-leaves', 'lobby-two-leaves']) {
      const host = await socket(moderatorToken(room));
      await request(host, 'join', { room });
      const client = await socket();
      await request(client, 'join', { room });
      const answers = await Promise.all([
        errorCode(request(client, 'leave', {})),
        errorCode(request(client, 'leave', {})),
      ]);
      expect(answers.sort()).toEqual(['not_joined', 'resolved']);
      expect(leftovers(room)).toMatchObject({ participants: 1, waiting: 0 });
      client.close();
      host.close();
      expect(await cleared(room)).toEqual(gone);
    }
  });

  it('closes the transports, producers and consumers of requests in flight at the end', async () => {
    const bystander = track(await NodeParticipant.connect(shard.baseUrl));
    await bystander.join('in-flight', 'Bystander');
    await bystander.publish(['audio']);
    const bystanderTransports = await workerTransports();
    const producerId = bystander.producers.get('audio')!.id;
    const { rtpCapabilities } = bystander.device;

    for (let round = 0; round < 5; round++) {
      const racer: Socket = await socket();
      const { participantId } = (await request(racer, 'join', { room: 'in-flight' })) as JoinResult;
      const send = await request(racer, 'createWebRtcTransport', { direction: 'send' });
      const recv = await request(racer, 'createWebRtcTransport', { direction: 'recv' });
      const inFlight = [
        ...Array.from({ length: 10 }, () =>
          request(racer, 'createWebRtcTransport', { direction: 'send' }),
        ),
        ...Array.from({ length: 10 }, (_, i) =>
          request(racer, 'produce', {
            transportId: send.id,
            kind: 'audio',
            rtpParameters: opus(1000 * round + i + 1),
          }),
        ),
        ...Array.from({ length: 10 }, () =>
          request(racer, 'consume', { transportId: recv.id, producerId, rtpCapabilities }),
        ),
      ];
      racer.close();
      await Promise.allSettled(inFlight);
      await bystander.waitForEvent(
        'participantLeft',
        (e: { participantId: string }) => e.participantId === participantId,
      );
    }
    const stats = await eventually(
      () => mediaOf('in-flight'),
      (s) => s.peers === 1 && s.consumers === 0,
    );
    expect(stats).toMatchObject({ peers: 1, transports: 2, producers: 1, consumers: 0 });
    // Requests the server still handles when the client gave up on them close theirs soon.
    const held = await eventually(
      workerTransports,
      (ids) => ids.length <= bystanderTransports.length,
    );
    expect(held).toEqual(bystanderTransports);
    // Nobody was told of a producer whose participant had already left.
    const leftIds = new Set<string>();
    const late: unknown[] = [];
    for (const { event, payload } of bystander.events) {
      const { participantId } = payload as { participantId: string };
      if (event === 'participantLeft') leftIds.add(participantId);
      if (event === 'newProducer' && leftIds.has(participantId)) late.push(payload);
    }
    expect(late).toEqual([]);
    bystander.close();
    expect(await cleared('in-flight')).toEqual(gone);
  });
});
