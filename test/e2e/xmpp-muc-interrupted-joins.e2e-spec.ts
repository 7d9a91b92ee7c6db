/**
 * A MUC join interrupted by the end of its stream leaves nothing behind: whichever await
 * of the join (the meeting lookup, the room's policy, the password check, the media
 * setup, the lobby) the stream ends at, and however it ends (the client's <close/>, a
 * stream error, a killed TCP connection, the expiry of a session kept for resumption),
 * the conference ends with no participant, no lobby entry and no open room, and the
 * nickname is free again. Each await is held at a gate while a raw WebSocket client's
 * stream ends, then released.
 */
import { getRepositoryToken } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { ConferenceService } from '../../src/conference/conference.service';
import { MediaService } from '../../src/media/media.service';
import { Meeting } from '../../src/portal/meetings/meeting.entity';
import { MeetingsService } from '../../src/portal/meetings/meetings.service';
import { JoinTokenService } from '../../src/portal/join-token.service';
import { eventually } from '../support/node-participant';
import { portalApi } from '../support/portal-api';
import { OPEN, rawGuest, rawXmpp, RawXmpp, saslAuth } from '../support/raw-xmpp';
import { readMetrics } from '../support/shard-process';
import { startShard, TestShard } from '../support/shard';

const MUC = 'http://jabber.org/protocol/muc';
const PASSWORD = 'open-sesame';

/** Where held calls wait until released; they then go on as usual. */
interface Gate {
  /** Resolves once a call waits at the gate. */
  reached: Promise<void>;
  release(): void;
  pass<R>(go: () => Promise<R>): Promise<R>;
}

function gate(): Gate {
  let reached!: () => void;
  let release!: () => void;
  const opened = new Promise<void>((resolve) => (release = resolve));
  return {
    reached: new Promise((resolve) => (reached = resolve)),
    release,
    pass: async (go) => {
      reached();
      await opened;
      return go();
    },
  };
}

type AwaitPoint = 'meeting lookup' | 'room policy' | 'password check' | 'media setup' | 'lobby';
type Ending = 'close' | 'stream error' | 'TCP kill' | 'resumption expiry';

const POINTS: AwaitPoint[] = [
  'meeting lookup',
  'room policy',
  'password check',
  'media setup',
  'lobby',
];
const ENDINGS: Ending[] = ['close', 'stream error', 'TCP kill', 'resumption expiry'];

