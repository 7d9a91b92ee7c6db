/**
 * Jitsi Meet clients in a cluster: two shards behind the shipped haproxy.cfg (real
 * HAProxy, Redis, PostgreSQL) and lib-jitsi-meet in Chromium. A client whose XMPP
 * WebSocket reached another shard than the room's gets its Jingle session, its media
 * and its bridge channel from the room's shard.
 */
import { Redis } from 'ioredis';
import { type Browser, chromium } from 'playwright-core';
import { REDIS_URL, startCluster, TestCluster } from '../support/cluster';
import { JitsiClient, joinWithJitsi } from '../support/jitsi-meet-page';
import { CHROMIUM_FLAGS, CHROMIUM_PATH } from '../support/netns-shard';
import { eventually } from '../support/node-participant';

jest.setTimeout(180_000);

/**
 * Two shards behind HAProxy with `env`, and a Chromium, for one describe block; the
 * clients it keeps leave after it.
 */
function useJitsiCluster(env: Record<string, string>) {
  const suite = { clients: [] as JitsiClient[] } as {
    cluster: TestCluster;
    browser: Browser;
    clients: JitsiClient[];
  };
  beforeAll(async () => {
    suite.cluster = await startCluster({ regions: ['default', 'default'], env });
    // On the host's network: the shards and the proxy are on loopback.
    suite.browser = await chromium.launch({
      executablePath: CHROMIUM_PATH,
      args: CHROMIUM_FLAGS,
      headless: true,
    });
  });
  afterAll(async () => {
    for (const client of suite.clients) await client.leave().catch(() => undefined);
    await suite.browser?.close().catch(() => undefined);
    await suite.cluster?.stop();
  });
  return suite;
}

/** Ann's XMPP WebSocket on one shard, Ben's on the other; both decode each other. */
async function joinPair(
  browser: Browser,
  cluster: TestCluster,
  room: string,
  [annShard, benShard]: string[],
  clients: JitsiClient[],
): Promise<[JitsiClient, JitsiClient]> {
  const ann = await joinWithJitsi(browser, cluster.url, {
    room,
    displayName: 'Ann',
    shard: annShard,
  });
  clients.push(ann);
  const ben = await joinWithJitsi(browser, cluster.url, {
    room,
    displayName: 'Ben',
    shard: benShard,
  });
  clients.push(ben);
  await Promise.all([
    ann.waitForMediaFrom([ben.id], 30_000),
    ben.waitForMediaFrom([ann.id], 30_000),
  ]);
  return [ann, ben];
}

describe('cluster: Jitsi Meet clients through HAProxy', () => {
  const suite = useJitsiCluster({});

  it("gets its session, media and bridge channel from the room's shard", async () => {
    const { cluster, browser, clients } = suite;
    const room = 'jitsi-cluster-room';
    const [home, other] = cluster.shards.map((shard) => shard.id);
    // The directory puts the room on `home`.
    const redis = new Redis(REDIS_URL);
    await redis.set(`${cluster.name}:room:${room}`, home, 'PX', 30_000);
    redis.disconnect();

    // Ann's XMPP WebSocket is on the room's shard, Ben's on the other one.
    const [ann, ben] = await joinPair(browser, cluster, room, [home, other], clients);

    // Both transports are on the room's shard; the other carries none.
    const metrics = await Promise.all(
      [home, other].map((id) => cluster.shard(id).process!.metrics()),
    );
    expect(metrics.map((m) => m.videowindow_transports)).toEqual([2, 0]);

    // Ben's bridge channel goes through the proxy to the room's shard.
    const channel = await eventually(
      () => ben.bridgeChannel(),
      (c) => c.open,
    );
    const proxy = cluster.url.replace(/^http/, 'ws');
    expect(channel.url).toMatch(new RegExp(`^${proxy}/colibri-ws/[\\w-]+\\?shard=${home}$`));
    await ben.sendEndpointMessage(ann.id, { across: 'shards' });
    const received = await eventually(
      () => ann.endpointMessages(),
      (m) => m.some(({ payload }) => 'across' in (payload as object)),
    );
    expect(received).toContainEqual({ from: ben.id, payload: { across: 'shards' } });
  });
});

describe('cluster: Jitsi Meet clients in a room spanning shards', () => {
  // One participant of a room per shard: the second one spills over to the other shard.
  const suite = useJitsiCluster({
    ROOM_SPAN: 'true',
    SPAN_SHARD_ROOM_SIZE: '1',
    SPAN_MAX_SHARD_CPU: '8',
  });

  it("each shard's focus serves its own client, with the other shard's media through the pipes", async () => {
    const { cluster, browser, clients } = suite;
    const room = 'jitsi-spanning-room';
    const [first, second] = cluster.shards.map((shard) => shard.id);
    await joinPair(browser, cluster, room, [first, second], clients);
    const metrics = await Promise.all(
      [first, second].map((id) => cluster.shard(id).process!.metrics()),
    );
    // A transport on each shard, and each client's two tracks cross once.
    expect(
      metrics.map((m) => [
        m.videowindow_transports,
        m.videowindow_cascade_pipes_in,
        m.videowindow_cascade_pipes_out,
      ]),
    ).toEqual([
      [1, 2, 2],
      [1, 2, 2],
    ]);
  });
});
