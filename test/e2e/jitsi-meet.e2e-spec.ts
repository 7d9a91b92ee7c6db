/**
 * Jitsi Meet clients call through the shard: the real lib-jitsi-meet in Chromium asks
 * focus.<domain> for the conference, joins the MUC room, takes the Jingle session of
 * `<room>/focus` and sends and receives media through mediasoup. Shard and browser share
 * one loopback-only network namespace (test/support/netns-shard).
 */
import { joinWithJitsi, JitsiClient } from '../support/jitsi-meet-page';
import {
  launchChromiumInNetns,
  type NetnsBrowser,
  type NetnsShard,
  startShardInNetns,
} from '../support/netns-shard';

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

  it(
    "two clients decode each other's video and receive each other's audio",
    () =>
      withShardLog(async () => {
        const a = await joinWithJitsi(chromium!.browser, shard!.url, { room: 'jitsi-two' });
        clients.push(a);
        const b = await joinWithJitsi(chromium!.browser, shard!.url, { room: 'jitsi-two' });
        clients.push(b);
        const [seenByA, seenByB] = await Promise.all([
          a.waitForMediaFrom([b.id]),
          b.waitForMediaFrom([a.id]),
        ]);
        expect(seenByA[b.id].framesDecoded).toBeGreaterThan(0);
        expect(seenByB[a.id].audioPacketsReceived).toBeGreaterThan(0);
      }),
    90_000,
  );
});
