import { ShardEntry } from './shard';

/**
 * The shards of the cluster. Each announces itself with every heartbeat; one that stops
 * announcing is gone after the registry's time to live.
 */
export abstract class ShardRegistry {
  /**
   * Whether the registry still knew the shard: false at its first announcement, and when
   * the registry lost it (Redis restarted empty, say) and is being filled again.
   */
  abstract announce(entry: ShardEntry): Promise<boolean>;
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
    const previous = this.entries.get(entry.id);
    this.entries.set(entry.id, entry);
    return previous !== undefined && Date.now() - previous.seenAt < this.ttlMs;
  }

  async withdraw(shardId: string) {
    this.entries.delete(shardId);
  }

  async shards() {
    const now = Date.now();
    return [...this.entries.values()].filter((entry) => now - entry.seenAt < this.ttlMs);
  }
}
