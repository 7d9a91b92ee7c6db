import { ShardEntry } from './shard';

/**
 * The shards of the cluster. Each announces itself with every heartbeat; one that stops
 * announcing is gone after the registry's time to live.
 */
export abstract class ShardRegistry {
  abstract announce(entry: ShardEntry): Promise<void>;
  /** Leaves the cluster at once (an orderly shutdown). */
  abstract withdraw(shardId: string): Promise<void>;
  /** The live shards (those announced within the time to live). */
  abstract shards(): Promise<ShardEntry[]>;
}

/** One process: the only shard is this one. */
export class LocalShardRegistry extends ShardRegistry {
  private readonly entries = new Map<string, ShardEntry>();

  constructor(private readonly ttlMs: number) {
    super();
  }

  async announce(entry: ShardEntry) {
    this.entries.set(entry.id, entry);
  }

  async withdraw(shardId: string) {
    this.entries.delete(shardId);
  }

  async shards() {
    const now = Date.now();
    return [...this.entries.values()].filter((entry) => now - entry.seenAt < this.ttlMs);
  }
}
