/**
 * Multi-user chat (XEP-0045) at conference.localhost with the real xmpp.js client:
 * joining, occupant presence, groupchat, history, private messages, subject, kick, the
 * participant cap, a meeting's password and lobby, IQs between occupants, room disco, refusals of bad input; and the
 * cross-door case with socket.io participants in the same conference room.
 */
import { JoinTokenService } from '../../src/portal/join-token.service';
import { ConferenceService } from '../../src/conference/conference.service';
import { Role } from '../../src/conference/participant';
import { MAX_ROOMS_PER_SESSION } from '../../src/signaling/xmpp/muc/muc.handler';
import { NodeParticipant } from '../support/node-participant';
import { connectSocket, request } from '../support/signaling-client';
import { portalApi } from '../support/portal-api';
import { startShard, TestShard } from '../support/shard';
import { connectXmpp, loadXmpp, XmppClient, XmppElement } from '../support/xmpp-client';

const MUC = 'http://jabber.org/protocol/muc';
const MUC_USER = 'http://jabber.org/protocol/muc#user';
const MEDIA = 'urn:videowindow:media';

/** An xmpp.js client that records what it receives. */
interface Client {
  xmpp: XmppClient;
  received: XmppElement[];
  waitFor(match: (stanza: XmppElement) => boolean, what?: string): Promise<XmppElement>;
  send(stanza: XmppElement): Promise<void>;
}

const statusCodes = (presence: XmppElement) =>
  (presence.getChild('x', MUC_USER)?.getChildren('status') ?? []).map((s) => Number(s.attrs.code));
