/**
 * The child process of the signaling-capacity bench: idle socket.io participants (no
 * media). A process of their own keeps them off the shard's heap and loop, and gives them
 * their own file-descriptor table: at 10,000 connections each side holds 10,000 sockets.
 */
import type { Socket } from 'socket.io-client';
import { connectSocket, request } from '../test/support/signaling-client';

export type ClientsCommand =
  { type: 'add'; baseUrl: string; total: number; roomSize: number } | { type: 'close' };
export type ClientsReport =
  | { type: 'progress'; connected: number }
  | { type: 'added'; connected: number; failed: number; firstError?: string };

const CONCURRENCY = 50;
const PROGRESS_EVERY = 500;
const sockets: Socket[] = [];

async function addClients(baseUrl: string, total: number, roomSize: number) {
  let failed = 0;
  let firstError: string | undefined;
  let next = sockets.length;
  const connectOne = async (index: number) => {
    const socket = await connectSocket(baseUrl, { timeoutMs: 30_000 });
    sockets.push(socket);
    await request(socket, 'join', {
      room: `capacity-${Math.floor(index / roomSize)}`,
      displayName: `idle-${index}`,
    });
  };
  const lane = async () => {
    while (next < total) {
      const index = next++;
      await connectOne(index).catch((error: Error) => {
        failed += 1;
        firstError ??= error.message;
      });
      if (index % PROGRESS_EVERY === 0) report({ type: 'progress', connected: sockets.length });
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, lane));
  report({ type: 'added', connected: sockets.length, failed, firstError });
}

function report(message: ClientsReport) {
  process.send!(message);
}

process.on('message', (command: ClientsCommand) => {
  if (command.type === 'add') void addClients(command.baseUrl, command.total, command.roomSize);
  else {
    sockets.forEach((socket) => socket.close());
    process.disconnect();
  }
});
