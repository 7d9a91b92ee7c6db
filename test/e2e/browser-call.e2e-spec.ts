/**
 * Three real Chromium participants call each other through a real shard: video and
 * audio flow both ways (checked with WebRTC statistics), mute, chat and active speaker
 * reach the others, and a participant who leaves disappears from the others' grids.
 * Shard and browser share one loopback-only network namespace (test/support/netns-shard).
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { VideoWindowHook } from '../../src/web/client/main';
import { useShardWithChromium } from '../support/netns-shard';
import {
  present,
  until,
  waitForJoined,
  waitForMediaFrom,
  withShardLog,
} from '../support/web-client-page';

declare const window: { videoWindow?: VideoWindowHook };

const NAMES = ['A', 'B', 'C'] as const;
type Name = (typeof NAMES)[number];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type SendStats = Awaited<ReturnType<VideoWindowHook['sendStats']>>;

/** Polls the page's sending statistics until `done` holds; returns the last ones. */
async function waitForSend(page: Page, done: (stats: SendStats) => boolean, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const stats = await page.evaluate(() => window.videoWindow!.sendStats());
    if (done(stats) || Date.now() > deadline) return stats;
    await sleep(250);
  }
}

const tileNames = (page: Page) =>
  page.$$eval('#tiles .tile', (tiles) =>
    tiles.map((tile) => ({
      name: (tile as HTMLElement).dataset.name,
      local: tile.classList.contains('local'),
      label: tile.querySelector('.label')?.textContent,
    })),
  );

describe('browser call (real Chromium through a real shard)', () => {
  const suite = useShardWithChromium();

  it(
    'three participants see, hear and chat with each other; a leaver disappears',
    () =>
      withShardLog(suite.shard, async () => {
        const room = `e2e-${Date.now().toString(36)}`;
        const pages = {} as Record<Name, Page>;
        await Promise.all(
          NAMES.map(async (name) => {
            // A is the one photographed; smaller windows spare the CPU (and show the
            // narrow layout, with the chat folded away, in B and C).
            const viewport =
              name === 'A' ? { width: 1280, height: 720 } : { width: 800, height: 450 };
            const page = await suite.newPage(name, viewport);
            pages[name] = page;
          }),
        );
        const all = (fn: (page: Page, name: Name) => Promise<unknown>) =>
          Promise.all(NAMES.map((name) => fn(pages[name], name)));
        const others = (name: Name) => NAMES.filter((other) => other !== name);

        // Join one after the other, like people do, so both paths are exercised:
        // producers listed in the join answer and producers announced later.
        for (const name of NAMES) {
          await pages[name].goto(`${suite.shard.url}/r/${room}?name=${name}`);
          await waitForJoined(pages[name]);
        }

        // Every participant decodes video and receives audio from both others.
        await all((page, name) => waitForMediaFrom(page, others(name)));
        for (const name of NAMES) {
          const tiles = await tileNames(pages[name]);
          expect(tiles.map((t) => t.name).sort()).toEqual([...NAMES]);
          expect(tiles.filter((t) => t.local)).toEqual([
            expect.objectContaining({ name, label: `${name}(You)` }),
          ]);
        }

        // Each browser learned the router's capabilities before joining, so its join also
        // set up receiving: the only transports asked for are the three send transports.
        const metrics = await pages.A.evaluate(() => fetch('/metrics').then((r) => r.text()));
        const requests = (method: string) =>
          Number(
            new RegExp(
              `^videowindow_socketio_requests_total{method="${method}"} (\\d+)$`,
              'm',
            ).exec(metrics)?.[1],
          );
        expect(requests('getRouterRtpCapabilities')).toBe(3);
        expect(requests('join')).toBe(3);
        expect(requests('createWebRtcTransport')).toBe(3);

        // The camera goes out as three-layer VP8 simulcast, the microphone as one stream.
        // (Upper layers start once the bandwidth estimate allows them, and Chrome drops
        // the top one when the machine is short of CPU, so only the lower two must flow.)
        const sent = await waitForSend(pages.A, (stats) =>
          stats.video.every((stream) => stream.bytesSent > 0),
        );
        expect(sent.video.map((stream) => stream.rid).sort()).toEqual(['r0', 'r1', 'r2']);
        const flowing = sent.video.filter((stream) => stream.bytesSent > 0).map((s) => s.rid);
        expect(flowing).toEqual(expect.arrayContaining(['r0', 'r1']));
        expect(sent.audio).toHaveLength(1);

        // Chat: A's message reaches B and C, and A sees its own.
        await pages.A.fill('#chat-input', 'hello from A');
        await pages.A.press('#chat-input', 'Enter');
        await all((page) =>
          until(page, () =>
            [...document.querySelectorAll('.chat-message .text')].some(
              (item) => item.textContent === 'hello from A',
            ),
          ),
        );
        expect(await pages.A.textContent('.chat-message.own .from')).toBe('You');

        // Mute: B's microphone off shows on B's tile everywhere.
        await pages.B.click('#mic-button');
        await all((page) => present(page, '.tile[data-name="B"].audio-muted'));

        // Active speaker: with A and B muted, C's beeping fake microphone makes C the
        // dominant speaker (a change the room announces, whoever spoke before), so every
        // page highlights C's tile, C's own page included.
        await pages.A.click('#mic-button');
        await all((page) => present(page, '.tile[data-name="C"].speaking', 10_000));
        expect(await pages.A.locator('.tile.speaking').count()).toBe(1);

        const dir = await mkdtemp(join(tmpdir(), 'vw-browser-call-'));
        await pages.A.screenshot({ path: join(dir, 'three-participants.png') });

        // C leaves: its tile disappears for A and B, and C sees the end screen.
        await pages.C.click('#leave-button');
        await present(pages.C, '#ended:not([hidden])');
        await Promise.all(
          [pages.A, pages.B].map((page) =>
            until(
              page,
              () =>
                !document.querySelector('.tile[data-name="C"]') &&
                document.querySelectorAll('#tiles .tile').length === 2,
            ),
          ),
        );
        await pages.A.screenshot({ path: join(dir, 'after-leave.png') });
        console.log(`browser-call screenshots in ${dir}`);

        // The media worker dies: the shard replaces it and tells the room to rejoin; A and
        // B join again on their own and see each other anew.
        const workers = suite.shard.children();
        expect(workers).toHaveLength(1);
        const selfIds = await Promise.all(
          [pages.A, pages.B].map((page) => page.evaluate(() => window.videoWindow!.state.selfId)),
        );
        process.kill(workers[0], 'SIGKILL');
        await Promise.all(
          [pages.A, pages.B].map((page, i) =>
            page.waitForFunction(
              (before) => window.videoWindow!.state.selfId !== before,
              selfIds[i],
              { polling: 100, timeout: 10_000 },
            ),
          ),
        );
        await Promise.all([pages.A, pages.B].map((page) => waitForJoined(page)));
        // Their microphones stay muted across the rejoin, so only video is expected.
        await Promise.all([
          waitForMediaFrom(pages.A, ['B'], false),
          waitForMediaFrom(pages.B, ['A'], false),
        ]);
        expect((await tileNames(pages.A)).map((t) => t.name).sort()).toEqual(['A', 'B']);
        await present(pages.A, '.tile[data-name="B"].audio-muted');

        expect(suite.pageErrors).toEqual([]);
      }),
    // Three browsers encoding video on a 2-core machine: generous when the machine is busy.
    120_000,
  );
});
