import type { Logger } from '../../observability/logger';
import { ClusterBus } from '../cluster-bus';
import { RedisConnection } from './redis-connection';

interface Envelope {
  topic: string;
  from: string;
  payload: unknown;
}

/** The bus over Redis pub/sub: a channel per shard and one for broadcasts. */
export class RedisClusterBus extends ClusterBus {
  private readonly everyone: string;

  constructor(
    private readonly redis: RedisConnection,
    private readonly selfId: string,
    private readonly logger: Logger,
  ) {
    super();
    this.everyone = redis.key('bus', '*');
  }

  /** Subscribes to this shard's channel and the broadcast channel. */
  async listen(): Promise<void> {
    const own = this.channel(this.selfId);
    this.redis.subscriber.on('message', (channel: string, text: string) => {
      if (channel !== own && channel !== this.everyone) return;
      try {
        const { topic, from, payload } = JSON.parse(text) as Envelope;
        if (channel === this.everyone && from === this.selfId) return;
        this.dispatch(topic, payload, from);
      } catch (error) {
        this.logger.error({ err: error, channel }, 'cluster bus message failed');
      }
    });
    await this.redis.subscriber.subscribe(own, this.everyone);
  }

  async send(shardId: string, topic: string, payload: unknown) {
    await this.publish(this.channel(shardId), topic, payload);
  }

  async broadcast(topic: string, payload: unknown) {
    await this.publish(this.everyone, topic, payload);
  }

  private async publish(channel: string, topic: string, payload: unknown) {
    const envelope: Envelope = { topic, from: this.selfId, payload };
    await this.redis.commands.publish(channel, JSON.stringify(envelope));
  }

  private channel(shardId: string) {
    return this.redis.key('bus', shardId);
  }
}
