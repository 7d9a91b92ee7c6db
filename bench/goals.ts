/**
 * The performance goals in one place: for each bench, its headline figures, the goal
 * each must reach and the issue that set it. `npm run bench -- all` reads every headline
 * figure from a bench's report rows and judges it here. A goal set for a size (50 joins,
 * 500 occupants, ...) is judged only on a run of that size.
 */
import type { Row } from './run';

export interface Verdict {
  /** The headline figure as measured. */
  value: string;
  /** Whether it meets the goal; undefined where there is no goal or this run cannot tell. */
  met?: boolean;
}

export interface Goal {
  bench: string;
  figure: string;
  goal: string;
  /** Where the goal was set. */
  source: string;
  judge(rows: Row[]): Verdict;
}

const thousands = (n: number) => Math.round(n).toLocaleString('en-US');
const num = (row: Row | undefined, column: string) => Number(row?.[column] ?? NaN);
const notMeasured = (what: string): Verdict => ({ value: `not measured: ${what}` });

/** Video Window's figure per sfu-fanout scenario, and whether the lowest reaches `least`. */
function perScenario(rows: Row[], column: string, least: number, format: (n: number) => string) {
  const measured = rows.filter((row) => row.variant === 'videowindow');
  if (measured.length === 0) return notMeasured('no scenario ran');
  return {
    value: measured.map((row) => `${row.scenario} ${format(num(row, column))}`).join(', '),
    met: measured.every((row) => num(row, column) >= least),
  };
}

