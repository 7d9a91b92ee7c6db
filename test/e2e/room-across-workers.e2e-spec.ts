/**
 * A room that outgrows one router's share of streams spreads over workers: a newcomer
 * lands on a router on another worker, and media crosses between the routers through
 * pipe transports both ways, with pauses, the active speaker and cleanup intact.
 * (MEDIA_CONSUMERS_PER_ROUTER=1 makes the second viewer overflow the first router.)
 */
import type { types } from 'mediasoup';
import { MediaService } from '../../src/media/media.service';
import { WorkerPool } from '../../src/media/worker-pool.service';
import { eventually, NodeParticipant } from '../support/node-participant';
import { startShard, TestShard } from '../support/shard';

describe('a room across two workers', () => {
  let shard: TestShard;
  const clients: NodeParticipant[] = [];

  async function participant(name: string) {
    const client = await NodeParticipant.connect(shard.baseUrl);
    clients.push(client);
    await client.join('wide', name);
    return client;
  }
  const routersPerWorker = async () =>
    Promise.all(
      shard.app
        .get(WorkerPool)
        .workers()
        .map(async (worker: types.Worker) => (await worker.dump()).routerIds.length),
    );
  const roomStats = async () => (await shard.app.get(MediaService).room('wide')).stats();

  beforeAll(async () => {
    shard = await startShard({ MEDIASOUP_NUM_WORKERS: '2', MEDIA_CONSUMERS_PER_ROUTER: '1' });
  });
  afterAll(async () => {
    clients.forEach((client) => client.close());
    await shard.close();
  });

  it('pipes media between the routers both ways and closes the extra router when it empties', async () => {
    const alice = await participant('Alice');
    await alice.publish(['video']);
    const bob = await participant('Bob');
    expect((await routersPerWorker()).sort()).toEqual([0, 1]);
    expect((await roomStats()).routers).toBe(1);

    // Bob's consumer fills the home router's share: Carol goes to the other worker.
    const carol = await participant('Carol');
    expect((await roomStats()).routers).toBe(2);
    expect((await routersPerWorker()).sort()).toEqual([1, 1]);
    const [aliceId, carolId] = [alice, carol].map((p) => p.joined.participantId);
    const fromAlice = await eventually(
      () => carol.receiveStats(),
      (stats) => (stats[aliceId]?.framesDecoded ?? 0) > 0,
    );
    expect(fromAlice[aliceId].framesDecoded).toBeGreaterThan(0);

    // Carol's audio crosses back to the home router, where the speaker observer hears it.
    await carol.publish(['audio']);
    for (const listener of [alice, bob]) {
      const stats = await eventually(
        () => listener.receiveStats(),
        (s) => (s[carolId]?.audioPackets ?? 0) > 0,
      );
      expect(stats[carolId].audioPackets).toBeGreaterThan(0);
    }
    await bob.waitForEvent(
      'activeSpeaker',
      (e: { participantId: string }) => e.participantId === carolId,
    );

    // A pause on the home router reaches the consumer on the other one.
    const video = alice.producers.get('video')!;
    const carolsConsumer = [...carol.consumers.values()].find((c) => c.producerId === video.id)!;
    await alice.request('pauseProducer', { producerId: video.id });
    await carol.waitForEvent(
      'consumerPaused',
      (e: { consumerId: string }) => e.consumerId === carolsConsumer.id,
    );

    // When Carol leaves, her router closes and the others lose her audio consumers.
    const bobsAudio = [...bob.consumers.values()].find((c) => c.kind === 'audio')!;
    carol.close();
    await bob.waitForEvent(
      'consumerClosed',
      (e: { consumerId: string }) => e.consumerId === bobsAudio.id,
    );
    const after = await eventually(roomStats, (stats) => stats.routers === 1);
    expect(after).toMatchObject({ routers: 1, peers: 2 });
    expect((await routersPerWorker()).sort()).toEqual([0, 1]);
  });
});