describe('XMPP MUC joins interrupted by the end of their stream', () => {
  let shard: TestShard;
  let service: string;
  let conference: ConferenceService;
  let hostAccess: string;
  let roomCount = 0;

  beforeAll(async () => {
    shard = await startShard({ EMPTY_ROOM_GRACE_MS: '100', XMPP_RESUME_SECONDS: '1' });
    service = `${shard.baseUrl.replace('http', 'ws')}/xmpp-websocket`;
    conference = shard.app.get(ConferenceService);
    const http = portalApi(() => shard);
    const host = { email: 'ghost-host@example.org', password: 'ghost-host-password' };
    expect((await http.register({ ...host, displayName: 'Host' })).status).toBe(201);
    hostAccess = (await http.login(host)).body.accessToken as string;
  });

  afterEach(() => jest.restoreAllMocks());

  afterAll(() => shard.close());

  /** A meeting room of its own for each case; with a lobby unless media is the point. */
  const meetingRoom = async (point: AwaitPoint) => {
    const room = `ghost-${++roomCount}`;
    const settings =
      point === 'media setup'
        ? {}
        : { lobby: true, ...(point === 'password check' ? { password: PASSWORD } : {}) };
    const created = await portalApi(() => shard).call(
      'POST',
      '/meetings',
      { title: room, room, ...settings },
      hostAccess,
    );
    expect(created.status).toBe(201);
    return room;
  };

  /** Holds the join at `point`: the gate its call waits at (the lobby needs none). */
  const holdAt = (point: AwaitPoint): Gate | undefined => {
    const held = gate();
    const meetings = shard.app.get(MeetingsService);
    const policyFor = meetings.policyFor.bind(meetings);
    switch (point) {
      case 'meeting lookup': {
        // The MUC looks the meeting up to learn whether the joiner hosts it.
        const repository = shard.app.get<Repository<Meeting>>(getRepositoryToken(Meeting));
        const createQueryBuilder = repository.createQueryBuilder.bind(repository);
        jest.spyOn(repository, 'createQueryBuilder').mockImplementation((alias) => {
          const builder = createQueryBuilder(alias);
          const getOne = builder.getOne.bind(builder);
          builder.getOne = () => held.pass(getOne);
          return builder;
        });
        return held;
      }
      case 'room policy':
        jest
          .spyOn(meetings, 'policyFor')
          .mockImplementation((room) => held.pass(() => policyFor(room)));
        return held;
      case 'password check':
        jest.spyOn(meetings, 'policyFor').mockImplementation(async (room) => {
          const policy = (await policyFor(room))!;
          const check = policy.checkPassword!;
          return { ...policy, checkPassword: (candidate) => held.pass(() => check(candidate)) };
        });
        return held;
      case 'media setup': {
        const media = shard.app.get(MediaService);
        const openRoom = media.openRoom.bind(media);
        jest
          .spyOn(media, 'openRoom')
          .mockImplementation((roomId) => held.pass(() => openRoom(roomId)));
        return held;
      }
      case 'lobby':
        return undefined;
    }
  };

  const sessions = async () => (await readMetrics(shard.baseUrl)).videowindow_xmpp_sessions;

  const end = async (raw: RawXmpp, ending: Ending, sessionsBefore: number, held: boolean) => {
    if (ending === 'close') {
      raw.send('<close xmlns="urn:ietf:params:xml:ns:xmpp-framing"/>');
      // A join held at its gate holds the stream's later stanzas: the client gives up
      // waiting for the answer. A wait in the lobby holds up nothing: the server answers.
      if (held) raw.close();
      else expect(await raw.closed).toBe(1000);
    } else if (ending === 'stream error') {
      raw.send('<presence xmlns="jabber:client" id="a" id="b"/>');
      await raw.waitFor(/<not-well-formed/);
    } else {
      raw.socket.terminate();
    }
    await raw.closed;
    // Gone for good: the resumable session too, once its window has passed.
    const left = await eventually(sessions, (count) => count === sessionsBefore);
    expect(left).toBe(sessionsBefore);
  };

  const joinPresence = (room: string, nick: string) =>
    `<presence xmlns="jabber:client" id="join" to="${room}@conference.localhost/${nick}">` +
    `<x xmlns="${MUC}"><password>${PASSWORD}</password></x></presence>`;

  const cases = POINTS.flatMap((point) => ENDINGS.map((ending) => [point, ending] as const));

  it.each(cases)('at the %s, a stream ended by %s leaves nothing behind', async (point, ending) => {
    const room = await meetingRoom(point);
    const sessionsBefore = await sessions();
    const held = holdAt(point);
    const raw = await rawGuest(service);
    if (ending === 'resumption expiry' || ending === 'close') {
      raw.send('<enable xmlns="urn:xmpp:sm:3" resume="true"/>');
      await raw.waitFor(/<enabled [^>]*resume="true"/);
    }
    raw.send(joinPresence(room, 'ghost'));
    if (held) await held.reached;
    else
      await eventually(
        () => conference.lobbyOf(room),
        (lobby) => lobby.length === 1,
      );

    await end(raw, ending, sessionsBefore, held !== undefined);
    held?.release();

    const gone = () => !conference.roomIds().includes(room);
    expect(await eventually(gone, Boolean, 5_000)).toBe(true);
    expect(conference.participantsOf(room)).toEqual([]);
    expect(conference.lobbyOf(room)).toEqual([]);

    // The nickname is free: a new join with it gets as far as the room lets it.
    const again = await rawGuest(service);
    again.send(joinPresence(room, 'ghost'));
    if (point === 'media setup') await again.waitFor(/<status code="110"\/>/);
    else
      expect(
        (
          await eventually(
            () => conference.lobbyOf(room),
            (lobby) => lobby.length === 1,
          )
        ).length,
      ).toBe(1);
    again.close();
    expect(await eventually(gone, Boolean, 5_000)).toBe(true);
  });

  it('a join waiting in the lobby holds up no other stanza; unavailable presence withdraws it', async () => {
    const room = await meetingRoom('lobby');
    const raw = await rawGuest(service);
    raw.send(joinPresence(room, 'knocker'));
    await eventually(
      () => conference.lobbyOf(room),
      (lobby) => lobby.length === 1,
    );
    raw.send(
      '<iq xmlns="jabber:client" type="get" id="p1" to="localhost"><ping xmlns="urn:xmpp:ping"/></iq>',
    );
    await raw.waitFor(/type="result"[^>]*id="p1"|id="p1"[^>]*type="result"/);
    raw.send(
      `<presence xmlns="jabber:client" type="unavailable" to="${room}@conference.localhost/knocker"/>`,
    );
    await raw.waitFor(/id="join"[^]*<forbidden /);
    expect(conference.lobbyOf(room)).toEqual([]);
    const gone = () => !conference.roomIds().includes(room);
    expect(await eventually(gone, Boolean, 5_000)).toBe(true);
    raw.send('<close xmlns="urn:ietf:params:xml:ns:xmpp-framing"/>');
    expect(await raw.closed).toBe(1000);
  });

  it('a stream the client closed while its join was held is not kept for resumption', async () => {
    const room = await meetingRoom('media setup');
    const token = shard.app
      .get(JoinTokenService)
      .mint({ room, identity: 'closer', name: 'Closer', role: 'participant' });
    const login = async () => {
      const raw = await rawXmpp(`${service}?token=${token}`);
      raw.send(OPEN());
      await raw.waitFor(/<mechanisms/);
      raw.send(saslAuth('ANONYMOUS', ''));
      await raw.waitFor(/<success/);
      raw.send(OPEN());
      await raw.waitFor(/<bind /);
      return raw;
    };
    const held = holdAt('media setup')!;
    const raw = await login();
    raw.send(
      '<iq xmlns="jabber:client" type="set" id="b1"><bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"/></iq>',
    );
    await raw.waitFor(/id="b1"/);
    raw.send('<enable xmlns="urn:xmpp:sm:3" resume="true"/>');
    const previd = /<enabled [^>]*id="([^"]+)"/.exec(await raw.waitFor(/<enabled /))![1];
    raw.send(joinPresence(room, 'closer'));
    await held.reached;
    // The <close/> waits behind the held join when the connection drops.
    raw.send('<close xmlns="urn:ietf:params:xml:ns:xmpp-framing"/>');
    raw.socket.terminate();
    await raw.closed;

    const again = await login();
    again.send(`<resume xmlns="urn:xmpp:sm:3" previd="${previd}" h="0"/>`);
    await again.waitFor(/<failed xmlns="urn:xmpp:sm:3"><item-not-found/);
    held.release();
    const gone = () => !conference.roomIds().includes(room);
    expect(await eventually(gone, Boolean, 5_000)).toBe(true);
    expect(conference.participantsOf(room)).toEqual([]);
    again.close();
  });
});
