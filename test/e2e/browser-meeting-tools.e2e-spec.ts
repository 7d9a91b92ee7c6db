/**
 * The tools of a meeting in real Chromium through a real shard: raised hands in order
 * (seen by all, lowered by the host), emoji reactions, the people list with the host's
 * mute and remove, speaker view, the connection-quality indicator, and the room on a
 * phone-sized screen. Shard and browser share one loopback-only network namespace.
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

declare const window: { videoWindow?: VideoWindowHook };

const PHONE = { width: 390, height: 844 };

/** The raised-hand badges on the tiles of a page, by name: "✋ 1", "✋ 2"… */
const handBadges = (page: Page) =>
  page.$$eval('#tiles .tile.hand-raised', (tiles) =>
    Object.fromEntries(
      tiles.map((tile) => [
        (tile as HTMLElement).dataset.name,
        tile.querySelector('.hand')?.textContent,
      ]),
    ),
  );

describe('meeting tools in the browser (real Chromium through a real shard)', () => {
  const suite = useShardWithChromium();

  const open = async (url: string, name: string, viewport = { width: 1000, height: 600 }) => {
    const page = await suite.newPage(name, viewport);
    await page.goto(url);
    // A token does not name the participant in the link: the pre-join screen comes first.
    if (url.includes('token=')) await joinFromPrejoin(page);
    await waitForJoined(page);
    return page;
  };

  it(
    'hands queue in order, reactions, people list with host actions, speaker view, quality, phone',
    () =>
      withShardLog(suite.shard, async () => {
        const room = `tools-${Date.now().toString(36)}`;
        const config = loadConfig({ NODE_ENV: 'test' }, join(REPO_ROOT, 'config'));
        const token = new JoinTokenService(config).mint({
          room,
          identity: 'host',
          name: 'Host',
          role: 'moderator',
        });
        const host = await open(`${suite.shard.url}/r/${room}?token=${token}`, 'Host');
        const a = await open(`${suite.shard.url}/r/${room}?name=A`, 'A');
        const b = await open(`${suite.shard.url}/r/${room}?name=B`, 'B', PHONE);
        const pages = [host, a, b];
        await waitForMediaFrom(host, ['A', 'B']);

        // A raises a hand, then B: everyone sees the queue in that order.
        await a.click('#hand-button');
        await present(b, '.tile[data-name="A"].hand-raised');
        await b.click('#hand-button');
        for (const page of pages) {
          await until(page, () => document.querySelectorAll('.tile.hand-raised').length === 2);
          expect(await handBadges(page)).toEqual({ A: '✋ 1', B: '✋ 2' });
        }
        expect(await a.getAttribute('#hand-button', 'aria-pressed')).toBe('true');
        // The host's people list puts raised hands first, in order.
        await host.click('#people-button');
        await until(host, () => document.querySelectorAll('#people-list .person').length === 3);
        const listed = await host.$$eval('#people-list .person', (items) =>
          items.map((item) => (item as HTMLElement).dataset.name),
        );
        expect(listed).toEqual(['A', 'B', 'Host']);
        // A guest sees no moderator buttons for others.
        await a.click('#people-button');
        expect(await a.locator('#people-list .person[data-name="B"] button').count()).toBe(0);

        // The host lowers A's hand: B moves up to first place everywhere.
        await host.click('#people-list .person[data-name="A"] .lower-hand');
        for (const page of pages) {
          await until(page, () => document.querySelectorAll('.tile.hand-raised').length === 1);
          expect(await handBadges(page)).toEqual({ B: '✋ 1' });
        }
        expect(await a.getAttribute('#hand-button', 'aria-pressed')).toBe('false');

        // B reacts: the emoji shows on B's tile for the others.
        await b.click('#reactions-button');
        await b.click('[aria-label="React 🎉"]');
        await Promise.all([host, a].map((page) => present(page, '.tile[data-name="B"] .reaction')));
        expect(await a.textContent('.tile[data-name="B"] .reaction')).toBe('🎉');

        // The host mutes A from the list: A's client shows itself muted, the others too.
        await host.click('#people-list .person[data-name="A"] .mute');
        await a.waitForFunction(() => !window.videoWindow!.state.micOn, undefined, {
          polling: 100,
          timeout: 5_000,
        });
        await present(host, '.tile[data-name="A"].audio-muted');
        await present(host, '#people-list .person[data-name="A"] .state');

        // Connection quality from getStats: every tile is graded, and on loopback none is
        // poor (a busy machine may make one fair for a moment).
        for (const page of [host, a]) {
          await until(
            page,
            () =>
              document.querySelectorAll(
                '#tiles .tile .quality:is([data-level="good"], [data-level="fair"])',
              ).length === 3,
            15_000,
          );
        }

        // Speaker view: one remote tile large, the others in a row.
        await host.click('#view-button');
        const featured = await host.$$eval('#tiles.speaker .tile.featured', (tiles) =>
          tiles.map((tile) => ({
            local: tile.classList.contains('local'),
            width: tile.getBoundingClientRect().width,
          })),
        );
        expect(featured).toHaveLength(1);
        expect(featured[0].local).toBe(false);
        const others = await host.$$eval('#tiles .tile:not(.featured)', (tiles) =>
          tiles.map((tile) => tile.getBoundingClientRect().width),
        );
        expect(others.every((width) => width < featured[0].width / 2)).toBe(true);

        // On a phone-sized screen nothing sticks out sideways and every control is on screen.
        const phone = await b.evaluate(() => ({
          scrollWidth: document.documentElement.scrollWidth,
          controls: [...document.querySelectorAll('.controls button')].map((button) => {
            const box = button.getBoundingClientRect();
            return { id: button.id, right: box.right, bottom: box.bottom };
          }),
          tiles: [...document.querySelectorAll('#tiles .tile')].map(
            (tile) => tile.getBoundingClientRect().width,
          ),
        }));
        expect(phone.scrollWidth).toBeLessThanOrEqual(PHONE.width);
        for (const control of phone.controls) {
          expect(control.right).toBeLessThanOrEqual(PHONE.width);
          expect(control.bottom).toBeLessThanOrEqual(PHONE.height);
        }
        expect(phone.tiles.every((width) => width > 0 && width <= PHONE.width)).toBe(true);
        const shots = await mkdtemp(join(tmpdir(), 'vw-meeting-tools-'));
        await b.screenshot({ path: join(shots, 'meeting-tools-phone.png') });
        await host.screenshot({ path: join(shots, 'meeting-tools-host.png') });
        console.log(`meeting-tools screenshots in ${shots}`);

        // The host removes B: B sees the end screen, the others lose B's tile.
        await host.click('#people-list .person[data-name="B"] .kick');
        await present(b, '#ended:not([hidden])');
        expect(await b.textContent('#ended-detail')).toBe('A moderator removed you.');
        await until(a, () => !document.querySelector('.tile[data-name="B"]'));

        expect(suite.pageErrors).toEqual([]);
      }),
    120_000,
  );
});
