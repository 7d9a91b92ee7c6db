import { BreakoutRooms } from '../../src/conference/breakout-rooms';
import { JoinRequest } from '../../src/conference/conference.service';
import { Participant } from '../../src/conference/participant';
import { enter, GRACE_MS, policies, request, setup, sleep } from '../support/conference-fixture';

/** The main room 'demo' has a lobby and a password: breakout rooms inherit its decisions. */
function breakoutSetup(env: Record<string, string> = {}) {
  const fixture = setup(
    env,
    policies({ demo: { lobby: true, checkPassword: async (given) => given === 'secret' } }),
  );
  const breakouts = new BreakoutRooms(fixture.config, fixture.service, fixture.logger);
  /** Where each participant was told to go, with its pass (as a door would hear it). */
  const moves = new Map<string, { roomId: string; pass: string }>();
  breakouts.events.on('moveRequired', (participant, roomId, pass) =>
    moves.set(participant.identity, { roomId, pass }),
  );
  return { ...fixture, breakouts, moves };
}

const moderator = (name: string, roomId = 'demo'): JoinRequest => ({
  ...request(name, roomId),
  role: 'moderator',
});

/** A participant the lobby of 'demo' let in (as after a moderator's admit). */
async function admitted(
  { service }: ReturnType<typeof breakoutSetup>,
  host: Participant,
  name: string,
): Promise<Participant> {
  const outcome = await service.join({ ...request(name), password: 'secret' });
  if (!('waiting' in outcome)) throw new Error('expected the lobby');
  await service.admit(host.id, outcome.waiting.id);
  return service.participant(outcome.waiting.id);
}

/** Follows a move as a client does: joins the room it was told, with its pass. */
async function follow(
  { service, moves }: ReturnType<typeof breakoutSetup>,
  who: Participant,
): Promise<Participant> {
  const move = moves.get(who.identity);
  if (!move) throw new Error(`${who.displayName} was not moved`);
  const { participant } = await enter(service, {
    ...request(who.displayName, move.roomId),
    role: who.role,
    pass: move.pass,
  });
  return participant;
}

const roomsOf = (breakouts: BreakoutRooms, roomId = 'demo') =>
  breakouts.stateOf(roomId)?.rooms.map((room) => ({
    id: room.id,
    name: room.name,
    people: room.participants.map((p) => p.displayName),
  }));

