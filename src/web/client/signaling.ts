import { io, type Socket } from 'socket.io-client';
import type {
  Ack,
  ErrorBody,
  Method,
  Requests,
  ServerEvents,
} from '../../signaling/socketio/protocol';

interface ClientEvents {
  request: (body: { method: Method; data: unknown }, ack: (response: Ack<Method>) => void) => void;
}

const REQUEST_TIMEOUT_MS = 15_000;

/** A request the server refused (its ack carried `{ error }`) or that timed out. */
export class SignalingError extends Error {
  constructor(
    readonly code: string,
    message: string,
    /** With `wrong_shard`: the shard that runs the room. */
    readonly shard?: string,
  ) {
    super(message);
    this.name = 'SignalingError';
  }
}

/** The socket.io door seen from the browser: typed requests with acks, typed events. */
export class Signaling {
  readonly socket: Socket<ServerEvents, ClientEvents>;

  constructor(room: string, token?: string) {
    this.socket = io({
      path: '/socket.io',
      auth: token ? { token } : {},
      // The room in the query lets a load balancer keep a room's participants together.
      query: { room },
      transports: ['websocket', 'polling'],
      tryAllTransports: true,
      // A shard that died is replaced within a second: try again soon (then back off).
      reconnectionDelay: 250,
    });
  }

  request<M extends Method>(method: M, data: Requests[M][0]): Promise<Requests[M][1]> {
    return new Promise((resolve, reject) => {
      this.socket
        .timeout(REQUEST_TIMEOUT_MS)
        .emit('request', { method, data }, (timeout: Error | null, response: Ack<Method>) => {
          if (timeout) {
            reject(new SignalingError('timeout', `${method}: no answer from the server`));
          } else if ('error' in response) {
            const { code, message, shard } = response.error;
            reject(new SignalingError(code, message, shard));
          } else {
            resolve(response.data as Requests[M][1]);
          }
        });
    });
  }

  /**
   * Reconnects through the proxy to the shard that runs the room (the proxy routes
   * `?shard=`); resolves once connected there.
   */
  moveTo(shard: string): Promise<void> {
    const { socket } = this;
    (socket.io.opts.query as Record<string, string>).shard = shard;
    socket.disconnect();
    return new Promise((resolve, reject) => {
      const connected = () => {
        socket.off('connect_error', failed);
        resolve();
      };
      const failed = (error: Error) => {
        socket.off('connect', connected);
        reject(error);
      };
      socket.once('connect', connected);
      socket.once('connect_error', failed);
      socket.connect();
    });
  }

  on<E extends keyof ServerEvents>(event: E, listener: ServerEvents[E]): void {
    // socket.io's typed `on` cannot follow a generic event name; the map above is the contract.
    (this.socket.on as (event: string, listener: (...args: never[]) => void) => void)(
      event,
      listener,
    );
  }

  close(): void {
    this.socket.disconnect();
  }
}

/** The `{ code, message }` a refused socket.io connection carries, when the server sent one. */
export const connectErrorBody = (error: Error): ErrorBody | undefined => {
  const data = (error as Error & { data?: Partial<ErrorBody> }).data;
  return data && typeof data.code === 'string' && typeof data.message === 'string'
    ? { code: data.code, message: data.message }
    : undefined;
};
