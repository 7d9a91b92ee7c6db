/**
 * `npm run bench -- large-room [--participants 25] [--pages 3] [--seconds 10]`: what a
 * web client in a large room receives. Node participants (libwebrtc, in child processes)
 * publish a simulcast camera each; a few Chromium pages join the same room. Twice in one
 * run: with the client as it is (video only for the tiles shown, each at the layer its
 * tile needs) and with `?videos=all` (every video at its top layer, as before large-room
 * support). For each: the incoming video bitrate and the number of video decoders per
 * page (video streams it receives during the measurement: each feeds a decoder), then
 * the ratios.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type Browser, chromium, type Page } from 'playwright-core';
import type { VideoWindowHook } from '../src/web/client/main';
import { WEB_ASSETS_DIR } from '../src/web/web.controller';
import { CHROMIUM_FLAGS, CHROMIUM_PATH } from '../test/support/netns-shard';
import { startShard } from '../test/support/shard';
import { waitForJoined } from '../test/support/web-client-page';
import { ChildClients } from './child-clients';
import type { LargeRoomCommand, LargeRoomReport } from './large-room-clients';
import { debianPackage, MissingPrerequisite } from './prerequisites';
import type { Bench, Row } from './run';

declare const window: { videoWindow?: VideoWindowHook };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const VIEWPORT = { width: 1280, height: 720 };
/**
 * Before measuring: consumers made and resumed, layers switched, decoders started, and
 * the shard's bandwidth estimate for each page grown from its initial 1 Mbit/s.
 */
const SETTLE_MS = 10_000;
/** Publishers per client process (libwebrtc encoders spread over the cores). */
const PUBLISHERS_PER_PROCESS = 12;

const VARIANTS = [
  { variant: 'pagination + layers', query: '' },
  { variant: 'everything', query: '&videos=all' },
] as const;

interface PageSample {
  /** Per remote participant: video bytes received and frames decoded so far. */
  bytes: Record<string, number>;
  frames: Record<string, number>;
}

async function sample(page: Page): Promise<PageSample> {
  const stats = await page.evaluate(() => window.videoWindow!.receiveStats());
  const bytes: Record<string, number> = {};
  const frames: Record<string, number> = {};
  for (const [id, s] of Object.entries(stats)) {
    bytes[id] = s.videoBytesReceived;
    frames[id] = s.framesDecoded;
  }
  return { bytes, frames };
}

const round1 = (n: number) => Math.round(n * 10) / 10;