describe('BreakoutRooms', () => {
  it('splits the main room evenly; the moved enter without lobby or password and come back', async () => {
    const fixture = breakoutSetup();
    const { service, breakouts } = fixture;
    const { participant: host } = await enter(service, moderator('Host'));
    const people = [];
    for (const name of ['Ann', 'Bob', 'Cid', 'Dee', 'Eve']) {
      people.push(await admitted(fixture, host, name));
    }
    const started = jest.fn();
    breakouts.events.on('breakoutsStarted', started);

    await breakouts.create(host.id, { rooms: ['Red', 'Blue'], assign: 'evenly' });
    expect(started).toHaveBeenCalledTimes(1);
    // Everyone but the moderator left the main room ('moved') and was told where to go.
    expect(service.participantsOf('demo').map((p) => p.displayName)).toEqual(['Host']);
    const moved = await Promise.all(people.map((p) => follow(fixture, p)));
    expect(roomsOf(breakouts)).toEqual([
      { id: 'demo.breakout-1', name: 'Red', people: ['Ann', 'Cid', 'Eve'] },
      { id: 'demo.breakout-2', name: 'Blue', people: ['Bob', 'Dee'] },
    ]);
    // The state is the same seen from a breakout room.
    expect(roomsOf(breakouts, 'demo.breakout-2')).toEqual(roomsOf(breakouts));

    const finished = jest.fn();
    breakouts.events.on('breakoutsFinished', finished);
    fixture.moves.clear();
    await breakouts.returnAll(host.id);
    expect(finished).toHaveBeenCalledWith('demo', 'returned');
    expect(breakouts.stateOf('demo')).toBeUndefined();
    // Back in the main room with the pass: no lobby, no password again.
    for (const participant of moved) await follow(fixture, participant);
    expect(
      service
        .participantsOf('demo')
        .map((p) => p.displayName)
        .sort(),
    ).toEqual(['Ann', 'Bob', 'Cid', 'Dee', 'Eve', 'Host']);
    expect(service.lobbyOf('demo')).toEqual([]);
  });

  it('assigns randomly, every room getting its share', async () => {
    const fixture = breakoutSetup();
    const { service, breakouts } = fixture;
    const { participant: host } = await enter(service, moderator('Host'));
    for (const name of ['A', 'B', 'C', 'D', 'E', 'F']) await admitted(fixture, host, name);
    await breakouts.create(host.id, { rooms: 3, assign: 'randomly' });
    const targets = [...fixture.moves.values()].map((move) => move.roomId);
    expect(targets).toHaveLength(6);
    for (const n of [1, 2, 3]) {
      expect(targets.filter((id) => id === `demo.breakout-${n}`)).toHaveLength(2);
    }
    expect(breakouts.stateOf('demo')?.rooms.map((room) => room.name)).toEqual([
      'Room 1',
      'Room 2',
      'Room 3',
    ]);
  });

  it('lets nobody into a breakout room directly but the main room’s moderators', async () => {
    const fixture = breakoutSetup();
    const { service, breakouts } = fixture;
    const { participant: host } = await enter(service, moderator('Host'));
    const ann = await admitted(fixture, host, 'Ann');
    await breakouts.create(host.id, { rooms: 2 });

    // An outsider, even with the main room's password, and someone in the main room when
    // participants may not choose.
    await expect(
      service.join({ ...request('Mallory', 'demo.breakout-1'), password: 'secret' }),
    ).rejects.toMatchObject({ code: 'forbidden' });
    await expect(service.join(request('Ann', 'demo.breakout-1'))).rejects.toMatchObject({
      code: 'forbidden',
    });
    // A breakout room that does not exist opens nothing.
    await expect(service.join(moderator('Host', 'demo.breakout-3'))).rejects.toMatchObject({
      code: 'not_found',
    });
    expect(service.roomIds()).toEqual(['demo']);

    // Someone else's pass, or a pass for another room, is refused.
    await breakouts.moveBy(host.id, ann.id, 'demo.breakout-1');
    const { pass } = fixture.moves.get('ann')!;
    await expect(
      service.join({ ...request('Mallory', 'demo.breakout-1'), pass }),
    ).rejects.toMatchObject({ code: 'forbidden' });
    await expect(
      service.join({ ...request('Ann', 'demo.breakout-2'), pass }),
    ).rejects.toMatchObject({ code: 'forbidden' });

    // A moderator of the main room goes in directly.
    const { participant: inside } = await enter(service, moderator('Host2', 'demo.breakout-2'));
    expect(inside.roomId).toBe('demo.breakout-2');
  });

  it('refuses non-moderators, unknown rooms and participants, and too many rooms', async () => {
    const fixture = breakoutSetup({ MAX_BREAKOUT_ROOMS: '3' });
    const { service, breakouts } = fixture;
    const { participant: host } = await enter(service, moderator('Host'));
    const ann = await admitted(fixture, host, 'Ann');

    await expect(breakouts.create(ann.id, { rooms: 2 })).rejects.toMatchObject({
      code: 'forbidden',
    });
    await expect(breakouts.create(host.id, { rooms: 4 })).rejects.toMatchObject({
      code: 'bad_request',
      message: 'at most 3 breakout rooms',
    });
    await expect(breakouts.create(host.id, { rooms: [' '] })).rejects.toMatchObject({
      code: 'bad_request',
    });
    await expect(breakouts.moveBy(host.id, ann.id, 'demo.breakout-1')).rejects.toMatchObject({
      code: 'not_found',
    });

    await breakouts.create(host.id, { rooms: 2 });
    await expect(breakouts.create(host.id, { rooms: 2 })).rejects.toMatchObject({
      code: 'conflict',
    });
    await expect(breakouts.moveBy(host.id, ann.id, 'demo.breakout-9')).rejects.toMatchObject({
      code: 'not_found',
    });
    await expect(breakouts.moveBy(host.id, 'nobody', 'demo.breakout-1')).rejects.toMatchObject({
      code: 'not_found',
    });
    await expect(breakouts.moveBy(ann.id, host.id, 'demo.breakout-1')).rejects.toMatchObject({
      code: 'forbidden',
    });
    await expect(breakouts.choose(ann.id, 'demo.breakout-1')).rejects.toMatchObject({
      code: 'forbidden',
    });
    expect(() => breakouts.broadcast(ann.id, 'hi')).toThrow('only moderators');
    expect(fixture.moves.size).toBe(0);
    expect(service.participantsOf('demo')).toHaveLength(2);
  });

  it('lets participants choose when allowed, and always go back to the main room', async () => {
    const fixture = breakoutSetup();
    const { service, breakouts } = fixture;
    const { participant: host } = await enter(service, moderator('Host'));
    const ann = await admitted(fixture, host, 'Ann');
    await breakouts.create(host.id, { rooms: 2, allowChoice: true });

    await breakouts.choose(ann.id, 'demo.breakout-2');
    const inBreakout = await follow(fixture, ann);
    expect(inBreakout.roomId).toBe('demo.breakout-2');
    await breakouts.choose(inBreakout.id, 'demo');
    const back = await follow(fixture, inBreakout);
    expect(back.roomId).toBe('demo');
  });

  it('broadcasts to the main room and every breakout room', async () => {
    const { service, breakouts } = breakoutSetup();
    const { participant: host } = await enter(service, moderator('Host'));
    await breakouts.create(host.id, { rooms: 2 });
    const heard = jest.fn();
    breakouts.events.on('breakoutBroadcast', heard);
    breakouts.broadcast(host.id, '  Five minutes left  ');
    expect(heard).toHaveBeenCalledWith(
      ['demo', 'demo.breakout-1', 'demo.breakout-2'],
      host,
      'Five minutes left',
    );
    expect(() => breakouts.broadcast(host.id, '   ')).toThrow('empty message');
  });

  it('closes the rooms when the timer runs out and sends everyone back', async () => {
    const fixture = breakoutSetup();
    const { service, breakouts } = fixture;
    const { participant: host } = await enter(service, moderator('Host'));
    const ann = await admitted(fixture, host, 'Ann');
    const finished = new Promise((resolve) => breakouts.events.on('breakoutsFinished', resolve));
    const state = await breakouts.create(host.id, {
      rooms: 1,
      assign: 'evenly',
      durationSeconds: 1,
    });
    expect(state.endsAt!.getTime() - state.startedAt.getTime()).toBe(1000);
    const inBreakout = await follow(fixture, ann);
    fixture.moves.clear();
    await expect(finished).resolves.toBe('demo');
    expect(fixture.moves.get('ann')?.roomId).toBe('demo');
    expect(service.participantsOf(inBreakout.roomId)).toEqual([]);
  });

  it('keeps the main room open while everyone is in breakout rooms', async () => {
    const fixture = breakoutSetup();
    const { service, breakouts } = fixture;
    const { participant: host } = await enter(service, moderator('Host'));
    await breakouts.create(host.id, { rooms: 1 });
    await breakouts.moveBy(host.id, host.id, 'demo.breakout-1');
    await follow(fixture, host);
    await sleep(GRACE_MS * 3);
    expect(service.roomIds().sort()).toEqual(['demo', 'demo.breakout-1']);

    await breakouts.finish('demo', 'closed');
    expect(fixture.moves.get('host')?.roomId).toBe('demo');
    // Nobody came back: both rooms close after the grace period.
    await sleep(GRACE_MS * 3);
    expect(service.roomIds()).toEqual([]);
  });

  it('lets a client that must join again back into its breakout room, with its latest pass only', async () => {
    const fixture = breakoutSetup();
    const { service, breakouts } = fixture;
    const { participant: host } = await enter(service, moderator('Host'));
    const ann = await admitted(fixture, host, 'Ann');
    await breakouts.create(host.id, { rooms: 2 });
    await breakouts.moveBy(host.id, ann.id, 'demo.breakout-1');
    const first = fixture.moves.get('ann')!.pass;
    const inRed = await follow(fixture, ann);

    // Long after the move (its media restarted, say), the same pass still gets Ann in.
    jest.useFakeTimers({
      now: Date.now() + 10 * 60_000,
      doNotFake: ['setTimeout', 'setImmediate'],
    });
    try {
      await service.leave(inRed.id, 'disconnected');
      const again = await follow(fixture, inRed);
      expect(again.roomId).toBe('demo.breakout-1');

      // Moved on, the older pass is void.
      await breakouts.moveBy(host.id, again.id, 'demo.breakout-2');
      await expect(
        service.join({ ...request('Ann', 'demo.breakout-1'), pass: first }),
      ).rejects.toMatchObject({ code: 'forbidden' });
      const inBlue = await follow(fixture, again);

      // Back in the main room, a return pass past its minute is no pass: the lobby again.
      await breakouts.finish('demo', 'returned');
      const { pass } = fixture.moves.get('ann')!;
      jest.setSystemTime(Date.now() + 2 * 60_000);
      const late = await service.join({ ...request('Ann'), password: 'secret', pass });
      expect('waiting' in late).toBe(true);
      expect(inBlue.roomId).toBe('demo.breakout-2');
    } finally {
      jest.useRealTimers();
    }
  });

  it('removes everyone in breakout rooms when the main room is ended', async () => {
    const fixture = breakoutSetup();
    const { service, breakouts } = fixture;
    const { participant: host } = await enter(service, moderator('Host'));
    const ann = await admitted(fixture, host, 'Ann');
    await breakouts.create(host.id, { rooms: 1, assign: 'evenly' });
    const inBreakout = await follow(fixture, ann);
    const left = jest.fn();
    service.events.on('participantLeft', left);
    const finished = new Promise((resolve) =>
      breakouts.events.on('breakoutsFinished', (_main, reason) => resolve(reason)),
    );
    await service.endRoom('demo');
    await expect(finished).resolves.toBe('room_ended');
    expect(left).toHaveBeenCalledWith(inBreakout, 'room_ended');
    expect(breakouts.stateOf('demo')).toBeUndefined();
    expect(fixture.logged).not.toHaveBeenCalled();
  });
});