const item = (presence: XmppElement) => presence.getChild('x', MUC_USER)?.getChild('item')?.attrs;
const waitUntil = async (condition: () => boolean) => {
  for (let tries = 0; !condition(); tries++) {
    if (tries > 100) throw new Error('condition never met');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
};
const errorCondition = (stanza: XmppElement) =>
  stanza.getChild('error')?.getChildElements()[0]?.name;

describe('XMPP multi-user chat', () => {
  let shard: TestShard;
  let service: string;
  const clients: XmppClient[] = [];
  const participants: NodeParticipant[] = [];
  let xml: Awaited<ReturnType<typeof loadXmpp>>['xml'];

  const connect = async (
    login: { token?: string; user?: { email: string; password: string } } = {},
  ): Promise<Client> => {
    const { token, user } = login;
    const xmpp = await connectXmpp(
      token || user
        ? {
            service,
            domain: 'localhost',
            username: user?.email ?? 'x',
            password: user?.password ?? token,
            mechanism: 'PLAIN',
          }
        : { service, domain: 'localhost', mechanism: 'ANONYMOUS' },
    );
    clients.push(xmpp);
    const received: XmppElement[] = [];
    const waiters: (() => void)[] = [];
    xmpp.on('stanza', (stanza) => {
      received.push(stanza);
      for (const waiter of [...waiters]) waiter();
    });
    const waitFor = (match: (stanza: XmppElement) => boolean, what = 'a stanza') =>
      new Promise<XmppElement>((resolve, reject) => {
        const check = () => {
          const found = received.find(match);
          if (!found) return false;
          waiters.splice(waiters.indexOf(check), 1);
          clearTimeout(timer);
          resolve(found);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(check), 1);
          reject(new Error(`${what} never arrived; got:\n${received.join('\n')}`));
        }, 10_000);
        waiters.push(check);
        check();
      });
    await xmpp.send(xml('presence'));
    return { xmpp, received, waitFor, send: (stanza) => xmpp.send(stanza) };
  };
  const token = (room: string, identity: string, role: Role) =>
    shard.app.get(JoinTokenService).mint({ room, identity, name: identity, role });

  const roomJid = (room: string) => `${room}@conference.localhost`;
  /** Sends join presence and waits for the self-presence (status 110) or an error. */
  const join = async (client: Client, room: string, nick: string, x: XmppElement[] = []) => {
    const to = `${roomJid(room)}/${nick}`;
    await client.send(xml('presence', { to }, xml('x', { xmlns: MUC }, ...x)));
    return client.waitFor(
      (s) =>
        s.is('presence') &&
        s.attrs.from === to &&
        (s.attrs.type === 'error' || statusCodes(s).includes(110)),
      `self-presence in ${room} as ${nick}`,
    );
  };
  const presenceOf = (client: Client, room: string, nick: string, type?: string) =>
    client.waitFor(
      (s) =>
        s.is('presence') && s.attrs.from === `${roomJid(room)}/${nick}` && s.attrs.type === type,
      `presence of ${nick} (${type ?? 'available'})`,
    );
  const groupchat = (room: string, text: string, id: string) =>
    xml('message', { to: roomJid(room), type: 'groupchat', id }, xml('body', {}, text));

  beforeAll(async () => {
    shard = await startShard({
      MAX_PARTICIPANTS_PER_ROOM: '4',
      LOGIN_RATE_LIMIT_PER_MINUTE: '1000',
    });
    service = `${shard.baseUrl.replace('http', 'ws')}/xmpp-websocket`;
    ({ xml } = await loadXmpp());
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((xmpp) => xmpp.stop().catch(() => undefined)));
    for (const participant of participants.splice(0)) participant.close();
  });

  afterAll(() => shard.close());

  it('joining: self-presence with 110 (and 201 for a new room), occupants with affiliation and role, empty subject', async () => {
    const alice = await connect();
    const own = await join(alice, 'muc-join', 'alice');
    expect(statusCodes(own).sort()).toEqual([110, 201]);
    expect(item(own)).toMatchObject({ affiliation: 'none', role: 'participant' });
    expect(own.getChild('media', MEDIA)?.attrs).toMatchObject({ audio: 'off', video: 'off' });
    const subject = await alice.waitFor(
      (s) => s.is('message') && s.getChild('subject') !== undefined,
    );
    expect(subject.attrs).toMatchObject({ type: 'groupchat', from: roomJid('muc-join') });
    expect(subject.getChildText('subject')).toBe('');

    const moderator = await connect({ token: token('muc-join', 'mod', 'moderator') });
    const bobOwn = await join(moderator, 'muc-join', 'boss');
    expect(statusCodes(bobOwn)).toEqual([110]);
    expect(item(bobOwn)).toMatchObject({ affiliation: 'owner', role: 'moderator' });
    // The newcomer learns of alice before its own presence; a moderator sees real JIDs.
    const aliceSeen = moderator.received.find(
      (s) => s.attrs.from === `${roomJid('muc-join')}/alice`,
    );
    expect(moderator.received.indexOf(aliceSeen!)).toBeLessThan(moderator.received.indexOf(bobOwn));
    expect(item(aliceSeen!)?.jid).toBe(String(alice.xmpp.jid));
    // alice sees boss as a moderator, without his real JID (semi-anonymous room).
    const bossSeen = await presenceOf(alice, 'muc-join', 'boss');
    expect(item(bossSeen)).toEqual({ affiliation: 'owner', role: 'moderator' });

    await alice.send(xml('presence', { to: `${roomJid('muc-join')}/alice`, type: 'unavailable' }));
    const gone = await presenceOf(moderator, 'muc-join', 'alice', 'unavailable');
    expect(item(gone)).toMatchObject({ role: 'none' });
    const selfGone = await presenceOf(alice, 'muc-join', 'alice', 'unavailable');
    expect(statusCodes(selfGone)).toContain(110);
  });

  it("groupchat reaches every occupant with the sender's id; late joiners get history; private messages", async () => {
    const alice = await connect();
    const bob = await connect();
    await join(alice, 'muc-chat', 'alice');
    await join(bob, 'muc-chat', 'bob');
    await bob.send(groupchat('muc-chat', 'hello room', 'msg-1'));
    for (const client of [alice, bob]) {
      const message = await client.waitFor((s) => s.is('message') && s.attrs.id === 'msg-1');
      expect(message.attrs).toMatchObject({
        type: 'groupchat',
        from: `${roomJid('muc-chat')}/bob`,
      });
      expect(message.getChildText('body')).toBe('hello room');
    }
    await alice.send(groupchat('muc-chat', 'second', 'msg-2'));
    await bob.waitFor((s) => s.attrs.id === 'msg-2');

    const carol = await connect();
    await join(carol, 'muc-chat', 'carol');
    const history = await carol.waitFor(
      (s) => s.is('message') && s.getChildText('body') === 'second',
    );
    expect(history.getChild('delay', 'urn:xmpp:delay')?.attrs.from).toBe(roomJid('muc-chat'));
    expect(carol.received.some((s) => s.getChildText('body') === 'hello room')).toBe(true);
    const dave = await connect();
    await join(dave, 'muc-chat', 'dave', [xml('history', { maxstanzas: '1' })]);
    await dave.waitFor((s) => s.getChild('subject') !== undefined);
    expect(
      dave.received.filter((s) => s.getChild('body')).map((s) => s.getChildText('body')),
    ).toEqual(['second']);

    await alice.send(
      xml(
        'message',
        { to: `${roomJid('muc-chat')}/bob`, type: 'chat', id: 'pm-1' },
        xml('body', {}, 'psst'),
      ),
    );
    const pm = await bob.waitFor((s) => s.attrs.id === 'pm-1');
    expect(pm.attrs).toMatchObject({ type: 'chat', from: `${roomJid('muc-chat')}/alice` });
    expect(pm.getChild('x', MUC_USER)).toBeDefined();
    expect(carol.received.some((s) => s.attrs.id === 'pm-1')).toBe(false);
  });

  it('subject by moderators only; kick by moderators only, with 307 for everyone', async () => {
    const boss = await connect({ token: token('muc-mod', 'boss', 'moderator') });
    const alice = await connect();
    await join(boss, 'muc-mod', 'boss');
    await join(alice, 'muc-mod', 'alice');

    await alice.send(
      xml(
        'message',
        { to: roomJid('muc-mod'), type: 'groupchat', id: 's1' },
        xml('subject', {}, 'mine'),
      ),
    );
    expect(errorCondition(await alice.waitFor((s) => s.attrs.id === 's1'))).toBe('forbidden');
    await boss.send(
      xml(
        'message',
        { to: roomJid('muc-mod'), type: 'groupchat', id: 's2' },
        xml('subject', {}, 'Agenda'),
      ),
    );
    const subject = await alice.waitFor((s) => s.attrs.id === 's2');
    expect(subject.getChildText('subject')).toBe('Agenda');
    expect(subject.attrs.from).toBe(`${roomJid('muc-mod')}/boss`);
    const late = await connect();
    await join(late, 'muc-mod', 'late');
    const lateSubject = await late.waitFor((s) => s.getChild('subject') !== undefined);
    expect(lateSubject.getChildText('subject')).toBe('Agenda');

    const kick = (nick: string) =>
      xml(
        'query',
        { xmlns: 'http://jabber.org/protocol/muc#admin' },
        xml('item', { nick, role: 'none' }, xml('reason', {}, 'bye')),
      );
    await expect(alice.xmpp.iqCaller.set(kick('late'), roomJid('muc-mod'))).rejects.toMatchObject({
      condition: 'forbidden',
    });
    await boss.xmpp.iqCaller.set(kick('alice'), roomJid('muc-mod'));
    const kicked = await presenceOf(alice, 'muc-mod', 'alice', 'unavailable');
    expect(statusCodes(kicked).sort()).toEqual([110, 307]);
    expect(kicked.getChild('x', MUC_USER)?.getChild('item')?.getChildText('reason')).toBe('bye');
    expect(statusCodes(await presenceOf(late, 'muc-mod', 'alice', 'unavailable'))).toEqual([307]);
    // Kicked means out: alice's groupchat is refused now.
    await alice.send(groupchat('muc-mod', 'still here?', 'after-kick'));
    expect(errorCondition(await alice.waitFor((s) => s.attrs.id === 'after-kick'))).toBe(
      'not-acceptable',
    );
  });

  it("a meeting's host is its room's moderator; other portal users are members", async () => {
    const http = portalApi(() => shard);
    const signUp = async (name: string) => {
      const account = {
        email: `${name}@example.org`,
        password: `${name}-password`,
        displayName: name,
      };
      expect((await http.register(account)).status).toBe(201);
      return account;
    };
    const host = await signUp('muc-host');
    const member = await signUp('muc-member');
    const access = (await http.login({ email: host.email, password: host.password })).body
      .accessToken as string;
    const meeting = await http.call('POST', '/meetings', { title: 'Weekly' }, access);
    expect(meeting.status).toBe(201);
    const room = String(meeting.body.room).toLowerCase();
    const hostClient = await connect({ user: host });
    const memberClient = await connect({ user: member });
    expect(item(await join(hostClient, room, 'host'))).toMatchObject({
      affiliation: 'owner',
      role: 'moderator',
    });
    expect(item(await join(memberClient, room, 'member'))).toMatchObject({
      affiliation: 'member',
      role: 'participant',
    });
    // The XMPP room is the meeting's conference room, whatever the case of its name.
    expect(shard.app.get(ConferenceService).participantsOf(String(meeting.body.room))).toHaveLength(
      2,
    );
  });

  it("a meeting's password and lobby: XMPP guests give the password, then wait for the socket.io host", async () => {
    const http = portalApi(() => shard);
    const owner = { email: 'lobby-host@example.org', password: 'lobby-host-password' };
    expect((await http.register({ ...owner, displayName: 'Lobby host' })).status).toBe(201);
    const access = (await http.login(owner)).body.accessToken as string;
    const created = await http.call(
      'POST',
      '/meetings',
      { title: 'Guarded', room: 'muc-guarded', password: 'open-sesame', lobby: true },
      access,
    );
    expect(created.status).toBe(201);
    const hostToken = (
      await http.call('POST', `/meetings/${created.body.id}/join-token`, {}, access)
    ).body.token as string;
    const host = await connectSocket(shard.baseUrl, { token: hostToken });
    await request(host, 'join', { room: 'muc-guarded' });
    const knocks: { id: string; displayName: string }[] = [];
    host.on('lobbyKnock', ({ entry }: { entry: { id: string; displayName: string } }) =>
      knocks.push(entry),
    );

    const guest = await connect();
    const password = (text: string) => [xml('password', {}, text)];
    const noPassword = await join(guest, 'muc-guarded', 'guest');
    expect(errorCondition(noPassword)).toBe('not-authorized');
    guest.received.length = 0;
    const wrong = await join(guest, 'muc-guarded', 'guest', password('guess'));
    expect(errorCondition(wrong)).toBe('not-authorized');
    guest.received.length = 0;

    // The right password puts the guest in the lobby: no self-presence until admitted.
    const admitted = join(guest, 'muc-guarded', 'guest', password('open-sesame'));
    await waitUntil(() => knocks.length === 1);
    expect(knocks[0].displayName).toBe('guest');
    expect(guest.received.some((s) => statusCodes(s).includes(110))).toBe(false);
    await request(host, 'lobbyAdmit', { participantId: knocks[0].id });
    expect(statusCodes(await admitted)).toContain(110);

    // Turned away: the waiting join is refused with forbidden.
    const other = await connect();
    const refused = join(other, 'muc-guarded', 'other', password('open-sesame'));
    await waitUntil(() => knocks.length === 2);
    await request(host, 'lobbyReject', { participantId: knocks[1].id });
    const answer = await refused;
    expect(answer.attrs.type).toBe('error');
    expect(errorCondition(answer)).toBe('forbidden');
    host.close();
  });

  it('the room cap refuses the next occupant with service-unavailable', async () => {
    const full: Client[] = [];
    for (let i = 0; i < 4; i++) {
      const client = await connect();
      await join(client, 'muc-cap', `p${i}`);
      full.push(client);
    }
    const extra = await connect();
    const refused = await join(extra, 'muc-cap', 'extra');
    expect(refused.attrs.type).toBe('error');
    expect(errorCondition(refused)).toBe('service-unavailable');
    expect(full[0].received.some((s) => s.attrs.from === `${roomJid('muc-cap')}/extra`)).toBe(
      false,
    );
  });

  it('IQs between occupants are routed through their room JIDs; room disco', async () => {
    const alice = await connect();
    const bob = await connect();
    await join(alice, 'muc-iq', 'alice');
    await join(bob, 'muc-iq', 'bob');
    let askedBy = '';
    bob.xmpp.iqCallee.get('urn:example:probe', 'probe', ({ stanza }) => {
      askedBy = String(stanza.attrs.from);
      return xml('probe', { xmlns: 'urn:example:probe' }, 'answer');
    });
    const pong = await alice.xmpp.iqCaller.request(
      xml(
        'iq',
        { type: 'get', to: `${roomJid('muc-iq')}/bob` },
        xml('probe', { xmlns: 'urn:example:probe' }),
      ),
    );
    expect(pong.getChildText('probe')).toBe('answer');
    expect(pong.attrs.from).toBe(`${roomJid('muc-iq')}/bob`);
    expect(askedBy).toBe(`${roomJid('muc-iq')}/alice`);

    const items = await alice.xmpp.iqCaller.get(
      xml('query', { xmlns: 'http://jabber.org/protocol/disco#items' }),
      'conference.localhost',
    );
    expect(items.getChildren('item').map((i) => i.attrs.jid)).toContain(roomJid('muc-iq'));
    const query = await alice.xmpp.iqCaller.get(
      xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' }),
      roomJid('muc-iq'),
    );
    expect(query.getChild('identity')!.attrs).toMatchObject({
      category: 'conference',
      type: 'text',
    });
    expect(query.getChildren('feature').map((f) => f.attrs.var)).toEqual(
      expect.arrayContaining([MUC, MEDIA]),
    );
    const serverItems = await alice.xmpp.iqCaller.get(
      xml('query', { xmlns: 'http://jabber.org/protocol/disco#items' }),
      'localhost',
    );
    expect(serverItems.getChildren('item').map((i) => i.attrs.jid)).toContain(
      'conference.localhost',
    );
    await expect(
      alice.xmpp.iqCaller.get(
        xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' }),
        roomJid('no-such-room'),
      ),
    ).rejects.toMatchObject({ condition: 'item-not-found' });
  });

  it('bad input: no nickname, too long a nickname, a taken nickname, groupchat from outside, a token for another room', async () => {
    const alice = await connect();
    const mallory = await connect();
    await join(alice, 'muc-bad', 'alice');
    await mallory.send(
      xml('presence', { to: roomJid('muc-bad'), id: 'no-nick' }, xml('x', { xmlns: MUC })),
    );
    expect(errorCondition(await mallory.waitFor((s) => s.attrs.id === 'no-nick'))).toBe(
      'jid-malformed',
    );
    expect(errorCondition(await join(mallory, 'muc-bad', 'x'.repeat(65)))).toBe('jid-malformed');
    const conflict = await join(mallory, 'muc-bad', 'alice');
    expect(conflict.attrs.type).toBe('error');
    expect(errorCondition(conflict)).toBe('conflict');
    await mallory.send(groupchat('muc-bad', 'spam', 'outsider'));
    expect(errorCondition(await mallory.waitFor((s) => s.attrs.id === 'outsider'))).toBe(
      'not-acceptable',
    );
    await mallory.send(
      xml(
        'message',
        { to: `${roomJid('muc-bad')}/alice`, type: 'chat', id: 'pm-out' },
        xml('body', {}, 'hi'),
      ),
    );
    expect(errorCondition(await mallory.waitFor((s) => s.attrs.id === 'pm-out'))).toBe(
      'not-acceptable',
    );
    const elsewhere = await connect({ token: token('another-room', 'tok', 'moderator') });
    expect(errorCondition(await join(elsewhere, 'muc-bad', 'tok'))).toBe('forbidden');
    // None of it reached alice, and the room still works.
    expect(alice.received.some((s) => /spam|mallory|tok/.test(String(s)))).toBe(false);
    await alice.send(groupchat('muc-bad', 'still fine', 'ok-1'));
    await alice.waitFor((s) => s.attrs.id === 'ok-1' && s.attrs.type === 'groupchat');
  });

  it('two simultaneous joins with one nickname to a new room: one gets in, one gets conflict', async () => {
    const [one, two] = await Promise.all([connect(), connect()]);
    const outcomes = await Promise.all([
      join(one, 'muc-race', 'same'),
      join(two, 'muc-race', 'same'),
    ]);
    expect(outcomes.map((s) => s.attrs.type ?? 'available').sort()).toEqual(['available', 'error']);
    expect(outcomes.map(errorCondition).filter(Boolean)).toEqual(['conflict']);
    expect(shard.app.get(ConferenceService).participantsOf('muc-race')).toHaveLength(1);
  });

  it('a session joins at most MAX_ROOMS_PER_SESSION rooms', async () => {
    const alice = await connect();
    for (let i = 0; i < MAX_ROOMS_PER_SESSION; i++)
      expect(statusCodes(await join(alice, `muc-many-${i}`, 'alice'))).toContain(110);
    const refused = await join(alice, 'muc-many-extra', 'alice');
    expect(errorCondition(refused)).toBe('resource-constraint');
    expect(shard.app.get(ConferenceService).roomIds()).not.toContain('muc-many-extra');
  });

  it('cross-door: socket.io and XMPP participants see each other, chat both ways, media state in presence', async () => {
    const alice = await connect();
    await join(alice, 'muc-cross', 'alice');
    const web = await NodeParticipant.connect(shard.baseUrl);
    participants.push(web);
    const joined = await web.join('muc-cross', 'Webby');
    expect(joined.participants.map((p) => p.displayName)).toEqual(['alice']);
    const webbySeen = await presenceOf(alice, 'muc-cross', 'Webby');
    expect(item(webbySeen)).toMatchObject({ role: 'participant' });

    // A second socket.io "Webby" gets a distinct nickname.
    const twin = await connectSocket(shard.baseUrl);
    await request(twin, 'join', { room: 'muc-cross', displayName: 'Webby' });
    await presenceOf(alice, 'muc-cross', 'Webby (2)');

    const webChat = new Promise<{ text: string; from: { displayName: string } }>((resolve) =>
      web.socket.on('chat', resolve),
    );
    await alice.send(groupchat('muc-cross', 'hello web', 'x-1'));
    expect(await webChat).toMatchObject({ text: 'hello web', from: { displayName: 'alice' } });
    await web.request('chat', { text: 'hello xmpp' });
    const fromWeb = await alice.waitFor(
      (s) => s.is('message') && s.getChildText('body') === 'hello xmpp',
    );
    expect(fromWeb.attrs.from).toBe(`${roomJid('muc-cross')}/Webby`);

    await web.publish(['audio']);
    const audioOn = await alice.waitFor(
      (s) =>
        s.attrs.from === `${roomJid('muc-cross')}/Webby` &&
        s.getChild('media', MEDIA)?.attrs.audio === 'on',
      'Webby with audio on',
    );
    expect(audioOn.getChild('media', MEDIA)!.attrs.video).toBe('off');
    await web.request('pauseProducer', { producerId: web.producers.get('audio')!.id });
    await alice.waitFor(
      (s) =>
        s.attrs.from === `${roomJid('muc-cross')}/Webby` &&
        s.getChild('media', MEDIA)?.attrs.audio === 'muted',
      'Webby muted',
    );

    twin.close();
    await presenceOf(alice, 'muc-cross', 'Webby (2)', 'unavailable');
    const left = new Promise((resolve) => web.socket.on('participantLeft', resolve));
    await alice.xmpp.stop();
    await left;
  });

  it('an XMPP moderator kicks a socket.io participant out of the conference', async () => {
    const boss = await connect({ token: token('muc-kick-web', 'boss', 'moderator') });
    await join(boss, 'muc-kick-web', 'boss');
    const web = await connectSocket(shard.baseUrl);
    await request(web, 'join', { room: 'muc-kick-web', displayName: 'Webby' });
    await presenceOf(boss, 'muc-kick-web', 'Webby');
    const removed = new Promise((resolve) => web.on('removed', resolve));
    await boss.xmpp.iqCaller.set(
      xml(
        'query',
        { xmlns: 'http://jabber.org/protocol/muc#admin' },
        xml('item', { nick: 'Webby', role: 'none' }),
      ),
      roomJid('muc-kick-web'),
    );
    expect(await removed).toEqual({ reason: 'kicked' });
    expect(statusCodes(await presenceOf(boss, 'muc-kick-web', 'Webby', 'unavailable'))).toEqual([
      307,
    ]);
    await expect(request(web, 'chat', { text: 'still here?' })).rejects.toMatchObject({
      code: 'not_joined',
    });
    web.close();
  });
});
