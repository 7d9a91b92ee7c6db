import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import pino from 'pino';
import { LocalRoomDirectory } from '../../src/cluster/room-directory';
import { loadConfig } from '../../src/config/load-config';
import { ConferenceService, JoinRequest } from '../../src/conference/conference.service';
import { MediaEvents } from '../../src/media/media-events';
import { MediaService } from '../../src/media/media.service';
import { CHAT_HISTORY_SIZE } from '../../src/conference/room';

const GRACE_MS = 50;

function setup(env: Record<string, string> = {}) {
  const config = loadConfig(
    { NODE_ENV: 'test', EMPTY_ROOM_GRACE_MS: String(GRACE_MS), ...env },
    join(__dirname, '..', '..', 'config'),
  );
  const roomMedia = { addPeer: jest.fn(), closePeer: jest.fn() };
  const media = {
    events: new EventEmitter<MediaEvents>(),
    openRoom: jest.fn(async () => roomMedia),
    room: jest.fn(async () => roomMedia),
    closeRoom: jest.fn(async () => undefined),
  };
  const directory = new LocalRoomDirectory();
  const service = new ConferenceService(
    config,
    media as unknown as MediaService,
    directory,
    pino({ level: 'silent' }),
  );
  return { service, media, roomMedia, directory };
}

const request = (name: string, roomId = 'demo'): JoinRequest => ({
  roomId,
  identity: name.toLowerCase(),
  displayName: name,
  role: 'participant',
  door: 'socketio',
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('ConferenceService', () => {
  it('opens a room on first join and announces each participant', async () => {
    const { service, media, roomMedia, directory } = setup();
    const joined: string[] = [];
    service.events.on('participantJoined', (p) => joined.push(p.displayName));
    const opened = jest.fn();
    service.events.on('roomOpened', opened);

    const { participant: alice } = await service.join(request('Alice'));
    const { participant: bob } = await service.join(request('Bob'));

    expect(opened).toHaveBeenCalledTimes(1);
    expect(media.openRoom).toHaveBeenCalledWith('demo');
    expect(roomMedia.addPeer).toHaveBeenCalledWith(alice.id);
    expect(joined).toEqual(['Alice', 'Bob']);
    expect(service.participantsOf('demo').map((p) => p.id)).toEqual([alice.id, bob.id]);
    expect(directory.roomsHere()).toEqual(['demo']);
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

  it('releases media on leave and closes the room after the grace period', async () => {
    const { service, media, roomMedia, directory } = setup();
    const { participant } = await service.join(request('Alice'));
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
    expect(directory.roomsHere()).toEqual([]);
  });

  it('keeps the room when someone joins within the grace period', async () => {
    const { service, media } = setup();
    const { participant } = await service.join(request('Alice'));
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
    const { participant } = await service.join(request('Alice'));
    const left = jest.fn();
    service.events.on('participantLeft', left);
    await service.leave(participant.id, 'left');
    await service.leave(participant.id, 'left');
    await service.leave('nobody', 'left');
    expect(left).toHaveBeenCalledTimes(1);
  });

  it('checks chat messages', async () => {
    const { service } = setup();
    const { participant } = await service.join(request('Alice'));
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
    const { participant: alice } = await service.join(request('Alice'));
    const { participant: bob } = await service.join(request('Bob'));
    const rejoin = jest.fn();
    service.events.on('rejoinRequired', rejoin);

    media.events.emit('roomMediaLost', 'demo');

    expect(rejoin).toHaveBeenCalledWith('demo', [alice, bob]);
    expect(service.roomIds()).toEqual([]);
    expect(() => service.participant(alice.id)).toThrow(/join a room first/);
  });

  it('keeps the last chat messages of a room for newcomers', async () => {
    const { service } = setup();
    const { participant: alice } = await service.join(request('Alice'));
    for (let i = 0; i < CHAT_HISTORY_SIZE + 5; i++) service.chat(alice.id, `message ${i}`);
    const history = service.recentChat('demo');
    expect(history).toHaveLength(CHAT_HISTORY_SIZE);
    expect(history[0].text).toBe('message 5');
    expect(history[CHAT_HISTORY_SIZE - 1].text).toBe(`message ${CHAT_HISTORY_SIZE + 4}`);
    expect(service.recentChat('elsewhere')).toEqual([]);
  });

  it('kicks a participant of the named room only', async () => {
    const { service } = setup();
    const left: [string, string][] = [];
    service.events.on('participantLeft', (p, reason) => left.push([p.displayName, reason]));
    const { participant: alice } = await service.join(request('Alice'));
    const { participant: far } = await service.join(request('Far', 'elsewhere'));

    await expect(service.kick('demo', far.id)).rejects.toMatchObject({ code: 'not_found' });
    await service.kick('demo', alice.id);
    expect(left).toEqual([['Alice', 'kicked']]);
    expect(service.participantsOf('demo')).toEqual([]);
  });
});
