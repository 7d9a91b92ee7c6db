import { EventEmitter } from 'node:events';
import pino from 'pino';
import WebSocket from 'ws';
import { StreamServices, XmppStream } from '../../src/signaling/xmpp/stream/xmpp-stream';

class FakeSocket extends EventEmitter {
  readyState: number = WebSocket.OPEN;
  ping = jest.fn();
  terminate = jest.fn();
  send = jest.fn();
  close = jest.fn();
}

describe('XmppStream heartbeat', () => {
  const services = {
    config: { stanzasPerSecond: 10, stanzaBurst: 10, maxStanzaBytes: 4096, maxDepth: 8 },
    logger: pino({ level: 'silent' }),
  } as unknown as StreamServices;

  it('pings, keeps a connection that answers, and drops one that does not', () => {
    const socket = new FakeSocket();
    const stream = new XmppStream(socket as unknown as WebSocket, services, null);
    stream.heartbeat();
    expect(socket.ping).toHaveBeenCalledTimes(1);
    socket.emit('pong');
    stream.heartbeat();
    expect(socket.ping).toHaveBeenCalledTimes(2);
    expect(socket.terminate).not.toHaveBeenCalled();
    stream.heartbeat();
    expect(socket.terminate).toHaveBeenCalledTimes(1);
  });
});
