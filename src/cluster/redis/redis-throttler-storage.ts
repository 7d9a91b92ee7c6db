import { ThrottlerStorage, ThrottlerStorageService } from '@nestjs/throttler';
import type { Logger } from '../../observability/logger';
import { RedisConnection } from './redis-connection';

type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

/** KEYS[1]: the counter; ARGV[1]: the window in ms. The hits so far and the ms left. */
const HIT = `
local hits = redis.call('INCR', KEYS[1])
if hits == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {hits, redis.call('PTTL', KEYS[1])}`;

/**
 * Rate limits counted in Redis, so that the limit is the cluster's and not each shard's
 * (per client address, one fixed window per limit). While Redis is unreachable each
 * shard counts alone, as it does without a cluster.
 */
export class RedisThrottlerStorage implements ThrottlerStorage {
  private readonly fallback = new ThrottlerStorageService();
  private down = false;

  constructor(
    private readonly redis: RedisConnection,
    private readonly logger: Logger,
  ) {}

  async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<ThrottlerStorageRecord> {
    try {
      const counter = this.redis.key('throttle', throttlerName, key);
      const [hits, leftMs] = (await this.redis.commands.eval(HIT, 1, counter, ttl)) as number[];
      this.down = false;
      const seconds = Math.max(1, Math.ceil(leftMs / 1000));
      const isBlocked = hits > limit;
      return {
        totalHits: hits,
        timeToExpire: seconds,
        isBlocked,
        timeToBlockExpire: isBlocked ? seconds : 0,
      };
    } catch (error) {
      if (!this.down)
        this.logger.warn({ err: error }, 'rate limits counted per shard: Redis unreachable');
      this.down = true;
      return this.fallback.increment(key, ttl, limit, blockDuration, throttlerName);
    }
  }
}
