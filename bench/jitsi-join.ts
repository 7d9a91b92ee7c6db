/**
 * jitsi-join: how long a Jitsi Meet client (the real lib-jitsi-meet in Chromium) takes
 * from opening its page to the first decoded frame of a publisher already in the room,
 * against the web client doing the same on the same machine (the ratio), and what each
 * join costs the shard's own process in CPU (the focus's share is the difference). One
 * shard and one Chromium in a loopback-only network namespace; the joins alternate
 * between the two clients, one at a time, each leaving before the next joins.
 *
 * Both clients are polled every 250 ms (WebRTC statistics): a figure is at most that
 * much late. Options: --rounds N (joins per client, default 5), --tiny (1).
 */
import { existsSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { JITSI_SCRIPTS, joinWithJitsi } from '../test/support/jitsi-meet-page';
import { launchChromiumInNetns, startShardInNetns } from '../test/support/netns-shard';
import { waitForJoined, waitForMediaFrom } from '../test/support/web-client-page';
import { debianPackage, MissingPrerequisite, Prerequisite } from './prerequisites';
import type { Bench, Row } from './run';

const ROOM = 'jitsi-bench';
const PUBLISHER = 'Publisher';
const CLOCK_TICKS_PER_SECOND = 100;

const libJitsiMeet: Prerequisite = {
  async ensure() {
    const missing = JITSI_SCRIPTS.filter((path) => !existsSync(path));
    if (missing.length)
      throw new MissingPrerequisite(
        `${missing.join(', ')} not found: run "npm run setup -- --test" (it packs lib-jitsi-meet and jQuery there)`,
      );
  },
};

/** CPU milliseconds the process has used (user and system), from /proc. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  // utime and stime are the 14th and 15th fields of the whole line.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)];
};

export const jitsiJoin: Bench = {
  needs: [debianPackage('chromium', ['chromium']), libJitsiMeet],
  columns: [
    'client',
    'joins',
    'first frame p50 ms',
    'first frame max ms',
    'ratio to web (p50)',
    'shard CPU ms/join',
  ],
  async run(args, progress) {
    const { values } = parseArgs({
      args,
      options: { rounds: { type: 'string', default: '5' }, tiny: { type: 'boolean' } },
    });
    const rounds = values.tiny ? 1 : Number(values.rounds);
    progress('starting a shard and Chromium in a network namespace');
    const shard = await startShardInNetns({ timeoutMs: 60_000 });
    const chromium = await launchChromiumInNetns(shard.pid);
    const times = { web: [] as number[], jitsi: [] as number[] };
    const cpu = { web: [] as number[], jitsi: [] as number[] };
    try {
      const publisher = await chromium.browser.newPage();
      await publisher.goto(`${shard.url}/r/${ROOM}?name=${PUBLISHER}`);
      await waitForJoined(publisher, 30_000);
      for (let round = 1; round <= rounds; round++) {
        // The web client: its page, its join, the publisher's first frame.
        let cpuBefore = cpuMs(shard.pid);
        let start = performance.now();
        const page = await chromium.browser.newPage();
        await page.goto(`${shard.url}/r/${ROOM}?name=Web${round}`);
        await waitForMediaFrom(page, [PUBLISHER], false, 30_000);
        times.web.push(performance.now() - start);
        cpu.web.push(cpuMs(shard.pid) - cpuBefore);
        await page.close();

        // lib-jitsi-meet: its page (and scripts), connection, conference request, MUC
        // join, Jingle session, the publisher's first frame.
        cpuBefore = cpuMs(shard.pid);
        start = performance.now();
        const jitsi = await joinWithJitsi(chromium.browser, shard.url, {
          room: ROOM,
          displayName: `Jitsi${round}`,
        });
        await jitsi.waitForMediaFrom([PUBLISHER], 30_000, false);
        times.jitsi.push(performance.now() - start);
        cpu.jitsi.push(cpuMs(shard.pid) - cpuBefore);
        await jitsi.leave();
        progress(
          `round ${round}/${rounds}: web ${Math.round(times.web.at(-1)!)} ms, Jitsi ${Math.round(times.jitsi.at(-1)!)} ms`,
        );
      }
    } finally {
      await chromium.close();
      await shard.stop();
    }
    const webP50 = median(times.web);
    const row = (client: 'web' | 'jitsi'): Row => ({
      client,
      joins: times[client].length,
      'first frame p50 ms': Math.round(median(times[client])),
      'first frame max ms': Math.round(Math.max(...times[client])),
      'ratio to web (p50)': Number((median(times[client]) / webP50).toFixed(2)),
      'shard CPU ms/join': Math.round(median(cpu[client])),
    });
    return [row('web'), row('jitsi')];
  },
};
