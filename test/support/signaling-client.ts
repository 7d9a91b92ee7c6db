/**
 * The web client's signaling in Node: a socket.io connection and acknowledged requests.
 * No media stack, so signaling-only load generators stay light.
 */
import { io, Socket } from 'socket.io-client';
import type { Ack, Method, Requests } from '../../src/signaling/socketio/protocol';

export class RequestError extends Error {
  constructor(
    readonly code: string,
    message: string,
    /** With wrong_shard: the shard that runs the room. */
    readonly shard?: string,
  ) {
    super(`${code}: ${message}`);
  }
}

export interface ConnectOptions {
  token?: string;
  timeoutMs?: number;
  /** Query parameters of the connection, as the web client sends `room` and `shard`. */
  query?: Record<string, string>;
  /** The local address to connect from (a "client network" on loopback: 127.x.y.z). */
  localAddress?: string;
  extraHeaders?: Record<string, string>;
}

/** Opens a socket.io connection; rejects with the server's connect_error if refused. */
export function connectSocket(baseUrl: string, options: ConnectOptions = {}): Promise<Socket> {
  const socket = io(baseUrl, {
    path: '/socket.io',
    transports: ['websocket'],
    auth: options.token ? { token: options.token } : {},
    query: options.query,
    extraHeaders: options.extraHeaders,
    // engine.io passes it on to its Node WebSocket (its types know browsers only).
    ...(options.localAddress && { localAddress: options.localAddress }),
    reconnection: false,
    timeout: options.timeoutMs ?? 5000,
  });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (error: Error & { data?: { code: string } }) => {
      socket.close();
      reject(new RequestError(error.data?.code ?? 'connect_error', error.message));
    });
  });
}

export async function request<M extends Method>(
  socket: Socket,
  method: M,
  data: Requests[M][0],
  timeoutMs = 10000,
): Promise<Requests[M][1]> {
  const ack = (await socket.timeout(timeoutMs).emitWithAck('request', { method, data })) as Ack<M>;
  if ('error' in ack) throw new RequestError(ack.error.code, ack.error.message, ack.error.shard);
  return ack.data;
}

/** The error code a request was refused with, or 'resolved'. */
export const errorCode = (promise: Promise<unknown>) =>
  promise.then(
    () => 'resolved',
    (error: { code?: string }) => error.code,
  );
