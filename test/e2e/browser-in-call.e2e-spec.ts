/**
 * In a call, in real Chromium through a real shard: screen sharing (a second video
 * producer, shown large to the others, stopped from the browser's own bar) and switching
 * the camera live (the producer and the others' consumers stay, media keeps flowing).
 * Shard and browser share one loopback-only network namespace (test/support/netns-shard).
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import type { Page } from 'playwright-core';
import type { VideoWindowHook } from '../../src/web/client/main';
import { useShardWithChromium } from '../support/netns-shard';
import {
  FAKE_CAMERAS,
  present,
  SECOND_CAMERA,
  waitForJoined,
  waitForMediaFrom,
  withShardLog,
} from '../support/web-client-page';

declare const window: { videoWindow?: VideoWindowHook };

/** Frames `page` decoded so far from the participant named `from`: camera and screen. */
const framesFrom = async (page: Page, from: string) => {
  const stats = await page.evaluate(() => window.videoWindow!.receiveStats());
  const mine = Object.values(stats).find((s) => s.displayName === from);
  return { camera: mine?.framesDecoded ?? 0, screen: mine?.screenFramesDecoded ?? 0 };
};

/** Waits until `page` decodes more camera frames from `from` than `after`. */
const cameraFramesBeyond = (page: Page, from: string, after: number) =>
  page.waitForFunction(
    async ({ name, frames }) => {
      const stats = await window.videoWindow!.receiveStats();
      return Object.values(stats).some((s) => s.displayName === name && s.framesDecoded > frames);
    },
    { name: from, frames: after },
    { polling: 250, timeout: 15_000 },
  );

describe('in a call (real Chromium through a real shard)', () => {
  const suite = useShardWithChromium({
    // Fake cameras to switch between; the fake screen is what getDisplayMedia captures.
    chromiumArgs: [FAKE_CAMERAS, '--auto-select-desktop-capture-source=Entire screen'],
  });

  const join = async (room: string, name: string) => {
    const page = await suite.newPage(name, { width: 960, height: 540 });
    await page.goto(`${suite.shard.url}/r/${room}?name=${name}`);
    await waitForJoined(page);
    return page;
  };

  it(
    'a shared screen is shown large to the others and stops from the browser bar',
    () =>
      withShardLog(suite.shard, async () => {
        const room = `share-${Date.now().toString(36)}`;
        const a = await join(room, 'A');
        const b = await join(room, 'B');
        await Promise.all([waitForMediaFrom(a, ['B']), waitForMediaFrom(b, ['A'])]);
        const aId = await a.evaluate(() => window.videoWindow!.state.selfId);

        await a.click('#screen-button');
        await present(b, `#presentation:not([hidden])[data-participant-id="${aId}"]`, 10_000);
        expect(await b.textContent('#presenter-name')).toBe('A');
        // B decodes A's screen apart from A's camera, and shows it in the large view.
        await b.waitForFunction(
          async () => {
            const stats = Object.values(await window.videoWindow!.receiveStats());
            const video = document.querySelector<HTMLVideoElement>('#presentation video');
            return stats.some((s) => s.screenFramesDecoded > 0) && (video?.videoWidth ?? 0) > 0;
          },
          undefined,
          { polling: 250, timeout: 15_000 },
        );
        expect((await framesFrom(b, 'A')).camera).toBeGreaterThan(0);
        // A sends its screen as a third stream, hinted as detail (text stays sharp).
        const screenProducer = await a.evaluate(() => window.videoWindow!.producerId('screen'));
        expect(screenProducer).toEqual(expect.any(String));
        expect(await a.evaluate(() => window.videoWindow!.state.sharingScreen)).toBe(true);
        const hint = await a.evaluate(
          () =>
            (
              document.querySelector<HTMLVideoElement>('#presentation video')!
                .srcObject as MediaStream
            ).getVideoTracks()[0].contentHint,
        );
        expect(hint).toBe('detail');
        expect(await a.getAttribute('#screen-button', 'aria-pressed')).toBe('true');
        // The tiles make room: a strip beside the screen.
        expect(await b.$eval('#stage', (stage) => stage.classList.contains('presenting'))).toBe(
          true,
        );
        const dir = await mkdtemp(joinPath(tmpdir(), 'vw-screen-share-'));
        await b.screenshot({ path: joinPath(dir, 'screen-share.png') });
        console.log(`screen-share screenshot in ${dir}`);

        // The browser's own "Stop sharing" ends the track: the share stops for everyone.
        await a.evaluate(() => {
          const video = document.querySelector<HTMLVideoElement>('#presentation video')!;
          (video.srcObject as MediaStream).getVideoTracks()[0].dispatchEvent(new Event('ended'));
        });
        await present(b, '#presentation[hidden]', 10_000);
        await present(a, '#presentation[hidden]');
        expect(await a.evaluate(() => window.videoWindow!.producerId('screen'))).toBeUndefined();
        expect(await a.getAttribute('#screen-button', 'aria-pressed')).toBe('false');
        expect((await framesFrom(b, 'A')).screen).toBe(0);
        // The camera goes on.
        await cameraFramesBeyond(b, 'A', (await framesFrom(b, 'A')).camera);

        expect(suite.pageErrors).toEqual([]);
      }),
    90_000,
  );

  it(
    'switching the camera keeps the producer; the others keep decoding; the choice is remembered',
    () =>
      withShardLog(suite.shard, async () => {
        const room = `devices-${Date.now().toString(36)}`;
        const a = await join(room, 'A');
        const b = await join(room, 'B');
        await waitForMediaFrom(b, ['A']);
        const before = await a.evaluate(() => ({
          producer: window.videoWindow!.producerId('camera'),
          camera: window.videoWindow!.state.deviceIds.videoinput,
        }));

        await a.click('#devices-button');
        const cameras = await a.$$eval('#camera-select option', (options) =>
          options.map((option) => ({
            id: (option as HTMLOptionElement).value,
            label: option.textContent,
          })),
        );
        expect(cameras).toHaveLength(3);
        const other = cameras.find((camera) => camera.label === SECOND_CAMERA)!.id;
        expect(other).not.toBe(before.camera);
        await a.selectOption('#camera-select', other);
        await a.waitForFunction(
          (id) => window.videoWindow!.state.deviceIds.videoinput === id,
          other,
          { polling: 100, timeout: 10_000 },
        );
        expect(await a.evaluate(() => window.videoWindow!.producerId('camera'))).toBe(
          before.producer,
        );
        // B goes on decoding A through the same consumer, now the new camera's frames
        // (a second's worth and more: not just those that were on their way).
        await cameraFramesBeyond(b, 'A', (await framesFrom(b, 'A')).camera + 30);

        // The next call starts with the camera chosen.
        await a.reload();
        await waitForJoined(a);
        expect(await a.evaluate(() => window.videoWindow!.state.deviceIds.videoinput)).toBe(other);

        expect(suite.pageErrors).toEqual([]);
      }),
    90_000,
  );
});
