/** Reading the web client's state in a Chromium page (through its window.videoWindow hook). */
import type { Page } from 'playwright-core';
import type { ReceiveStats } from '../../src/web/client/call';
import type { VideoWindowHook } from '../../src/web/client/main';
import type { ShardProcess } from './shard-process';

declare const window: { videoWindow?: VideoWindowHook };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until the page's client joined; fails at once if the client gave up. */
export async function waitForJoined(page: Page, timeoutMs = 10_000): Promise<void> {
  const handle = await page.waitForFunction(
    () => {
      const phase = window.videoWindow?.state.phase;
      return phase === 'joined' || phase === 'failed' || phase === 'removed' || phase === 'rejected'
        ? `${phase}: ${document.getElementById('ended-detail')?.textContent ?? ''}`
        : false;
    },
    undefined,
    { polling: 100, timeout: timeoutMs },
  );
  const outcome = await handle.jsonValue();
  if (!String(outcome).startsWith('joined'))
    throw new Error(`the client did not join (${outcome})`);
}

/**
 * Polls the page's WebRTC statistics until it decodes video from each of `from` (display
 * names), and receives audio packets from them too unless `audio` is false.
 */
export async function waitForMediaFrom(
  page: Page,
  from: string[],
  audio = true,
  timeoutMs = 15_000,
): Promise<Record<string, ReceiveStats>> {
  const deadline = Date.now() + timeoutMs;
  let stats: Record<string, ReceiveStats> = {};
  for (;;) {
    stats = await page.evaluate(() => window.videoWindow!.receiveStats());
    const flowing = from.every((name) =>
      Object.values(stats).some(
        (s) =>
          s.displayName === name && s.framesDecoded > 0 && (!audio || s.audioPacketsReceived > 0),
      ),
    );
    if (flowing) return stats;
    if (Date.now() > deadline) {
      throw new Error(
        `no media from ${from.join(', ')} within ${timeoutMs} ms: ${JSON.stringify(stats)}`,
      );
    }
    await sleep(250);
  }
}

/** Polls a condition in the page (a timer, not animation frames: busy pages skip those). */
export const until = (page: Page, condition: () => unknown, timeoutMs = 5_000) =>
  page.waitForFunction(condition, undefined, { polling: 100, timeout: timeoutMs });

/** Waits until an element matching the selector is in the page. */
export const present = (page: Page, selector: string, timeoutMs = 5_000) =>
  page.waitForFunction((s) => !!document.querySelector(s), selector, {
    polling: 100,
    timeout: timeoutMs,
  });

/** Runs a browser scenario; a failure carries the shard's last warnings and errors. */
export async function withShardLog(
  shard: ShardProcess | undefined,
  scenario: () => Promise<void>,
): Promise<void> {
  try {
    await scenario();
  } catch (error) {
    const problems = (shard?.output() ?? '')
      .split('\n')
      .filter((line) => !/"level":(10|20|30),/.test(line))
      .slice(-15);
    if (error instanceof Error && problems.length) {
      error.message += `\n--- shard warnings and errors ---\n${problems.join('\n')}`;
    }
    throw error;
  }
}
