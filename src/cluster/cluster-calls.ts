import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { ZodError } from 'zod';
import { DomainError, ErrorCode } from '../conference/domain-error';
import type { Logger } from '../observability/logger';
import { InjectLogger } from '../observability/logging.module';
import { ClusterBus } from './cluster-bus';

/** Answers a call from another shard; what it throws goes back as the call's error. */
export type CallHandler = (payload: unknown, fromShard: string) => Promise<unknown>;

interface Call {
  id: string;
  method: string;
  payload: unknown;
}

interface Answer {
  id: string;
  result?: unknown;
  error?: { code: ErrorCode; message: string };
}

const TOPICS = { call: 'call', answer: 'call.answer' } as const;
const CALL_TIMEOUT_MS = 3000;

/**
 * Requests to another shard over the cluster bus, each answered once: the answer's
 * result, or the handler's error, or `unavailable` after a timeout (the shard died, or
 * the bus lost a message).
 */
@Injectable()
export class ClusterCalls {
  private readonly handlers = new Map<string, CallHandler>();
  private readonly pending = new Map<
    string,
    { resolve: (result: unknown) => void; reject: (error: Error) => void }
  >();

  constructor(
    private readonly bus: ClusterBus,
    @InjectLogger() private readonly logger: Logger,
  ) {
    bus.subscribe(TOPICS.call, (payload, from) => void this.answer(payload as Call, from));
    bus.subscribe(TOPICS.answer, (payload) => this.settle(payload as Answer));
  }

  handle(method: string, handler: CallHandler): void {
    this.handlers.set(method, handler);
  }

  call<T>(shardId: string, method: string, payload: unknown): Promise<T> {
    const id = randomUUID();
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new DomainError('unavailable', `shard ${shardId} did not answer ${method}`));
      }, CALL_TIMEOUT_MS);
      this.pending.set(id, {
        resolve: (result) => (clearTimeout(timer), resolve(result as T)),
        reject: (error) => (clearTimeout(timer), reject(error)),
      });
      const call: Call = { id, method, payload };
      this.bus.send(shardId, TOPICS.call, call).catch((error: Error) => {
        this.pending.get(id)?.reject(error);
        this.pending.delete(id);
      });
    });
  }

  private async answer({ id, method, payload }: Call, from: string) {
    if (typeof id !== 'string') return;
    let answer: Answer;
    try {
      const handler = this.handlers.get(method);
      if (!handler) throw new DomainError('unknown_request', `no call ${String(method)}`);
      answer = { id, result: (await handler(payload, from)) ?? null };
    } catch (caught) {
      // A payload that fails its handler's schema is the caller's mistake.
      const error =
        caught instanceof ZodError ? new DomainError('bad_request', 'malformed call') : caught;
      const known = error instanceof DomainError;
      if (!known) this.logger.error({ err: error, method, from }, 'cluster call failed');
      answer = {
        id,
        error: {
          code: known ? error.code : 'internal',
          message: known || error instanceof Error ? (error as Error).message : 'failed',
        },
      };
    }
    await this.bus.send(from, TOPICS.answer, answer).catch((error: unknown) => {
      this.logger.warn({ err: error, method, from }, 'could not answer a cluster call');
    });
  }

  private settle({ id, result, error }: Answer) {
    const pending = this.pending.get(id);
    if (!pending) return;
    this.pending.delete(id);
    if (error) pending.reject(new DomainError(error.code, error.message));
    else pending.resolve(result);
  }
}
