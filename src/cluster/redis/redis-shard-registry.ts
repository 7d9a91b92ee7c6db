import { ShardEntry } from '../shard';
import { ShardRegistry } from '../shard-registry';
import { RedisConnection } from './redis-connection';

/**
 * Shards in Redis: each entry is a key that expires after the time to live unless its
 * shard announces itself again (Redis's clock decides, not the shards'), plus a set of
 * the ids, pruned of entries that expired.
 */
export class RedisShardRegistry extends ShardRegistry {
  private readonly ids: string;

  constructor(
    private readonly redis: RedisConnection,
    private readonly ttlMs: number,
  ) {
    super();
    this.ids = redis.key('shards');
  }

  async announce(entry: ShardEntry) {
    const results = await this.redis.commands
      .multi()
      .set(this.entryKey(entry.id), JSON.stringify(entry), 'PX', this.ttlMs, 'GET')
      .sadd(this.ids, entry.id)
      .exec();
    // SET ... GET (Redis 6.2+) answers the entry it replaced, if it had not expired.
    return typeof results?.[0]?.[1] === 'string';
  }

  async withdraw(shardId: string) {
    await this.redis.commands.multi().del(this.entryKey(shardId)).srem(this.ids, shardId).exec();
  }

  async shards() {
    const ids = await this.redis.commands.smembers(this.ids);
    if (!ids.length) return [];
    const values = await this.redis.commands.mget(ids.map((id) => this.entryKey(id)));
    const gone = ids.filter((_, i) => values[i] === null);
    if (gone.length) await this.redis.commands.srem(this.ids, ...gone);
    return values.flatMap((value) => (value === null ? [] : [JSON.parse(value) as ShardEntry]));
  }

  private entryKey(shardId: string) {
    return this.redis.key('shard', shardId);
  }
}
