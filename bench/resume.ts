/**
 * `npm run bench -- resume [--trials 10] [--cut-ms 2000]`: how long a call takes to come
 * back after its network changes. Two Chromium pages call each other through a shard;
 * each trial times, from the moment the network is back (or changed), until the other
 * page decodes a new video frame. Three scenarios:
 * - `link cut`: pages and shard in one loopback-only namespace whose link goes down for
 *   the cut and comes back (the connections survive it, as on a brief Wi-Fi dropout);
 * - `link cut + connections lost`: at the restore every TCP connection is destroyed as
 *   well: the clients reconnect, resume their participants and restart ICE;
 * - `address change`: the pages in a namespace of their own, linked to the shard's
 *   (test/support/netns-shard roamingClients), change their address, as from Wi-Fi to LTE.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { Page } from 'playwright-core';
import type { VideoWindowHook } from '../src/web/client/main';
import {
  inNetns,
  launchChromiumInNetns,
  type NetnsBrowser,
  ROAMING_SHARD_ENV,
  roamingClients,
  startShardInNetns,
} from '../test/support/netns-shard';
import { waitForJoined, waitForMediaFrom } from '../test/support/web-client-page';
import { debianPackage } from './prerequisites';
import type { Bench, Row } from './run';

declare const window: { videoWindow?: VideoWindowHook };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** A trial whose video is not back by then counts as failed. */
const GIVE_UP_MS = 20_000;
/** Pause between trials, for the call to settle. */
const SETTLE_MS = 2_000;

/** Video frames `page` decoded so far from the participant named `from`. */
const framesFrom = async (page: Page, from: string) =>
  Object.values(await page.evaluate(() => window.videoWindow!.receiveStats())).find(
    (s) => s.displayName === from,
  )?.framesDecoded ?? 0;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

interface TwoPageCall {
  pages: Page[];
  sameParticipants(): Promise<boolean>;
}

/** Pages A and B in a call at `url`, decoding each other. */
async function twoPageCall(chromium: NetnsBrowser, url: string): Promise<TwoPageCall> {
  const room = `resume-bench-${Date.now().toString(36)}`;
  const pages: Page[] = [];
  for (const name of ['A', 'B']) {
    const context = await chromium.browser.newContext({ viewport: { width: 640, height: 360 } });
    const page = await context.newPage();
    await page.goto(`${url}/r/${room}?name=${name}`);
    await waitForJoined(page);
    pages.push(page);
  }
  const [a, b] = pages;
  await Promise.all([waitForMediaFrom(a, ['B'], false), waitForMediaFrom(b, ['A'], false)]);
  const selfIds = () =>
    Promise.all(pages.map((page) => page.evaluate(() => window.videoWindow!.state.selfId)));
  const first = (await selfIds()).join(',');
  return { pages, sameParticipants: async () => (await selfIds()).join(',') === first };
}

/**
 * Times each trial: `disturb` breaks the network and answers how to bring it back (or
 * changes it and answers what did, for an address change); timed from then until B
 * decodes a new frame of A's. Undefined for a trial whose video did not come back.
 */
async function trialsOf(
  call: TwoPageCall,
  trials: number,
  disturb: () => Promise<() => Promise<void>>,
  progress: (done: string) => void,
): Promise<(number | undefined)[]> {
  const [, b] = call.pages;
  const times: (number | undefined)[] = [];
  for (let trial = 1; trial <= trials; trial++) {
    const restore = await disturb();
    const before = await framesFrom(b, 'A');
    await restore();
    const restored = performance.now();
    let back: number | undefined;
    while (performance.now() - restored < GIVE_UP_MS) {
      if ((await framesFrom(b, 'A')) > before) {
        back = performance.now() - restored;
        break;
      }
      await sleep(20);
    }
    times.push(back);
    progress(`${trial}/${trials}: ${back === undefined ? 'no video' : `${Math.round(back)} ms`}`);
    // Both pages back in the room before the next trial.
    await Promise.all(call.pages.map((page) => waitForJoined(page, GIVE_UP_MS)));
    await sleep(SETTLE_MS);
  }
  return times;
}

function row(
  scenario: string,
  trials: number,
  cutMs: number,
  times: (number | undefined)[],
  sameParticipants: boolean,
): Row {
  const sorted = times.filter((t): t is number => t !== undefined).sort((x, y) => x - y);
  return {
    scenario,
    trials,
    'cut ms': cutMs,
    'p50 ms': Math.round(percentile(sorted, 50)),
    'p95 ms': Math.round(percentile(sorted, 95)),
    'max ms': Math.round(sorted[sorted.length - 1] ?? NaN),
    failed: times.length - sorted.length,
    'same participants': sameParticipants ? 'yes' : 'no',
  };
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
    const rows: Row[] = [];
    // The cuts: shard and pages in one loopback-only namespace, whose link goes down.
    const shard = await startShardInNetns({ timeoutMs: 60_000 });
    const chromium = await launchChromiumInNetns(shard.pid);
    const cut = (killConnections: boolean) => async () => {
      await inNetns(shard.pid, 'ip', 'link', 'set', 'lo', 'down');
      await sleep(cutMs);
      const restore = async () => {
        await inNetns(shard.pid, 'ip', 'link', 'set', 'lo', 'up');
        if (!killConnections) return;
        await inNetns(shard.pid, 'ss', '-K', 'state', 'established', `( sport = :${shard.port} )`);
      };
      return restore;
    };
    try {
      const call = await twoPageCall(chromium, shard.url);
      for (const [scenario, killConnections] of [
        ['link cut', false],
        ['link cut + connections lost', true],
      ] as const) {
        const times = await trialsOf(call, trials, cut(killConnections), (done) =>
          progress(`${scenario} ${done}`),
        );
        rows.push(row(scenario, trials, cutMs, times, await call.sameParticipants()));
      }
    } finally {
      await chromium.close();
      await shard.stop();
    }
    // The address change: the pages in a namespace of their own, linked to the shard's.
    const roamingShard = await startShardInNetns({ timeoutMs: 60_000, env: ROAMING_SHARD_ENV });
    const clients = await roamingClients(roamingShard);
    const roamingChromium = await clients.launchChromium();
    try {
      const call = await twoPageCall(roamingChromium, clients.url);
      let address = 1;
      const move = async () => () => clients.moveTo(++address);
      const times = await trialsOf(call, trials, move, (done) =>
        progress(`address change ${done}`),
      );
      rows.push(row('address change', trials, 0, times, await call.sameParticipants()));
    } finally {
      await roamingChromium.close();
      await clients.close();
      await roamingShard.stop();
    }
    return rows;
  },
};
