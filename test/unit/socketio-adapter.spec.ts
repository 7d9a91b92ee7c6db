import { EventEmitter } from 'node:events';
import { of } from 'rxjs';
import pino from 'pino';
import type { Socket } from 'socket.io';
import { SocketIoAdapter } from '../../src/signaling/socketio/socketio.adapter';

/** What a socket.io socket does for the adapter: message listeners and emit. */
class FakeSocket extends EventEmitter {
  readonly emitted: unknown[][] = [];
  send(event: string, ...args: unknown[]) {
    return super.emit(event, ...args);
  }
  override emit(event: string, ...args: unknown[]) {
    this.emitted.push([event, ...args]);
    return true;
  }
}

const logger = pino({ level: 'silent' });

/** Binds one handler for 'request', sends a message with an ack and collects the acks. */
async function answersTo(handlerResult: unknown, isAckHandledManually = false) {
  const socket = new FakeSocket();
  new SocketIoAdapter(undefined as never, 1024, logger).bindMessageHandlers(
    socket as unknown as Socket,
    [
      {
        message: 'request',
        methodName: 'onRequest',
        callback: async () => handlerResult,
        isAckHandledManually,
      },
    ],
  );
  const acks: unknown[] = [];
  socket.send('request', { method: 'x' }, (answer: unknown) => acks.push(answer));
  await new Promise((resolve) => setImmediate(resolve));
  return { acks, emitted: socket.emitted };
}

describe('SocketIoAdapter message handlers', () => {
  it('acks what the handler resolves with', async () => {
    expect(await answersTo({ data: 1 })).toEqual({ acks: [{ data: 1 }], emitted: [] });
  });

  it('emits an { event, data } answer instead of acking it', async () => {
    expect(await answersTo({ event: 'pong', data: 2 })).toEqual({
      acks: [],
      emitted: [['pong', 2]],
    });
  });

  it('acks every value of an Observable answer', async () => {
    expect((await answersTo(of({ data: 1 }, { data: 2 }))).acks).toEqual([
      { data: 1 },
      { data: 2 },
    ]);
  });

  it('sends nothing for an empty answer or when the handler acks itself', async () => {
    expect(await answersTo(undefined)).toEqual({ acks: [], emitted: [] });
    expect(await answersTo({ data: 1 }, true)).toEqual({ acks: [], emitted: [] });
  });

  it('logs a handler or an ack that fails, instead of leaving an unhandled rejection', async () => {
    const logged = jest.spyOn(logger, 'error');
    const unhandled: unknown[] = [];
    const collect = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', collect);
    try {
      const socket = new FakeSocket();
      new SocketIoAdapter(undefined as never, 1024, logger).bindMessageHandlers(
        socket as unknown as Socket,
        [
          {
            message: 'broken',
            methodName: 'onBroken',
            callback: async () => Promise.reject(new Error('handler broke')),
            isAckHandledManually: false,
          },
          {
            message: 'request',
            methodName: 'onRequest',
            callback: async () => ({ data: 1 }),
            isAckHandledManually: false,
          },
        ],
      );
      socket.send('broken', {}, () => undefined);
      socket.send('request', {}, () => {
        throw new Error('ack broke');
      });
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
      const failures = logged.mock.calls.map(([details]) => (details as { err: Error }).err);
      expect(failures.map((error) => error.message).sort()).toEqual(['ack broke', 'handler broke']);
    } finally {
      process.off('unhandledRejection', collect);
      logged.mockRestore();
    }
  });
});
