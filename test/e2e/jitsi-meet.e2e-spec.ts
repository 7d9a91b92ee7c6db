/**
 * Jitsi Meet clients call through the shard: the real lib-jitsi-meet in Chromium asks
 * focus.<domain> for the conference, joins the MUC room, takes the Jingle session of
 * `<room>/focus` and sends and receives media through mediasoup. Shard and browser share
 * one loopback-only network namespace (test/support/netns-shard).
 */
import { JitsiClient, joinWithJitsi } from '../support/jitsi-meet-page';
import { waitForJoined, waitForMediaFrom } from '../support/web-client-page';
import {
  launchChromiumInNetns,
  type NetnsBrowser,
  type NetnsShard,
  startShardInNetns,
} from '../support/netns-shard';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `read` until `done` holds (or the time is up); returns the last value read. */
async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, ms = 10_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await sleep(200);
  }
}

describe('Jitsi Meet clients (lib-jitsi-meet in Chromium)', () => {
  let shard: NetnsShard | undefined;
  let chromium: NetnsBrowser | undefined;
  const clients: JitsiClient[] = [];

  beforeAll(async () => {
    shard = await startShardInNetns();
    chromium = await launchChromiumInNetns(shard.pid);
  }, 30_000);

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

  const join = async (room: string, displayName?: string) => {
    const client = await joinWithJitsi(chromium!.browser, shard!.url, { room, displayName });
    clients.push(client);
    return client;
  };

  /** The shard's mediasoup object counts, read through a page (the shard is in the netns). */
  const mediaCounts = async () => {
    const text = await clients[0].page.evaluate(() => fetch('/metrics').then((r) => r.text()));
    const gauge = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
    return {
      transports: gauge('videowindow_transports'),
      producers: gauge('videowindow_producers'),
      consumers: gauge('videowindow_consumers'),
    };
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
        // One sendrecv transport per client, each consuming the other's camera and microphone.
        expect(await mediaCounts()).toEqual({ transports: 2, producers: 4, consumers: 4 });
      }),
    90_000,
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
    90_000,
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
      }),
    90_000,
  );
});
