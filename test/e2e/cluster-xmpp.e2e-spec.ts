/**
 * XMPP in a cluster: three shards behind the shipped haproxy.cfg (real HAProxy, Redis,
 * PostgreSQL). xmpp.js clients connect through HAProxy to /xmpp-websocket, each on a
 * given shard (`?shard=`, which HAProxy honours); socket.io participants join through
 * the proxy as the web client does. Stanzas travel between shards: one conference per
 * room from any entry, 1:1 messages, subscriptions and presence across shards, shared
 * offline storage, kill -9 of a room's shard and of a user's home shard, and bad input.
 */
import {
  joinThroughProxy,
  RejoiningParticipant,
  signalingJoinThroughProxy,
  startCluster,
  TestCluster,
} from '../support/cluster';
import { eventually } from '../support/node-participant';
import { portalApi } from '../support/portal-api';
import { rawGuest } from '../support/raw-xmpp';
import type { TestShard } from '../support/shard';
import { request } from '../support/signaling-client';
import {
  connectXmpp,
  loadXmpp,
  recordStanzas,
  StanzaLog,
  XmppClient,
  XmppElement,
} from '../support/xmpp-client';

jest.setTimeout(180_000);

const DOMAIN = 'localhost';
const MUC = 'http://jabber.org/protocol/muc';
const MUC_USER = 'http://jabber.org/protocol/muc#user';
const MUC_ADMIN = 'http://jabber.org/protocol/muc#admin';
const ROSTER = 'jabber:iq:roster';
const PING = 'urn:xmpp:ping';
const ADMIN = { email: 'admin@example.com', password: 'cluster-admin-password' };

interface Account {
  id: string;
  email: string;
  password: string;
}

/** An xmpp.js client and what it received, on a known shard. */
interface Member {
  xmpp: XmppClient;
  log: StanzaLog;
  shard: string;
  jid: string;
}

const statusCodes = (presence: XmppElement) =>
  (presence.getChild('x', MUC_USER)?.getChildren('status') ?? [])
    .map((status) => Number(status.attrs.code))
    .sort();
const errorCondition = (stanza: XmppElement) =>
  stanza.getChild('error')?.getChildElements()[0]?.name;
