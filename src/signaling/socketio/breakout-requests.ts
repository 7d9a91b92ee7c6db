import { z } from 'zod';
import { BreakoutRooms, BreakoutState } from '../../conference/breakout-rooms';
import { BreakoutRequests, BreakoutsView } from './protocol';

/** The breakout rooms' part of the socket.io door: request shapes, views, handling. */
const room = z.string().min(1).max(64);

export const breakoutRequestSchemas = {
  createBreakouts: z.object({
    rooms: z.union([z.number().int(), z.array(z.string().max(100)).max(100)]),
    assign: z.enum(['manual', 'evenly', 'randomly']).optional(),
    allowChoice: z.boolean().optional(),
    durationSeconds: z
      .number()
      .int()
      .min(1)
      .max(24 * 3600)
      .optional(),
  }),
  moveToBreakout: z.object({ participantId: z.string().min(1).max(64), room }),
  joinBreakout: z.object({ room }),
  broadcastToBreakouts: z.object({ text: z.string().max(10_000) }),
  closeBreakouts: z.object({}).optional(),
} satisfies Record<keyof BreakoutRequests, z.ZodType>;

export type BreakoutMethod = keyof BreakoutRequests;

export const isBreakoutMethod = (method: string): method is BreakoutMethod =>
  Object.prototype.hasOwnProperty.call(breakoutRequestSchemas, method);

export const breakoutsView = (state: BreakoutState): BreakoutsView => ({
  mainRoom: state.mainRoomId,
  allowChoice: state.allowChoice,
  endsAt: state.endsAt?.toISOString(),
  rooms: state.rooms.map(({ id, name, participants }) => ({
    id,
    name,
    participants: participants.map((p) => ({ id: p.id, displayName: p.displayName })),
  })),
});

/** Answers a breakout request of a participant (data already validated). */
export async function handleBreakoutRequest(
  breakouts: BreakoutRooms,
  participantId: string,
  method: BreakoutMethod,
  data: unknown,
): Promise<BreakoutRequests[BreakoutMethod][1]> {
  switch (method) {
    case 'createBreakouts': {
      const options = data as BreakoutRequests['createBreakouts'][0];
      return breakoutsView(await breakouts.create(participantId, options));
    }
    case 'moveToBreakout': {
      const { participantId: target, room: to } = data as BreakoutRequests['moveToBreakout'][0];
      await breakouts.moveBy(participantId, target, to);
      return {};
    }
    case 'joinBreakout':
      await breakouts.choose(participantId, (data as BreakoutRequests['joinBreakout'][0]).room);
      return {};
    case 'broadcastToBreakouts':
      breakouts.broadcast(
        participantId,
        (data as BreakoutRequests['broadcastToBreakouts'][0]).text,
      );
      return {};
    case 'closeBreakouts':
      await breakouts.returnAll(participantId);
      return {};
  }
}
