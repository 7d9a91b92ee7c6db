import { createSocket, Socket } from 'node:dgram';

const bind = (port: number): Promise<Socket | undefined> =>
  new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.once('error', () => {
      socket.close();
      resolve(undefined);
    });
    socket.bind(port, '127.0.0.1', () => resolve(socket));
  });

/**
 * An even port whose successor is free too: ffmpeg binds RTP there and RTCP on the next
 * one even when RTCP is multiplexed. Both are free when this returns; ffmpeg binds them
 * right after (a port taken meanwhile shows as a recorder that does not start).
 */
export async function freeUdpPortPair(attempts = 50): Promise<number> {
  for (let i = 0; i < attempts; i++) {
    const first = await bind(0);
    if (!first) continue;
    const port = first.address().port;
    const even = port % 2 === 0 ? port : port + 1;
    const second = await bind(even === port ? port + 1 : even);
    const third = even === port ? undefined : await bind(even + 1);
    first.close();
    second?.close();
    third?.close();
    if (second && (even === port || third)) return even;
  }
  throw new Error('no free pair of UDP ports on 127.0.0.1');
}

/** Whether some process holds the UDP port on 127.0.0.1 (ffmpeg listening on it). */
export async function udpPortTaken(port: number): Promise<boolean> {
  const socket = await bind(port);
  socket?.close();
  return socket === undefined;
}

/** A UDP socket on 127.0.0.1 that reads and drops whatever it gets. */
export async function discardSocket(): Promise<Socket> {
  const socket = await bind(0);
  if (!socket) throw new Error('cannot bind a UDP socket on 127.0.0.1');
  socket.on('message', () => undefined);
  return socket;
}
