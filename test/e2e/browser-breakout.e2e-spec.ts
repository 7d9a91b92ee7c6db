/**
 * Breakout rooms in real Chromium through a real shard: the host opens two rooms from
 * the panel (assigned evenly), each page follows its move on the same connection (no
 * reload) and decodes the others moved with it, the host moves someone from the panel,
 * one goes back from the banner, and "Return everyone" brings everyone back to decode
 * everyone in the main room; then a participant picks a room itself. Shard and browser share one loopback-only network namespace.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { loadConfig } from '../../src/config/load-config';
import { JoinTokenService } from '../../src/portal/join-token.service';
import type { VideoWindowHook } from '../../src/web/client/main';
import { REPO_ROOT, useShardWithChromium } from '../support/netns-shard';
import {
  joinFromPrejoin,
  present,
  until,
  waitForJoined,
  waitForMediaFrom,
  withShardLog,
} from '../support/web-client-page';

/** Generous: other engineers' suites load the machine at the same time. */
const WAIT_MS = 60_000;

declare const window: { videoWindow?: VideoWindowHook; loadedAt?: number };

/** Waits until the page's client is in `room` again, joined (after a move). */
const joinedIn = (page: Page, room: string) =>
  page.waitForFunction(
    (expected) =>
      window.videoWindow?.state.room === expected && window.videoWindow.state.phase === 'joined',
    room,
    { polling: 100, timeout: WAIT_MS },
  );

