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
