/**
 * Two real Chromium participants that may only use relayed candidates (`?relay=1`,
 * iceTransportPolicy 'relay') call each other through the shard's embedded TURN server;
 * with allocation lifetimes of a few seconds, video keeps flowing both ways across
 * several refreshes (and stale-nonce challenges). Shard and browser share one
 * loopback-only network namespace (test/support/netns-shard).
 */
import type { Page } from 'playwright-core';
import type { ReceiveStats } from '../../src/web/client/call';
import type { VideoWindowHook } from '../../src/web/client/main';
import { useShardWithChromium } from '../support/netns-shard';

declare const window: { videoWindow?: VideoWindowHook };

const LIFETIME_SECONDS = 4;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Frames decoded from `from`'s video by `page` so far. */
async function framesFrom(page: Page, from: string): Promise<number> {
  const stats: Record<string, ReceiveStats> = await page.evaluate(() =>
    window.videoWindow!.receiveStats(),
  );
  return Math.max(
    0,
    ...Object.values(stats)
      .filter((s) => s.displayName === from)
      .map((s) => s.framesDecoded),
  );
}

/** A metric of the shard, read from inside the namespace by the page. */
async function metric(page: Page, name: string): Promise<number> {
  const text = await page.evaluate(() => fetch('/metrics').then((r) => r.text()));
  return Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1] ?? NaN);
}

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(value)}`);
    await sleep(250);
  }
}

describe('browser call relayed through the embedded TURN server', () => {
  const suite = useShardWithChromium({
    env: {
      TURN_MODE: 'embedded',
      // The media server is the only peer, on loopback, which is refused by default.
      TURN_ALLOWED_PEER_RANGES: '127.0.0.1/32',
      TURN_DEFAULT_LIFETIME_SECONDS: String(LIFETIME_SECONDS),
      TURN_MAX_LIFETIME_SECONDS: String(LIFETIME_SECONDS),
      TURN_NONCE_LIFETIME_SECONDS: '3',
    },
  });

  it('decodes video both ways across repeated allocation refreshes', async () => {
    try {
      const room = `relay-${Date.now().toString(36)}`;
      const pages: Record<'A' | 'B', Page> = {} as never;
      for (const name of ['A', 'B'] as const) {
        pages[name] = await suite.newPage(name, { width: 640, height: 360 });
        await pages[name].goto(`${suite.shard.url}/r/${room}?name=${name}&relay=1`);
      }
      const { A, B } = pages;
      await until(
        () => framesFrom(A, 'B'),
        (n) => n > 0,
        'A decoding B',
      );
      await until(
        () => framesFrom(B, 'A'),
        (n) => n > 0,
        'B decoding A',
      );

      // Every transport (a send and a receive one per page) holds an allocation.
      const allocations = await metric(A, 'videowindow_turn_allocations');
      expect(allocations).toBeGreaterThanOrEqual(4);

      // Each allocation is refreshed at least twice more while media keeps flowing.
      const refreshesBefore = await metric(A, 'videowindow_turn_refreshes_total');
      const framesBefore = [await framesFrom(A, 'B'), await framesFrom(B, 'A')];
      await until(
        () => metric(A, 'videowindow_turn_refreshes_total'),
        (n) => n >= refreshesBefore + 2 * allocations,
        'refreshes',
      );
      // Past the lifetime of any allocation that was not refreshed.
      await sleep(LIFETIME_SECONDS * 1000 + 500);
      const framesMid = [await framesFrom(A, 'B'), await framesFrom(B, 'A')];
      await sleep(1500);
      const framesAfter = [await framesFrom(A, 'B'), await framesFrom(B, 'A')];
      expect(framesMid[0]).toBeGreaterThan(framesBefore[0]);
      expect(framesMid[1]).toBeGreaterThan(framesBefore[1]);
      expect(framesAfter[0]).toBeGreaterThan(framesMid[0]);
      expect(framesAfter[1]).toBeGreaterThan(framesMid[1]);
      expect(await metric(A, 'videowindow_turn_allocations')).toBeGreaterThanOrEqual(4);
    } catch (error) {
      if (error instanceof Error)
        error.message += `\n--- shard ---\n${suite.shard.output().slice(-4000)}`;
      throw error;
    }
  }, 120_000);
});
