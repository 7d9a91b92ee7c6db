/**
 * Jitsi Meet clients call through the shard: the real lib-jitsi-meet in Chromium asks
 * focus.<domain> for the conference, joins the MUC room, takes the Jingle session of
 * `<room>/focus` and sends and receives media through mediasoup. Shard and browser share
 * one loopback-only network namespace (test/support/netns-shard).
 */
import { execFileSync } from 'node:child_process';
import type { Page } from 'playwright-core';
import { JitsiClient, joinWithJitsi } from '../support/jitsi-meet-page';
import { joinFromPrejoin, waitForJoined, waitForMediaFrom } from '../support/web-client-page';
import {
  launchChromiumInNetns,
  type NetnsBrowser,
  type NetnsShard,
  REPO_ROOT,
  startShardInNetns,
} from '../support/netns-shard';

const ADMIN = { email: 'admin@example.org', password: 'admin-password-1' };

/** A participant as the admin API shows it (src/admin/admin.dto.ts ParticipantAdminView). */
interface ParticipantView {
  displayName: string;
  tracks: { id: string; kind: string; source: string }[];
  receiving: {
    producerId: string;
    kind: string;
    paused: boolean;
    preferredSpatialLayer?: number;
  }[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `read` until `done` holds (or the time is up); returns the last value read. */
async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, ms = 20_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await sleep(200);
  }
}

