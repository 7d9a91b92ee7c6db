import { JoinRequest } from '../../src/conference/conference.service';
import { Role } from '../../src/conference/participant';
import { RoomPolicy } from '../../src/conference/room-policy';
import { CHAT_HISTORY_SIZE } from '../../src/conference/room';
import { enter, GRACE_MS, policies, request, setup, sleep } from '../support/conference-fixture';

describe('ConferenceService', () => {
  it('opens a room on first join and announces each participant', async () => {
    const { service, media, roomMedia, cluster } = setup();
    const joined: string[] = [];
    service.events.on('participantJoined', (p) => joined.push(p.displayName));
    const opened = jest.fn();
    service.events.on('roomOpened', opened);

    const { participant: alice } = await enter(service, request('Alice'));
    const { participant: bob } = await enter(service, request('Bob'));

    expect(opened).toHaveBeenCalledTimes(1);
    expect(media.openRoom).toHaveBeenCalledWith('demo');
    expect(roomMedia.addPeer).toHaveBeenCalledWith(alice.id);
    expect(joined).toEqual(['Alice', 'Bob']);
    expect(service.participantsOf('demo').map((p) => p.id)).toEqual([alice.id, bob.id]);
    expect(cluster.heldRooms).toEqual(['demo']);
  });

  it('refuses bad room names and full rooms', async () => {
    const { service } = setup({ MAX_PARTICIPANTS_PER_ROOM: '2' });
    await expect(service.join(request('Eve', '../etc'))).rejects.toMatchObject({
      code: 'bad_request',
    });
    await service.join(request('A'));
    await service.join(request('B'));
    await expect(service.join(request('C'))).rejects.toMatchObject({ code: 'room_full' });
  });

  it('keeps the lease of a room opened again while its previous opening was closing', async () => {
    const { service, media, cluster } = setup();
    let finishClose!: () => void;
    media.closeRoom.mockImplementationOnce(
      () => new Promise<undefined>((resolve) => (finishClose = () => resolve(undefined))),
    );
    const { participant } = await enter(service, request('Alice'));
    await service.leave(participant.id, 'left');
    await sleep(GRACE_MS * 3);
    expect(media.closeRoom).toHaveBeenCalledTimes(1);
    await enter(service, request('Bob'));
    finishClose();
    await sleep(10);
    expect(service.roomIds()).toEqual(['demo']);
    expect(cluster.heldRooms).toEqual(['demo']);
  });

  it('releases media on leave and closes the room after the grace period', async () => {
    const { service, media, roomMedia, cluster } = setup();
    const { participant } = await enter(service, request('Alice'));
    const left = jest.fn();
    const closed = jest.fn();
    service.events.on('participantLeft', left);
    service.events.on('roomClosed', closed);

    await service.leave(participant.id, 'left');
    expect(roomMedia.closePeer).toHaveBeenCalledWith(participant.id);
    expect(left).toHaveBeenCalledWith(participant, 'left');
    expect(closed).not.toHaveBeenCalled();

    await sleep(GRACE_MS * 3);
    expect(closed).toHaveBeenCalledWith('demo');
    expect(media.closeRoom).toHaveBeenCalledWith('demo');
    expect(service.roomIds()).toEqual([]);
    expect(cluster.heldRooms).toEqual([]);
  });

  it('keeps the room when someone joins within the grace period', async () => {
    const { service, media } = setup();
    const { participant } = await enter(service, request('Alice'));
    await service.leave(participant.id, 'disconnected');
    await service.join(request('Bob'));
    await sleep(GRACE_MS * 3);
    expect(media.closeRoom).not.toHaveBeenCalled();
    expect(service.roomIds()).toEqual(['demo']);
  });

  it('closes a room whose media could not be opened', async () => {
    const { service, media } = setup();
    media.openRoom.mockRejectedValueOnce(new Error('no mediasoup worker is running'));
    await expect(service.join(request('Alice'))).rejects.toThrow(/no mediasoup worker/);
    await sleep(GRACE_MS * 3);
    expect(service.roomIds()).toEqual([]);
  });

  it('never lets concurrent joins exceed the cap', async () => {
    const { service } = setup({ MAX_PARTICIPANTS_PER_ROOM: '2' });
    const results = await Promise.allSettled(
      ['A', 'B', 'C', 'D'].map((n) => service.join(request(n))),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(2);
    expect(service.participantsOf('demo')).toHaveLength(2);
  });

  it('leaving twice or leaving unknown ids is harmless', async () => {
    const { service } = setup();
    const { participant } = await enter(service, request('Alice'));
    const left = jest.fn();
    service.events.on('participantLeft', left);
    await service.leave(participant.id, 'left');
    await service.leave(participant.id, 'left');
    await service.leave('nobody', 'left');
    expect(left).toHaveBeenCalledTimes(1);
  });

  it('checks chat messages', async () => {
    const { service } = setup();
    const { participant } = await enter(service, request('Alice'));
    const messages = jest.fn();
    service.events.on('chatMessage', messages);
    const sent = service.chat(participant.id, '  hello  ');
    expect(sent).toMatchObject({ text: 'hello', from: { displayName: 'Alice' }, roomId: 'demo' });
    expect(messages).toHaveBeenCalledWith(sent);
    expect(() => service.chat(participant.id, '   ')).toThrow(/empty/);
    expect(() => service.chat(participant.id, 'x'.repeat(2001))).toThrow(/too long/);
    expect(() => service.chat('nobody', 'hi')).toThrow(/join a room first/);
  });

  it('asks everyone to rejoin when the room media is lost', async () => {
    const { service, media } = setup();
    const { participant: alice } = await enter(service, request('Alice'));
    const { participant: bob } = await enter(service, request('Bob'));
    const rejoin = jest.fn();
    service.events.on('rejoinRequired', rejoin);

    media.events.emit('roomMediaLost', 'demo');

    expect(rejoin).toHaveBeenCalledWith('demo', [alice, bob], 'media-restart');
    expect(service.roomIds()).toEqual([]);
    expect(() => service.participant(alice.id)).toThrow(/join a room first/);
  });

  describe('failures nobody waits for', () => {
    const unhandled: unknown[] = [];
    const collect = (reason: unknown) => unhandled.push(reason);
    beforeAll(() => process.on('unhandledRejection', collect));
    afterAll(() => process.off('unhandledRejection', collect));
    beforeEach(() => unhandled.splice(0));

    it('lets a leave finish when a door fails to render it, and tells the other doors', async () => {
      const { service, logged } = setup();
      const { participant } = await enter(service, request('Alice'));
      service.events.on('participantLeft', () => {
        throw new Error('door broke');
      });
      const otherDoor = jest.fn();
      service.events.on('participantLeft', otherDoor);

      await service.leave(participant.id, 'disconnected');
      expect(otherDoor).toHaveBeenCalledWith(participant, 'disconnected');
      expect(logged).toHaveBeenCalledWith(
        expect.objectContaining({ event: 'participantLeft' }),
        expect.any(String),
      );
      await sleep(GRACE_MS * 3);
      expect(service.roomIds()).toEqual([]);
    });

    it('logs a room that fails to close after its grace period or when its worker died', async () => {
      const { service, media, logged } = setup();
      media.closeRoom.mockRejectedValue(new Error('directory unreachable'));
      const { participant } = await enter(service, request('Alice'));
      await service.leave(participant.id, 'left');
      await sleep(GRACE_MS * 3);
      await enter(service, request('Bob', 'other'));
      media.events.emit('roomMediaLost', 'other');
      await sleep(10);

      expect(unhandled).toEqual([]);
      const failures = logged.mock.calls.filter(([details]) => 'roomId' in (details as object));
      expect(failures.map(([details]) => (details as { roomId: string }).roomId)).toEqual([
        'demo',
        'other',
      ]);
      expect(service.roomIds()).toEqual([]);
    });
  });

  describe('room policy', () => {
    const withPassword = (password: string): RoomPolicy => ({
      lobby: false,
      checkPassword: async (candidate) => candidate === password,
    });
    const as = (name: string, role: Role, extra: Partial<JoinRequest> = {}): JoinRequest => ({
      ...request(name, 'meeting'),
      role,
      ...extra,
    });

    it('asks non-moderators for the password and refuses a wrong one', async () => {
      const { service } = setup({}, policies({ meeting: withPassword('s3cret') }));
      await expect(service.join(as('Guest', 'guest'))).rejects.toMatchObject({
        code: 'password_required',
      });
      await expect(service.join(as('Guest', 'guest', { password: 'guess' }))).rejects.toMatchObject(
        { code: 'forbidden', message: 'wrong meeting password' },
      );
      await enter(service, as('Guest', 'participant', { password: 's3cret' }));
      await enter(service, as('Host', 'moderator'));
      expect(service.participantsOf('meeting').map((p) => p.displayName)).toEqual([
        'Guest',
        'Host',
      ]);
      // Other rooms stay open to everyone.
      await enter(service, request('Walk-in', 'elsewhere'));
    });

    it('opens no media for a join whose room closed while its password was checked', async () => {
      let passwordChecked!: (right: boolean) => void;
      const slowCheck: RoomPolicy = {
        lobby: false,
        checkPassword: (candidate) =>
          candidate === 'slow'
            ? new Promise((resolve) => (passwordChecked = resolve))
            : Promise.resolve(false),
      };
      const { service, media } = setup({}, policies({ meeting: slowCheck }));
      const slow = service.join(as('Slow', 'guest', { password: 'slow' }));
      // A wrong guess meanwhile leaves the room empty: it closes after its grace period.
      await expect(service.join(as('Guesser', 'guest', { password: 'x' }))).rejects.toMatchObject({
        code: 'forbidden',
      });
      await sleep(GRACE_MS * 3);
      expect(service.roomIds()).toEqual([]);
      passwordChecked(true);
      await expect(slow).rejects.toMatchObject({ code: 'conflict' });
      expect(media.openRoom).not.toHaveBeenCalled();
    });

    it('stops checking passwords after a burst of wrong ones, but lets moderators in', async () => {
      const { service } = setup({}, policies({ meeting: withPassword('s3cret') }));
      for (let i = 0; i < 10; i += 1) {
        await expect(
          service.join(as('Guesser', 'guest', { password: `guess-${i}` })),
        ).rejects.toMatchObject({ code: 'forbidden' });
      }
      await expect(
        service.join(as('Guest', 'guest', { password: 's3cret' })),
      ).rejects.toMatchObject({ code: 'too_many_requests' });
      // Closing and reopening the room does not reset the count.
      await sleep(GRACE_MS * 3);
      expect(service.roomIds()).toEqual([]);
      await expect(
        service.join(as('Guest', 'guest', { password: 's3cret' })),
      ).rejects.toMatchObject({ code: 'too_many_requests' });
      await enter(service, as('Host', 'moderator'));
      // Other meetings are not affected.
      await enter(service, { ...as('Walk-in', 'guest'), roomId: 'elsewhere' });
    });

    it("holds the meeting's cap for everyone but moderators", async () => {
      const { service } = setup({}, policies({ meeting: { lobby: false, maxParticipants: 2 } }));
      await enter(service, as('A', 'guest'));
      await enter(service, as('B', 'participant'));
      await expect(service.join(as('C', 'guest'))).rejects.toMatchObject({ code: 'room_full' });
      await enter(service, as('Host', 'moderator'));
      expect(service.participantsOf('meeting')).toHaveLength(3);
    });

    it('keeps non-moderators in the lobby until a moderator admits or rejects them', async () => {
      const { service, roomMedia } = setup({}, policies({ meeting: { lobby: true } }));
      const events: string[] = [];
      service.events.on('lobbyKnock', (e) => events.push(`knock ${e.displayName}`));
      service.events.on('lobbyLeft', (e, reason) => events.push(`${reason} ${e.displayName}`));
      service.events.on('admitted', (p) => events.push(`admitted ${p.displayName}`));
      service.events.on('participantJoined', (p) => events.push(`joined ${p.displayName}`));

      const { participant: host } = await enter(service, as('Host', 'moderator'));
      const guest = await service.join(as('Guest', 'guest'));
      const other = await service.join(as('Other', 'participant'));
      if (!('waiting' in guest) || !('waiting' in other)) throw new Error('not in the lobby');
      expect(service.participantsOf('meeting')).toEqual([host]);
      expect(service.lobbyOf('meeting').map((e) => e.displayName)).toEqual(['Guest', 'Other']);
      expect(roomMedia.addPeer).toHaveBeenCalledTimes(1);

      await service.admit(host.id, guest.waiting.id);
      expect(service.participantsOf('meeting')[1]).toMatchObject({
        id: guest.waiting.id,
        displayName: 'Guest',
        role: 'guest',
      });
      expect(roomMedia.addPeer).toHaveBeenLastCalledWith(guest.waiting.id);
      await service.reject(host.id, other.waiting.id);

      expect(service.participantsOf('meeting').map((p) => p.displayName)).toEqual([
        'Host',
        'Guest',
      ]);
      expect(service.lobbyOf('meeting')).toEqual([]);
      expect(events).toEqual([
        'joined Host',
        'knock Guest',
        'knock Other',
        'admitted Guest',
        'admitted Guest',
        'joined Guest',
        'rejected Other',
      ]);
      await expect(service.admit(host.id, other.waiting.id)).rejects.toMatchObject({
        code: 'not_found',
      });
    });

    it('lets only moderators of the same room decide, and the cap still holds', async () => {
      const { service } = setup({}, policies({ meeting: { lobby: true, maxParticipants: 2 } }));
      const { participant: host } = await enter(service, as('Host', 'moderator'));
      const first = await service.join(as('First', 'guest'));
      const second = await service.join(as('Second', 'guest'));
      if (!('waiting' in first) || !('waiting' in second)) throw new Error('not in the lobby');

      const { participant: stranger } = await enter(service, {
        ...as('Mod elsewhere', 'moderator'),
        roomId: 'other',
      });
      await expect(service.admit(stranger.id, first.waiting.id)).rejects.toMatchObject({
        code: 'not_found',
      });
      await service.admit(host.id, first.waiting.id);
      await expect(service.reject(first.waiting.id, second.waiting.id)).rejects.toThrow(
        /only moderators/,
      );
      await expect(service.admit(host.id, second.waiting.id)).rejects.toMatchObject({
        code: 'room_full',
      });
      expect(service.lobbyOf('meeting').map((e) => e.displayName)).toEqual(['Second']);
    });

    it('keeps a room with only waiting people open, and closes it when they leave', async () => {
      const { service } = setup({}, policies({ meeting: { lobby: true } }));
      const left = jest.fn();
      service.events.on('lobbyLeft', left);
      const outcome = await service.join(as('Early', 'guest'));
      if (!('waiting' in outcome)) throw new Error('not in the lobby');
      await sleep(GRACE_MS * 3);
      expect(service.roomIds()).toEqual(['meeting']);

      service.leaveLobby(outcome.waiting.id, 'disconnected');
      service.leaveLobby(outcome.waiting.id, 'disconnected');
      expect(left).toHaveBeenCalledTimes(1);
      expect(left).toHaveBeenCalledWith(outcome.waiting, 'disconnected');
      await sleep(GRACE_MS * 3);
      expect(service.roomIds()).toEqual([]);
    });

    it('checks the password before letting anyone wait in the lobby', async () => {
      const { service } = setup({}, policies({ meeting: { ...withPassword('pw'), lobby: true } }));
      await expect(service.join(as('Guest', 'guest'))).rejects.toMatchObject({
        code: 'password_required',
      });
      await expect(service.join(as('Guest', 'guest', { password: 'pw' }))).resolves.toMatchObject({
        waiting: { displayName: 'Guest' },
      });
      await expect(enter(service, as('Host', 'moderator'))).resolves.toBeDefined();
    });

    it('fails the joins, not the process, when the policy cannot be read', async () => {
      const { service } = setup(
        {},
        { policyFor: () => Promise.reject(new Error('database down')) },
      );
      await expect(service.join(request('Alice'))).rejects.toThrow('database down');
      await sleep(GRACE_MS * 3);
      expect(service.roomIds()).toEqual([]);
    });

    it('tells people waiting in the lobby when the room closes', async () => {
      const { service, media } = setup({}, policies({ meeting: { lobby: true } }));
      await enter(service, as('Host', 'moderator'));
      const outcome = await service.join(as('Guest', 'guest'));
      const left = jest.fn();
      service.events.on('lobbyLeft', left);
      media.events.emit('roomMediaLost', 'meeting');
      expect(left).toHaveBeenCalledWith('waiting' in outcome && outcome.waiting, 'closed');
      expect(service.lobbyOf('meeting')).toEqual([]);
    });
  });
});

describe('ConferenceService moderation', () => {
  it('locks a room against everyone but moderators, and unlocks it', async () => {
    const { service } = setup();
    await service.join(request('Alice'));
    service.setLocked('demo', true);
    expect(service.roomInfo('demo').locked).toBe(true);
    await expect(service.join(request('Bob'))).rejects.toMatchObject({ code: 'room_locked' });
    await service.join({ ...request('Host'), role: 'moderator' });
    service.setLocked('demo', false);
    await service.join(request('Bob'));
    expect(service.participantsOf('demo').map((p) => p.displayName)).toEqual([
      'Alice',
      'Host',
      'Bob',
    ]);
    expect(() => service.setLocked('nowhere', true)).toThrow('no live room nowhere');
  });

  it('kicks a participant of that room only, as participantLeft "kicked"', async () => {
    const { service } = setup();
    const { participant: alice } = await enter(service, request('Alice'));
    await service.join(request('Other', 'elsewhere'));
    const left = jest.fn();
    service.events.on('participantLeft', left);
    await expect(service.kick('elsewhere', alice.id)).rejects.toMatchObject({ code: 'not_found' });
    await service.kick('demo', alice.id);
    expect(left).toHaveBeenCalledWith(alice, 'kicked');
    expect(service.participantsOf('demo')).toEqual([]);
  });

  it('ends a room: everyone leaves with "room_ended" and the room closes at once', async () => {
    const { service, media } = setup();
    await service.join(request('Alice'));
    await service.join(request('Bob'));
    const reasons: string[] = [];
    service.events.on('participantLeft', (_p, reason) => reasons.push(reason));
    const closed = jest.fn();
    service.events.on('roomClosed', closed);
    await service.endRoom('demo');
    expect(reasons).toEqual(['room_ended', 'room_ended']);
    expect(closed).toHaveBeenCalledWith('demo');
    expect(media.closeRoom).toHaveBeenCalledWith('demo');
    expect(service.roomIds()).toEqual([]);
    await expect(service.endRoom('demo')).rejects.toMatchObject({ code: 'not_found' });
  });

  it('keeps the last chat messages of a room for newcomers', async () => {
    const { service } = setup();
    const { participant: alice } = await enter(service, request('Alice'));
    for (let i = 0; i < CHAT_HISTORY_SIZE + 5; i++) service.chat(alice.id, `message ${i}`);
    const history = service.recentChat('demo');
    expect(history).toHaveLength(CHAT_HISTORY_SIZE);
    expect(history[0].text).toBe('message 5');
    expect(history[CHAT_HISTORY_SIZE - 1].text).toBe(`message ${CHAT_HISTORY_SIZE + 4}`);
    expect(service.recentChat('elsewhere')).toEqual([]);
  });
});

describe('ConferenceService in a meeting: hands, reactions, moderators', () => {
  it('queues raised hands in order; a moderator may lower anyone’s, others only their own', async () => {
    const { service } = setup();
    const { participant: host } = await enter(service, { ...request('Host'), role: 'moderator' });
    const { participant: alice } = await enter(service, request('Alice'));
    const { participant: bob } = await enter(service, request('Bob'));
    const { participant: stranger } = await enter(service, {
      ...request('Stranger', 'elsewhere'),
      role: 'moderator',
    });
    const announced: string[][] = [];
    service.events.on('handsChanged', (roomId, hands) => {
      expect(roomId).toBe('demo');
      announced.push(hands.map((hand) => hand.participantId));
    });

    service.raiseHand(bob.id);
    service.raiseHand(alice.id);
    // Raising again keeps one's place (and announces nothing).
    expect(service.raiseHand(bob.id).map((h) => h.participantId)).toEqual([bob.id, alice.id]);
    expect(announced).toEqual([[bob.id], [bob.id, alice.id]]);

    expect(() => service.lowerHand(alice.id, bob.id)).toThrow(
      expect.objectContaining({ code: 'forbidden' }),
    );
    expect(() => service.lowerHand(stranger.id, bob.id)).toThrow(
      expect.objectContaining({ code: 'not_found' }),
    );
    expect(service.lowerHand(host.id, bob.id).map((h) => h.participantId)).toEqual([alice.id]);
    // Lowering a hand that is down is no error.
    expect(service.lowerHand(bob.id)).toHaveLength(1);

    // A participant who leaves takes its hand along.
    await service.leave(alice.id, 'left');
    expect(service.handsOf('demo')).toEqual([]);
    expect(announced).toEqual([[bob.id], [bob.id, alice.id], [alice.id], []]);
  });

  it('sends the known reactions to the room and refuses anything else', async () => {
    const { service } = setup();
    const { participant: alice } = await enter(service, request('Alice'));
    const reactions = jest.fn();
    service.events.on('reaction', reactions);
    service.react(alice.id, '🎉');
    expect(reactions).toHaveBeenCalledWith(alice, '🎉');
    expect(() => service.react(alice.id, '<script>')).toThrow(
      expect.objectContaining({ code: 'bad_request' }),
    );
    expect(() => service.react('nobody', '🎉')).toThrow(
      expect.objectContaining({ code: 'not_joined' }),
    );
    expect(reactions).toHaveBeenCalledTimes(1);
  });

  it('lets moderators mute and remove participants of their own room only', async () => {
    const { service, roomMedia } = setup();
    Object.assign(roomMedia, {
      producersOf: jest.fn(() => [{ id: 'p1', kind: 'audio', paused: false }]),
      setProducerPaused: jest.fn(async () => undefined),
    });
    const { participant: host } = await enter(service, { ...request('Host'), role: 'moderator' });
    const { participant: alice } = await enter(service, request('Alice'));
    const { participant: bob } = await enter(service, request('Bob'));
    await enter(service, { ...request('Elsewhere', 'elsewhere'), role: 'moderator' });
    const other = service.participantsOf('elsewhere')[0];

    await expect(service.muteBy(alice.id, bob.id, 'audio')).rejects.toMatchObject({
      code: 'forbidden',
    });
    await expect(service.kickBy(alice.id, bob.id)).rejects.toMatchObject({ code: 'forbidden' });
    await expect(service.kickBy(other.id, bob.id)).rejects.toMatchObject({ code: 'not_found' });
    await expect(service.kickBy(host.id, host.id)).rejects.toMatchObject({
      code: 'bad_request',
    });

    expect(await service.muteBy(host.id, bob.id, 'audio')).toEqual(['p1']);
    const left = jest.fn();
    service.events.on('participantLeft', left);
    await service.kickBy(host.id, bob.id);
    expect(left).toHaveBeenCalledWith(bob, 'kicked');
    expect(service.participantsOf('demo').map((p) => p.id)).toEqual([host.id, alice.id]);
  });
});

describe('ConferenceService resuming after a dropped connection', () => {
  it('keeps a resumable participant for the grace period; its own token resumes it, unseen', async () => {
    const { service } = setup({ RESUME_GRACE_MS: '200' });
    const { participant: alice } = await enter(service, { ...request('Alice'), resumable: true });
    const { participant: bob } = await enter(service, { ...request('Bob'), resumable: true });
    const aliceToken = service.resumeTokenOf(alice.id)!;
    const bobToken = service.resumeTokenOf(bob.id)!;
    expect(aliceToken).not.toBe(bobToken);
    const left = jest.fn();
    service.events.on('participantLeft', left);
    const joined = jest.fn();
    service.events.on('participantJoined', joined);

    await service.suspend(alice.id);
    await sleep(50);
    await expect(service.resume(alice.id, bobToken)).rejects.toMatchObject({ code: 'forbidden' });
    await expect(service.resume(alice.id, 'x')).rejects.toMatchObject({ code: 'forbidden' });
    const resumed = await service.resume(alice.id, aliceToken);
    expect(resumed.participant).toBe(alice);
    // Past the grace period she is still there: nobody saw her leave or join again.
    await sleep(300);
    expect(service.participantsOf('demo')).toEqual([alice, bob]);
    expect(left).not.toHaveBeenCalled();
    expect(joined).not.toHaveBeenCalled();
  });

  it('lets the participant go when the grace period ends: its token resumes nothing', async () => {
    const { service } = setup({ RESUME_GRACE_MS: '50' });
    const { participant: alice } = await enter(service, { ...request('Alice'), resumable: true });
    const token = service.resumeTokenOf(alice.id)!;
    const left = jest.fn();
    service.events.on('participantLeft', left);
    await service.suspend(alice.id);
    await sleep(120);
    expect(left).toHaveBeenCalledWith(alice, 'disconnected');
    await expect(service.resume(alice.id, token)).rejects.toMatchObject({ code: 'not_found' });
  });

  it('takes a participant whose client cannot resume out at once', async () => {
    const { service } = setup({ RESUME_GRACE_MS: '5000' });
    const { participant: alice } = await enter(service, request('Alice'));
    expect(service.resumeTokenOf(alice.id)).toBeUndefined();
    await service.suspend(alice.id);
    expect(service.participantsOf('demo')).toEqual([]);
  });
});
