/**
 * Large rooms, in real Chromium through a real shard: a room of Node publishers (camera
 * simulcast over libwebrtc, cheap to run ten of) and a web client page. The page receives
 * video only for the tiles it shows: the grid's pages fit the window, the consumers of
 * other pages are paused on the server and resumed when their page is shown; each tile
 * asks for the simulcast layer fitting its size; the server's cap on videos per receiver
 * holds whatever a client asks. Bad input to the large-room requests gets the protocol's
 * errors.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import type { ConsumerState } from '../../src/media/room-media';
import type { JoinResult } from '../../src/signaling/socketio/protocol';
import { MediaService } from '../../src/media/media.service';
import type { VideoWindowHook } from '../../src/web/client/main';
import { CHROMIUM_FLAGS, CHROMIUM_PATH } from '../support/netns-shard';
import { eventually, NodeParticipant } from '../support/node-participant';
import { startShard, TestShard } from '../support/shard';
import { RequestError } from '../support/signaling-client';
import { waitForJoined } from '../support/web-client-page';

declare const window: { videoWindow?: VideoWindowHook };

jest.setTimeout(180_000);

const PUBLISHERS = 10;
/** The server's cap per receiver in this test: below what the largest window would show. */
const MAX_VIDEOS = 6;

describe('a large room in Chromium (pagination, layers, the cap)', () => {
  let shard: TestShard;
  let media: MediaService;
  let browser: Browser;
  const clients: NodeParticipant[] = [];
  const room = `large-${Date.now().toString(36)}`;
  const publisherIds: string[] = [];

  beforeAll(async () => {
    shard = await startShard({ MEDIA_MAX_VIDEOS_PER_RECEIVER: String(MAX_VIDEOS) });
    media = shard.app.get(MediaService);
    for (let i = 0; i < PUBLISHERS; i++) {
      const client = await NodeParticipant.connect(shard.baseUrl);
      clients.push(client);
      // Publishers only: ten libwebrtc receivers would cost this machine more than the rest.
      client.receivesOthers = false;
      await client.join(room, `P${i}`);
      await client.publish(['video'], { simulcast: true });
      publisherIds.push(client.joined.participantId);
    }
    // On the host's network, as the shard runs in this process on loopback.
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_FLAGS });
  });
  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    clients.forEach((client) => client.close());
    await shard?.close();
  });

  /** The page's video consumers as the server sees them. */
  const serverVideos = async (participantId: string): Promise<ConsumerState[]> =>
    (await media.room(room)).consumersOf(participantId).filter((c) => c.kind === 'video');
  const resumedOnServer = async (participantId: string) =>
    (await serverVideos(participantId))
      .filter((c) => !c.paused)
      .map((c) => c.participantId)
      .sort();
  /** The remote tiles on the page's current page. */
  const tilesShown = (page: Page) =>
    page.$$eval('#tiles .tile:not(.local):not(.off-page)', (tiles) =>
      tiles.map((tile) => (tile as HTMLElement).dataset.participantId!).sort(),
    );

  const openPage = async (viewport: { width: number; height: number }) => {
    const context = await browser.newContext({ viewport });
    const page = await context.newPage();
    await page.goto(`${shard.baseUrl}/r/${room}?name=Viewer`);
    await waitForJoined(page);
    await page.waitForFunction(
      (n) => document.querySelectorAll('#tiles .tile:not(.local)').length === n,
      PUBLISHERS,
      { polling: 100, timeout: 15_000 },
    );
    const selfId = (await page.evaluate(() => window.videoWindow!.state.selfId))!;
    return { page, selfId, close: () => context.close() };
  };

  it('shows a page of tiles fitting the window; the other pages are paused on the server', async () => {
    // A small window: a few tiles per page, several pages.
    const { page, selfId, close } = await openPage({ width: 800, height: 600 });
    try {
      await page.waitForSelector('#tile-pages:not([hidden])', { timeout: 10_000 });
      const firstPage = await tilesShown(page);
      expect(firstPage.length).toBeGreaterThan(0);
      expect(firstPage.length).toBeLessThan(PUBLISHERS);
      const pages = Number((await page.textContent('#page-label'))!.split('/')[1]);
      expect(pages).toBe(Math.ceil(PUBLISHERS / firstPage.length));
      // Only the shown tiles' videos are resumed on the server; everyone's is consumed.
      const resumed = await eventually(
        () => resumedOnServer(selfId),
        (ids) => JSON.stringify(ids) === JSON.stringify(firstPage),
      );
      expect(resumed).toEqual(firstPage);
      expect(await serverVideos(selfId)).toHaveLength(PUBLISHERS);
      await eventually(
        () => decodingFrom(page),
        (ids) => firstPage.every((id) => ids.includes(id)),
      );

      // The next page: its videos resumed (from a keyframe: they decode), the first's paused.
      await page.click('#page-next');
      const secondPage = await tilesShown(page);
      expect(secondPage.some((id) => firstPage.includes(id))).toBe(false);
      expect(
        await eventually(
          () => resumedOnServer(selfId),
          (ids) => JSON.stringify(ids) === JSON.stringify(secondPage),
        ),
      ).toEqual(secondPage);
      const before = await framesFrom(page);
      // New frames from each (a starved machine's publishers send a few a second).
      const decodedSince = (frames: Record<string, number>) =>
        secondPage.filter((id) => (frames[id] ?? 0) > (before[id] ?? 0));
      const frames = await eventually(
        () => framesFrom(page),
        (now) => decodedSince(now).length === secondPage.length,
        45_000,
      );
      expect(decodedSince(frames)).toEqual(secondPage);
      // The first page's videos stopped coming.
      const stopped = await framesFrom(page);
      await page.waitForTimeout(1_500);
      const later = await framesFrom(page);
      for (const id of firstPage)
        expect(later[id] ?? 0).toBeLessThanOrEqual((stopped[id] ?? 0) + 2);
    } finally {
      await close();
    }
  });

  it('brings the latest speaker onto the first page (last N), its video resumed', async () => {
    const { page, selfId, close } = await openPage({ width: 800, height: 600 });
    const speaker = await NodeParticipant.connect(shard.baseUrl);
    clients.push(speaker);
    try {
      const firstPage = await tilesShown(page);
      // Someone who joins last is on the last page, until it speaks.
      speaker.receivesOthers = false;
      await speaker.join(room, 'Speaker');
      const speakerId = speaker.joined.participantId;
      await speaker.publish(['video'], { simulcast: true });
      await page.waitForSelector(`#tiles .tile.off-page[data-participant-id="${speakerId}"]`, {
        state: 'attached',
      });
      expect(await resumedOnServer(selfId)).not.toContain(speakerId);
      // The page's own (fake) microphone off, the speaker's tone makes it the active speaker.
      await page.click('#mic-button');
      await speaker.publish(['audio']);
      await page.waitForSelector(
        `#tiles .tile:not(.off-page)[data-participant-id="${speakerId}"]`,
        {
          timeout: 15_000,
        },
      );
      // First on the page, the others moved along (one of the first page went to the next).
      const shown = await tilesShown(page);
      expect(shown).toHaveLength(firstPage.length);
      expect(
        await eventually(
          () => resumedOnServer(selfId),
          (ids) => JSON.stringify(ids) === JSON.stringify(shown),
        ),
      ).toEqual(shown);
      expect(
        await page.$eval(
          `#tiles .tile[data-participant-id="${speakerId}"]`,
          (tile) => (tile as HTMLElement).style.order,
        ),
      ).toBe('1');
    } finally {
      await close();
      await speaker.request('leave', {});
    }
  });

  it('asks for a low layer for small tiles and the top layer for a large one', async () => {
    const { page, selfId, close } = await openPage({ width: 1280, height: 720 });
    try {
      await page.waitForSelector('#tile-pages:not([hidden])');
      const dir = await mkdtemp(join(tmpdir(), 'vw-large-room-'));
      await page.screenshot({ path: join(dir, 'large-room.png') });
      console.log(`large-room screenshot in ${dir}`);
      // Speaker view: one tile large, the others in a strip below it.
      await page.click('#view-button');
      const featured = await page.$eval(
        '#tiles .tile.featured',
        (tile) => (tile as HTMLElement).dataset.participantId!,
      );
      const layers = await eventually(
        async () => {
          const videos = await serverVideos(selfId);
          return new Map(
            videos.filter((c) => !c.paused).map((c) => [c.participantId, c.preferredLayers]),
          );
        },
        (map) =>
          map.get(featured)?.spatialLayer === 1 &&
          [...map].some(([id, l]) => id !== featured && l?.spatialLayer === 0),
      );
      expect(layers.get(featured)?.spatialLayer).toBe(1);
      const small = [...layers].filter(([id]) => id !== featured);
      expect(small.length).toBeGreaterThan(0);
      for (const [, l] of small) expect(l?.spatialLayer).toBe(0);
      // What arrives: the large tile's video at 360 lines, a small one's at 180.
      const heights = await eventually(
        () => frameHeights(page),
        (h) => h[featured] === 360 && small.some(([id]) => h[id] === 180),
        30_000,
      );
      expect(heights[featured]).toBe(360);
      expect(small.some(([id]) => heights[id] === 180)).toBe(true);
    } finally {
      await close();
    }
  });

  it('a large window shows no more tiles than the cap; the cap holds whatever a client asks', async () => {
    const { page, selfId, close } = await openPage({ width: 1920, height: 1080 });
    try {
      expect(await page.evaluate(() => window.videoWindow!.state.phase)).toBe('joined');
      const shown = await tilesShown(page);
      expect(shown).toHaveLength(MAX_VIDEOS);
      expect(
        await eventually(
          () => resumedOnServer(selfId),
          (ids) => JSON.stringify(ids) === JSON.stringify(shown),
        ),
      ).toEqual(shown);
    } finally {
      await close();
    }

    // A client that resumes everything: the server resumes MAX_VIDEOS, refuses the rest.
    const greedy = await rawViewer('Greedy');
    const outcomes = await Promise.allSettled(
      greedy.videos.map((consumerId) => greedy.client.request('resumeConsumer', { consumerId })),
    );
    const refused = outcomes.filter((o) => o.status === 'rejected');
    expect(outcomes.length - refused.length).toBe(MAX_VIDEOS);
    for (const outcome of refused) {
      expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(RequestError);
      expect((outcome as PromiseRejectedResult).reason.code).toBe('too_many_videos');
    }
    expect(await resumedOnServer(greedy.participantId)).toHaveLength(MAX_VIDEOS);
  });

  it('answers bad large-room requests with the protocol errors, harming nobody', async () => {
    const viewer = await rawViewer('Viewer A');
    const other = await rawViewer('Viewer B');
    const [own] = viewer.videos;
    const refusal = (promise: Promise<unknown>) =>
      promise.then(
        () => 'accepted',
        (error: RequestError) => error.code,
      );
    const request = viewer.client.request.bind(viewer.client);
    // Another participant's consumer, an unknown one: not found for this participant.
    expect(
      await refusal(
        request('setPreferredLayers', { consumerId: other.videos[0], spatialLayer: 0 }),
      ),
    ).toBe('not_found');
    expect(await refusal(request('resumeConsumer', { consumerId: other.videos[0] }))).toBe(
      'not_found',
    );
    expect(
      await refusal(request('setPreferredLayers', { consumerId: 'nope', spatialLayer: 0 })),
    ).toBe('not_found');
    expect(await refusal(request('pauseConsumer', { consumerId: 'nope' }))).toBe('not_found');
    // Layers the consumer does not have (two spatial, three temporal), or no layer at all.
    for (const layers of [
      { spatialLayer: 2 },
      { spatialLayer: 0, temporalLayer: 3 },
      { spatialLayer: -1 },
      { spatialLayer: 99 },
      { spatialLayer: 0.5 },
    ]) {
      expect(await refusal(request('setPreferredLayers', { consumerId: own, ...layers }))).toBe(
        'bad_request',
      );
    }
    expect(await refusal(request('setPreferredLayers', { consumerId: own } as never))).toBe(
      'bad_request',
    );
    // Nothing changed; a valid request is taken, by this participant and by the other.
    const state = async (participantId: string, consumerId: string) =>
      (await serverVideos(participantId)).find((c) => c.id === consumerId)!;
    expect((await state(viewer.participantId, own)).preferredLayers?.spatialLayer).toBe(1);
    expect((await state(other.participantId, other.videos[0])).preferredLayers?.spatialLayer).toBe(
      1,
    );
    expect(await refusal(request('setPreferredLayers', { consumerId: own, spatialLayer: 0 }))).toBe(
      'accepted',
    );
    expect((await state(viewer.participantId, own)).preferredLayers?.spatialLayer).toBe(0);
    expect(
      await refusal(other.client.request('resumeConsumer', { consumerId: other.videos[0] })),
    ).toBe('accepted');
  });

  /**
   * A viewer speaking the protocol by hand: it joins, makes a receive transport and a
   * consumer of every camera (paused, as `consume` makes them) and nothing more.
   */
  async function rawViewer(name: string) {
    const client = await NodeParticipant.connect(shard.baseUrl);
    clients.push(client);
    const joined = (await client.request('join', { room, displayName: name })) as JoinResult;
    await client.device.load({ routerRtpCapabilities: joined.routerRtpCapabilities });
    const transport = await client.request('createWebRtcTransport', { direction: 'recv' });
    const cameras = joined.participants.flatMap((p) =>
      p.producers.filter((producer) => producer.kind === 'video'),
    );
    expect(cameras).toHaveLength(PUBLISHERS);
    const videos = await Promise.all(
      cameras.map(async (producer) => {
        const consumer = await client.request('consume', {
          transportId: transport.id,
          producerId: producer.id,
          rtpCapabilities: client.device.rtpCapabilities,
        });
        expect(consumer).toMatchObject({ type: 'simulcast', paused: true });
        return consumer.id;
      }),
    );
    return { client, participantId: joined.participantId, videos };
  }
});

/** Per remote participant: video frames the page decoded so far. */
async function framesFrom(page: Page): Promise<Record<string, number>> {
  const stats = await page.evaluate(() => window.videoWindow!.receiveStats());
  return Object.fromEntries(Object.entries(stats).map(([id, s]) => [id, s.framesDecoded]));
}

/** The remote participants whose video the page decodes now (frames within a second). */
async function decodingFrom(page: Page): Promise<string[]> {
  const before = await framesFrom(page);
  await page.waitForTimeout(1_000);
  const after = await framesFrom(page);
  return Object.keys(after).filter((id) => after[id] > (before[id] ?? 0));
}

/** Per remote participant: the height of the video frames the page receives now. */
async function frameHeights(page: Page): Promise<Record<string, number>> {
  const stats = await page.evaluate(() => window.videoWindow!.receiveStats());
  return Object.fromEntries(Object.entries(stats).map(([id, s]) => [id, s.frameHeight]));
}
