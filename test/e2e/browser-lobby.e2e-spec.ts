/**
 * The meeting flow in real Chromium through a real shard: a host signs in (a refused
 * access token is renewed with the refresh token), creates a meeting with a password
 * and a lobby, and starts it; a guest opens the link, gives a
 * name and the password and waits in the lobby until the host admits them; then both
 * decode each other's video. A second guest is turned away. Then an administrator mutes
 * and kicks the guest through the admin API, and both pages show it. Shard and browser
 * share one loopback-only network namespace (test/support/netns-shard).
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { VideoWindowHook } from '../../src/web/client/main';
import { useShardWithChromium } from '../support/netns-shard';
import { joinFromPrejoin, waitForJoined } from '../support/web-client-page';

declare const window: { videoWindow?: VideoWindowHook };

const HOST = { email: 'host@example.org', password: 'host-password', displayName: 'Hosting Hal' };
const ADMIN = { email: 'admin@example.org', password: 'admin-password-1' };

const visible = (page: Page, selector: string, timeoutMs = 10_000) =>
  page.waitForSelector(selector, { state: 'visible', timeout: timeoutMs });

/** Waits until the page decodes video from the participant named `from` and shows it. */
const decodesVideoFrom = (page: Page, from: string) =>
  page.waitForFunction(
    async (name) => {
      const stats = await window.videoWindow!.receiveStats();
      const video = document.querySelector<HTMLVideoElement>(`.tile[data-name="${name}"] video`);
      return (
        Object.values(stats).some((s) => s.displayName === name && s.framesDecoded > 0) &&
        (video?.videoWidth ?? 0) > 0
      );
    },
    from,
    { polling: 250, timeout: 20_000 },
  );

