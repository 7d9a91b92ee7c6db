import { once } from 'node:events';
import { AddressInfo, Socket } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { textFrameLength, writeTextFrame } from '../../src/signaling/xmpp/stream/websocket-frames';

describe('WebSocket text frames', () => {
  it('reach a ws client as one message each, at every payload length encoding', async () => {
    const texts = [
      '',
      '<r/>',
      'a'.repeat(125),
      'b'.repeat(126),
      `<body>${'é'.repeat(100)}</body>`,
      'c'.repeat(0xffff),
      'd'.repeat(0x10000),
    ];
    const lengths = texts.map((text) => Buffer.byteLength(text));
    const frames = Buffer.alloc(lengths.reduce((sum, n) => sum + textFrameLength(n), 0));
    let offset = 0;
    for (const [i, text] of texts.entries())
      offset = writeTextFrame(frames, offset, text, lengths[i]);
    expect(offset).toBe(frames.length);

    const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await once(server, 'listening');
    server.on('connection', (socket) =>
      (socket as unknown as { _socket: Socket })._socket.write(frames),
    );
    const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`);
    const messages: string[] = [];
    await new Promise<void>((resolve, reject) => {
      client.on('error', reject);
      client.on('message', (data, isBinary) => {
        if (isBinary) reject(new Error('a binary message'));
        messages.push(data.toString());
        if (messages.length === texts.length) resolve();
      });
    });
    expect(messages).toEqual(texts);
    client.close();
    server.close();
  });
});
