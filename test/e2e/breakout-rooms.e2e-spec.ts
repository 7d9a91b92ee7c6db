/**
 * Breakout rooms over socket.io with real clients (mediasoup-client over wrtc) in a
 * meeting with a password and a lobby: a moderator creates them and moves people, who
 * follow on the same connection without lobby or password and get media from the others
 * moved there; a broadcast; everyone returns; the admin API opens and closes them; the
 * webhooks tell; and bad input on the way gets the protocol's errors.
 */
import { JoinTokenService } from '../../src/portal/join-token.service';
import type { BreakoutsView } from '../../src/signaling/socketio/protocol';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver';
import { eventually, NodeParticipant } from '../support/node-participant';
import { apiKeyAuthorization, portalApi } from '../support/portal-api';
import { errorCode } from '../support/signaling-client';
import { startShard, TestShard } from '../support/shard';
import { connectXmpp, loadXmpp, recordStanzas, XmppElement } from '../support/xmpp-client';

const MUC = 'http://jabber.org/protocol/muc';
const MUC_USER = 'http://jabber.org/protocol/muc#user';
const DISCO_ITEMS = 'http://jabber.org/protocol/disco#items';

const ADMIN = { email: 'admin@example.org', password: 'admin-password-1' };
const ROOM = 'workshop';
const PASSWORD = 'w0rkshop-pass';
/** Generous: other engineers' suites load the machine at the same time. */
const WAIT_MS = 60_000;