export const largeRoom: Bench = {
  needs: [debianPackage('chromium', ['chromium'])],
  columns: [
    'variant',
    'participants',
    'pages',
    'tiles shown per page',
    'decoders per page',
    'video kbit/s per page',
    'fps per decoder',
    'seconds',
    'failed publishers',
  ],
  async run(args, progress) {
    const { values } = parseArgs({
      args,
      options: {
        participants: { type: 'string', default: '25' },
        pages: { type: 'string', default: '3' },
        seconds: { type: 'string', default: '10' },
        tiny: { type: 'boolean' },
      },
    });
    const [participants, pageCount, seconds] = values.tiny
      ? [4, 2, 2]
      : [values.participants, values.pages, values.seconds].map(Number);
    if (!existsSync(join(WEB_ASSETS_DIR, 'app.js'))) {
      throw new MissingPrerequisite('the web client is not built: run "npm run build"');
    }
    const publisherCount = participants - pageCount;
    const shard = await startShard({ LOG_LEVEL: 'error' });
    const room = `large-room-${Date.now().toString(36)}`;
    const children: ChildClients<LargeRoomCommand, LargeRoomReport>[] = [];
    let browser: Browser | undefined;
    const rows: Row[] = [];
    try {
      let failedPublishers = 0;
      for (let from = 0; from < publisherCount; from += PUBLISHERS_PER_PROCESS) {
        const count = Math.min(PUBLISHERS_PER_PROCESS, publisherCount - from);
        const child = ChildClients.start<LargeRoomCommand, LargeRoomReport>(
          'large-room-clients.ts',
        );
        children.push(child);
        const report = await child.ask(
          { type: 'publish', baseUrl: shard.baseUrl, room, from, count },
          'publishing',
        );
        failedPublishers += report.failed;
        if (report.firstError) progress(`publisher failed: ${report.firstError}`);
      }
      progress(`${publisherCount - failedPublishers} publishers in ${room}`);
      browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_FLAGS });

      const measured: Record<string, { bitrate: number; decoders: number }> = {};
      for (const { variant, query } of VARIANTS) {
        const contexts = await Promise.all(
          Array.from({ length: pageCount }, () => browser!.newContext({ viewport: VIEWPORT })),
        );
        try {
          const pages: Page[] = [];
          for (const [index, context] of contexts.entries()) {
            const page = await context.newPage();
            await page.goto(`${shard.baseUrl}/r/${room}?name=Page%20${index}${query}`);
            await waitForJoined(page, 30_000);
            pages.push(page);
          }
          const remote = participants - failedPublishers - 1;
          await Promise.all(
            pages.map((page) =>
              page.waitForFunction(
                (n) => document.querySelectorAll('#tiles .tile:not(.local)').length >= n,
                remote,
                { polling: 250, timeout: 60_000 },
              ),
            ),
          );
          await sleep(values.tiny ? 2_000 : SETTLE_MS);
          const before = await Promise.all(pages.map(sample));
          const startedAt = Date.now();
          await sleep(seconds * 1_000);
          const after = await Promise.all(pages.map(sample));
          const elapsed = (Date.now() - startedAt) / 1_000;
          const tilesShown = await Promise.all(
            pages.map((page) =>
              page.$$eval('#tiles .tile:not(.local):not(.off-page)', (tiles) => tiles.length),
            ),
          );
          const perPage = pages.map((_, i) => {
            const grown = (of: 'bytes' | 'frames') =>
              Object.keys(after[i][of]).map((id) => after[i][of][id] - (before[i][of][id] ?? 0));
            const bytes = grown('bytes');
            // Every video stream received feeds a decoder of its own.
            const decoders = bytes.filter((n) => n > 0).length;
            const frames = grown('frames').reduce((a, b) => a + b, 0);
            return {
              bitrate: (bytes.reduce((a, b) => a + b, 0) * 8) / elapsed,
              decoders,
              fps: frames / elapsed / Math.max(decoders, 1),
            };
          });
          const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
          measured[variant] = {
            bitrate: mean(perPage.map((p) => p.bitrate)),
            decoders: mean(perPage.map((p) => p.decoders)),
          };
          rows.push({
            variant,
            participants,
            pages: pageCount,
            'tiles shown per page': round1(mean(tilesShown)),
            'decoders per page': round1(measured[variant].decoders),
            'video kbit/s per page': Math.round(measured[variant].bitrate / 1_000),
            'fps per decoder': round1(mean(perPage.map((p) => p.fps))),
            seconds: round1(elapsed),
            'failed publishers': failedPublishers,
          });
          progress(
            `${variant}: ${JSON.stringify(rows[rows.length - 1])}; tiles shown by page ${tilesShown.join(', ')}`,
          );
        } finally {
          await Promise.all(contexts.map((context) => context.close().catch(() => undefined)));
        }
      }
      const [reduced, everything] = VARIANTS.map(({ variant }) => measured[variant]);
      rows.push({
        variant: 'everything / pagination + layers',
        participants,
        pages: pageCount,
        'tiles shown per page': '',
        'decoders per page': round1(everything.decoders / reduced.decoders),
        'video kbit/s per page': round1(everything.bitrate / reduced.bitrate),
        'fps per decoder': '',
        seconds: '',
        'failed publishers': failedPublishers,
      });
    } finally {
      await browser?.close().catch(() => undefined);
      await Promise.all(children.map((child) => child.close({ type: 'close' })));
      await shard.close();
    }
    return rows;
  },
};