/** An operator's moderator join token (npm run token), for the shard's test configuration. */
const moderatorToken = (room: string, name: string) =>
  execFileSync(
    process.execPath,
    ['dist/cli/mint-token.js', '--room', room, '--name', name, '--role', 'moderator'],
    {
      cwd: REPO_ROOT,
      env: { ...process.env, NODE_ENV: 'test' },
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  )
    .toString()
    .trim();

describe('Jitsi Meet clients (lib-jitsi-meet in Chromium)', () => {
  let shard: NetnsShard | undefined;
  let chromium: NetnsBrowser | undefined;
  const clients: JitsiClient[] = [];
  let metricsPage: Page | undefined;

  beforeAll(async () => {
    // A shard that starts slowly on a busy machine is no failure of the focus.
    // A client whose connection breaks is given 2 s to resume its XMPP session.
    // The administrator reads what each participant receives (the admin API).
    shard = await startShardInNetns({
      timeoutMs: 45_000,
      env: { XMPP_RESUME_SECONDS: '2', ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password },
    });
    // Screen sharing captures the whole (virtual) screen without asking.
    chromium = await launchChromiumInNetns(shard.pid, [
      '--auto-select-desktop-capture-source=Entire screen',
    ]);
  }, 70_000);

  afterAll(async () => {
    await chromium?.close();
    await shard?.stop();
  });

  /** Adds the shard's warnings and errors to a failure. */
  const withShardLog = async (scenario: () => Promise<void>) => {
    try {
      await scenario();
    } catch (error) {
      const problems = (shard?.output() ?? '')
        .split('\n')
        .filter((line) => !/"level":(10|20|30),/.test(line))
        .slice(-30)
        .join('\n');
      throw new Error(`${(error as Error).message}\n--- shard warnings ---\n${problems}`);
    }
  };

  const join = async (room: string, displayName?: string, token?: string, password?: string) => {
    const client = await joinWithJitsi(chromium!.browser, shard!.url, {
      room,
      displayName,
      token,
      password,
    });
    clients.push(client);
    return client;
  };

  /** A meeting of a signed-in owner, made through the portal API from a shard page. */
  const createMeeting = async (meeting: Record<string, unknown>) => {
    const token = await signIn();
    const page = await shardPage();
    const created = await page.evaluate(
      async ([meeting, token]) =>
        (
          await fetch('/api/v1/meetings', {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
            body: JSON.stringify(meeting),
          })
        ).status,
      [meeting, token] as const,
    );
    expect(created).toBe(201);
    return { token, page };
  };

  /** A page of the shard's origin, to read its HTTP API from (the shard is in the netns). */
  const shardPage = async () => {
    metricsPage ??= await chromium!.browser.newPage();
    if (!metricsPage.url().startsWith(shard!.url))
      await metricsPage.goto(`${shard!.url}/health/live`);
    return metricsPage;
  };

  /** The shard's mediasoup object counts. */
  const mediaCounts = async () => {
    const page = await shardPage();
    const text = await page.evaluate(() => fetch('/metrics').then((r) => r.text()));
    const gauge = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
    return {
      transports: gauge('videowindow_transports'),
      producers: gauge('videowindow_producers'),
      consumers: gauge('videowindow_consumers'),
    };
  };

  let adminToken: string | undefined;
  /** The administrator's access token. */
  const signIn = async () => {
    const page = await shardPage();
    adminToken ??= await page.evaluate(async (admin) => {
      const response = await fetch('/api/v1/auth/login', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(admin),
      });
      return ((await response.json()) as { accessToken: string }).accessToken;
    }, ADMIN);
    return adminToken;
  };

  /** A participant of `room` by display name, as the admin API shows it. */
  const participantView = async (room: string, displayName: string) => {
    const page = await shardPage();
    const token = await signIn();
    const view = await page.evaluate(
      async ([room, token]) =>
        (await fetch(`/api/v1/admin/rooms/${room}`, {
          headers: { authorization: `Bearer ${token}` },
        }).then((r) => r.json())) as { participants: ParticipantView[] },
      [room, token] as const,
    );
    const participant = view.participants.find((p) => p.displayName === displayName);
    if (!participant) throw new Error(`no ${displayName} in ${room}: ${JSON.stringify(view)}`);
    return participant;
  };

  /** How the participant called `displayName` receives the video track `producerId`. */
  const receivedVideo = async (room: string, displayName: string, producerId: string) => {
    const { receiving } = await participantView(room, displayName);
    const consumer = receiving.find((r) => r.producerId === producerId);
    return consumer && { paused: consumer.paused, layer: consumer.preferredSpatialLayer };
  };

  it(
    "two clients decode each other's video and receive each other's audio",
    () =>
      withShardLog(async () => {
        const a = await join('jitsi-room');
        const b = await join('jitsi-room');
        const [seenByA, seenByB] = await Promise.all([
          a.waitForMediaFrom([b.id]),
          b.waitForMediaFrom([a.id]),
        ]);
        expect(seenByA[b.id].framesDecoded).toBeGreaterThan(0);
        expect(seenByB[a.id].audioPacketsReceived).toBeGreaterThan(0);
        // lib-jitsi-meet took the shard's TURN server and credentials (XEP-0215).
        const turn = (await a.iceServers()).find((server) =>
          [server.urls].flat().some((url) => url.startsWith('turn:')),
        );
        expect(turn).toMatchObject({ username: expect.stringMatching(/^\d+:guest-/) });
        // One sendrecv transport per client, each consuming the other's camera and microphone.
        expect(await mediaCounts()).toEqual({ transports: 2, producers: 4, consumers: 4 });
      }),
    120_000,
  );

  it(
    'a third client gets everyone and everyone gets it; when it leaves, its sources and media go',
    () =>
      withShardLog(async () => {
        const [a, b] = clients;
        const beforeC = await Promise.all([a.remoteSsrcs(), b.remoteSsrcs()]);
        const c = await join('jitsi-room');
        await Promise.all([
          a.waitForMediaFrom([b.id, c.id]),
          b.waitForMediaFrom([a.id, c.id]),
          c.waitForMediaFrom([a.id, b.id]),
        ]);
        expect(await mediaCounts()).toEqual({ transports: 3, producers: 6, consumers: 12 });
        const withC = await Promise.all([a.remoteSsrcs(), b.remoteSsrcs()]);
        // source-add told each of them of c's microphone and camera (and its RTX).
        withC.forEach((ssrcs, i) => expect(ssrcs.length).toBe(beforeC[i].length + 3));

        await c.leave();
        for (const [i, client] of [a, b].entries()) {
          const tracks = await eventually(
            () => client.remoteTracks(),
            (t) => !t.some((track) => track.participantId === c.id),
          );
          expect(tracks.filter((track) => track.participantId === c.id)).toEqual([]);
          // source-remove took them out of its session again.
          const ssrcs = await eventually(
            () => client.remoteSsrcs(),
            (now) => now.length === beforeC[i].length,
          );
          expect(ssrcs).toEqual(beforeC[i]);
        }
        const counts = await eventually(mediaCounts, (n) => n.transports === 2);
        expect(counts).toEqual({ transports: 2, producers: 4, consumers: 4 });
        // The two who stay still receive each other.
        await a.waitForMediaFrom([b.id]);
      }),
    120_000,
  );

  it(
    'a client that vanishes (its page closes) loses its session and media once it cannot resume',
    () =>
      withShardLog(async () => {
        const [a, b] = clients;
        const before = await a.remoteSsrcs();
        const gone = await join('jitsi-room');
        await a.waitForMediaFrom([gone.id]);
        await gone.page.close();
        const ssrcs = await eventually(
          () => a.remoteSsrcs(),
          (now) => now.length === before.length,
          20_000,
        );
        expect(ssrcs).toEqual(before);
        const counts = await eventually(mediaCounts, (n) => n.transports === 2, 10_000);
        expect(counts).toEqual({ transports: 2, producers: 4, consumers: 4 });
        await b.waitForMediaFrom([a.id]);
        await Promise.all([a.leave(), b.leave()]);
      }),
    120_000,
  );

  it(
    'a Jitsi client and a web client in one room see and hear each other, by name',
    () =>
      withShardLog(async () => {
        const web = await chromium!.browser.newPage();
        await web.goto(`${shard!.url}/r/jitsi-mixed?name=Webby`);
        await waitForJoined(web);
        const jitsi = await join('jitsi-mixed', 'Jitsy');
        const [seenByWeb, seenByJitsi] = await Promise.all([
          waitForMediaFrom(web, ['Jitsy']),
          jitsi.waitForMediaFrom(['Webby']),
        ]);
        expect(Object.values(seenByWeb).map((s) => s.displayName)).toEqual(['Jitsy']);
        // The web client's occupant nick is its display name, which lib-jitsi-meet reads too.
        expect(seenByJitsi.Webby).toMatchObject({ displayName: 'Webby' });

        // Chat both ways.
        await jitsi.sendChat('hello from Jitsi');
        await web.waitForFunction(() =>
          [...document.querySelectorAll('.chat-message .text')].some(
            (item) => item.textContent === 'hello from Jitsi',
          ),
        );
        await web.fill('#chat-input', 'hello from the web');
        await web.press('#chat-input', 'Enter');
        const messages = await eventually(
          () => jitsi.chatMessages(),
          (m) => m.some((message) => message.text === 'hello from the web'),
        );
        expect(messages).toContainEqual({ from: 'Webby', text: 'hello from the web' });

        // Mute both ways: the web client's microphone, then the Jitsi client's.
        expect(await jitsi.remoteMuted('Webby', 'audio')).toBe(false);
        await web.click('#mic-button');
        const webMuted = await eventually(
          () => jitsi.remoteMuted('Webby', 'audio'),
          (muted) => muted === true,
        );
        expect(webMuted).toBe(true);
        const jitsiTileMuted = '.tile[data-name="Jitsy"].audio-muted';
        await jitsi.setMuted('audio', true);
        await web.waitForFunction((s) => !!document.querySelector(s), jitsiTileMuted);
        await jitsi.setMuted('audio', false);
        await web.waitForFunction((s) => !document.querySelector(s), jitsiTileMuted);
        await web.close();
        await jitsi.leave();
      }),
    120_000,
  );

  it(
    'a moderator with a join token kicks a Jitsi client, whose media goes',
    () =>
      withShardLog(async () => {
        const token = moderatorToken('jitsi-kick', 'Mod');
        const before = await mediaCounts();
        const moderator = await join('jitsi-kick', 'Mod', token);
        const guest = await join('jitsi-kick', 'Guest');
        await Promise.all([
          moderator.waitForMediaFrom([guest.id]),
          guest.waitForMediaFrom([moderator.id]),
        ]);
        await moderator.kick(guest.id);
        expect(
          await eventually(
            () => guest.wasKicked(),
            (kicked) => kicked,
          ),
        ).toBe(true);
        const tracks = await eventually(
          () => moderator.remoteTracks(),
          (t) => !t.some((track) => track.participantId === guest.id),
        );
        expect(tracks.filter((track) => track.participantId === guest.id)).toEqual([]);
        const counts = await eventually(mediaCounts, (n) => n.transports === before.transports + 1);
        expect(counts).toEqual({
          transports: before.transports + 1,
          producers: before.producers + 2,
          consumers: before.consumers,
        });
        await Promise.all([moderator.leave(), guest.page.close()]);
      }),
    120_000,
  );
  it(
    'the bridge channel names the dominant speaker, whatever its door',
    () =>
      withShardLog(async () => {
        const web = await chromium!.browser.newPage();
        await web.goto(`${shard!.url}/r/jitsi-speaker?name=Speaker`);
        await waitForJoined(web, 30_000);
        const a = await join('jitsi-speaker', 'Ann');
        const b = await join('jitsi-speaker', 'Ben');
        await Promise.all([
          a.waitForMediaFrom(['Speaker', b.id], 60_000),
          b.waitForMediaFrom([a.id], 60_000),
        ]);
        const channel = await eventually(
          () => a.bridgeChannel(),
          (c) => c.open,
        );
        // The session-initiate named a secret URL on the shard, which lib-jitsi-meet opened.
        expect(channel).toEqual({
          url: expect.stringMatching(/^ws:\/\/127\.0\.0\.1:8080\/colibri-ws\/[\w-]{32}\?shard=/),
          open: true,
        });
        // Only the web client's microphone is left: mediasoup's active speaker is its
        // participant, which both Jitsi clients hear of by its endpoint id (its nick).
        await a.setMuted('audio', true);
        await b.setMuted('audio', true);
        for (const client of [a, b]) {
          const speakers = await eventually(
            () => client.dominantSpeakers(),
            (ids) => ids.at(-1) === 'Speaker',
          );
          expect(speakers.at(-1)).toBe('Speaker');
        }
        // The web client mutes and Ben speaks: Ann hears of Ben.
        await web.click('#mic-button');
        await b.setMuted('audio', false);
        const speakers = await eventually(
          () => a.dominantSpeakers(),
          (ids) => ids.at(-1) === b.id,
        );
        expect(speakers.at(-1)).toBe(b.id);
        await web.close();
        await Promise.all([a.leave(), b.leave()]);
      }),
    240_000,
  );

  it(
    "receiver video constraints pause and switch the layers of a Jitsi client's consumers; endpoint messages pass",
    () =>
      withShardLog(async () => {
        const room = 'jitsi-constraints';
        const a = await join(room, 'Cora');
        const b = await join(room, 'Dan');
        await Promise.all([a.waitForMediaFrom([b.id]), b.waitForMediaFrom([a.id])]);
        await eventually(
          () => a.bridgeChannel(),
          (c) => c.open,
        );
        const [danVideo] = (await participantView(room, 'Dan')).tracks
          .filter((t) => t.kind === 'video')
          .map((t) => t.id);
        const cora = () => receivedVideo(room, 'Cora', danVideo);
        // lib-jitsi-meet's first constraints constrain nothing: the highest layer.
        expect(await eventually(cora, (v) => v?.layer === 2)).toEqual({ paused: false, layer: 2 });

        const ask = (constraints: object) =>
          a.setReceiverConstraints({
            lastN: -1,
            onStageEndpoints: [],
            selectedEndpoints: [],
            constraints: {},
            ...constraints,
          });
        // Thumbnails (180 pixels high): the lowest layer.
        await ask({ defaultConstraints: { maxHeight: 180 } });
        expect(await eventually(cora, (v) => v?.layer === 0)).toEqual({ paused: false, layer: 0 });
        // No video of Dan (his endpoint id at height 0): the consumer pauses, and Cora's
        // client hears that Dan's video is no longer forwarded.
        await ask({
          defaultConstraints: { maxHeight: 720 },
          constraints: { [b.id]: { maxHeight: 0 } },
        });
        expect(await eventually(cora, (v) => v?.paused === true)).toMatchObject({ paused: true });
        expect(
          await eventually(
            () => a.forwardedEndpoints(),
            (ids) => ids !== null && !ids.includes(b.id),
          ),
        ).toEqual([]);
        // lastN 0 keeps it paused whatever the height; lastN 1 lets it through again.
        await ask({ lastN: 0, defaultConstraints: { maxHeight: 360 } });
        await sleep(500);
        expect(await cora()).toMatchObject({ paused: true });
        await ask({ lastN: 1, defaultConstraints: { maxHeight: 360 } });
        expect(await eventually(cora, (v) => v?.paused === false)).toEqual({
          paused: false,
          layer: 1,
        });
        expect(
          await eventually(
            () => a.forwardedEndpoints(),
            (ids) => !!ids?.includes(b.id),
          ),
        ).toEqual([b.id]);
        // Resumed, the video decodes again.
        const before = (await a.receiveStats())[b.id].framesDecoded;
        const after = await eventually(
          () => a.receiveStats(),
          (stats) => stats[b.id].framesDecoded > before + 5,
        );
        expect(after[b.id].framesDecoded).toBeGreaterThan(before + 5);

        // Endpoint messages: to one endpoint, and to everyone.
        await a.sendEndpointMessage(b.id, { hello: 'Dan' });
        await a.sendEndpointMessage('', { hello: 'all' });
        // lib-jitsi-meet's own (its e2e pings) are relayed too.
        const ours = async () =>
          (await b.endpointMessages()).filter(
            ({ payload }) => !String((payload as { type?: string }).type).startsWith('e2e-ping'),
          );
        const received = await eventually(ours, (m) => m.length >= 2);
        expect(received).toEqual([
          { from: a.id, payload: { hello: 'Dan' } },
          { from: a.id, payload: { hello: 'all' } },
        ]);
        // Nobody gets its own message back.
        expect(
          (await a.endpointMessages()).filter(({ payload }) => 'hello' in (payload as object)),
        ).toEqual([]);
      }),
    240_000,
  );

  it(
    'bad bridge channel input is ignored or closes that channel only; a wrong URL is refused',
    () =>
      withShardLog(async () => {
        // Cora and Dan, of the test above.
        const [a, b] = clients.slice(-2);
        const { url } = await a.bridgeChannel();
        const page = await shardPage();
        const outcome = await page.evaluate(async (url) => {
          const refused = await new Promise<string>((resolve) => {
            const ws = new WebSocket(url!.replace(/colibri-ws\/[\w-]+/, 'colibri-ws/nope'));
            ws.onopen = () => resolve('opened');
            ws.onclose = () => resolve('refused');
          });
          /** Opens the channel, sends the messages, and tells how it ended. */
          const session = (messages: string[]) =>
            new Promise<{ code: number; received: string[] }>((resolve) => {
              const received: string[] = [];
              const ws = new WebSocket(url!);
              ws.onmessage = ({ data }) => received.push(JSON.parse(data).colibriClass);
              ws.onopen = () => messages.forEach((message) => ws.send(message));
              ws.onclose = ({ code }) => resolve({ code, received });
              // Before the client's own channel comes back (a second after it was replaced).
              setTimeout(() => ws.close(4000), 300);
            });
          const garbage = await session([
            'not json',
            '[1,2]',
            'null',
            '{"colibriClass":42}',
            '{"colibriClass":"Nonsense"}',
            '{"colibriClass":"EndpointMessage","to":"","msgPayload":"a string"}',
            '{"colibriClass":"EndpointMessage","to":{},"msgPayload":{}}',
            '{"colibriClass":"ReceiverVideoConstraints","lastN":"all","constraints":[]}',
            '{"colibriClass":"ReceiverVideoConstraints","defaultConstraints":{"maxHeight":1e99}}',
            '{"colibriClass":"EndpointStats","connectionQuality":100}',
          ]);
          const oversized = await session([
            JSON.stringify({
              colibriClass: 'EndpointMessage',
              msgPayload: { x: 'y'.repeat(70_000) },
            }),
          ]);
          const flood = await session(
            Array.from({ length: 400 }, () => '{"colibriClass":"EndpointStats"}'),
          );
          return { refused, garbage, oversized, flood };
        }, url);
        expect(outcome.refused).toBe('refused');
        // Garbage is ignored: the channel stays open (until the page closes it).
        expect(outcome.garbage).toEqual({
          code: 4000,
          received: expect.arrayContaining(['ServerHello']),
        });
        expect(outcome.oversized.code).toBe(1009);
        expect(outcome.flood.code).toBe(1008);
        // The client opens its channel again, and everything still works for both.
        await eventually(
          () => a.bridgeChannel(),
          (c) => c.open,
          20_000,
        );
        await a.sendEndpointMessage(b.id, { still: 'here' });
        const received = await eventually(
          () => b.endpointMessages(),
          (m) => m.some((message) => JSON.stringify(message.payload) === '{"still":"here"}'),
        );
        expect(received).toContainEqual({ from: a.id, payload: { still: 'here' } });
        await Promise.all([a.waitForMediaFrom([b.id]), b.waitForMediaFrom([a.id])]);
        await Promise.all([a.leave(), b.leave()]);
      }),
    240_000,
  );

  it(
    "a Jitsi client's shared screen is a screen for the web client, and the web client's a desktop for it",
    () =>
      withShardLog(async () => {
        const room = 'jitsi-screen';
        const web = await chromium!.browser.newPage();
        await web.goto(`${shard!.url}/r/${room}?name=Wendy`);
        await waitForJoined(web, 30_000);
        const jitsi = await join(room, 'Jo');
        await Promise.all([
          waitForMediaFrom(web, ['Jo'], true, 60_000),
          jitsi.waitForMediaFrom(['Wendy'], 60_000),
        ]);
        const screenFrames = async () =>
          Object.values(await web.evaluate(() => window.videoWindow!.receiveStats())).find(
            (s) => s.displayName === 'Jo',
          )?.screenFramesDecoded ?? 0;
        expect(await screenFrames()).toBe(0);

        // Jo shares the screen (in place of the camera): the web client decodes Jo's screen.
        await jitsi.shareScreen(true);
        expect(await eventually(screenFrames, (n) => n > 0, 60_000)).toBeGreaterThan(0);
        expect((await participantView(room, 'Jo')).tracks.map((t) => t.source).sort()).toEqual([
          'mic',
          'screen',
        ]);
        // And the camera again.
        await jitsi.shareScreen(false);
        const sources = await eventually(
          async () => (await participantView(room, 'Jo')).tracks.map((t) => t.source).sort(),
          (now) => now.includes('camera'),
        );
        expect(sources).toEqual(['camera', 'mic']);

        // Wendy shares hers: Jo's client takes her video for a desktop.
        expect(await jitsi.remoteVideoType('Wendy')).toBe('camera');
        await web.click('#screen-button');
        expect(
          await eventually(
            () => jitsi.remoteVideoType('Wendy'),
            (type) => type === 'desktop',
            20_000,
          ),
        ).toBe('desktop');
        await jitsi.waitForMediaFrom(['Wendy'], 60_000);
        await web.close();
        await jitsi.leave();
      }),
    240_000,
  );

  it(
    "a meeting's password holds for Jitsi clients as for the web client",
    () =>
      withShardLog(async () => {
        const room = 'jitsi-locked';
        const { token, page } = await createMeeting({
          title: 'Locked',
          room,
          password: 'open-sesame',
        });
        await expect(join(room, 'Nopass')).rejects.toThrow(/conference failed: .*password/i);
        await expect(join(room, 'Wrong', undefined, 'guess')).rejects.toThrow(
          /conference failed: .*password/i,
        );
        const jitsi = await join(room, 'Right', undefined, 'open-sesame');
        const web = await chromium!.browser.newPage();
        await web.goto(`${shard!.url}/r/${room}?name=Wanda`);
        await web.fill('#password-input', 'open-sesame');
        await web.press('#password-input', 'Enter');
        await waitForJoined(web, 30_000);
        await Promise.all([
          waitForMediaFrom(web, ['Right'], true, 60_000),
          jitsi.waitForMediaFrom(['Wanda'], 60_000),
        ]);
        // Only those who gave the password are in.
        const { participants } = await page.evaluate(
          async ([room, token]) =>
            (await fetch(`/api/v1/admin/rooms/${room}`, {
              headers: { authorization: `Bearer ${token}` },
            }).then((r) => r.json())) as { participants: { displayName: string }[] },
          [room, token] as const,
        );
        expect(participants.map((p) => p.displayName).sort()).toEqual(['Right', 'Wanda']);
        await web.close();
        await jitsi.leave();
      }),
    240_000,
  );
  it(
    "a meeting's lobby holds a Jitsi client until the web client's moderator admits it",
    () =>
      withShardLog(async () => {
        const room = 'jitsi-lobby';
        await createMeeting({ title: 'With a lobby', room, lobby: true });
        const host = await chromium!.browser.newPage();
        await host.goto(`${shard!.url}/r/${room}?token=${moderatorToken(room, 'Hostess')}`);
        await joinFromPrejoin(host);
        await waitForJoined(host, 30_000);
        // The Jitsi guest knocks: its join waits, and the host sees it in the lobby panel.
        const joining = join(room, 'Knocker');
        await host.waitForSelector('#lobby-panel li', { timeout: 60_000 });
        expect(await host.textContent('#lobby-panel li .name')).toBe('Knocker');
        await host.click('#lobby-panel li .admit');
        const guest = await joining;
        await Promise.all([
          waitForMediaFrom(host, ['Knocker'], true, 60_000),
          guest.waitForMediaFrom(['Hostess'], 60_000),
        ]);
        await host.close();
        await guest.leave();
      }),
    240_000,
  );
});
