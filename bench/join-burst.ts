/**
 * join-burst: N socket.io participants (no media) connect, then all join ONE room at once.
 * Every join is announced to everyone already there (in batches, participantsJoined). Measured from the signal to join:
 * each participant's join answer, and the moment it knows the full roster of N; the figure
 * is when the last participant does. The clients run in child processes.
 */
import { parseArgs } from 'node:util';
import { startShard } from '../test/support/shard';
import { ChildClients } from './child-clients';
import type { BurstCommand, BurstReport } from './join-burst-clients';
import { percentile } from './join-latency';
import type { Bench, Row } from './run';

const ROSTER_TIMEOUT_MS = 60_000;

export const joinBurst: Bench = {
  async run(args, progress) {
    const { values } = parseArgs({
      args,
      options: {
        participants: { type: 'string', default: '500' },
        processes: { type: 'string', default: '2' },
        tiny: { type: 'boolean' },
      },
    });
    const total = values.tiny ? 10 : Number(values.participants);
    const processes = values.tiny ? 1 : Number(values.processes);
    if (![total, processes].every((n) => Number.isInteger(n) && n > 0)) {
      throw new Error('--participants and --processes take positive integers');
    }
    // The default room limit (MAX_PARTICIPANTS_PER_ROOM) is 100.
    const shard = await startShard({
      LOG_LEVEL: 'error',
      MAX_PARTICIPANTS_PER_ROOM: String(total),
    });
    const children = Array.from({ length: processes }, () =>
      ChildClients.start<BurstCommand, BurstReport>('join-burst-clients.ts'),
    );
    const share = (i: number) => Math.floor(total / processes) + (i < total % processes ? 1 : 0);
    try {
      const connectStart = Date.now();
      const connected = await Promise.all(
        children.map((c, i) =>
          c.ask({ type: 'connect', baseUrl: shard.baseUrl, count: share(i) }, 'connected'),
        ),
      );
      const connectFailed = connected.reduce((sum, r) => sum + r.failed, 0);
      if (connectFailed)
        throw new Error(
          `${connectFailed} connections failed: ${connected.find((r) => r.firstError)?.firstError}`,
        );
      progress(`${total} connected in ${Date.now() - connectStart} ms; joining`);

      const go = Date.now();
      const results = await Promise.all(
        children.map((c) =>
          c.ask(
            { type: 'join', room: 'burst', rosterSize: total, timeoutMs: ROSTER_TIMEOUT_MS },
            'joined',
          ),
        ),
      );
      const since = (times: number[]) => times.map((t) => t - go).sort((a, b) => a - b);
      const answered = since(results.flatMap((r) => r.answered));
      const complete = since(results.flatMap((r) => r.complete));
      const failed = results.reduce((sum, r) => sum + r.failed, 0);
      if (failed)
        progress(`${failed} failed, first: ${results.find((r) => r.firstError)?.firstError}`);
      const row: Row = {
        participants: total,
        'client processes': processes,
        failed,
        'join answer p50 ms': percentile(answered, 50),
        'join answer p99 ms': percentile(answered, 99),
        'full roster p50 ms': percentile(complete, 50),
        'all rosters complete ms': failed ? NaN : complete[complete.length - 1],
        // One per join and member before batching (N(N-1)/2); what the clients received.
        'announcement messages': results.reduce((sum, r) => sum + r.announcements, 0),
      };
      progress(`all ${total} rosters complete after ${row['all rosters complete ms']} ms`);
      return [row];
    } finally {
      await Promise.all(children.map((c) => c.close({ type: 'close' })));
      await shard.close();
    }
  },
};
