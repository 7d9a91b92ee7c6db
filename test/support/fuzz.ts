/**
 * What every door's fuzz test shares: its size and seed (small and fixed in the normal
 * suite, large from `npm run fuzz`), progress lines for long runs, a healthy call in
 * another room that must not notice the fuzzing, and the shard's object counts, which
 * must return to their baseline when the fuzzing clients leave.
 */
import fc from 'fast-check';
import { NodeParticipant, eventually } from './node-participant';
import { ShardProcess } from './shard-process';

/**
 * FUZZ_RUNS and FUZZ_SEED are set by scripts/fuzz.mjs; the normal suite uses each test's
 * small default and a fixed seed, so a failure there reproduces.
 */
export function fuzzParameters<T>(defaultRuns: number): fc.Parameters<T> {
  return {
    numRuns: Number(process.env.FUZZ_RUNS) || defaultRuns,
    seed: Number(process.env.FUZZ_SEED) || 20261203,
    endOnFailure: true,
  };
}

/** True when a large run was asked for (no per-test timeouts worth keeping then). */
export const largeRun = () => Boolean(process.env.FUZZ_RUNS);

/** Jest timeout for a fuzz test: `smallMs` in the suite, unbounded for large runs. */
export const fuzzTimeout = (smallMs: number) => (largeRun() ? 24 * 3600_000 : smallMs);

/**
 * Counts inputs and, when FUZZ_PROGRESS is set, prints a progress line at most every
 * two seconds and a summary at the end (to stderr: jest does not buffer it).
 */
export class FuzzProgress {
  private count = 0;
  private lastPrinted = Date.now();
  private readonly startedAt = Date.now();
  private readonly total: number;

  constructor(
    private readonly label: string,
    total?: number,
  ) {
    this.total = total ?? (Number(process.env.FUZZ_RUNS) || 0);
  }

  get inputs(): number {
    return this.count;
  }

  tick(inputs = 1): void {
    this.count += inputs;
    if (!process.env.FUZZ_PROGRESS || Date.now() - this.lastPrinted < 2000) return;
    this.lastPrinted = Date.now();
    const of = this.total ? ` of ${this.total} runs` : '';
    process.stderr.write(`[fuzz] ${this.label}: ${this.count} inputs${of}\n`);
  }

  done(): void {
    if (!process.env.FUZZ_PROGRESS) return;
    const seconds = ((Date.now() - this.startedAt) / 1000).toFixed(1);
    process.stderr.write(`[fuzz] ${this.label}: ${this.count} inputs in ${seconds} s, done\n`);
  }
}

/**
 * A two-person call with audio and video in its own room, beside the fuzzing: the
 * receiver must keep receiving both, and both must stay connected and answered.
 */
export class CanaryCall {
  private constructor(
    private readonly sender: NodeParticipant,
    private readonly receiver: NodeParticipant,
    private lastPackets: number,
  ) {}

  static async start(baseUrl: string, room = 'fuzz-canary'): Promise<CanaryCall> {
    const sender = await NodeParticipant.connect(baseUrl);
    await sender.join(room, 'Canary sender');
    await sender.publish(['audio', 'video']);
    const receiver = await NodeParticipant.connect(baseUrl);
    await receiver.join(room, 'Canary receiver');
    const canary = new CanaryCall(sender, receiver, 0);
    canary.lastPackets = await canary.waitForMorePackets();
    return canary;
  }

  /** Throws unless media still flows, nobody was disconnected and requests are answered. */
  async assertHealthy(): Promise<void> {
    for (const participant of [this.sender, this.receiver]) {
      if (!participant.socket.connected) throw new Error('a canary participant was disconnected');
      const unexpected = participant.events.filter(
        ({ event }) => event === 'removed' || event === 'rejoin',
      );
      if (unexpected.length) throw new Error(`the canary call got ${unexpected[0].event}`);
      if (participant.errors.length) throw participant.errors[0];
    }
    await this.sender.request('chat', { text: 'still here' });
    this.lastPackets = await this.waitForMorePackets();
  }

  close(): void {
    this.sender.close();
    this.receiver.close();
  }

  private async waitForMorePackets(): Promise<number> {
    const read = async () => {
      const stats = Object.values(await this.receiver.receiveStats());
      return {
        audio: stats.reduce((sum, s) => sum + s.audioPackets, 0),
        video: stats.reduce((sum, s) => sum + s.videoPackets, 0),
      };
    };
    const before = this.lastPackets;
    const packets = await eventually(
      read,
      ({ audio, video }) => audio > 0 && video > 0 && audio + video > before + 20,
      10_000,
    );
    if (!(packets.audio + packets.video > before + 20)) {
      throw new Error(`the canary call stopped receiving media (${JSON.stringify(packets)})`);
    }
    return packets.audio + packets.video;
  }
}

/** The shard's live objects that fuzzing clients could leave behind. */
const COUNTED = [
  'videowindow_rooms',
  'videowindow_participants',
  'videowindow_transports',
  'videowindow_producers',
  'videowindow_consumers',
  'videowindow_socketio_connections',
  'videowindow_xmpp_connections',
  'videowindow_xmpp_sessions',
  'videowindow_turn_allocations',
] as const;

export type ObjectCounts = Partial<Record<(typeof COUNTED)[number], number>>;

export async function objectCounts(shard: Pick<ShardProcess, 'metrics'>): Promise<ObjectCounts> {
  const metrics = await shard.metrics();
  const counts: ObjectCounts = {};
  for (const name of COUNTED) if (name in metrics) counts[name] = metrics[name];
  return counts;
}

/**
 * Waits until every count is back at `baseline` (rooms close after their grace period,
 * sessions after their resumption window) and returns the last counts, for expect().
 */
export function backToBaseline(
  shard: Pick<ShardProcess, 'metrics'>,
  baseline: ObjectCounts,
  timeoutMs = 15_000,
): Promise<ObjectCounts> {
  const same = (counts: ObjectCounts) =>
    COUNTED.every((name) => (counts[name] ?? 0) === (baseline[name] ?? 0));
  return eventually(() => objectCounts(shard), same, timeoutMs);
}
