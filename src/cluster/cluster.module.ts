import { Inject, Module, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { APP_CONFIG } from '../config/config.module';
import { AppConfig } from '../config/config.schema';
import type { Logger } from '../observability/logger';
import { LOGGER } from '../observability/logging.module';
import { ClusterBus, LocalClusterBus } from './cluster-bus';
import { ClusterCalls } from './cluster-calls';
import { ClusterService } from './cluster.service';
import { HaproxyAgent } from './haproxy-agent';
import { RedisClusterBus } from './redis/redis-cluster-bus';
import { RedisConnection } from './redis/redis-connection';
import { RedisRoomDirectory } from './redis/redis-room-directory';
import { RedisShardRegistry } from './redis/redis-shard-registry';
import { RedisThrottlerStorage } from './redis/redis-throttler-storage';
import { LocalRoomDirectory, RoomDirectory } from './room-directory';
import { RoomPlacement } from './room-placement.service';
import { ShardDrain } from './shard-drain.service';
import { LocalShardRegistry, ShardRegistry } from './shard-registry';
import { RegionAwareLeastLoadedSelector, ShardSelector } from './shard-selector';

/** The shard's Redis connections when REDIS_URL is set; null for a shard alone. */
const REDIS = Symbol('REDIS');

/** Where the portal's rate limits count: Redis in a cluster, else undefined (in memory). */
export const RATE_LIMIT_STORAGE = Symbol('RATE_LIMIT_STORAGE');

type Redis = RedisConnection | null;

/**
 * The cluster: shard registry, room directory, selector and bus, each in-process for a
 * shard alone (the default) or in Redis when `cluster.redisUrl` is set, behind the same
 * interfaces (as LiveKit's router does it).
 */
@Module({
  providers: [
    {
      provide: REDIS,
      inject: [APP_CONFIG, LOGGER],
      useFactory: ({ cluster }: AppConfig, logger: Logger): Redis =>
        cluster.redisUrl ? new RedisConnection(cluster.redisUrl, cluster.name, logger) : null,
    },
    {
      provide: ShardRegistry,
      inject: [APP_CONFIG, REDIS],
      useFactory: ({ cluster }: AppConfig, redis: Redis) =>
        redis
          ? new RedisShardRegistry(redis, cluster.shardTtlMs)
          : new LocalShardRegistry(cluster.shardTtlMs),
    },
    {
      provide: RoomDirectory,
      inject: [APP_CONFIG, REDIS],
      useFactory: ({ cluster }: AppConfig, redis: Redis) =>
        redis
          ? new RedisRoomDirectory(redis, cluster.shardTtlMs)
          : new LocalRoomDirectory(cluster.shardTtlMs),
    },
    {
      provide: ClusterBus,
      inject: [ClusterService, REDIS, LOGGER],
      useFactory: (cluster: ClusterService, redis: Redis, logger: Logger) =>
        redis ? new RedisClusterBus(redis, cluster.id, logger) : new LocalClusterBus(cluster.id),
    },
    {
      provide: RATE_LIMIT_STORAGE,
      inject: [REDIS, LOGGER],
      useFactory: (redis: Redis, logger: Logger) =>
        redis ? new RedisThrottlerStorage(redis, logger) : undefined,
    },
    { provide: ShardSelector, useClass: RegionAwareLeastLoadedSelector },
    ClusterService,
    ClusterCalls,
    RoomPlacement,
    ShardDrain,
    HaproxyAgent,
  ],
  exports: [
    ClusterService,
    ClusterCalls,
    RoomPlacement,
    RoomDirectory,
    ClusterBus,
    ShardDrain,
    RATE_LIMIT_STORAGE,
  ],
})
export class ClusterModule implements OnModuleInit, OnApplicationShutdown {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    private readonly bus: ClusterBus,
  ) {}

  /** Start-up fails with a clear error when Redis cannot be reached. */
  async onModuleInit() {
    if (!this.redis) return;
    await this.redis.connect();
    if (this.bus instanceof RedisClusterBus) await this.bus.listen();
  }

  /** After every shutdown hook: rooms release their leases and the shard withdraws first. */
  onApplicationShutdown() {
    this.redis?.disconnect();
  }
}
