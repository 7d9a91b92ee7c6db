/**
 * Seamless resume in real Chromium through a real shard: every signaling connection is
 * torn down under the clients (the kernel destroys the TCP sockets, as a dying NAT or a
 * network change does); both clients reconnect and resume the same participants, nobody
 * sees anybody leave or join, and media goes on. Shard and browser share one
 * loopback-only network namespace. Then the clients' address changes (their own
 * namespace, linked to the shard's): the same participants, media back, nobody leaves.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import type { VideoWindowHook } from '../../src/web/client/main';
import {
  type NetnsBrowser,
  type NetnsShard,
  ROAMING_SHARD_ENV,
  type RoamingClients,
  roamingClients,
  startShardInNetns,
  useShardWithChromium,
} from '../support/netns-shard';
import { waitForJoined, waitForMediaFrom, withShardLog } from '../support/web-client-page';

declare const window: { videoWindow?: VideoWindowHook; tilesRemoved?: string[] };

const run = promisify(execFile);

/** How many socket.io requests of a method the shard answered (from its /metrics). */
const requestCount = async (page: Page, method: string) => {
  const metrics = await page.evaluate(() => fetch('/metrics').then((r) => r.text()));
  const line = new RegExp(`^videowindow_socketio_requests_total{method="${method}"} (\\d+)$`, 'm');
  return Number(line.exec(metrics)?.[1] ?? 0);
};

/** Camera frames `page` decoded so far from the participant named `from`. */
const framesFrom = async (page: Page, from: string) =>
  Object.values(await page.evaluate(() => window.videoWindow!.receiveStats())).find(
    (s) => s.displayName === from,
  )?.framesDecoded ?? 0;

/** Joins `room` at `url` as `name`, remembering every tile that leaves the grid. */
async function joinWatchingTiles(page: Page, url: string, room: string, name: string) {
  await page.goto(`${url}/r/${room}?name=${name}`);
  await waitForJoined(page);
  await page.evaluate(() => {
    window.tilesRemoved = [];
    new MutationObserver((changes) => {
      for (const change of changes) {
        for (const node of change.removedNodes) {
          window.tilesRemoved!.push((node as HTMLElement).dataset?.name ?? '?');
        }
      }
    }).observe(document.getElementById('tiles')!, { childList: true });
  });
  return page;
}

/** Waits until `page` decoded `more` frames beyond `before` from anyone. */
const decodesBeyond = (page: Page, before: number, more = 30) =>
  page.waitForFunction(
    async (n) =>
      Object.values(await window.videoWindow!.receiveStats()).some((s) => s.framesDecoded > n),
    before + more,
    { polling: 250, timeout: 15_000 },
  );

describe('seamless resume (real Chromium through a real shard)', () => {
  const suite = useShardWithChromium();

  const join = async (room: string, name: string) =>
    joinWatchingTiles(
      await suite.newPage(name, { width: 640, height: 360 }),
      suite.shard.url,
      room,
      name,
    );

  it(
    'resumes the same participants after their connections drop; nobody sees a leave',
    () =>
      withShardLog(suite.shard, async () => {
        const room = `resume-${Date.now().toString(36)}`;
        const a = await join(room, 'A');
        const b = await join(room, 'B');
        await Promise.all([waitForMediaFrom(a, ['B']), waitForMediaFrom(b, ['A'])]);
        const ids = await Promise.all(
          [a, b].map((p) => p.evaluate(() => window.videoWindow!.state.selfId)),
        );

        // Destroy every established TCP connection to the shard (socket.io's included).
        await run('nsenter', [
          '-t',
          String(suite.shard.pid),
          '-n',
          'ss',
          '-K',
          'state',
          'established',
          `( sport = :${suite.shard.port} )`,
        ]);
        // Each client notices, reconnects and resumes.
        for (const page of [a, b]) {
          await page.waitForFunction(
            () => window.videoWindow!.state.phase === 'reconnecting',
            undefined,
            { polling: 20, timeout: 10_000 },
          );
        }
        await Promise.all([a, b].map((page) => waitForJoined(page, 15_000)));
        expect(
          await Promise.all([a, b].map((p) => p.evaluate(() => window.videoWindow!.state.selfId))),
        ).toEqual(ids);
        // Nobody left or joined: no tile went, the shard answered no join but two resumes.
        for (const page of [a, b]) {
          expect(await page.evaluate(() => window.tilesRemoved)).toEqual([]);
        }
        expect(await requestCount(a, 'join')).toBe(2);
        expect(await requestCount(a, 'resume')).toBe(2);
        // Media goes on both ways, and the room's events reach the resumed connections.
        const before = await Promise.all([framesFrom(a, 'B'), framesFrom(b, 'A')]);
        await Promise.all([decodesBeyond(a, before[0]), decodesBeyond(b, before[1])]);
        await a.click('#mic-button');
        await b.waitForSelector('.tile[data-name="A"].audio-muted', { timeout: 5_000 });

        expect(suite.pageErrors).toEqual([]);
      }),
    90_000,
  );
});

describe('seamless resume across an address change (Chromium in a namespace of its own)', () => {
  let shard: NetnsShard | undefined;
  let clients: RoamingClients | undefined;
  let chromium: NetnsBrowser | undefined;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    shard = await startShardInNetns({ env: ROAMING_SHARD_ENV });
    clients = await roamingClients(shard);
    chromium = await clients.launchChromium();
  }, 30_000);

  afterAll(async () => {
    await chromium?.close();
    await clients?.close();
    await shard?.stop();
  });

  it(
    'keeps the same participants, with media, when the clients move to another address',
    () =>
      withShardLog(shard, async () => {
        const room = `roam-${Date.now().toString(36)}`;
        const pages: Page[] = [];
        for (const name of ['A', 'B']) {
          const context = await chromium!.browser.newContext({
            viewport: { width: 640, height: 360 },
          });
          const page = await context.newPage();
          page.on('pageerror', (error) => pageErrors.push(`${name}: ${error.message}`));
          pages.push(await joinWatchingTiles(page, clients!.url, room, name));
        }
        const [a, b] = pages;
        await Promise.all([waitForMediaFrom(a, ['B']), waitForMediaFrom(b, ['A'])]);
        const selfIds = () =>
          Promise.all(pages.map((p) => p.evaluate(() => window.videoWindow!.state.selfId)));
        const ids = await selfIds();
        const before = await Promise.all([framesFrom(a, 'B'), framesFrom(b, 'A')]);

        // The clients' address changes. The old one is gone, so the media decoded from now
        // on comes over paths from the new one (Chromium gathers it and checks it with the
        // same ICE credentials; an ICE restart follows where that fails).
        await clients!.moveTo(2);
        await Promise.all([decodesBeyond(a, before[0]), decodesBeyond(b, before[1])]);
        expect(await selfIds()).toEqual(ids);
        for (const page of pages) {
          expect(await page.evaluate(() => window.tilesRemoved)).toEqual([]);
        }
        expect(await requestCount(a, 'join')).toBe(2);
        expect(pageErrors).toEqual([]);
      }),
    90_000,
  );
});