describe('breakout rooms in the browser (real Chromium through a real shard)', () => {
  const suite = useShardWithChromium({ timeoutMs: 60_000 });

  const open = async (url: string, name: string) => {
    const page = await suite.newPage(name, { width: 1000, height: 640 });
    await page.goto(url);
    if (url.includes('token=')) await joinFromPrejoin(page);
    await waitForJoined(page, WAIT_MS);
    // Marks this page load: a reload would lose it.
    await page.evaluate(() => (window.loadedAt = Date.now()));
    return page;
  };

  it(
    'creates, moves and returns with media in each room, on the same page load',
    () =>
      withShardLog(suite.shard, async () => {
        const room = `breakout-${Date.now().toString(36)}`;
        const [red, blue] = [`${room}.breakout-1`, `${room}.breakout-2`];
        const config = loadConfig({ NODE_ENV: 'test' }, join(REPO_ROOT, 'config'));
        const token = new JoinTokenService(config).mint({
          room,
          identity: 'host',
          name: 'Host',
          role: 'moderator',
        });
        const host = await open(`${suite.shard.url}/r/${room}?token=${token}`, 'Host');
        const a = await open(`${suite.shard.url}/r/${room}?name=A`, 'A');
        const b = await open(`${suite.shard.url}/r/${room}?name=B`, 'B');
        const c = await open(`${suite.shard.url}/r/${room}?name=C`, 'C');
        const guests = [a, b, c];
        await waitForMediaFrom(host, ['A', 'B', 'C'], true, WAIT_MS);
        // Guests get no breakout button until there are breakout rooms.
        expect(await a.isHidden('#breakouts-button')).toBe(true);

        // The host opens two rooms, assigned evenly in the order people came: A, C | B.
        await host.click('#breakouts-button');
        await host.fill('#breakouts-count', '2');
        await host.selectOption('#breakouts-assign', 'evenly');
        await host.fill('#breakouts-minutes', '10');
        await host.click('#breakouts-form button[type=submit]');
        await Promise.all([joinedIn(a, red), joinedIn(c, red), joinedIn(b, blue)]);
        await waitForMediaFrom(a, ['C'], true, WAIT_MS);
        await waitForMediaFrom(c, ['A'], true, WAIT_MS);
        expect(Object.keys(await b.evaluate(() => window.videoWindow!.receiveStats()))).toEqual([]);
        // The banner names the room and counts down.
        await present(a, '#breakout-banner:not([hidden])', WAIT_MS);
        expect(await a.textContent('#breakout-name')).toBe('Room 1');
        expect(await a.textContent('#breakout-timer')).toMatch(/^([0-9]|10):\d\d left$/);
        // The host's panel shows who is where.
        await until(
          host,
          () => document.querySelectorAll('#breakouts-rooms .breakout-room .person').length === 3,
          WAIT_MS,
        );
        const where = await host.$$eval('#breakouts-rooms .breakout-room', (rooms) =>
          rooms.map((item) => [
            item.querySelector('.breakout-heading .name')?.textContent,
            // In the order they got there: the moves run at once.
            [...item.querySelectorAll('.person')]
              .map((p) => (p as HTMLElement).dataset.name)
              .sort(),
          ]),
        );
        expect(where).toEqual([
          ['Main room', []],
          ['Room 1', ['A', 'C']],
          ['Room 2', ['B']],
        ]);

        // The host moves B into Room 1: B decodes A and C there.
        await host.selectOption('#breakouts-rooms .person[data-name="B"] select', red);
        await joinedIn(b, red);
        await waitForMediaFrom(b, ['A', 'C'], true, WAIT_MS);
        await waitForMediaFrom(a, ['B', 'C'], true, WAIT_MS);
        const shots = await mkdtemp(join(tmpdir(), 'vw-breakout-'));
        await host.waitForFunction(
          (id) =>
            document.querySelectorAll(`.breakout-room[data-room="${id}"] .person`).length === 3,
          red,
          { polling: 100, timeout: WAIT_MS },
        );
        await host.screenshot({ path: join(shots, 'breakout-host.png') });
        await a.screenshot({ path: join(shots, 'breakout-room.png') });
        console.log(`breakout screenshots in ${shots}`);

        // A broadcast reaches every room.
        await host.fill('#breakouts-message', 'Two minutes left');
        await host.click('#breakouts-broadcast button[type=submit]');
        await until(
          c,
          () => document.getElementById('toast')?.textContent?.includes('Two minutes'),
          WAIT_MS,
        );

        // C goes back from the banner: the host decodes C in the main room.
        await c.click('#breakout-back');
        await joinedIn(c, room);
        await waitForMediaFrom(host, ['C'], true, WAIT_MS);

        // Return everyone: every page back in the main room decodes every other.
        await host.click('#breakouts-close');
        await Promise.all(guests.map((page) => joinedIn(page, room)));
        await waitForMediaFrom(host, ['A', 'B', 'C'], true, WAIT_MS);
        for (const [page, others] of [
          [a, ['Host', 'B', 'C']],
          [b, ['Host', 'A', 'C']],
          [c, ['Host', 'A', 'B']],
        ] as const) {
          await waitForMediaFrom(page, [...others], true, WAIT_MS);
          expect(await page.isHidden('#breakout-banner')).toBe(true);
        }
        // Rooms the participants choose: A picks Room 2 from its panel, then comes back.
        await host.selectOption('#breakouts-assign', 'manual');
        await host.fill('#breakouts-minutes', '0');
        await host.check('#breakouts-choice');
        await host.click('#breakouts-form button[type=submit]');
        await present(a, '#breakouts-button:not([hidden])', WAIT_MS);
        await a.click('#breakouts-button');
        await a.click(`#breakouts-rooms .breakout-room[data-room="${blue}"] .join-breakout`);
        await joinedIn(a, blue);
        expect(await a.textContent('#breakout-name')).toBe('Room 2');
        await a.click('#breakout-back');
        await joinedIn(a, room);
        await waitForMediaFrom(a, ['Host', 'B', 'C'], true, WAIT_MS);

        // No page was reloaded on the way.
        for (const page of [host, ...guests]) {
          expect(await page.evaluate(() => typeof window.loadedAt)).toBe('number');
        }
        expect(suite.pageErrors).toEqual([]);
      }),
    420_000,
  );
});
