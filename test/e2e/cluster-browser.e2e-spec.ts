/**
 * The web client in a cluster: real Chromium pages through real HAProxy to three shards.
 * A page that lands on a shard that does not run its room follows the redirect; when
 * the room's shard is killed, the pages reconnect and meet again on a live shard.
 */
import { Redis } from 'ioredis';
import { type Browser, chromium, type Page } from 'playwright-core';
import { CHROMIUM_FLAGS, CHROMIUM_PATH } from '../support/netns-shard';
import { eventually } from '../support/node-participant';
import { REDIS_URL, startCluster, TestCluster } from '../support/cluster';
import { waitForJoined, waitForMediaFrom } from '../support/web-client-page';

jest.setTimeout(120_000);

describe('cluster: the web client through HAProxy', () => {
  let cluster: TestCluster;
  let browser: Browser;

  beforeAll(async () => {
    cluster = await startCluster();
    // On the host's network: every shard and the proxy are on loopback.
    browser = await chromium.launch({
      executablePath: CHROMIUM_PATH,
      args: CHROMIUM_FLAGS,
      headless: true,
    });
  });
  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await cluster?.stop();
  });

  const openPage = async (room: string, name: string): Promise<Page> => {
    const context = await browser.newContext({ viewport: { width: 640, height: 360 } });
    const page = await context.newPage();
    await page.goto(`${cluster.url}/r/${room}?name=${name}`);
    return page;
  };

  it('follows the room to its shard, and meets again on a live one after a kill -9', async () => {
    const room = 'browser-cluster-room';
    // HAProxy hashes the room onto one shard; the directory puts it on another, as
    // it would had another entry placed it first.
    const hashed = (await (await fetch(`${cluster.url}/health/live?room=${room}`)).json()) as {
      shard: string;
    };
    const owner = cluster.shards.find(({ id }) => id !== hashed.shard)!.id;
    const redis = new Redis(REDIS_URL);
    await redis.set(`${cluster.name}:room:${room}`, owner, 'PX', 10_000);
    redis.disconnect();

    const [a, b] = [await openPage(room, 'A'), await openPage(room, 'B')];
    await Promise.all([waitForJoined(a), waitForJoined(b)]);
    await Promise.all([waitForMediaFrom(a, ['B']), waitForMediaFrom(b, ['A'])]);
    // The pages came from the hashed shard; their call runs on the owner.
    const ownerMetrics = await cluster.shard(owner).process!.metrics();
    expect(ownerMetrics.videowindow_participants).toBe(2);

    const killedAt = Date.now();
    cluster.kill(owner);
    const phases = await eventually(
      () => Promise.all([a, b].map((page) => page.evaluate(() => window.videoWindow!.state.phase))),
      (states) => states.some((phase) => phase !== 'joined'),
      5_000,
    );
    expect(phases).toContain('reconnecting');
    await Promise.all([waitForJoined(a, 20_000), waitForJoined(b, 20_000)]);
    await Promise.all([
      waitForMediaFrom(a, ['B'], true, 20_000),
      waitForMediaFrom(b, ['A'], true, 20_000),
    ]);
    console.log(
      `browser failover: both pages decode again ${Date.now() - killedAt} ms after kill -9`,
    );
    const counts = await Promise.all(
      cluster.shards
        .filter(({ id }) => id !== owner)
        .map(async ({ process }) => (await process!.metrics()).videowindow_participants),
    );
    expect(counts.sort()).toEqual([0, 2]);
  });
});

declare const window: { videoWindow?: import('../../src/web/client/main').VideoWindowHook };
