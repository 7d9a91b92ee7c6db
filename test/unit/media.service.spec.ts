/** The media service against real mediasoup workers (no network peers needed). */
import { join } from 'node:path';
import type { types } from 'mediasoup';
import pino from 'pino';
import { loadConfig } from '../../src/config/load-config';
import { MediaService } from '../../src/media/media.service';
import { WorkerPool } from '../../src/media/worker-pool.service';

const config = loadConfig({ NODE_ENV: 'test' }, join(__dirname, '..', '..', 'config'));
const opus = {
  codecs: [{ mimeType: 'audio/opus', payloadType: 111, clockRate: 48000, channels: 2 }],
  encodings: [{ ssrc: 11111111 }],
};

/** Waits (a few seconds at most) until the condition holds. */
async function eventually(condition: () => boolean) {
  for (let i = 0; i < 100 && !condition(); i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('MediaService', () => {
  let workers: WorkerPool;
  let media: MediaService;

  beforeAll(async () => {
    workers = new WorkerPool(config, pino({ level: 'silent' }));
    await workers.onModuleInit();
    media = new MediaService(config, workers, pino({ level: 'silent' }));
  });
  afterAll(() => workers.onModuleDestroy());

  it('opens one router per room, even for concurrent callers', async () => {
    const [first, second] = await Promise.all([media.openRoom('r1'), media.openRoom('r1')]);
    expect(first).toBe(second);
    expect(first.rtpCapabilities.codecs?.map((c) => c.mimeType)).toEqual(
      expect.arrayContaining(['audio/opus', 'video/VP8', 'video/VP9', 'video/H264']),
    );
    await media.closeRoom('r1');
    await expect(media.room('r1')).rejects.toMatchObject({ code: 'not_joined' });
  });

  it('keeps every object with its owner and closes them all on leave', async () => {
    const room = await media.openRoom('r2');
    await expect(room.createWebRtcTransport('ghost', 'send', false)).rejects.toMatchObject({
      code: 'not_joined',
    });
    room.addPeer('alice');
    room.addPeer('bob');
    const aliceSend = await room.createWebRtcTransport('alice', 'send', false);
    const aliceRecv = await room.createWebRtcTransport('alice', 'recv', false);
    const bobRecv = await room.createWebRtcTransport('bob', 'recv', false);
    expect(aliceSend.iceCandidates.map((c) => c.address)).toContain('127.0.0.1');

    await expect(room.produce('alice', aliceRecv.id, 'audio', opus, 'mic')).rejects.toMatchObject({
      code: 'bad_request',
    });
    await expect(room.produce('bob', aliceSend.id, 'audio', opus, 'mic')).rejects.toMatchObject({
      code: 'not_found',
    });
    const producer = await room.produce('alice', aliceSend.id, 'audio', opus, 'mic');
    expect(room.producersOf('alice')).toEqual([producer]);

    await expect(
      room.consume('alice', aliceRecv.id, producer.id, room.rtpCapabilities),
    ).rejects.toMatchObject({ code: 'bad_request' });
    const consumer = await room.consume('bob', bobRecv.id, producer.id, room.rtpCapabilities);
    expect(consumer).toMatchObject({
      participantId: 'alice',
      kind: 'audio',
      producerPaused: false,
    });

    const closedConsumers: string[] = [];
    media.events.on('consumerClosed', (_room, participantId, consumerId) =>
      closedConsumers.push(`${participantId}:${consumerId}`),
    );
    expect(room.stats()).toEqual({
      peers: 2,
      routers: 1,
      transports: 3,
      producers: 1,
      consumers: 1,
    });
    room.closePeer('alice');
    // The worker reports the producer's closure to its consumers asynchronously.
    await new Promise((resolve) => media.events.once('consumerClosed', resolve));
    expect(closedConsumers).toEqual([`bob:${consumer.id}`]);
    expect(room.stats()).toEqual({
      peers: 1,
      routers: 1,
      transports: 1,
      producers: 0,
      consumers: 0,
    });
    await media.closeRoom('r2');
  });

  it('consumes three-layer simulcast and honours preferred layers', async () => {
    const room = await media.openRoom('r5');
    room.addPeer('alice');
    room.addPeer('bob');
    const send = await room.createWebRtcTransport('alice', 'send', false);
    const recv = await room.createWebRtcTransport('bob', 'recv', false);
    const simulcast = {
      codecs: [{ mimeType: 'video/VP8', payloadType: 96, clockRate: 90000 }],
      encodings: [
        { ssrc: 1001, scaleResolutionDownBy: 4 },
        { ssrc: 1002, scaleResolutionDownBy: 2 },
        { ssrc: 1003 },
      ],
    };
    const camera = await room.produce('alice', send.id, 'video', simulcast, 'camera');
    const consumer = await room.consume('bob', recv.id, camera.id, room.rtpCapabilities);
    expect(consumer.type).toBe('simulcast');
    await room.setPreferredLayers('bob', consumer.id, { spatialLayer: 1, temporalLayer: 0 });

    const mic = await room.produce('alice', send.id, 'audio', opus, 'mic');
    const audio = await room.consume('bob', recv.id, mic.id, room.rtpCapabilities);
    await expect(
      room.setPreferredLayers('bob', audio.id, { spatialLayer: 0 }),
    ).rejects.toMatchObject({ code: 'bad_request' });
    await media.closeRoom('r5');
  });

  it('refuses layers the consumer does not have, and consumers of others', async () => {
    const room = await media.openRoom('r6');
    for (const peer of ['alice', 'bob', 'carol']) room.addPeer(peer);
    const send = await room.createWebRtcTransport('alice', 'send', false);
    const recv = await room.createWebRtcTransport('bob', 'recv', false);
    const twoLayers = {
      codecs: [{ mimeType: 'video/VP8', payloadType: 96, clockRate: 90000 }],
      encodings: [
        { ssrc: 2001, scaleResolutionDownBy: 2, scalabilityMode: 'L1T3' },
        { ssrc: 2002, scalabilityMode: 'L1T3' },
      ],
    };
    const camera = await room.produce('alice', send.id, 'video', twoLayers, 'camera');
    const consumer = await room.consume('bob', recv.id, camera.id, room.rtpCapabilities);
    await room.setPreferredLayers('bob', consumer.id, { spatialLayer: 1, temporalLayer: 2 });
    expect(room.consumersOf('bob')[0].preferredLayers).toEqual({
      spatialLayer: 1,
      temporalLayer: 2,
    });
    for (const layers of [{ spatialLayer: 2 }, { spatialLayer: 0, temporalLayer: 3 }]) {
      await expect(room.setPreferredLayers('bob', consumer.id, layers)).rejects.toMatchObject({
        code: 'bad_request',
      });
    }
    // Carol cannot touch Bob's consumer, nor anyone an unknown one.
    await expect(
      room.setPreferredLayers('carol', consumer.id, { spatialLayer: 0 }),
    ).rejects.toMatchObject({ code: 'not_found' });
    await expect(
      room.setPreferredLayers('bob', 'no-such-consumer', { spatialLayer: 0 }),
    ).rejects.toMatchObject({ code: 'not_found' });
    expect(room.consumersOf('bob')[0].preferredLayers?.spatialLayer).toBe(1);
    await media.closeRoom('r6');
  });

  it('caps the videos a participant receives at once, whatever it asks', async () => {
    const limited = new MediaService(
      { ...config, media: { ...config.media, maxVideosPerReceiver: 2 } },
      workers,
      pino({ level: 'silent' }),
    );
    const room = await limited.openRoom('r7');
    room.addPeer('viewer');
    const recv = await room.createWebRtcTransport('viewer', 'recv', false);
    const cameras: string[] = [];
    for (let i = 0; i < 4; i++) {
      room.addPeer(`p${i}`);
      const send = await room.createWebRtcTransport(`p${i}`, 'send', false);
      const video = {
        codecs: [{ mimeType: 'video/VP8', payloadType: 96, clockRate: 90000 }],
        encodings: [{ ssrc: 3000 + i }],
      };
      cameras.push((await room.produce(`p${i}`, send.id, 'video', video, 'camera')).id);
    }
    const consumers = await Promise.all(
      cameras.map((id) => room.consume('viewer', recv.id, id, room.rtpCapabilities)),
    );
    // Resumed at once, concurrently: two get through, the others are refused.
    const outcomes = await Promise.allSettled(
      consumers.map((c) => room.setConsumerPaused('viewer', c.id, false)),
    );
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(2);
    for (const outcome of outcomes.filter((o) => o.status === 'rejected')) {
      expect((outcome as PromiseRejectedResult).reason).toMatchObject({ code: 'too_many_videos' });
    }
    const resumed = () => room.consumersOf('viewer').filter((c) => !c.paused);
    expect(resumed()).toHaveLength(2);
    // Pausing one makes room for another; resuming one that is resumed is no extra video.
    const [first] = resumed();
    const waiting = room.consumersOf('viewer').find((c) => c.paused)!;
    await room.setConsumerPaused('viewer', first.id, true);
    await room.setConsumerPaused('viewer', waiting.id, false);
    await room.setConsumerPaused('viewer', waiting.id, false);
    expect(resumed().map((c) => c.id)).toContain(waiting.id);
    expect(resumed()).toHaveLength(2);
    // Asked to start resumed (a join with DTLS parameters), the excess starts paused.
    room.addPeer('eager');
    const { consumers: eager } = await room.receive('eager', cameras, room.rtpCapabilities, {
      role: 'client',
      fingerprints: [{ algorithm: 'sha-256', value: 'AA:'.repeat(31) + 'AA' }],
    });
    expect(eager.filter((c) => !c.paused)).toHaveLength(2);
    expect(eager.filter((c) => c.paused)).toHaveLength(2);
    // When a resumed video goes, a held one takes its place.
    const resumedOwners = room
      .consumersOf('eager')
      .filter((c) => !c.paused)
      .map((c) => c.participantId);
    const held = room.consumersOf('eager').filter((c) => c.paused);
    for (const owner of resumedOwners) room.closePeer(owner);
    await eventually(() => room.consumersOf('eager').every((c) => !c.paused));
    expect(
      room
        .consumersOf('eager')
        .map((c) => c.id)
        .sort(),
    ).toEqual(held.map((c) => c.id).sort());
    expect(room.consumersOf('eager').every((c) => !c.paused)).toBe(true);
    await limited.closeRoom('r7');
  });

  it('does not cap a recorder attached to the room', async () => {
    const limited = new MediaService(
      { ...config, media: { ...config.media, maxVideosPerReceiver: 1 } },
      workers,
      pino({ level: 'silent' }),
    );
    const room = await limited.openRoom('r8');
    const recorder = await limited.attach('r8', 'recorder');
    const recv = await room.createWebRtcTransport('recorder', 'recv', false);
    for (let i = 0; i < 3; i++) {
      room.addPeer(`p${i}`);
      const send = await room.createWebRtcTransport(`p${i}`, 'send', false);
      const video = {
        codecs: [{ mimeType: 'video/VP8', payloadType: 96, clockRate: 90000 }],
        encodings: [{ ssrc: 4000 + i }],
      };
      const producer = await room.produce(`p${i}`, send.id, 'video', video, 'camera');
      const consumer = await recorder.consume(recv.id, producer.id, room.rtpCapabilities);
      await recorder.setConsumerPaused(consumer.id, false);
    }
    expect(recorder.consumers().filter((c) => !c.paused)).toHaveLength(3);
    await limited.closeRoom('r8');
  });

  it('reports pause and resume once per change', async () => {
    const room = await media.openRoom('r3');
    room.addPeer('alice');
    const send = await room.createWebRtcTransport('alice', 'send', false);
    const producer = await room.produce('alice', send.id, 'audio', opus, 'mic');
    const seen: string[] = [];
    media.events.on('producerPaused', () => seen.push('paused'));
    media.events.on('producerResumed', () => seen.push('resumed'));
    await room.setProducerPaused('alice', producer.id, true);
    await room.setProducerPaused('alice', producer.id, true);
    await room.setProducerPaused('alice', producer.id, false);
    expect(seen).toEqual(['paused', 'resumed']);
    await media.closeRoom('r3');
  });

  it('takes a muted microphone out of the active-speaker observer, and back', async () => {
    const room = await media.openRoom('r4');
    room.addPeer('alice');
    const send = await room.createWebRtcTransport('alice', 'send', false);
    const producer = await room.produce('alice', send.id, 'audio', opus, 'mic');
    // The home router's dump lists the observers each producer feeds.
    const home = (room as unknown as { routers: types.Router[] }).routers[0];
    const observers = async () =>
      (await home.dump()).mapProducerIdObserverIds.find((e) => e.key === producer.id)?.values
        .length ?? 0;
    expect(await observers()).toBe(1);
    await room.setProducerPaused('alice', producer.id, true);
    expect(await observers()).toBe(0);
    await room.setProducerPaused('alice', producer.id, false);
    expect(await observers()).toBe(1);
    await media.closeRoom('r4');
  });

  it('closes what requests made while their participant left, and tells nobody', async () => {
    const room = await media.openRoom('r6');
    const home = (room as unknown as { routers: types.Router[] }).routers[0];
    const workerTransports = async () => (await home.dump()).transportIds;
    const added: string[] = [];
    media.events.on('producerAdded', (_room, producer) => added.push(producer.id));

    // Alice leaves while her send transport's bitrate is being set.
    room.addPeer('alice');
    home.observer.once('newtransport', (transport) => {
      const setBitrate = transport.setMaxIncomingBitrate.bind(transport);
      transport.setMaxIncomingBitrate = (bitrate) => {
        room.closePeer('alice');
        return setBitrate(bitrate);
      };
    });
    await room.createWebRtcTransport('alice', 'send', false).catch(() => undefined);
    expect(await workerTransports()).toEqual([]);

    // Bob leaves while his producer is being made.
    room.addPeer('bob');
    const bobSend = await room.createWebRtcTransport('bob', 'send', false);
    const produced = room.produce('bob', bobSend.id, 'audio', opus, 'mic');
    room.closePeer('bob');
    await expect(produced).rejects.toMatchObject({ code: 'not_joined' });
    expect(added).toEqual([]);

    // Carol's producer closes while Dave's consumer of it is being made.
    room.addPeer('carol');
    room.addPeer('dave');
    const carolSend = await room.createWebRtcTransport('carol', 'send', false);
    const producer = await room.produce('carol', carolSend.id, 'audio', opus, 'mic');
    const daveRecv = await room.createWebRtcTransport('dave', 'recv', false);
    const consumed = room.consume('dave', daveRecv.id, producer.id, room.rtpCapabilities);
    room.closePeer('carol');
    await expect(consumed).rejects.toMatchObject({ code: 'not_found' });
    expect(room.stats()).toMatchObject({ peers: 1, transports: 1, producers: 0, consumers: 0 });
    expect(await workerTransports()).toEqual([daveRecv.id]);
    await media.closeRoom('r6');
  });

  it('spreads rooms over the workers by router count', async () => {
    const pool = new WorkerPool(
      { ...config, media: { ...config.media, numWorkers: 2 } },
      pino({ level: 'silent' }),
    );
    await pool.onModuleInit();
    try {
      const routers = await Promise.all(['x', 'y'].map((roomId) => pool.createRouter({ roomId })));
      const dumps = await Promise.all(pool.workers().map((worker) => worker.dump()));
      expect(dumps.map((dump) => dump.routerIds.length)).toEqual([1, 1]);
      routers.forEach((router) => router.close());
    } finally {
      await pool.onModuleDestroy();
    }
  });
});
