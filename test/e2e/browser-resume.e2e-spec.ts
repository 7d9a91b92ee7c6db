/**
 * Seamless resume in real Chromium through a real shard: every signaling connection is
 * torn down under the clients (the kernel destroys the TCP sockets, as a dying NAT or a
 * network change does); both clients reconnect and resume the same participants, nobody
 * sees anybody leave or join, and media goes on. Shard and browser share one
 * loopback-only network namespace.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import type { VideoWindowHook } from '../../src/web/client/main';
import { useShardWithChromium } from '../support/netns-shard';
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

describe('seamless resume (real Chromium through a real shard)', () => {
  const suite = useShardWithChromium();

  const join = async (room: string, name: string) => {
    const page = await suite.newPage(name, { width: 640, height: 360 });
    await page.goto(`${suite.shard.url}/r/${room}?name=${name}`);
    await waitForJoined(page);
    // Remembers every tile that leaves the grid, however briefly.
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
  };

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
        await Promise.all([
          a.waitForFunction(
            async (n) =>
              Object.values(await window.videoWindow!.receiveStats()).some(
                (s) => s.framesDecoded > n,
              ),
            before[0] + 30,
            { polling: 250, timeout: 15_000 },
          ),
          b.waitForFunction(
            async (n) =>
              Object.values(await window.videoWindow!.receiveStats()).some(
                (s) => s.framesDecoded > n,
              ),
            before[1] + 30,
            { polling: 250, timeout: 15_000 },
          ),
        ]);
        await a.click('#mic-button');
        await b.waitForSelector('.tile[data-name="A"].audio-muted', { timeout: 5_000 });

        expect(suite.pageErrors).toEqual([]);
      }),
    90_000,
  );
});
