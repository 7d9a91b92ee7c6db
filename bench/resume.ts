/**
 * `npm run bench -- resume [--trials 10] [--cut-ms 2000]`: how long a call takes to come
 * back after the network goes away. Two Chromium pages call each other through a shard,
 * all in one loopback-only network namespace; each trial takes the namespace's link down
 * for the cut, brings it back and times, from that moment, until the other page decodes
 * a new video frame. Two scenarios:
 * - `link cut`: only the link goes (the connections survive the cut, as on a brief
 *   Wi-Fi dropout);
 * - `link cut + connections lost`: at the restore every TCP connection is destroyed as
 *   well, as when the client's address changed: the client reconnects, resumes its
 *   participant and restarts ICE.
 * A changed IP address itself is not simulated (a loopback-only namespace has one).
 */
import { execFile } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import type { Page } from 'playwright-core';
import type { VideoWindowHook } from '../src/web/client/main';
import { launchChromiumInNetns, startShardInNetns } from '../test/support/netns-shard';
import { waitForJoined, waitForMediaFrom } from '../test/support/web-client-page';
import { debianPackage } from './prerequisites';
import type { Bench, Row } from './run';

declare const window: { videoWindow?: VideoWindowHook };

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** A trial whose video is not back by then counts as failed. */
const GIVE_UP_MS = 20_000;
/** Pause between trials, for the call to settle. */
const SETTLE_MS = 2_000;

const SCENARIOS = ['link cut', 'link cut + connections lost'] as const;

/** Video frames `page` decoded so far from the participant named `from`. */
const framesFrom = async (page: Page, from: string) =>
  Object.values(await page.evaluate(() => window.videoWindow!.receiveStats())).find(
    (s) => s.displayName === from,
  )?.framesDecoded ?? 0;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

export const resumeBench: Bench = {
  needs: [debianPackage('chromium', ['chromium']), debianPackage('iproute2', ['ip', 'ss'])],
  columns: [
    'scenario',
    'trials',
    'cut ms',
    'p50 ms',
    'p95 ms',
    'max ms',
    'failed',
    'same participants',
  ],
  async run(args, progress) {
    const { values } = parseArgs({
      args,
      options: {
        trials: { type: 'string', default: '10' },
        'cut-ms': { type: 'string', default: '2000' },
        tiny: { type: 'boolean' },
      },
    });
    const trials = values.tiny ? 1 : Number(values.trials);
    const cutMs = values.tiny ? 500 : Number(values['cut-ms']);
    const shard = await startShardInNetns({ timeoutMs: 60_000 });
    const chromium = await launchChromiumInNetns(shard.pid);
    const inNetns = (...command: string[]) =>
      run('nsenter', ['-t', String(shard.pid), '-n', ...command]);
    const rows: Row[] = [];
    try {
      const room = `resume-bench-${Date.now().toString(36)}`;
      const pages: Page[] = [];
      for (const name of ['A', 'B']) {
        const context = await chromium.browser.newContext({
          viewport: { width: 640, height: 360 },
        });
        const page = await context.newPage();
        await page.goto(`${shard.url}/r/${room}?name=${name}`);
        await waitForJoined(page);
        pages.push(page);
      }
      const [a, b] = pages;
      await Promise.all([waitForMediaFrom(a, ['B'], false), waitForMediaFrom(b, ['A'], false)]);
      const selfIds = () =>
        Promise.all(pages.map((page) => page.evaluate(() => window.videoWindow!.state.selfId)));
      const participants = (await selfIds()).join(',');

      for (const scenario of SCENARIOS) {
        const times: number[] = [];
        let failed = 0;
        for (let trial = 1; trial <= trials; trial++) {
          await inNetns('ip', 'link', 'set', 'lo', 'down');
          await sleep(cutMs);
          const before = await framesFrom(b, 'A');
          await inNetns('ip', 'link', 'set', 'lo', 'up');
          const restored = performance.now();
          if (scenario !== 'link cut') {
            await inNetns('ss', '-K', 'state', 'established', `( sport = :${shard.port} )`);
          }
          let back: number | undefined;
          while (performance.now() - restored < GIVE_UP_MS) {
            if ((await framesFrom(b, 'A')) > before) {
              back = performance.now() - restored;
              break;
            }
            await sleep(20);
          }
          if (back === undefined) failed += 1;
          else times.push(back);
          progress(
            `${scenario} ${trial}/${trials}: ${back === undefined ? 'no video' : `${Math.round(back)} ms`}`,
          );
          // Both pages back in the room before the next trial.
          await Promise.all(pages.map((page) => waitForJoined(page, GIVE_UP_MS)));
          await sleep(SETTLE_MS);
        }
        const sorted = [...times].sort((x, y) => x - y);
        rows.push({
          scenario,
          trials,
          'cut ms': cutMs,
          'p50 ms': Math.round(percentile(sorted, 50)),
          'p95 ms': Math.round(percentile(sorted, 95)),
          'max ms': Math.round(sorted[sorted.length - 1] ?? NaN),
          failed,
          'same participants': (await selfIds()).join(',') === participants ? 'yes' : 'no',
        });
      }
    } finally {
      await chromium.close();
      await shard.stop();
    }
    return rows;
  },
};