const roomJid = (room: string) => `${room}@conference.${DOMAIN}`;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('cluster: XMPP across three shards', () => {
  let cluster: TestCluster;
  let xml: Awaited<ReturnType<typeof loadXmpp>>['xml'];
  let adminToken: string;
  const closers: (() => unknown)[] = [];
  const http = portalApi(() => ({ baseUrl: cluster.url }) as TestShard);
  let signUps = 0;

  beforeAll(async () => {
    ({ xml } = await loadXmpp());
    cluster = await startCluster({
      env: {
        ADMIN_EMAIL: ADMIN.email,
        ADMIN_PASSWORD: ADMIN.password,
        LOGIN_RATE_LIMIT_PER_MINUTE: '1000',
        REGISTRATION_RATE_LIMIT_PER_MINUTE: '1000',
      },
    });
    adminToken = (await http.login(ADMIN)).body.accessToken as string;
  });
  afterAll(async () => {
    await Promise.all(closers.map((close) => close()));
    await cluster?.stop();
  });

  const xmppUrl = (query: string) => `${cluster.url.replace('http', 'ws')}/xmpp-websocket${query}`;
  const shardIds = () => cluster.shards.map((shard) => shard.id);

  /** An xmpp.js client on `shard`: a guest, or a portal user with PLAIN. */
  async function connect(shard: string, account?: Account, query = `?shard=${shard}`) {
    const xmpp = await connectXmpp({
      service: xmppUrl(query),
      domain: DOMAIN,
      ...(account
        ? { username: account.email, password: account.password, mechanism: 'PLAIN' as const }
        : { mechanism: 'ANONYMOUS' as const }),
    });
    closers.push(() => Promise.race([xmpp.stop().catch(() => undefined), pause(2000)]));
    const member: Member = { xmpp, log: recordStanzas(xmpp), shard, jid: xmpp.jid.toString() };
    return member;
  }

  async function signUp(name: string): Promise<Account> {
    const account = { email: `${name}-${++signUps}@example.org`, password: `${name}-password` };
    const answer = await http.register({ ...account, displayName: name });
    expect(answer.status).toBe(201);
    return { ...account, id: answer.body.id as string };
  }

  const accessToken = async ({ email, password }: Account) =>
    (await http.login({ email, password })).body.accessToken as string;

  /** A ping to the server answered: everything the client sent before is handled. */
  const settle = (member: Member) =>
    member.xmpp.iqCaller.request(
      xml('iq', { type: 'get', to: DOMAIN }, xml('ping', { xmlns: PING })),
    );

  /** Sends join presence and waits for the self-presence (status 110) or an error. */
  async function join(member: Member, room: string, nick: string, x: XmppElement[] = []) {
    const to = `${roomJid(room)}/${nick}`;
    member.log.received.length = 0;
    await member.xmpp.send(xml('presence', { to }, xml('x', { xmlns: MUC }, ...x)));
    return member.log.waitFor(
      (s) =>
        s.is('presence') &&
        s.attrs.from === to &&
        (s.attrs.type === 'error' || statusCodes(s).includes(110)),
      `self-presence in ${room} as ${nick}`,
    );
  }

  /** Joins as a client does after 332: again, a little later, while the answer is "wait". */
  async function rejoin(member: Member, room: string, nick: string) {
    for (let attempt = 0; ; attempt++) {
      const answer = await join(member, room, nick);
      if (answer.attrs.type !== 'error' || attempt >= 20) return answer;
      await pause(250);
    }
  }

  const presenceOf = (member: Member, room: string, nick: string, type?: string) =>
    member.log.waitFor(
      (s) =>
        s.is('presence') && s.attrs.from === `${roomJid(room)}/${nick}` && s.attrs.type === type,
      `presence of ${nick} in ${room} (${type ?? 'available'})`,
    );

  /** The conference rooms of that id in the cluster (one, when the cluster holds together). */
  async function conferences(room: string) {
    const { status, body } = await http.call('GET', '/admin/rooms', undefined, adminToken);
    expect(status).toBe(200);
    return (body as { id: string; shard: string; participants: { displayName: string }[] }[])
      .filter((entry) => entry.id === room)
      .map(({ shard, participants }) => ({
        shard,
        names: participants.map((participant) => participant.displayName).sort(),
      }));
  }

  /** The roster fetched (so the client gets pushes) and initial presence sent. */
  async function online(member: Member) {
    await member.xmpp.iqCaller.get(xml('query', { xmlns: ROSTER }));
    await member.xmpp.send(xml('presence'));
    await settle(member);
  }

  /** `from` subscribes to `to`'s presence and `to` approves. */
  async function subscribe(from: Member, to: Member) {
    const asked = to.log.waitFor(
      (s) => s.is('presence') && s.attrs.type === 'subscribe' && s.attrs.from === bare(from),
      'subscription request',
    );
    await from.xmpp.send(xml('presence', { to: bare(to), type: 'subscribe' }));
    await asked;
    const seen = from.log.waitFor(
      (s) => s.is('presence') && !s.attrs.type && s.attrs.from === to.jid,
      'presence of the approving contact',
    );
    await to.xmpp.send(xml('presence', { to: bare(from), type: 'subscribed' }));
    await seen;
  }
  const bare = (member: Member) => member.jid.split('/')[0];

  it('brings XMPP users of three shards and socket.io participants into one MUC room', async () => {
    const room = 'xc-meeting';
    const hostAccount = await signUp('host');
    const access = await accessToken(hostAccount);
    expect((await http.call('POST', '/meetings', { title: 'X', room }, access)).status).toBe(201);
    const [s1, s2, s3] = shardIds();
    const host = await connect(s1, hostAccount);
    const ann = await connect(s2);
    const ben = await connect(s3);
    // Each client is on the shard it asked for.
    const sessions = await Promise.all(
      cluster.shards.map(
        async (shard) => (await shard.process!.metrics()).videowindow_xmpp_sessions,
      ),
    );
    expect(sessions).toEqual([1, 1, 1]);

    const hostSelf = await join(host, room, 'host');
    expect(hostSelf.getChild('x', MUC_USER)?.getChild('item')?.attrs.role).toBe('moderator');
    expect(statusCodes(await join(ann, room, 'ann'))).toEqual([110]);
    expect(statusCodes(await join(ben, room, 'ben'))).toEqual([110]);
    const web = await signalingJoinThroughProxy(cluster.url, room, 'web');
    closers.push(() => web.socket.close());

    // One conference, on one shard, with everyone in it.
    const [conference, ...copies] = await conferences(room);
    expect(copies).toEqual([]);
    expect(conference.names).toEqual(['ann', 'ben', 'host', 'web']);
    expect(web.joined.shard).toBe(conference.shard);
    expect(web.joined.participants.map((p) => p.displayName).sort()).toEqual([
      'ann',
      'ben',
      'host',
    ]);
    for (const [member, others] of [
      [host, ['ann', 'ben', 'web']],
      [ann, ['host', 'ben', 'web']],
      [ben, ['host', 'ann', 'web']],
    ] as const)
      for (const nick of others) await presenceOf(member, room, nick);

    // Groupchat both ways, socket.io chat included.
    const chats: { text: string; from: { displayName: string } }[] = [];
    web.socket.on('chat', (message: (typeof chats)[number]) => chats.push(message));
    await ben.xmpp.send(
      xml('message', { to: roomJid(room), type: 'groupchat', id: 'g1' }, xml('body', {}, 'hi all')),
    );
    for (const member of [host, ann, ben]) {
      const message = await member.log.waitFor((s) => s.attrs.id === 'g1', 'groupchat g1');
      expect(message.attrs.from).toBe(`${roomJid(room)}/ben`);
      expect(message.getChildText('body')).toBe('hi all');
    }
    await eventually(
      () => chats.length,
      (count) => count > 0,
    );
    expect(chats[0]).toMatchObject({ text: 'hi all', from: { displayName: 'ben' } });
    await request(web.socket, 'chat', { text: 'from the web' });
    for (const member of [host, ann, ben]) {
      const message = await member.log.waitFor(
        (s) => s.getChildText('body') === 'from the web',
        'socket.io chat',
      );
      expect(message.attrs).toMatchObject({ type: 'groupchat', from: `${roomJid(room)}/web` });
    }

    // A private message between occupants of two other shards.
    await ann.xmpp.send(
      xml(
        'message',
        { to: `${roomJid(room)}/ben`, type: 'chat', id: 'pm' },
        xml('body', {}, 'psst'),
      ),
    );
    const whisper = await ben.log.waitFor((s) => s.attrs.id === 'pm', 'private message');
    expect(whisper.attrs.from).toBe(`${roomJid(room)}/ann`);
    expect(host.log.received.some((s) => s.attrs.id === 'pm')).toBe(false);

    // The moderator kicks an occupant of another shard: everyone sees 307.
    await host.xmpp.iqCaller.set(
      xml('query', { xmlns: MUC_ADMIN }, xml('item', { nick: 'ben', role: 'none' })),
      roomJid(room),
    );
    expect(statusCodes(await presenceOf(ben, room, 'ben', 'unavailable'))).toEqual([110, 307]);
    expect(statusCodes(await presenceOf(ann, room, 'ben', 'unavailable'))).toEqual([307]);
    expect((await conferences(room))[0].names).toEqual(['ann', 'host', 'web']);
    // Kicked means out, on its own shard too: its groupchat is refused.
    await ben.xmpp.send(
      xml('message', { to: roomJid(room), type: 'groupchat', id: 'g2' }, xml('body', {}, 'back?')),
    );
    expect(errorCondition(await ben.log.waitFor((s) => s.attrs.id === 'g2'))).toBe(
      'not-acceptable',
    );
    // Leaving from another shard leaves the conference.
    await ann.xmpp.send(xml('presence', { to: `${roomJid(room)}/ann`, type: 'unavailable' }));
    expect(statusCodes(await presenceOf(ann, room, 'ann', 'unavailable'))).toEqual([110]);
    expect((await conferences(room))[0].names).toEqual(['host', 'web']);
  });

  it("keeps a meeting's password and lobby for XMPP guests on other shards", async () => {
    const room = 'xc-guarded';
    const owner = await signUp('owner');
    const access = await accessToken(owner);
    const meeting = await http.call(
      'POST',
      '/meetings',
      { title: 'Guarded', room, password: 'open-sesame', lobby: true },
      access,
    );
    expect(meeting.status).toBe(201);
    const hostToken = (
      await http.call('POST', `/meetings/${meeting.body.id}/join-token`, {}, access)
    ).body.token as string;
    const host = await signalingJoinThroughProxy(cluster.url, room, 'Host', { token: hostToken });
    closers.push(() => host.socket.close());
    const knocks: { id: string; displayName: string }[] = [];
    host.socket.on('lobbyKnock', ({ entry }: { entry: (typeof knocks)[number] }) =>
      knocks.push(entry),
    );
    const elsewhere = shardIds().filter((id) => id !== host.joined.shard);
    const guests = await Promise.all(elsewhere.map((shard) => connect(shard)));
    const password = (text: string) => [xml('password', {}, text)];

    const [first, second] = guests;
    expect(errorCondition(await join(first, room, 'first'))).toBe('not-authorized');
    expect(errorCondition(await join(first, room, 'first', password('guess')))).toBe(
      'not-authorized',
    );
    // The right password: into the lobby, no self-presence until the host admits.
    const admitted = join(first, room, 'first', password('open-sesame'));
    await eventually(
      () => knocks.length,
      (count) => count === 1,
    );
    expect(knocks[0].displayName).toBe('first');
    expect(first.log.received.some((s) => statusCodes(s).includes(110))).toBe(false);
    await request(host.socket, 'lobbyAdmit', { participantId: knocks[0].id });
    expect(statusCodes(await admitted)).toEqual([110]);
    // Turned away: forbidden, from the room's shard to the guest's.
    const refused = join(second, room, 'second', password('open-sesame'));
    await eventually(
      () => knocks.length,
      (count) => count === 2,
    );
    await request(host.socket, 'lobbyReject', { participantId: knocks[1].id });
    expect(errorCondition(await refused)).toBe('forbidden');
    const [conference] = await conferences(room);
    expect(conference.names).toHaveLength(2);
    expect(conference.names).toContain('first');
  });

  it('carries 1:1 messages, subscriptions, roster presence and offline messages between shards', async () => {
    const [s1, s2, s3] = shardIds();
    const [aliceAccount, bobAccount] = [await signUp('alice'), await signUp('bob')];
    const alice = await connect(s1, aliceAccount);
    const bob = await connect(s2, bobAccount);
    await online(alice);
    await online(bob);

    await subscribe(alice, bob);
    await subscribe(bob, alice);
    // Roster pushes crossed shards: both rosters say both.
    for (const [member, contact] of [
      [alice, bob],
      [bob, alice],
    ] as const) {
      const roster = await member.xmpp.iqCaller.get(xml('query', { xmlns: ROSTER }));
      expect(roster.getChild('item')?.attrs).toMatchObject({
        jid: bare(contact),
        subscription: 'both',
      });
    }

    // Messages to the bare and to the full JID, and an IQ between clients.
    await alice.xmpp.send(
      xml('message', { to: bare(bob), type: 'chat', id: 'm1' }, xml('body', {}, 'to bare')),
    );
    expect((await bob.log.waitFor((s) => s.attrs.id === 'm1')).attrs.from).toBe(alice.jid);
    await bob.xmpp.send(
      xml('message', { to: alice.jid, type: 'chat', id: 'm2' }, xml('body', {}, 'to full')),
    );
    expect((await alice.log.waitFor((s) => s.attrs.id === 'm2')).attrs.from).toBe(bob.jid);
    bob.xmpp.iqCallee.get('urn:example:offer', 'offer', () =>
      xml('offer', { xmlns: 'urn:example:offer' }, 'yes'),
    );
    const answer = await alice.xmpp.iqCaller.get(
      xml('offer', { xmlns: 'urn:example:offer' }),
      bob.jid,
    );
    expect(answer.getText()).toBe('yes');

    // Roster presence: a change is seen on the other shard; a new resource on a third
    // shard gets the contact's presence at its initial presence (the probe).
    await alice.xmpp.send(xml('presence', {}, xml('status', {}, 'busy')));
    const busy = await bob.log.waitFor(
      (s) => s.is('presence') && s.attrs.from === alice.jid && s.getChildText('status') === 'busy',
      'presence change',
    );
    expect(busy.attrs.type).toBeUndefined();
    const phone = await connect(s3, bobAccount);
    const probed = phone.log.waitFor(
      (s) => s.is('presence') && s.attrs.from === alice.jid && !s.attrs.type,
      'probe answer',
    );
    await phone.xmpp.send(xml('presence'));
    expect((await probed).getChildText('status')).toBe('busy');
    // ... and alice sees bob's second resource.
    await alice.log.waitFor((s) => s.is('presence') && s.attrs.from === phone.jid, 'new resource');

    // Bob goes: alice sees both resources unavailable. A message to bob, who is nowhere,
    // is kept and delivered when he logs in on yet another shard.
    await bob.xmpp.stop();
    await phone.xmpp.stop();
    for (const jid of [bob.jid, phone.jid])
      await alice.log.waitFor(
        (s) => s.is('presence') && s.attrs.from === jid && s.attrs.type === 'unavailable',
        `unavailable presence of ${jid}`,
      );
    await alice.xmpp.send(
      xml('message', { to: bare(bob), type: 'chat', id: 'later' }, xml('body', {}, 'later')),
    );
    await settle(alice);
    expect(alice.log.received.some((s) => s.attrs.id === 'later')).toBe(false);
    const back = await connect(s3, bobAccount);
    const stored = back.log.waitFor((s) => s.attrs.id === 'later', 'offline message');
    await back.xmpp.send(xml('presence'));
    expect((await stored).getChild('delay', 'urn:xmpp:delay')).toBeDefined();
  });

  it('leaves nothing behind for sessions that end in the middle of a join or a message to another shard', async () => {
    const room = 'xc-ended';
    const keeper = await signalingJoinThroughProxy(cluster.url, room, 'keeper');
    closers.push(() => keeper.socket.close());
    const ghostsIn: string[] = [];
    keeper.socket.on('participantsJoined', (joined: { displayName: string }[]) =>
      ghostsIn.push(...joined.map((participant) => participant.displayName)),
    );
    const roomShard = keeper.joined.shard;
    const elsewhere = shardIds().filter((id) => id !== roomShard);
    const sessionsBefore = await Promise.all(
      cluster.shards.map(
        async (shard) => (await shard.process!.metrics()).videowindow_xmpp_sessions,
      ),
    );
    // Each connection drops (no <close/>) after its join: at once, a little later, or once
    // the room answered it; then with a groupchat on its way.
    const waits: (number | 'joined')[] = [0, 2, 10, 30, 'joined', 'joined'];
    for (const [i, wait] of waits.entries()) {
      const raw = await rawGuest(xmppUrl(`?shard=${elsewhere[i % 2]}`));
      raw.send(
        `<presence xmlns="jabber:client" to="${roomJid(room)}/ghost${i}"><x xmlns="${MUC}"/></presence>`,
      );
      if (wait === 'joined') await raw.waitFor(/status code="110"/);
      else await pause(wait);
      raw.send(
        `<message xmlns="jabber:client" to="${roomJid(room)}" type="groupchat"><body>bye</body></message>`,
      );
      raw.close();
    }
    // The ghosts that got in left again with their sessions; the keeper stays.
    const seen = await eventually(
      () => [...ghostsIn],
      (names) => names.includes('ghost4') && names.includes('ghost5'),
    );
    expect(seen).toEqual(expect.arrayContaining(['ghost4', 'ghost5']));
    const after = await eventually(
      () => conferences(room),
      (found) => found.length === 1 && found[0].names.join() === 'keeper',
    );
    expect(after).toEqual([{ shard: roomShard, names: ['keeper'] }]);
    const sessionsAfter = await eventually(
      () =>
        Promise.all(
          cluster.shards.map(
            async (shard) => (await shard.process!.metrics()).videowindow_xmpp_sessions,
          ),
        ),
      (counts) => counts.join() === sessionsBefore.join(),
    );
    expect(sessionsAfter).toEqual(sessionsBefore);
    expect(cluster.shards.map((shard) => shard.process!.exited())).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
  });

  it('ignores a forged ?shard= on the XMPP URL: the join still finds the one conference', async () => {
    const room = 'xc-forged';
    const keeper = await signalingJoinThroughProxy(cluster.url, room, 'keeper');
    closers.push(() => keeper.socket.close());
    const other = shardIds().find((id) => id !== keeper.joined.shard)!;
    for (const [i, query] of [
      '?shard=../../etc/passwd',
      '?shard=',
      '?shard=nosuch',
      '?room=x',
    ].entries()) {
      const member = await connect('?', undefined, query);
      expect(statusCodes(await join(member, room, `forged${i}`))).toEqual([110]);
    }
    // Asked for a shard that does not run the room: the stanzas go to the one that does.
    const stale = await connect(other);
    expect(statusCodes(await join(stale, room, 'stale'))).toEqual([110]);
    const found = await conferences(room);
    expect(found).toHaveLength(1);
    expect(found[0].names).toEqual(['forged0', 'forged1', 'forged2', 'forged3', 'keeper', 'stale']);
  });

  it("brings a killed room shard's XMPP occupants (332) back together with its socket.io participants", async () => {
    const room = 'xc-failover';
    const sender = new RejoiningParticipant(cluster.url, room, 'Sender');
    closers.push(() => sender.close());
    await sender.join();
    await sender.publish(['audio']);
    const receiver = new RejoiningParticipant(cluster.url, room, 'Receiver');
    closers.push(() => receiver.close());
    await receiver.join();
    const dead = sender.shard;
    const [a, b] = shardIds().filter((id) => id !== dead);
    const ann = await connect(a);
    const ben = await connect(b);
    await join(ann, room, 'ann');
    await join(ben, room, 'ben');
    for (const nick of ['Sender', 'Receiver', 'ben']) await presenceOf(ann, room, nick);

    cluster.kill(dead);
    for (const [member, nick] of [
      [ann, 'ann'],
      [ben, 'ben'],
    ] as const) {
      const shutdown = await presenceOf(member, room, nick, 'unavailable');
      expect(statusCodes(shutdown)).toEqual([110, 332]);
    }
    // Rejoining (as clients do on 332) meets everyone again, on one live shard.
    expect(statusCodes(await rejoin(ann, room, 'ann'))).toContain(110);
    expect(statusCodes(await rejoin(ben, room, 'ben'))).toContain(110);
    const together = await eventually(
      () => conferences(room),
      (found) => found.length === 1 && found[0].names.length === 4,
    );
    expect(together).toHaveLength(1);
    expect(together[0].names).toEqual(['Receiver', 'Sender', 'ann', 'ben']);
    expect(together[0].shard).not.toBe(dead);
    for (const nick of ['Sender', 'Receiver', 'ben']) await presenceOf(ann, room, nick);
    const packets = await eventually(
      () => receiver.packetsFrom(sender),
      (count) => count > 20,
    );
    expect(packets).toBeGreaterThan(20);

    await cluster.restart(dead);
    await eventually(
      () => cluster.serverStates(),
      (states) => states[dead] === 'UP',
    );
  });

  it("shows a killed home shard's users unavailable and out of their rooms; messages to them are kept or refused", async () => {
    const room = 'xc-homeless';
    const keeper = await joinThroughProxy(cluster.url, room, 'keeper');
    closers.push(() => keeper.participant.close());
    const roomShard = keeper.joined.shard;
    const [home, watcherShard] = [...shardIds().filter((id) => id !== roomShard), roomShard];
    const [carolAccount, daveAccount] = [await signUp('carol'), await signUp('dave')];
    const carol = await connect(home, carolAccount);
    const guest = await connect(home);
    const dave = await connect(watcherShard, daveAccount);
    await online(carol);
    await online(dave);
    await subscribe(dave, carol);
    await join(carol, room, 'carol');
    await join(dave, room, 'dave');
    await presenceOf(dave, room, 'carol');

    cluster.kill(home);
    // Dave's shard speaks for carol: her presence and her occupancy end.
    const gone = await dave.log.waitFor(
      (s) => s.is('presence') && s.attrs.from === carol.jid && s.attrs.type === 'unavailable',
      "carol's unavailable presence",
      20_000,
    );
    expect(gone.attrs.to).toBe(bare(dave));
    expect(statusCodes(await presenceOf(dave, room, 'carol', 'unavailable'))).toEqual([]);
    expect((await conferences(room))[0].names).toEqual(['dave', 'keeper']);

    // To a portal user whose home is gone: kept. To a guest's full JID: refused.
    await dave.xmpp.send(
      xml('message', { to: bare(carol), type: 'chat', id: 'kept' }, xml('body', {}, 'call me')),
    );
    await dave.xmpp.send(
      xml('message', { to: guest.jid, type: 'chat', id: 'lost' }, xml('body', {}, 'hello?')),
    );
    expect(errorCondition(await dave.log.waitFor((s) => s.attrs.id === 'lost'))).toBe(
      'service-unavailable',
    );
    await settle(dave);
    expect(dave.log.received.some((s) => s.attrs.id === 'kept')).toBe(false);
    // Carol's client reconnects through HAProxy (to a live shard), gets the message, and
    // rejoins her room.
    const again = await connect('any', carolAccount, '');
    const kept = again.log.waitFor((s) => s.attrs.id === 'kept', 'the kept message');
    await again.xmpp.send(xml('presence'));
    expect((await kept).getChildText('body')).toBe('call me');
    expect(statusCodes(await join(again, room, 'carol'))).toEqual([110]);
    await presenceOf(dave, room, 'carol');

    // The shard returns and learns the sessions of the others: a message from there
    // reaches dave, who logged in long before.
    await cluster.restart(home);
    await eventually(
      () => cluster.serverStates(),
      (states) => states[home] === 'UP',
    );
    const returned = await connect(home, carolAccount);
    await returned.xmpp.send(
      xml('message', { to: bare(dave), type: 'chat', id: 'back' }, xml('body', {}, "I'm back")),
    );
    expect((await dave.log.waitFor((s) => s.attrs.id === 'back')).attrs.from).toBe(returned.jid);
  });
});
