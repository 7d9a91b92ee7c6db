/**
 * The pre-join screen in real Chromium through a real shard: camera preview, microphone
 * level, device choice (remembered), joining muted and with the camera off, the display
 * name. Shard and browser share one loopback-only network namespace.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { VideoWindowHook } from '../../src/web/client/main';
import { useShardWithChromium } from '../support/netns-shard';
import {
  FAKE_CAMERAS,
  joinFromPrejoin,
  present,
  SECOND_CAMERA,
  waitForJoined,
  waitForMediaFrom,
  withShardLog,
} from '../support/web-client-page';

declare const window: { videoWindow?: VideoWindowHook };

describe('pre-join screen (real Chromium through a real shard)', () => {
  const suite = useShardWithChromium({ chromiumArgs: [FAKE_CAMERAS] });

  it(
    'previews camera and microphone, remembers the devices, joins muted with the camera off',
    () =>
      withShardLog(suite.shard, async () => {
        const room = `prejoin-${Date.now().toString(36)}`;
        const page = await suite.newPage('Pat', { width: 1000, height: 760 });
        await page.goto(`${suite.shard.url}/r/${room}`);

        // The preview plays the camera and the meter moves with the (beeping) fake microphone.
        await page.waitForFunction(
          () => (document.querySelector<HTMLVideoElement>('#preview video')?.videoWidth ?? 0) > 0,
          undefined,
          { polling: 100, timeout: 10_000 },
        );
        await page.waitForFunction(
          () => Number(document.getElementById('mic-level')!.dataset.level ?? 0) > 0.01,
          undefined,
          { polling: 50, timeout: 10_000 },
        );
        const cameras = await page.$$eval('#prejoin-camera-select option', (options) =>
          options.map((option) => ({
            id: (option as HTMLOptionElement).value,
            label: option.textContent,
            selected: (option as HTMLOptionElement).selected,
          })),
        );
        expect(cameras).toHaveLength(3);
        expect(cameras[0].selected).toBe(true);
        expect(await page.locator('#prejoin-mic-select option').count()).toBeGreaterThan(0);
        const dir = await mkdtemp(join(tmpdir(), 'vw-prejoin-'));
        await page.fill('#name-input', 'Pat');
        await page.screenshot({ path: join(dir, 'prejoin.png') });

        // Another camera: the preview switches to it.
        const other = cameras.find((camera) => camera.label === SECOND_CAMERA)!.id;
        await page.selectOption('#prejoin-camera-select', other);
        await page.waitForFunction(
          (id) =>
            (document.querySelector<HTMLVideoElement>('#preview video')!.srcObject as MediaStream)
              .getVideoTracks()[0]
              .getSettings().deviceId === id,
          other,
          { polling: 100, timeout: 5_000 },
        );

        // Join muted and with the camera off.
        await page.click('#prejoin-mic');
        await page.click('#prejoin-camera');
        expect(await page.getAttribute('#prejoin-mic', 'aria-pressed')).toBe('false');
        await present(page, '#preview.video-off');
        await page.click('#name-form button[type=submit]');
        await waitForJoined(page);
        const state = await page.evaluate(() => window.videoWindow!.state);
        expect(state).toMatchObject({ micOn: false, cameraOn: false });
        expect(state.deviceIds.videoinput).toBe(other);
        await present(page, '.tile.local.audio-muted.video-off');

        // Others see Pat muted, without video; Pat's camera on shows the chosen camera.
        const b = await suite.newPage('B', { width: 640, height: 360 });
        await b.goto(`${suite.shard.url}/r/${room}?name=B`);
        await waitForJoined(b);
        await present(b, '.tile[data-name="Pat"].audio-muted.video-off');
        await page.click('#camera-button');
        await waitForMediaFrom(b, ['Pat'], false);
        await present(b, '.tile[data-name="Pat"].audio-muted:not(.video-off)');

        // Next time: the name and the camera chosen are remembered.
        await page.reload();
        await page.waitForSelector('#prejoin-camera-select option', { state: 'attached' });
        expect(await page.inputValue('#name-input')).toBe('Pat');
        expect(await page.inputValue('#prejoin-camera-select')).toBe(other);
        await joinFromPrejoin(page);
        await waitForJoined(page);
        expect(await page.evaluate(() => window.videoWindow!.state.deviceIds.videoinput)).toBe(
          other,
        );
        console.log(`pre-join screenshot in ${dir}`);

        expect(suite.pageErrors).toEqual([]);
      }),
    90_000,
  );
});