describe('breakout rooms over socket.io', () => {
  let shard: TestShard;
  let receiver: WebhookReceiver;
  const http = portalApi(() => shard);
  const clients: NodeParticipant[] = [];

  const connect = async (token?: string) => {
    const client = await NodeParticipant.connect(shard.baseUrl, { token });
    clients.push(client);
    return client;
  };
  let host: NodeParticipant;
  /** Guests who passed the password and the lobby, by name. */
  const people: Record<string, NodeParticipant> = {};

  /** A guest joins with the password and waits in the lobby until the host admits it. */
  const admitted = async (name: string) => {
    const client = await connect();
    const joined = client.join(ROOM, name, PASSWORD);
    const knock = await host.waitForEvent<{ entry: { id: string; displayName: string } }>(
      'lobbyKnock',
      ({ entry }) => entry.displayName === name,
    );
    await host.request('lobbyAdmit', { participantId: knock.entry.id });
    await joined;
    await client.publish();
    return client;
  };
  /** Who each room of the latest `breakouts` event a client got holds. */
  const lastBreakouts = (client: NodeParticipant) => {
    const events = client.events.filter((e) => e.event === 'breakouts');
    const view = (events[events.length - 1]?.payload as { breakouts?: BreakoutsView })?.breakouts;
    return view?.rooms.map((room) => [room.name, room.participants.map((p) => p.displayName)]);
  };
  const receivesVideoFrom = async (client: NodeParticipant, others: NodeParticipant[]) => {
    const ids = others.map((other) => other.joined.participantId);
    const stats = await eventually(
      () => client.receiveStats(),
      (s) => ids.every((id) => (s[id]?.videoPackets ?? 0) > 0),
      WAIT_MS,
    );
    for (const id of ids) expect(stats[id]?.videoPackets).toBeGreaterThan(0);
  };

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    shard = await startShard({
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      MAX_BREAKOUT_ROOMS: '4',
      WEBHOOK_URLS: receiver.url,
      WEBHOOK_SECRET: 'breakout-webhook-secret-0123456789',
    });
    const adminToken = (await http.login(ADMIN)).body.accessToken;
    const meeting = await http.call(
      'POST',
      '/meetings',
      { title: 'Workshop', room: ROOM, password: PASSWORD, lobby: true },
      adminToken,
    );
    expect(meeting.status).toBe(201);
    const token = shard.app.get(JoinTokenService).mint({
      room: ROOM,
      identity: 'host',
      name: 'Host',
      role: 'moderator',
    });
    host = await connect(token);
    await host.join(ROOM, 'Host');
    await host.publish();
    for (const name of ['Ann', 'Bob', 'Cid']) people[name] = await admitted(name);
  }, 60_000);

  afterAll(async () => {
    clients.forEach((client) => client.close());
    await shard?.close();
    receiver?.close();
  });

  it('creates, moves with media in each room, broadcasts and returns everyone', async () => {
    const { Ann, Bob, Cid } = people;
    // Nobody but a moderator creates them; the cap binds; nothing to move into yet.
    expect(await errorCode(Ann.request('createBreakouts', { rooms: 2 }))).toBe('forbidden');
    expect(await errorCode(host.request('createBreakouts', { rooms: 5 }))).toBe('bad_request');
    expect(await errorCode(host.request('createBreakouts', { rooms: 'x' as never }))).toBe(
      'bad_request',
    );
    const bobId = Bob.joined.participantId;
    expect(
      await errorCode(
        host.request('moveToBreakout', { participantId: bobId, room: `${ROOM}.breakout-1` }),
      ),
    ).toBe('not_found');

    const created = await host.request('createBreakouts', { rooms: ['Red', 'Blue'] });
    expect(created.rooms.map((room) => room.id)).toEqual([
      `${ROOM}.breakout-1`,
      `${ROOM}.breakout-2`,
    ]);
    const [red, blue] = created.rooms.map((room) => room.id);
    // Moving into a room that does not exist, or someone unknown.
    expect(
      await errorCode(
        host.request('moveToBreakout', { participantId: bobId, room: `${ROOM}.breakout-3` }),
      ),
    ).toBe('not_found');
    expect(
      await errorCode(host.request('moveToBreakout', { participantId: 'nobody', room: red })),
    ).toBe('not_found');
    // Participants may not choose here.
    expect(await errorCode(Ann.request('joinBreakout', { room: red }))).toBe('forbidden');

    for (const [client, room] of [
      [Ann, red],
      [Bob, red],
      [Cid, blue],
    ] as const) {
      await host.request('moveToBreakout', { participantId: client.joined.participantId, room });
    }
    const annInMain = Ann.joined.participantId;
    const ann = await Ann.followMove(red, 'Ann');
    await Bob.followMove(red, 'Bob');
    await Cid.followMove(blue, 'Cid');
    expect(ann.breakouts?.mainRoom).toBe(ROOM);
    expect(ann.participantId).not.toBe(annInMain); // a new join: a participant of the new room
    await receivesVideoFrom(Ann, [Bob]);
    await receivesVideoFrom(Bob, [Ann]);
    expect(Object.keys(await Cid.receiveStats())).toEqual([]);
    await eventually(
      () => lastBreakouts(host),
      (rooms) =>
        JSON.stringify(rooms) ===
        JSON.stringify([
          ['Red', ['Ann', 'Bob']],
          ['Blue', ['Cid']],
        ]),
      WAIT_MS,
    );
    expect(lastBreakouts(host)).toEqual([
      ['Red', ['Ann', 'Bob']],
      ['Blue', ['Cid']],
    ]);

    // Nobody gets in directly: not with the password, not with a forged pass.
    const outsider = await connect();
    expect(
      await errorCode(
        outsider.request('join', { room: red, displayName: 'Eve', password: PASSWORD }),
      ),
    ).toBe('forbidden');
    expect(
      await errorCode(outsider.request('join', { room: red, displayName: 'Eve', pass: 'forged' })),
    ).toBe('forbidden');

    await host.request('broadcastToBreakouts', { text: 'Five minutes left' });
    for (const client of [Ann, Cid, host]) {
      const message = await client.waitForEvent<{ text: string; from: { displayName: string } }>(
        'breakoutMessage',
      );
      expect(message).toMatchObject({ text: 'Five minutes left', from: { displayName: 'Host' } });
    }
    expect(await errorCode(Ann.request('broadcastToBreakouts', { text: 'hi' }))).toBe('forbidden');

    // Everyone returns: back in the main room without lobby or password, media from all.
    await host.request('closeBreakouts', {});
    for (const [client, name] of [
      [Ann, 'Ann'],
      [Bob, 'Bob'],
      [Cid, 'Cid'],
    ] as const) {
      await client.followMove(ROOM, name);
    }
    await receivesVideoFrom(host, [Ann, Bob, Cid]);
    await receivesVideoFrom(Cid, [host, Ann, Bob]);
    expect(await errorCode(host.request('closeBreakouts', {}))).toBe('not_found');
    await eventually(
      () => receiver.hooks.map((hook) => hook.event),
      (events) => events.includes('breakout_finished'),
      WAIT_MS,
    );
    const started = receiver.hooks.find((hook) => hook.event === 'breakout_started');
    expect(started?.room.name).toBe(ROOM);
    expect(started?.breakouts?.rooms).toEqual([
      { id: red, name: 'Red' },
      { id: blue, name: 'Blue' },
    ]);
    expect(receiver.hooks.find((hook) => hook.event === 'breakout_finished')?.reason).toBe(
      'returned',
    );
  }, 120_000);

  it('opens and closes them through the admin API, assigning everyone evenly', async () => {
    const adminToken = (await http.login(ADMIN)).body.accessToken;
    const key = await http.call('POST', '/admin/api-keys', { name: 'breakouts' }, adminToken);
    const authorization = apiKeyAuthorization(key.body.keyId, key.body.secret);
    const admin = async (method: string, path: string, body?: unknown) => {
      const response = await fetch(`${shard.baseUrl}/api/v1/admin/rooms/${path}`, {
        method,
        headers: { 'content-type': 'application/json', authorization },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : {} };
    };
    expect((await admin('GET', `${ROOM}/breakouts`)).status).toBe(404);
    expect((await admin('POST', `${ROOM}/breakouts`, { count: 9 })).status).toBe(400);
    expect((await admin('POST', `${ROOM}/breakouts`, { count: 'two' })).status).toBe(400);
    expect((await admin('POST', `nowhere/breakouts`, { count: 2 })).status).toBe(404);

    const opened = await admin('POST', `${ROOM}/breakouts`, { count: 3, assign: 'evenly' });
    expect(opened.status).toBe(201);
    expect(opened.body.rooms.map((room: { name: string }) => room.name)).toEqual([
      'Room 1',
      'Room 2',
      'Room 3',
    ]);
    expect((await admin('POST', `${ROOM}/breakouts`, { count: 2 })).status).toBe(409);
    const { Ann, Bob, Cid } = people;
    // In the order they joined the main room (they came back Ann, Bob, Cid).
    await Ann.followMove(`${ROOM}.breakout-1`, 'Ann');
    await Bob.followMove(`${ROOM}.breakout-2`, 'Bob');
    await Cid.followMove(`${ROOM}.breakout-3`, 'Cid');
    const listed = await eventually(
      () => admin('GET', `${ROOM}/breakouts`),
      ({ body }) =>
        body.rooms?.every((room: { participants: unknown[] }) => room.participants.length === 1),
      WAIT_MS,
    );
    expect(
      listed.body.rooms.map((room: { participants: { displayName: string }[] }) =>
        room.participants.map((p) => p.displayName),
      ),
    ).toEqual([['Ann'], ['Bob'], ['Cid']]);
    // The host stayed in the main room.
    expect(
      (await admin('GET', ROOM)).body.participants.map(
        (p: { displayName: string }) => p.displayName,
      ),
    ).toEqual(['Host']);

    expect((await admin('DELETE', `${ROOM}/breakouts`)).status).toBe(204);
    for (const [client, name] of [
      [Ann, 'Ann'],
      [Bob, 'Bob'],
      [Cid, 'Cid'],
    ] as const) {
      await client.followMove(ROOM, name);
    }
    await receivesVideoFrom(Ann, [host, Bob, Cid]);
    expect((await admin('DELETE', `${ROOM}/breakouts`)).status).toBe(404);
  }, 120_000);

  it('shows XMPP occupants the breakout rooms as MUC rooms of their own', async () => {
    const { xml } = await loadXmpp();
    const open = 'xmpp-breakouts';
    const roomJid = (room: string) => `${room}@conference.localhost`;
    const token = shard.app.get(JoinTokenService).mint({
      room: open,
      identity: 'host2',
      name: 'Host2',
      role: 'moderator',
    });
    const moderator = await connect(token);
    await moderator.join(open, 'Host2');
    const xmpp = await connectXmpp({
      service: `${shard.baseUrl.replace('http', 'ws')}/xmpp-websocket`,
      domain: 'localhost',
      mechanism: 'ANONYMOUS',
    });
    try {
      const log = recordStanzas(xmpp);
      await xmpp.send(xml('presence'));
      const enter = async (room: string) => {
        const to = `${roomJid(room)}/zoe`;
        const sent = log.received.length;
        await xmpp.send(xml('presence', { to }, xml('x', { xmlns: MUC })));
        return log.waitFor(
          (s: XmppElement) =>
            log.received.indexOf(s) >= sent &&
            s.is('presence') &&
            s.attrs.from === to &&
            (s.attrs.type === 'error' ||
              (s.getChild('x', MUC_USER)?.getChildren('status') ?? []).some(
                (status) => status.attrs.code === '110',
              )),
          `self-presence in ${room}`,
        );
      };
      const condition = (presence: XmppElement) =>
        presence.attrs.type === 'error'
          ? presence.getChild('error')?.getChildElements()[0]?.name
          : 'joined';
      expect(condition(await enter(open))).toBe('joined');

      await moderator.request('createBreakouts', { rooms: ['Ideas', 'Plans'] });
      const announced = await log.waitFor(
        (s: XmppElement) =>
          s.is('message') &&
          s.attrs.from === roomJid(open) &&
          /Breakout rooms/.test(s.getChildText('body') ?? ''),
        'the announcement of the breakout rooms',
      );
      expect(announced.getChildText('body')).toContain(roomJid(`${open}.breakout-1`));
      const items = await xmpp.iqCaller.get(xml('query', { xmlns: DISCO_ITEMS }), roomJid(open));
      expect(
        items
          .getChildren('item')
          .filter((item) => item.attrs.jid.includes('.breakout-'))
          .map((item) => [item.attrs.jid, item.attrs.name]),
      ).toEqual([
        [roomJid(`${open}.breakout-1`), 'Ideas'],
        [roomJid(`${open}.breakout-2`), 'Plans'],
      ]);
      // Participants may not choose: refused; a breakout room that is not open: not found.
      expect(condition(await enter(`${open}.breakout-1`))).toBe('not-authorized');
      expect(condition(await enter(`${open}.breakout-7`))).toBe('item-not-found');
      // The web door cannot move an XMPP occupant (it joins rooms itself).
      const zoe = moderator.events.find((e) => e.event === 'participantsJoined')?.payload as {
        id: string;
      }[];
      expect(
        await errorCode(
          moderator.request('moveToBreakout', {
            participantId: zoe[0].id,
            room: `${open}.breakout-1`,
          }),
        ),
      ).toBe('bad_request');

      await moderator.request('closeBreakouts', {});
      await moderator.request('createBreakouts', { rooms: 1, allowChoice: true });
      // Now it may: in the breakout room and still in the main room (MUC allows both).
      expect(condition(await enter(`${open}.breakout-1`))).toBe('joined');
    } finally {
      await xmpp.stop().catch(() => undefined);
    }
  }, 60_000);
});