export const GOALS: Goal[] = [
  {
    bench: 'join-latency',
    figure: 'connect to first remote RTP packet, 50 concurrent light viewers: p50 / p99',
    goal: 'p50 ≤ 150 ms, p99 ≤ 500 ms',
    source: 'issue 6, item 2b',
    judge(rows) {
      const row = rows.find((r) => r.viewer === 'light' && r.participants === 50);
      if (!row) return notMeasured('no run with 50 light viewers');
      const [p50, p99] = [num(row, 'firstPacket p50 ms'), num(row, 'firstPacket p99 ms')];
      return {
        value: `${p50} / ${p99} ms (${row.failed} failed)`,
        met: row.failed === 0 && p50 <= 150 && p99 <= 500,
      };
    },
  },
  {
    bench: 'signaling-capacity',
    figure: 'shard heap per idle joined socket.io connection, at 10,000 connections',
    goal: '≤ 20,000 B',
    source: 'issue 6, item 2c',
    judge(rows) {
      const row = rows.find((r) => num(r, 'connections') >= 10_000);
      if (!row) return notMeasured('fewer than 10,000 connections');
      const heap = num(row, 'heap B/conn');
      return {
        value: `${thousands(heap)} B (${thousands(num(row, 'connections'))} connected, ${row.failed} failed)`,
        met: row.failed === 0 && heap <= 20_000,
      };
    },
  },
  {
    bench: 'portal',
    figure: 'requests per second: GET /api/v1/me, API-key join tokens, login',
    goal: 'none (figures only)',
    source: 'issue 3',
    judge: (rows) => ({
      value: rows.map((row) => `${thousands(num(row, 'req/s'))}`).join(' / ') + ' req/s',
    }),
  },
  {
    bench: 'turn',
    figure: 'Video Window / coturn packets per CPU-second (loss: Video Window, coturn)',
    goal: '≥ 1.0 (parity) at 0% loss',
    source: 'issue 19, item 3 (was ≥ 0.5: issue 5)',
    judge(rows) {
      const ours = rows.find((row) => row.server === 'Video Window');
      const coturn = rows.find((row) => row.server === 'coturn');
      if (!ours || !coturn) return notMeasured('a server did not run');
      const ratio = num(ours, 'vs coturn');
      const [lossOurs, lossCoturn] = [num(ours, 'loss %'), num(coturn, 'loss %')];
      return {
        value: `${ratio} (${thousands(num(ours, 'packets/CPU-s'))} vs ${thousands(num(coturn, 'packets/CPU-s'))}; loss ${lossOurs}%, ${lossCoturn}%)`,
        met: ratio >= 1 && lossOurs === 0,
      };
    },
  },
  {
    bench: 'xmpp',
    figure: 'MUC fan-out 1→5: delivered stanzas/s, Video Window / Prosody',
    goal: '≥ 5×',
    source: 'issue 19, item 4 (was ≥ 2×: issue 4)',
    judge(rows) {
      const of = (server: string) =>
        rows.find((row) => row.server === server && row.scenario === 'fan-out 1→5');
      const [ratio, ours, prosody] = ['videowindow / prosody', 'videowindow', 'prosody'].map(of);
      if (!ratio) return notMeasured('no fan-out to 5 occupants on both servers');
      const times = num(ratio, 'delivered/s');
      return {
        value: `${times}× (${thousands(num(ours, 'delivered/s'))} vs ${thousands(num(prosody, 'delivered/s'))} /s)`,
        met: times >= 5,
      };
    },
  },
  {
    bench: 'xmpp',
    figure: 'MUC join burst of 500 occupants: until every occupant saw every presence',
    goal: '≤ 1 s',
    source: 'issue 19, item 4 (was ≤ 2 s: issue 4)',
    judge(rows) {
      const of = (server: string) =>
        rows.find((row) => row.server === server && row.scenario === 'join burst 500');
      const [ours, prosody] = [of('videowindow'), of('prosody')];
      if (!ours) return notMeasured('no burst of 500 on Video Window');
      const seconds = ours['all presences s'];
      return {
        value: `${seconds} s (Prosody ${prosody ? `${prosody['all presences s']} s` : 'not run'})`,
        met: typeof seconds === 'number' && seconds <= 1,
      };
    },
  },
  {
    bench: 'sfu-fanout',
    figure: 'forwarded packets/s per worker core, Video Window, per scenario',
    goal: '≥ 200,000 in each (≤ 5 µs of worker CPU per packet)',
    source: 'issue 19, item 2 (was ≥ 100,000: issue 6, item 2a)',
    judge: (rows) => perScenario(rows, 'pps/core', 200_000, thousands),
  },
  {
    bench: 'sfu-fanout',
    figure: 'bare mediasoup cost per packet / Video Window cost per packet, per scenario',
    goal: '≥ 0.95 in each',
    source: 'issue 6, item 2a',
    judge: (rows) => perScenario(rows, 'ratio vs bare', 0.95, (n) => n.toFixed(2)),
  },
  {
    bench: 'join-burst',
    figure: '500 socket.io participants join one room at once: until every roster is full',
    goal: '≤ 2 s',
    source: 'issue 6, item 2e',
    judge(rows) {
      const row = rows.find((r) => r.participants === 500);
      if (!row) return notMeasured('no burst of 500');
      const ms = num(row, 'all rosters complete ms');
      return { value: `${ms} ms (${row.failed} failed)`, met: row.failed === 0 && ms <= 2000 };
    },
  },
  {
    bench: 'churn',
    figure: 'after the cycles: object counts and file descriptors against the baseline',
    goal: 'every one back to its baseline',
    source: 'issue 6, item 2d',
    judge(rows) {
      const delta = rows.find((row) => row.at === 'delta');
      if (!delta) return notMeasured('no delta row');
      // Memory is reported, not judged: it settles rather than returning exactly.
      const reported = ['at', 'cycles', 'joins', 'failed', 'heap MiB', 'rss MiB', 'worker rss MiB'];
      const counts = Object.keys(delta).filter((column) => !reported.includes(column));
      const off = counts.filter((column) => delta[column] !== 0);
      const sign = (n: number) => (n >= 0 ? `+${n}` : String(n));
      const where = off.length
        ? off.map((column) => `${column} ${sign(num(delta, column))}`).join(', ')
        : `all ${counts.length} at baseline`;
      const heap = sign(num(delta, 'heap MiB'));
      return {
        value: `${where} after ${delta.joins} joins (${delta.failed} failed); heap ${heap} MiB`,
        met: off.length === 0 && delta.failed === 0,
      };
    },
  },
  {
    bench: 'cluster',
    figure: 'kill -9 of a room’s shard until media flows again, through HAProxy: worst kill',
    goal: '≤ 3 s',
    source: 'issue 14, item 4',
    judge(rows) {
      const row = rows.find((r) => String(r.figure).startsWith('failover'));
      const max = Number(/max (\d+) ms/.exec(String(row?.value))?.[1] ?? NaN);
      if (!row || Number.isNaN(max)) return notMeasured('no failover');
      return { value: `${max} ms (${row.detail})`, met: max <= 3000 };
    },
  },
  {
    bench: 'jitsi-join',
    figure:
      'page to first decoded frame, Jitsi Meet client vs web client: p50 each, ratio; shard CPU per join',
    goal: 'none (figures only)',
    source: 'issue 15, item 8',
    judge(rows) {
      const [web, jitsi] = ['web', 'jitsi'].map((client) => rows.find((r) => r.client === client));
      if (!web || !jitsi) return notMeasured('no joins of both clients');
      return {
        value:
          `Jitsi ${num(jitsi, 'first frame p50 ms')} ms, web ${num(web, 'first frame p50 ms')} ms ` +
          `(ratio ${num(jitsi, 'ratio to web (p50)')}); shard CPU ${num(jitsi, 'shard CPU ms/join')} ` +
          `vs ${num(web, 'shard CPU ms/join')} ms per join`,
      };
    },
  },
  {
    bench: 'recording',
    figure: 'per-track room recordings (audio + video) per core at real-time speed',
    goal: '≥ 20 per core, files keeping real time (≥ 0.9)',
    source: 'issue 17, item 7',
    judge(rows) {
      const row = rows.find((r) => String(r.scenario).startsWith('per-track'));
      if (!row) return notMeasured('no per-track run');
      const [perCore, realtime] = [num(row, 'rooms per core'), num(row, 'realtime min')];
      return {
        value: `${perCore} per core (${row['ffmpeg CPU % per room']} % ffmpeg + ${row['worker CPU % per room']} % worker per room; realtime ${realtime})`,
        met: perCore >= 20 && realtime >= 0.9,
      };
    },
  },
  {
    bench: 'recording',
    figure: 'live 720p composites per core at real-time speed',
    goal: '≥ 2 per core, keeping real time (≥ 0.9)',
    source: 'issue 17, item 7',
    judge(rows) {
      const row = rows.find((r) => String(r.scenario).startsWith('live composite'));
      if (!row) return notMeasured('no composite run');
      const [perCore, realtime] = [num(row, 'rooms per core'), num(row, 'realtime min')];
      return {
        value:
          `${perCore} per core (${row['ffmpeg CPU % per room']} % ffmpeg + ` +
          `${row['shard process CPU % per room']} % shard process + ` +
          `${row['worker CPU % per room']} % worker each; realtime ${realtime})`,
        met: perCore >= 2 && realtime >= 0.9,
      };
    },
  },
  {
    bench: 'cascade',
    figure: '300-participant room over 3 shards vs 1: CPU per forwarded packet, hop latency',
    goal: 'none (figures only)',
    source: 'issue 18, item 6',
    judge(rows) {
      const one = rows.find((r) => r.variant === 'one shard');
      const three = rows.find((r) => r.variant === 'three shards');
      const overhead = rows.find((r) => r.variant === 'pipe overhead');
      if (!one || !three) return notMeasured('no run of both variants');
      return {
        value:
          `${one['µs/packet']} vs ${three['µs/packet']} µs/packet at ${one.participants} ` +
          `(${overhead?.['µs/packet']}), hop ${three['hop ms']} ms, largest room ` +
          `${three['largest room at 80%']} on 3 shards vs ${one['largest room at 80%']} on 1`,
      };
    },
  },
  {
    bench: 'large-room',
    figure:
      '25-participant room, per Chromium page: incoming video bitrate and decoders, everything / pagination + layers',
    goal: 'none (figures only)',
    source: 'issue 16, item 3',
    judge(rows) {
      const ratio = rows.find((r) => r.variant === 'everything / pagination + layers');
      const reduced = rows.find((r) => r.variant === 'pagination + layers');
      const everything = rows.find((r) => r.variant === 'everything');
      if (!ratio || !reduced || !everything) return notMeasured('no run of both variants');
      return {
        value:
          `bitrate ${ratio['video kbit/s per page']}× (${thousands(num(everything, 'video kbit/s per page'))} vs ` +
          `${thousands(num(reduced, 'video kbit/s per page'))} kbit/s), decoders ${ratio['decoders per page']}× ` +
          `(${everything['decoders per page']} vs ${reduced['decoders per page']}) at ${ratio.participants}`,
      };
    },
  },
  {
    bench: 'resume',
    figure:
      'link cut for 2 s, restore to remote video decoding: p95 over ≥ 10 trials (and with the connections lost)',
    goal: 'p95 ≤ 3,000 ms, nobody replaced',
    source: 'issue 16, item 4',
    judge(rows) {
      const measured = rows.filter((r) => num(r, 'cut ms') === 2000 && num(r, 'trials') >= 10);
      if (measured.length === 0) return notMeasured('no run of ≥ 10 trials with a 2 s cut');
      return {
        value: measured
          .map((r) => `${r.scenario} ${thousands(num(r, 'p95 ms'))} ms (${r.failed} failed)`)
          .join(', '),
        met: measured.every(
          (r) => r.failed === 0 && num(r, 'p95 ms') <= 3000 && r['same participants'] === 'yes',
        ),
      };
    },
  },
];
