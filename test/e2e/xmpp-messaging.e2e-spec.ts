/**
 * Instant messaging between two portal users with the real xmpp.js client, once on
 * SQLite and once on PostgreSQL (rosters and offline messages are stored): roster
 * get/set/push, presence subscriptions both ways, presence broadcast, 1:1 messages
 * online and offline, IQs routed between full JIDs, and Stream Management resumption.
 */
import type { Element } from 'ltx';
import { portalApi } from '../support/portal-api';
import { startShard, TestShard } from '../support/shard';
import { TEST_DATABASES, TestDatabase } from '../support/test-databases';
import { connectXmpp, loadXmpp, nextStanza, XmppClient } from '../support/xmpp-client';

const ROSTER = 'jabber:iq:roster';

describe.each(TEST_DATABASES.map((kind) => [kind.name, kind] as const))(
  'XMPP messaging on %s',
  (_name, kind) => {
    let database: TestDatabase;
    let shard: TestShard;
    let service: string;
    const http = portalApi(() => shard);
    const ids: Record<'alice' | 'bob', string> = { alice: '', bob: '' };
    const jid = (name: 'alice' | 'bob') => `${ids[name]}@localhost`;
    const clients: XmppClient[] = [];

    const login = async (name: 'alice' | 'bob', resource = 'desk') => {
      const xmpp = await connectXmpp({
        service,
        domain: 'localhost',
        username: `${name}@example.org`,
        password: `${name}-password`,
        mechanism: 'PLAIN',
        resource,
      });
      clients.push(xmpp);
      return xmpp;
    };
    const rosterPush = (xmpp: XmppClient, contact: string, check: (item: Element) => boolean) =>
      nextStanza(xmpp, (stanza) => {
        const item = stanza.is('iq') && stanza.getChild('query', ROSTER)?.getChild('item');
        return !!item && item.attrs.jid === contact && check(item);
      });
    const presenceFrom = (xmpp: XmppClient, from: string, type?: string) =>
      nextStanza(
        xmpp,
        (stanza) =>
          stanza.is('presence') &&
          String(stanza.attrs.from).startsWith(from) &&
          stanza.attrs.type === type,
      );
    const rosterOf = async (xmpp: XmppClient) => {
      const { xml } = await loadXmpp();
      const query = await xmpp.iqCaller.get(xml('query', { xmlns: ROSTER }));
      return query.getChildren('item').map((item) => ({
        jid: item.attrs.jid as string,
        subscription: item.attrs.subscription as string,
        ask: item.attrs.ask as string | undefined,
        name: item.attrs.name as string | undefined,
        groups: item.getChildren('group').map((group) => group.text()),
      }));
    };

    beforeAll(async () => {
      database = await kind.create();
      shard = await startShard({
        ...database.env,
        LOGIN_RATE_LIMIT_PER_MINUTE: '1000',
        XMPP_RESUME_SECONDS: '2',
      });
      service = `${shard.baseUrl.replace('http', 'ws')}/xmpp-websocket`;
      for (const name of ['alice', 'bob'] as const) {
        const answer = await http.register({
          email: `${name}@example.org`,
          password: `${name}-password`,
          displayName: name,
        });
        ids[name] = answer.body.id as string;
      }
    });

    afterEach(async () => {
      await Promise.all(clients.splice(0).map((xmpp) => xmpp.stop().catch(() => undefined)));
    });

    afterAll(async () => {
      await shard.close();
      await database.drop();
    });

    it('subscribes both ways, edits the roster, and broadcasts presence', async () => {
      const { xml } = await loadXmpp();
      const alice = await login('alice');
      const bob = await login('bob');
      expect(await rosterOf(alice)).toEqual([]);
      expect(await rosterOf(bob)).toEqual([]);
      await alice.send(xml('presence'));
      await bob.send(xml('presence'));

      // Alice asks; her roster shows the pending request, Bob is asked.
      const asked = rosterPush(alice, jid('bob'), (item) => item.attrs.ask === 'subscribe');
      const request = presenceFrom(bob, jid('alice'), 'subscribe');
      await alice.send(xml('presence', { to: jid('bob'), type: 'subscribe' }));
      await asked;
      expect((await request).attrs.from).toBe(jid('alice'));

      // Bob approves: Alice is subscribed and gets Bob's presence at once.
      const approved = rosterPush(alice, jid('bob'), (i) => i.attrs.subscription === 'to');
      const bobsSide = rosterPush(bob, jid('alice'), (i) => i.attrs.subscription === 'from');
      const bobsPresence = presenceFrom(alice, `${jid('bob')}/desk`, undefined);
      await bob.send(xml('presence', { to: jid('alice'), type: 'subscribed' }));
      await Promise.all([approved, bobsSide, bobsPresence]);

      // And back: Bob subscribes to Alice, she approves; both are now "both".
      const bobAsks = presenceFrom(alice, jid('bob'), 'subscribe');
      await bob.send(xml('presence', { to: jid('alice'), type: 'subscribe' }));
      await bobAsks;
      const both = rosterPush(bob, jid('alice'), (i) => i.attrs.subscription === 'both');
      await alice.send(xml('presence', { to: jid('bob'), type: 'subscribed' }));
      await both;
      expect(await rosterOf(alice)).toEqual([
        { jid: jid('bob'), subscription: 'both', ask: undefined, name: undefined, groups: [] },
      ]);

      // Roster set: a name and a group, pushed to the owner.
      const renamed = rosterPush(alice, jid('bob'), (i) => i.attrs.name === 'Bobby');
      await alice.iqCaller.set(
        xml(
          'query',
          { xmlns: ROSTER },
          xml('item', { jid: jid('bob'), name: 'Bobby' }, xml('group', {}, 'Friends')),
        ),
      );
      await renamed;
      expect(await rosterOf(alice)).toEqual([
        {
          jid: jid('bob'),
          subscription: 'both',
          ask: undefined,
          name: 'Bobby',
          groups: ['Friends'],
        },
      ]);

      // Presence broadcast: Bob sees Alice's new status; unavailable when she leaves.
      const away = nextStanza(bob, (s) => s.is('presence') && s.getChildText('show') === 'away');
      await alice.send(xml('presence', {}, xml('show', {}, 'away'), xml('status', {}, 'lunch')));
      expect((await away).getChildText('status')).toBe('lunch');
      const gone = presenceFrom(bob, `${jid('alice')}/desk`, 'unavailable');
      await alice.stop();
      await gone;

      // Removing an item cancels both subscriptions, on both rosters.
      const alice2 = await login('alice', 'phone');
      await rosterOf(alice2);
      const removed = rosterPush(alice2, jid('bob'), (i) => i.attrs.subscription === 'remove');
      const bobLoses = rosterPush(bob, jid('alice'), (i) => i.attrs.subscription === 'none');
      await alice2.iqCaller.set(
        xml('query', { xmlns: ROSTER }, xml('item', { jid: jid('bob'), subscription: 'remove' })),
      );
      await Promise.all([removed, bobLoses]);
      expect(await rosterOf(alice2)).toEqual([]);
    });

    it('delivers messages online to bare and full JIDs, and stores them while offline', async () => {
      const { xml } = await loadXmpp();
      const alice = await login('alice');
      const bob = await login('bob', 'laptop');
      await bob.send(xml('presence'));
      const body = (text: string) => (s: Element) =>
        s.is('message') && s.getChildText('body') === text;

      const toBare = nextStanza(bob, body('hello bare'));
      await alice.send(
        xml('message', { to: jid('bob'), type: 'chat' }, xml('body', {}, 'hello bare')),
      );
      expect((await toBare).attrs.from).toBe(`${jid('alice')}/desk`);
      const toFull = nextStanza(bob, body('hello full'));
      await alice.send(
        xml('message', { to: `${jid('bob')}/laptop`, type: 'chat' }, xml('body', {}, 'hello full')),
      );
      await toFull;

      // Bob goes away; two messages wait for him, in order, with a delay stamp.
      await bob.stop();
      for (const text of ['while away 1', 'while away 2'])
        await alice.send(xml('message', { to: jid('bob'), type: 'chat' }, xml('body', {}, text)));
      // A ping round trip makes sure the server has handled both messages.
      await alice.iqCaller.request(
        xml('iq', { type: 'get', to: 'localhost' }, xml('ping', { xmlns: 'urn:xmpp:ping' })),
      );
      const again = await login('bob', 'laptop');
      const received: Element[] = [];
      again.on('stanza', (s) => {
        if (s.is('message')) received.push(s);
      });
      const second = nextStanza(again, body('while away 2'));
      await again.send(xml('presence'));
      await second;
      expect(received.map((m) => m.getChildText('body'))).toEqual(['while away 1', 'while away 2']);
      expect(received[0].getChild('delay', 'urn:xmpp:delay')?.attrs.stamp).toMatch(/^\d{4}-/);
      expect(received[0].attrs.from).toBe(`${jid('alice')}/desk`);

      // Delivered once: a fresh login finds nothing waiting.
      await again.stop();
      const third = await login('bob', 'laptop');
      const late: Element[] = [];
      third.on('stanza', (s) => s.is('message') && late.push(s));
      await third.send(xml('presence'));
      await third.iqCaller.request(
        xml('iq', { type: 'get', to: 'localhost' }, xml('ping', { xmlns: 'urn:xmpp:ping' })),
      );
      expect(late).toEqual([]);
    });

    it('routes IQs between full JIDs and answers unknown ones with errors', async () => {
      const { xml } = await loadXmpp();
      const alice = await login('alice');
      const bob = await login('bob');
      bob.iqCallee.get('urn:example:negotiate', 'offer', () =>
        xml('offer', { xmlns: 'urn:example:negotiate' }, 'ok'),
      );
      const answer = await alice.iqCaller.get(
        xml('offer', { xmlns: 'urn:example:negotiate' }),
        `${jid('bob')}/desk`,
      );
      expect(answer.text()).toBe('ok');

      await expect(
        alice.iqCaller.get(xml('offer', { xmlns: 'urn:example:negotiate' }), `${jid('bob')}/gone`),
      ).rejects.toMatchObject({ condition: 'service-unavailable' });
      await expect(
        alice.iqCaller.get(xml('query', { xmlns: 'urn:example:unknown' }), 'localhost'),
      ).rejects.toMatchObject({ condition: 'service-unavailable' });
      await expect(
        alice.iqCaller.get(xml('ping', { xmlns: 'urn:xmpp:ping' }), 'bad@@localhost'),
      ).rejects.toMatchObject({ condition: 'jid-malformed' });
      const info = await alice.iqCaller.get(
        xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' }),
        'localhost',
      );
      const features = info.getChildren('feature').map((f) => f.attrs.var);
      expect(features).toEqual(
        expect.arrayContaining(['urn:xmpp:ping', 'http://jabber.org/protocol/disco#info']),
      );
    });

    it('resumes a Stream Management session after the socket drops, with nothing lost', async () => {
      const { xml } = await loadXmpp();
      const alice = await login('alice', 'mobile');
      const bob = await login('bob');
      if (!alice.streamManagement.enabled)
        await nextStanza(alice, (element) => element.is('enabled', 'urn:xmpp:sm:3'));
      expect(alice.streamManagement.enabled).toBe(true);
      const firstId = alice.streamManagement.id;
      await alice.send(xml('presence'));
      const unavailable: Element[] = [];
      bob.on('stanza', (s) => {
        if (s.is('presence') && s.attrs.type === 'unavailable') unavailable.push(s);
      });

      alice.reconnect.delay = 50;
      alice.reconnect.start();
      const resumed = new Promise<void>((resolve) =>
        alice.streamManagement.on('resumed', () => resolve()),
      );
      const delivered = nextStanza(
        alice,
        (s) => s.is('message') && s.getChildText('body') === 'during the drop',
      );
      alice.socket!.socket!.terminate();
      await bob.send(
        xml(
          'message',
          { to: `${jid('alice')}/mobile`, type: 'chat' },
          xml('body', {}, 'during the drop'),
        ),
      );
      await resumed;
      await delivered;
      expect(String(alice.jid)).toBe(`${jid('alice')}/mobile`);
      expect(alice.streamManagement.id).toBe(firstId);
      expect(unavailable).toEqual([]);
      alice.reconnect.stop();
    });

    it('stores what a session never acknowledged when nobody resumes it in time', async () => {
      const { xml } = await loadXmpp();
      const alice = await login('alice', 'mobile');
      const bob = await login('bob');
      if (!alice.streamManagement.enabled)
        await nextStanza(alice, (element) => element.is('enabled', 'urn:xmpp:sm:3'));
      await bob.send(xml('presence'));
      await alice.send(xml('presence'));
      // Directed presence, so Bob learns when Alice's session is finally over.
      await alice.send(xml('presence', { to: `${jid('bob')}/desk` }));
      await nextStanza(
        bob,
        (s) => s.is('presence') && String(s.attrs.from).startsWith(jid('alice')),
      );

      alice.socket!.socket!.terminate();
      await bob.send(
        xml(
          'message',
          { to: `${jid('alice')}/mobile`, type: 'chat' },
          xml('body', {}, 'kept for later'),
        ),
      );
      await presenceFrom(bob, `${jid('alice')}/mobile`, 'unavailable');

      const again = await login('alice', 'tablet');
      const kept = nextStanza(
        again,
        (s) => s.is('message') && s.getChildText('body') === 'kept for later',
      );
      await again.send(xml('presence'));
      expect((await kept).getChild('delay', 'urn:xmpp:delay')).toBeDefined();
    });
  },
);
