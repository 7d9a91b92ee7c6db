/** What one shard tells others; `topic` says which module's handler gets it. */
export type BusHandler = (payload: unknown, fromShard: string) => void;

/**
 * Messages between shards (XMPP stanzas for occupants and users on other shards):
 * fire-and-forget, at most once, in order per sender.
 */
export abstract class ClusterBus {
  private readonly handlers = new Map<string, BusHandler>();

  /** Sends to one shard (which may be this one). */
  abstract send(shardId: string, topic: string, payload: unknown): Promise<void>;
  /** Sends to every other shard. */
  abstract broadcast(topic: string, payload: unknown): Promise<void>;

  subscribe(topic: string, handler: BusHandler): void {
    this.handlers.set(topic, handler);
  }

  /** Hands an arrived message to its topic's handler; a failing handler is the caller's to log. */
  protected dispatch(topic: string, payload: unknown, fromShard: string): void {
    this.handlers.get(topic)?.(payload, fromShard);
  }
}

/** One process: a message to this shard is delivered to it, and there are no others. */
export class LocalClusterBus extends ClusterBus {
  constructor(private readonly selfId: string) {
    super();
  }

  async send(shardId: string, topic: string, payload: unknown) {
    if (shardId === this.selfId) queueMicrotask(() => this.dispatch(topic, payload, shardId));
  }

  // There is no other shard to tell.
  async broadcast(_topic: string, _payload: unknown) {}
}
