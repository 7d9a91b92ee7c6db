/**
 * A real call from Node: mediasoup-client over libwebrtc (@roamhq/wrtc) against the
 * shard's socket.io door and mediasoup routers.
 */
import { MediaService } from '../../src/media/media.service';
import { WorkerPool } from '../../src/media/worker-pool.service';
import { eventually, NodeParticipant } from '../support/node-participant';
import { startShard, TestShard } from '../support/shard';

type Stats = Awaited<ReturnType<NodeParticipant['receiveStats']>>;

const receivesFromAll = (stats: Stats, others: string[]) =>
  others.every((id) => (stats[id]?.framesDecoded ?? 0) > 0 && (stats[id]?.audioPackets ?? 0) > 0);

describe('a call between Node participants', () => {
  let shard: TestShard;
  let media: MediaService;
  const clients: NodeParticipant[] = [];

  async function participant(room: string, name: string) {
    const client = await NodeParticipant.connect(shard.baseUrl);
    clients.push(client);
    await client.join(room, name);
    await client.publish();
    return client;
  }

  beforeAll(async () => {
    shard = await startShard();
    media = shard.app.get(MediaService);
  });
  afterAll(async () => {
    clients.forEach((client) => client.close());
    await shard.close();
  });

  it('carries audio and video between three participants, then releases everything', async () => {
    const [a, b, c] = [
      await participant('trio', 'A'),
      await participant('trio', 'B'),
      await participant('trio', 'C'),
    ];
    const ids = [a, b, c].map((p) => p.joined.participantId);
    expect(b.joined.participants.map((p) => p.displayName)).toEqual(['A']);
    expect(c.joined.participants.flatMap((p) => p.producers)).toHaveLength(4);

    for (const [index, client] of [a, b, c].entries()) {
      const others = ids.filter((_, i) => i !== index);
      const stats = await eventually(
        () => client.receiveStats(),
        (s) => receivesFromAll(s, others),
      );
      expect(receivesFromAll(stats, others)).toBe(true);
    }
    const { participantId: speaker } = await b.waitForEvent<{ participantId: string }>(
      'activeSpeaker',
    );
    expect(ids).toContain(speaker);
    // A latecomer learns who is talking from its join result.
    const latecomer = await NodeParticipant.connect(shard.baseUrl);
    clients.push(latecomer);
    await expect(latecomer.join('trio', 'Late')).resolves.toMatchObject({
      activeSpeakerId: expect.stringMatching(new RegExp(ids.join('|'))),
    });
    await latecomer.request('leave', {});
    expect(await media.stats()).toMatchObject({ rooms: 1, peers: 3, transports: 6, producers: 6 });

    // An ICE restart hands out fresh ICE credentials for one's own transport.
    const restart = () => a.request('restartIce', { transportId: a.sendTransport!.id });
    const [first, second] = [await restart(), await restart()];
    expect(first.iceParameters.usernameFragment).toEqual(expect.any(String));
    expect(second.iceParameters.usernameFragment).not.toBe(first.iceParameters.usernameFragment);
    await a.sendTransport!.restartIce({ iceParameters: second.iceParameters });

    // Muting is a paused producer: the others are told, and their consumers pause.
    await a.producers.get('audio')!.pause();
    await a.request('pauseProducer', { producerId: a.producers.get('audio')!.id });
    await expect(
      b.waitForEvent(
        'producerPaused',
        (p: { participantId: string }) => p.participantId === ids[0],
      ),
    ).resolves.toMatchObject({ kind: 'audio', paused: true });
    await expect(c.waitForEvent('consumerPaused')).resolves.toHaveProperty('consumerId');

    // C leaves: A and B are told, their consumers of C close, C's media is released.
    await c.request('leave', {});
    for (const client of [a, b]) {
      await expect(
        client.waitForEvent(
          'participantLeft',
          (e: { participantId: string }) => e.participantId === ids[2],
        ),
      ).resolves.toMatchObject({ reason: 'left' });
      await eventually(
        () => [...client.consumers.values()].filter((x) => !x.closed).length,
        (open) => open === 2,
      );
    }
    expect(await media.stats()).toMatchObject({
      peers: 2,
      transports: 4,
      producers: 4,
      consumers: 4,
    });

    // Disconnecting is leaving too; the room closes after its grace period.
    a.close();
    b.close();
    const after = await eventually(
      () => media.stats(),
      (s) => s.rooms === 0,
      5000,
    );
    expect(after).toEqual({ rooms: 0, peers: 0, transports: 0, producers: 0, consumers: 0 });
  });

  it('replaces a dead worker and tells its rooms’ participants to rejoin', async () => {
    const workers = shard.app.get(WorkerPool);
    const a = await participant('phoenix', 'A');
    const b = await participant('phoenix', 'B');
    const [worker] = workers.workers();
    process.kill(worker.pid, 'SIGKILL');

    await expect(a.waitForEvent('rejoin')).resolves.toEqual({ reason: 'media-restart' });
    await expect(b.waitForEvent('rejoin')).resolves.toEqual({ reason: 'media-restart' });
    await eventually(
      () => workers.liveWorkerCount(),
      (n) => n === 1,
      10000,
    );
    expect(workers.workers()[0].pid).not.toBe(worker.pid);

    // The clients rejoin from scratch, and media flows again.
    a.close();
    b.close();
    const a2 = await participant('phoenix', 'A');
    const b2 = await participant('phoenix', 'B');
    const stats = await eventually(
      () => b2.receiveStats(),
      (s) => receivesFromAll(s, [a2.joined.participantId]),
    );
    expect(receivesFromAll(stats, [a2.joined.participantId])).toBe(true);
    const health = await fetch(`${shard.baseUrl}/health/ready`);
    expect(await health.json()).toEqual({ status: 'ready', workers: 1 });
  });
});