describe('meetings in the browser: sign in, create, start, lobby, moderation', () => {
  const suite = useShardWithChromium({
    env: { ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password },
  });

  const newPage = (name: string) => suite.newPage(name, { width: 1024, height: 640 });

  it('lets a guest in from the lobby; an administrator mutes and kicks them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vw-browser-lobby-'));
    const shot = (page: Page, name: string) => page.screenshot({ path: join(dir, `${name}.png`) });
    const host = await newPage('host');

    // An account to sign in with (registration is open in test mode).
    await host.goto(`${suite.shard.url}/login`);
    const registered = await host.evaluate(
      (account) =>
        fetch('/api/v1/auth/register', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(account),
        }).then((response) => response.status),
      HOST,
    );
    expect(registered).toBe(201);

    // Sign in; a wrong password is refused on the page.
    await host.fill('#login-email', HOST.email);
    await host.fill('#login-password', 'not-the-password');
    await host.click('#login-form button[type=submit]');
    await visible(host, '#login-error');
    expect(await host.textContent('#login-error')).toBe('Wrong e-mail or password.');
    await shot(host, 'login');
    await host.fill('#login-password', HOST.password);
    await host.click('#login-form button[type=submit]');
    await host.waitForURL('**/meetings');
    await visible(host, '#meetings');
    expect(await host.textContent('#signed-in-as')).toBe(HOST.displayName);

    // An access token the server refuses is renewed with the refresh token.
    const session = () => host.evaluate(() => sessionStorage.getItem('videoWindow.session')!);
    const signedIn = JSON.parse(await session());
    await host.evaluate(
      (stale) => sessionStorage.setItem('videoWindow.session', stale),
      JSON.stringify({ ...signedIn, accessToken: 'not-a-valid-token' }),
    );
    await host.reload();
    await visible(host, '#meetings');
    const renewed = JSON.parse(await session());
    expect(renewed.accessToken).not.toBe('not-a-valid-token');
    expect(renewed.refreshToken).not.toBe(signedIn.refreshToken);

    // Create a meeting with a password and a lobby.
    const room = `standup-${Date.now().toString(36)}`;
    await host.fill('#meeting-title', 'Daily stand-up');
    await host.fill('#meeting-room', room);
    await host.fill('#meeting-password', 'letmein');
    await host.check('#meeting-lobby');
    await host.click('#meeting-form button[type=submit]');
    const item = `.meeting[data-room="${room}"]`;
    await visible(host, item);
    expect(await host.textContent(`${item} .details`)).toBe(
      `${suite.shard.url}/r/${room} · password · lobby`,
    );
    await shot(host, 'my-meetings');

    // Start it: the host joins as moderator, with neither password nor lobby.
    await host.click(`${item} .start`);
    await host.waitForURL(`**/r/${room}`);
    await joinFromPrejoin(host);
    await waitForJoined(host, 15_000);

    // The guest opens the link, gives a name and (after a wrong one) the password.
    const guest = await newPage('guest');
    await guest.goto(`${suite.shard.url}/r/${room}`);
    await guest.fill('#name-input', 'Guest Gina');
    await guest.press('#name-input', 'Enter');
    await visible(guest, '#password-input');
    await guest.fill('#password-input', 'guess');
    await guest.press('#password-input', 'Enter');
    await visible(guest, '#prejoin-error');
    expect(await guest.textContent('#prejoin-error')).toBe('Wrong password: try again.');
    await shot(guest, 'guest-password');
    await guest.fill('#password-input', 'letmein');
    await guest.press('#password-input', 'Enter');
    await visible(guest, '#waiting');
    expect(await guest.evaluate(() => window.videoWindow!.state.phase)).toBe('waiting');
    await shot(guest, 'guest-waiting');

    // The host sees the guest in the lobby panel and admits them.
    await visible(host, '#lobby-panel li');
    expect(await host.textContent('#lobby-panel li .name')).toBe('Guest Gina');
    await shot(host, 'host-lobby-panel');
    await host.click('#lobby-panel li .admit');
    await waitForJoined(guest, 15_000);
    await host.waitForSelector('#lobby-panel', { state: 'hidden' });

    // Both decode each other's video.
    await Promise.all([
      decodesVideoFrom(host, 'Guest Gina'),
      decodesVideoFrom(guest, HOST.displayName),
    ]);
    await shot(guest, 'guest-admitted');

    // Another guest is turned away, and told so.
    const other = await newPage('other');
    await other.goto(`${suite.shard.url}/r/${room}?name=Otto`);
    await other.fill('#password-input', 'letmein');
    await other.press('#password-input', 'Enter');
    await visible(other, '#waiting');
    await visible(host, '#lobby-panel li');
    await host.click('#lobby-panel li .reject');
    await visible(other, '#ended');
    expect(await other.textContent('#ended-title')).toBe('The host did not let you in');

    // An administrator mutes the guest through the admin API (called from a browser page:
    // the shard is reachable only inside its namespace).
    const admin = await newPage('admin');
    await admin.goto(`${suite.shard.url}/login`);
    const adminApi = (method: string, path: string, body?: unknown) =>
      admin.evaluate(
        async ({ method, path, body, account }) => {
          const login = await fetch('/api/v1/auth/login', {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(account),
          });
          const { accessToken } = await login.json();
          const response = await fetch(`/api/v1/admin${path}`, {
            method,
            headers: { 'content-type': 'application/json', authorization: `Bearer ${accessToken}` },
            body: body === undefined ? undefined : JSON.stringify(body),
          });
          const text = await response.text();
          return { status: response.status, body: text ? JSON.parse(text) : null };
        },
        { method, path, body, account: ADMIN },
      );
    const live = await adminApi('GET', `/rooms/${room}`);
    expect(live.status).toBe(200);
    const guestId: string = live.body.participants.find(
      (p: { displayName: string }) => p.displayName === 'Guest Gina',
    ).id;
    const guestTile = `.tile[data-name="Guest Gina"]`;
    expect(
      (await adminApi('POST', `/rooms/${room}/participants/${guestId}/mute`, { kind: 'audio' }))
        .status,
    ).toBe(200);
    // The guest is told, and sees their microphone off; the host sees the guest muted.
    await guest.getByText('A moderator turned off your microphone').waitFor({ timeout: 10_000 });
    await guest.waitForSelector('#mic-button.off[aria-pressed="false"]', { timeout: 10_000 });
    await visible(guest, '.tile.local.audio-muted .mic-off');
    await visible(host, `${guestTile}.audio-muted .mic-off`);
    expect(await host.isVisible(`.tile.local .mic-off`)).toBe(false);
    await shot(guest, 'guest-muted');
    await shot(host, 'host-sees-guest-muted');

    // Then kicks the guest: the guest is told why; the host's page loses the guest's tile.
    expect((await adminApi('POST', `/rooms/${room}/participants/${guestId}/kick`)).status).toBe(
      204,
    );
    await visible(guest, '#ended');
    expect(await guest.textContent('#ended-title')).toBe('You were removed from the meeting');
    expect(await guest.textContent('#ended-detail')).toBe('A moderator removed you.');
    await host.waitForSelector(guestTile, { state: 'detached', timeout: 10_000 });
    expect(await host.$$eval('.tile', (tiles) => tiles.map((tile) => tile.dataset.name))).toEqual([
      HOST.displayName,
    ]);
    await shot(host, 'host-after-kick');
    console.log(`browser-lobby screenshots in ${dir}`);

    expect(suite.pageErrors).toEqual([]);
  }, 90_000);
});
