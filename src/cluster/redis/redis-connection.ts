import { Redis } from 'ioredis';
import type { Logger } from '../../observability/logger';

/** How long start-up waits for Redis before it gives up with a clear error. */
const CONNECT_TIMEOUT_MS = 5000;

/**
 * The shard's two Redis connections: one for commands, one subscribed to the cluster
 * bus (a subscribed connection takes no other commands). Commands fail at once while
 * Redis is unreachable instead of queueing: the heartbeat retries, running rooms go on.
 */
export class RedisConnection {
  readonly commands: Redis;
  readonly subscriber: Redis;
  /** What the last failed connection attempt said (ioredis reports it as an event). */
  private lastError?: Error;

  constructor(
    readonly url: string,
    /** Prepended to every key and channel, so that clusters can share one Redis. */
    readonly prefix: string,
    private readonly logger: Logger,
  ) {
    const options = {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: CONNECT_TIMEOUT_MS,
      retryStrategy: (attempt: number) => Math.min(attempt * 200, 2000),
    };
    this.commands = new Redis(url, options);
    this.subscriber = new Redis(url, { ...options, enableOfflineQueue: true });
    for (const [role, client] of [
      ['commands', this.commands],
      ['bus', this.subscriber],
    ] as const) {
      let down = false;
      client.on('error', (error: Error) => {
        this.lastError = error;
        if (!down) this.logger.error({ err: error, role }, 'Redis connection failed');
        down = true;
      });
      client.on('ready', () => {
        if (down) this.logger.info({ role }, 'Redis connection back');
        down = false;
      });
    }
  }

  key(...parts: string[]): string {
    return [this.prefix, ...parts].join(':');
  }

  /** Connects both, or throws an error that says which Redis could not be reached. */
  async connect(): Promise<void> {
    try {
      await Promise.all([this.commands.connect(), this.subscriber.connect()]);
    } catch (error) {
      this.disconnect();
      const reason = (this.lastError ?? (error as Error)).message;
      throw new Error(`cannot reach Redis at ${redactedUrl(this.url)} (REDIS_URL): ${reason}`);
    }
  }

  disconnect(): void {
    this.commands.disconnect();
    this.subscriber.disconnect();
  }
}

/** The URL without its password, for messages. */
function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'the configured URL';
  }
}
