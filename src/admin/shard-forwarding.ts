import {
  CallHandler,
  ExecutionContext,
  HttpException,
  Injectable,
  NestInterceptor,
  ServiceUnavailableException,
} from '@nestjs/common';
import type { Request } from 'express';
import { Observable, of } from 'rxjs';
import { ClusterService } from '../cluster/cluster.service';
import { RoomPlacement } from '../cluster/room-placement.service';
import { ShardEntry } from '../cluster/shard';

/** Marks a request one shard forwarded to another: it is answered there, never passed on. */
export const FORWARDED_HEADER = 'x-video-window-forwarded-by';

/**
 * How long another shard may take to start answering: a question (GET, HEAD) 5 s; a
 * change it carries out may take longer (stopping a recording waits for its files), up
 * to a little less than the `timeout server` of the shipped haproxy.cfg (60 s).
 */
const QUESTION_TIMEOUT_MS = 5000;
const CHANGE_TIMEOUT_MS = 50_000;

type ForwardedRequest = Pick<Request, 'method' | 'originalUrl' | 'headers' | 'body'>;

/** The admin API of another shard, called with the caller's own credentials. */
@Injectable()
export class ShardForwarder {
  constructor(private readonly cluster: ClusterService) {}

  /** The other shard's answer: its status and JSON body (undefined when empty). */
  async call(
    shard: ShardEntry,
    request: ForwardedRequest,
    path = request.originalUrl,
  ): Promise<{ status: number; body: unknown }> {
    const response = await this.open(shard, request, path);
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as unknown) : undefined };
  }

  /** The other shard's answer as it comes (a body that is no JSON, such as a file). */
  async open(
    shard: ShardEntry,
    request: ForwardedRequest,
    path = request.originalUrl,
  ): Promise<globalThis.Response> {
    const { authorization } = request.headers;
    const hasBody = !['GET', 'HEAD', 'DELETE'].includes(request.method);
    // Until the answer starts: a long download then takes the time it takes.
    const answered = new AbortController();
    const question = ['GET', 'HEAD'].includes(request.method);
    const timer = setTimeout(
      () => answered.abort(),
      question ? QUESTION_TIMEOUT_MS : CHANGE_TIMEOUT_MS,
    );
    return fetch(`${shard.internalUrl}${path}`, {
      method: request.method,
      headers: {
        ...(authorization && { authorization }),
        ...(hasBody && { 'content-type': 'application/json' }),
        [FORWARDED_HEADER]: this.cluster.id,
      },
      body: hasBody ? JSON.stringify(request.body ?? {}) : undefined,
      signal: answered.signal,
    })
      .catch(() => {
        throw new ServiceUnavailableException(`shard ${shard.id} does not answer`);
      })
      .finally(() => clearTimeout(timer));
  }
}

/**
 * Admin requests about one room (`:room`) are answered by the shard that runs it: this
 * one, or the owner the directory names, which gets the request as it came.
 */
@Injectable()
export class ForwardToRoomOwner implements NestInterceptor {
  constructor(
    private readonly cluster: ClusterService,
    private readonly placement: RoomPlacement,
    private readonly forwarder: ShardForwarder,
  ) {}

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    const request = context.switchToHttp().getRequest<Request>();
    const roomId = request.params.room as string | undefined;
    if (!roomId || request.headers[FORWARDED_HEADER]) return next.handle();
    const owner = await this.placement.ownerOf(roomId);
    if (!owner || owner.id === this.cluster.id) return next.handle();
    const { status, body } = await this.forwarder.call(owner, request);
    if (status >= 400) throw new HttpException(body ?? { statusCode: status }, status);
    return of(body);
  }
}
