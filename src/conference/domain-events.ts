import { EventEmitter } from 'node:events';
import type { Logger } from '../observability/logger';

type Listener<A extends unknown[]> = (...args: A) => void;

/**
 * The events the domain (conference, media) tells the doors. A listener that throws is
 * logged and the others still hear the event: one door failing to render it must neither
 * stop the domain half way through what it was doing (a leave, a room closing, a worker's
 * death) nor throw into whoever emitted it (a request, a timer, a mediasoup callback).
 */
export class DomainEvents<T extends Record<keyof T, unknown[]>> {
  private readonly emitter = new EventEmitter();

  constructor(private readonly logger: Logger) {}

  on<K extends keyof T & string>(event: K, listener: Listener<T[K]>): this {
    this.emitter.on(event, listener as Listener<unknown[]>);
    return this;
  }

  once<K extends keyof T & string>(event: K, listener: Listener<T[K]>): this {
    this.emitter.once(event, listener as Listener<unknown[]>);
    return this;
  }

  off<K extends keyof T & string>(event: K, listener: Listener<T[K]>): this {
    this.emitter.off(event, listener as Listener<unknown[]>);
    return this;
  }

  emit<K extends keyof T & string>(event: K, ...args: T[K]): void {
    // Raw listeners: a once() wrapper removes itself when called.
    for (const listener of this.emitter.rawListeners(event) as Listener<T[K]>[]) {
      try {
        listener(...args);
      } catch (error) {
        this.logger.error({ err: error, event }, 'a listener of a domain event failed');
      }
    }
  }
}
