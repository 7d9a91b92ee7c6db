/**
 * A child process of the join-burst bench: socket.io participants (no media) that connect,
 * then all join one room at the parent's signal and track the room's roster from the join
 * answer and the participantsJoined / participantLeft events.
 */
import type { Socket } from 'socket.io-client';
import { connectSocket, request } from '../test/support/signaling-client';

export type BurstCommand =
  | { type: 'connect'; baseUrl: string; count: number }
  | { type: 'join'; room: string; rosterSize: number; timeoutMs: number }
  | { type: 'close' };
export type BurstReport =
  | { type: 'connected'; failed: number; firstError?: string }
  /** Epoch milliseconds of each participant's join answer and complete roster. */
  | {
      type: 'joined';
      answered: number[];
      complete: number[];
      /** participantsJoined messages these participants received. */
      announcements: number;
      failed: number;
      firstError?: string;
    };

const sockets: Socket[] = [];
let announcements = 0;
const send = (report: BurstReport) => process.send!(report);

async function connect(baseUrl: string, count: number) {
  const outcomes = await Promise.allSettled(
    Array.from({ length: count }, () => connectSocket(baseUrl, { timeoutMs: 30_000 })),
  );
  const errors = outcomes.flatMap((o) => (o.status === 'rejected' ? [String(o.reason)] : []));
  for (const o of outcomes) if (o.status === 'fulfilled') sockets.push(o.value);
  send({ type: 'connected', failed: errors.length, firstError: errors[0] });
}

/** Joins and resolves when this participant knows all `rosterSize` participants. */
function joinAndWatch(socket: Socket, room: string, index: number, rosterSize: number) {
  /** Everyone this participant knows of, itself included. */
  const roster = new Set<string>();
  let answered = NaN;
  return new Promise<{ answered: number; complete: number }>((resolve, reject) => {
    const check = () => {
      if (answered && roster.size >= rosterSize) resolve({ answered, complete: Date.now() });
    };
    socket.on('participantsJoined', (joined: { id: string }[]) => {
      announcements += 1;
      for (const { id } of joined) roster.add(id);
      check();
    });
    socket.on('participantLeft', ({ participantId }: { participantId: string }) =>
      roster.delete(participantId),
    );
    request(socket, 'join', { room, displayName: `burst-${index}` }, 60_000).then((joined) => {
      answered = Date.now();
      if ('lobby' in joined) return reject(new Error('the burst room must not have a lobby'));
      roster.add(joined.participantId);
      for (const p of joined.participants) roster.add(p.id);
      check();
    }, reject);
  });
}

async function join(room: string, rosterSize: number, timeoutMs: number) {
  const timeout = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error(`roster incomplete after ${timeoutMs} ms`)), timeoutMs),
  );
  const outcomes = await Promise.allSettled(
    sockets.map((socket, index) =>
      Promise.race([joinAndWatch(socket, room, index, rosterSize), timeout]),
    ),
  );
  const done = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
  const errors = outcomes.flatMap((o) => (o.status === 'rejected' ? [String(o.reason)] : []));
  send({
    type: 'joined',
    answered: done.map((d) => d.answered),
    complete: done.map((d) => d.complete),
    announcements,
    failed: errors.length,
    firstError: errors[0],
  });
}

process.on('message', (command: BurstCommand) => {
  if (command.type === 'connect') void connect(command.baseUrl, command.count);
  else if (command.type === 'join') void join(command.room, command.rosterSize, command.timeoutMs);
  else {
    sockets.forEach((socket) => socket.close());
    process.exit(0);
  }
});
