import { INestApplicationContext } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { MessageMappingProperties } from '@nestjs/websockets';
import { isObservable } from 'rxjs';
import { ServerOptions, Socket } from 'socket.io';
import type { Logger } from '../../observability/logger';

/** socket.io with the shard's message size limit and no client bundle served. */
export class SocketIoAdapter extends IoAdapter {
  constructor(
    app: INestApplicationContext,
    private readonly maxMessageBytes: number,
    private readonly logger: Logger,
  ) {
    super(app);
  }

  override createIOServer(port: number, options?: ServerOptions) {
    const limited = { ...options, maxHttpBufferSize: this.maxMessageBytes, serveClient: false };
    return super.createIOServer(port, limited as ServerOptions);
  }

  /**
   * As IoAdapter's, but with a plain listener per message and no RxJS on the way: IoAdapter
   * keeps a chain of RxJS subscriptions for every connected socket (a large share of an
   * idle connection's memory) and pipes every message through a few more. Handlers resolve
   * with a value (or, from an interceptor, an Observable), sent as an event or as the ack.
   * Nobody waits for a message's handling: a failure of it ends in the log.
   */
  override bindMessageHandlers(socket: Socket, handlers: MessageMappingProperties[]) {
    for (const { message, callback, isAckHandledManually } of handlers) {
      socket.on(message, (...args: unknown[]) => {
        // fromEvent, which IoAdapter listens with, gives one argument alone and more as an array.
        const { data, ack } = this.mapPayload(args.length === 1 ? args[0] : args);
        const respond = (response: unknown) => {
          if (response === undefined || response === null) return;
          const { event, data: eventData } = response as { event?: string; data?: unknown };
          if (event) socket.emit(event, eventData);
          else if (!isAckHandledManually && typeof ack === 'function') ack(response);
        };
        Promise.resolve(callback(data, ack))
          .then((result: unknown) =>
            isObservable(result) ? result.subscribe(respond) : respond(result),
          )
          .catch((error: unknown) =>
            this.logger.error({ err: error, message }, 'a socket.io message handler failed'),
          );
      });
    }
  }
}
