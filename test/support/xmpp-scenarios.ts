/**
 * XMPP scenarios written once and run against any server (Video Window and Prosody) by
 * the conformance suite: each drives real xmpp.js clients and returns what it observed,
 * with the accounts' JIDs replaced by their names, so two servers can be compared.
 */
import type { Element } from 'ltx';
import { loadXmpp, nextStanza, XmppClient } from './xmpp-client';

export type AccountName = 'alice' | 'bob';

export interface XmppTarget {
  name: string;
  service: string;
  domain: string;
  /** Login username and password of each account. */
  credentials: Record<AccountName, { username: string; password: string }>;
  /** Bare JID of each account. */
  jids: Record<AccountName, string>;
}

export interface ScenarioContext {
  target: XmppTarget;
  login(account: AccountName, resource: string): Promise<XmppClient>;
  /** Replaces the accounts' JIDs and the domain in a text by ALICE, BOB, DOMAIN. */
  normalize(text: string): string;
}

export interface Scenario {
  name: string;
  run(context: ScenarioContext): Promise<unknown>;
}

const PING = 'urn:xmpp:ping';
const ROSTER = 'jabber:iq:roster';
const DISCO_INFO = 'http://jabber.org/protocol/disco#info';

async function iqError(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'result';
  } catch (error) {
    return (error as { condition?: string }).condition ?? String(error);
  }
}

const body = (text: string) => (stanza: Element) =>
  stanza.is('message') && stanza.getChildText('body') === text;

/** The parts of a stanza both servers must agree on. */
function describe(stanza: Element, context: ScenarioContext) {
  return {
    name: stanza.name,
    type: stanza.attrs.type,
    from: context.normalize(String(stanza.attrs.from)),
    to: context.normalize(String(stanza.attrs.to)),
    body: stanza.getChildText('body') ?? undefined,
    error: stanza.getChild('error')?.getChildElements()[0]?.name,
  };
}

async function rosterItems(xmpp: XmppClient, context: ScenarioContext) {
  const { xml } = await loadXmpp();
  const query = await xmpp.iqCaller.get(xml('query', { xmlns: ROSTER }));
  return query.getChildren('item').map((item) => ({
    jid: context.normalize(String(item.attrs.jid)),
    subscription: item.attrs.subscription,
    ask: item.attrs.ask,
    name: item.attrs.name,
    groups: item.getChildren('group').map((group) => group.getText()),
  }));
}

/** Sends a ping to the server and waits for it: everything sent before is handled. */
async function sync(xmpp: XmppClient, domain: string) {
  const { xml } = await loadXmpp();
  await xmpp.iqCaller.request(xml('iq', { type: 'get', to: domain }, xml('ping', { xmlns: PING })));
}

export const XMPP_SCENARIOS: Scenario[] = [
  {
    name: 'server answers ping, disco#info and unknown IQs',
    async run({ target, login }) {
      const { xml } = await loadXmpp();
      const alice = await login('alice', 'one');
      const ping = await alice.iqCaller.request(
        xml('iq', { type: 'get', to: target.domain }, xml('ping', { xmlns: PING })),
      );
      const info = await alice.iqCaller.get(xml('query', { xmlns: DISCO_INFO }), target.domain);
      const identity = info.getChild('identity');
      const features = info.getChildren('feature').map((f) => f.attrs.var as string);
      return {
        ping: ping.attrs.type,
        identity: { category: identity?.attrs.category, type: identity?.attrs.type },
        coreFeatures: [DISCO_INFO, 'http://jabber.org/protocol/disco#items', PING].map((f) =>
          features.includes(f),
        ),
        unknownGet: await iqError(
          alice.iqCaller.get(xml('query', { xmlns: 'urn:example:nothing' }), target.domain),
        ),
        unknownSet: await iqError(
          alice.iqCaller.set(xml('query', { xmlns: 'urn:example:nothing' }), target.domain),
        ),
        malformedJid: await iqError(alice.iqCaller.get(xml('ping', { xmlns: PING }), 'a@@b')),
      };
    },
  },
  {
    name: 'roster set, get, push and remove',
    async run(context) {
      const { xml } = await loadXmpp();
      const alice = await context.login('alice', 'one');
      const before = await rosterItems(alice, context);
      const push = nextStanza(alice, (s) => s.is('iq') && s.attrs.type === 'set');
      await alice.iqCaller.set(
        xml(
          'query',
          { xmlns: ROSTER },
          xml('item', { jid: context.target.jids.bob, name: 'Bob' }, xml('group', {}, 'Friends')),
        ),
      );
      const pushed = (await push).getChild('query', ROSTER)?.getChild('item');
      const after = await rosterItems(alice, context);
      const twoItems = await iqError(
        alice.iqCaller.set(
          xml(
            'query',
            { xmlns: ROSTER },
            xml('item', { jid: 'x@example.org' }),
            xml('item', { jid: 'y@example.org' }),
          ),
        ),
      );
      await alice.iqCaller.set(
        xml(
          'query',
          { xmlns: ROSTER },
          xml('item', { jid: context.target.jids.bob, subscription: 'remove' }),
        ),
      );
      return {
        before,
        pushed: pushed && {
          jid: context.normalize(String(pushed.attrs.jid)),
          subscription: pushed.attrs.subscription,
          name: pushed.attrs.name,
        },
        after,
        twoItems,
        removed: await rosterItems(alice, context),
      };
    },
  },
  {
    name: 'presence subscription handshake both ways',
    async run(context) {
      const { xml } = await loadXmpp();
      const { jids } = context.target;
      const alice = await context.login('alice', 'one');
      const bob = await context.login('bob', 'one');
      await rosterItems(alice, context);
      await rosterItems(bob, context);
      await alice.send(xml('presence'));
      await bob.send(xml('presence'));
      await sync(alice, context.target.domain);
      await sync(bob, context.target.domain);
      const request = nextStanza(bob, (s) => s.is('presence') && s.attrs.type === 'subscribe');
      await alice.send(xml('presence', { to: jids.bob, type: 'subscribe' }));
      const asked = describe(await request, context);
      const aliceAfterAsk = await rosterItems(alice, context);
      const bobPresence = nextStanza(
        alice,
        (s) => s.is('presence') && !s.attrs.type && String(s.attrs.from).startsWith(jids.bob),
      );
      await bob.send(xml('presence', { to: jids.alice, type: 'subscribed' }));
      const seen = describe(await bobPresence, context);
      await sync(bob, context.target.domain);
      const rosters = {
        alice: await rosterItems(alice, context),
        bob: await rosterItems(bob, context),
      };
      const unsubscribed = nextStanza(
        alice,
        (s) => s.is('presence') && s.attrs.type === 'unavailable',
      );
      await bob.send(xml('presence', { to: jids.alice, type: 'unsubscribed' }));
      const goneFromView = describe(await unsubscribed, context);
      await sync(bob, context.target.domain);
      return {
        asked,
        aliceAfterAsk,
        seen,
        rosters,
        goneFromView,
        afterCancel: {
          alice: await rosterItems(alice, context),
          bob: await rosterItems(bob, context),
        },
      };
    },
  },
  {
    name: 'messages to bare and full JIDs, a gone resource, and IQs between clients',
    async run(context) {
      const { xml } = await loadXmpp();
      const { jids } = context.target;
      const alice = await context.login('alice', 'one');
      const bob = await context.login('bob', 'laptop');
      await bob.send(xml('presence'));
      await sync(bob, context.target.domain);
      bob.iqCallee.get('urn:example:offer', 'offer', () =>
        xml('offer', { xmlns: 'urn:example:offer' }, 'yes'),
      );
      const observed: unknown[] = [];
      for (const [to, text] of [
        [jids.bob, 'to bare'],
        [`${jids.bob}/laptop`, 'to full'],
        [`${jids.bob}/gone`, 'to a gone resource'],
      ]) {
        const received = nextStanza(bob, body(text));
        await alice.send(xml('message', { to, type: 'chat' }, xml('body', {}, text)));
        observed.push(describe(await received, context));
      }
      const answer = await alice.iqCaller.get(
        xml('offer', { xmlns: 'urn:example:offer' }),
        `${jids.bob}/laptop`,
      );
      return {
        observed,
        iq: answer?.getText(),
        iqToGone: await iqError(
          alice.iqCaller.get(xml('offer', { xmlns: 'urn:example:offer' }), `${jids.bob}/gone`),
        ),
      };
    },
  },
  {
    name: 'offline messages are delivered at the next login, with a delay stamp',
    async run(context) {
      const { xml } = await loadXmpp();
      const alice = await context.login('alice', 'one');
      await alice.send(
        xml('message', { to: context.target.jids.bob, type: 'chat' }, xml('body', {}, 'later 1')),
      );
      await alice.send(
        xml('message', { to: context.target.jids.bob, type: 'chat' }, xml('body', {}, 'later 2')),
      );
      await sync(alice, context.target.domain);
      const bob = await context.login('bob', 'phone');
      const received: Element[] = [];
      bob.on('stanza', (s) => {
        if (s.is('message')) received.push(s);
      });
      const last = nextStanza(bob, body('later 2'));
      await bob.send(xml('presence'));
      await last;
      return received.map((message) => ({
        ...describe(message, context),
        delayed: !!message.getChild('delay', 'urn:xmpp:delay'),
      }));
    },
  },
  {
    name: 'a subscription request to an offline user waits for their next login',
    async run(context) {
      const { xml } = await loadXmpp();
      const { jids, domain } = context.target;
      const alice = await context.login('alice', 'one');
      await rosterItems(alice, context);
      await alice.send(xml('presence'));
      await alice.send(xml('presence', { to: jids.bob, type: 'subscribe' }));
      await sync(alice, domain);
      const bob = await context.login('bob', 'later');
      const request = nextStanza(bob, (s) => s.is('presence') && s.attrs.type === 'subscribe');
      await bob.send(xml('presence'));
      const approved = nextStanza(alice, (s) => s.is('presence') && s.attrs.type === 'subscribed');
      const received = describe(await request, context);
      await bob.send(xml('presence', { to: jids.alice, type: 'subscribed' }));
      const answer = describe(await approved, context);
      await sync(bob, domain);
      return { received, answer, alice: await rosterItems(alice, context) };
    },
  },
  {
    name: 'presence broadcast to own resources and directed presence',
    async run(context) {
      const { xml } = await loadXmpp();
      const { jids } = context.target;
      const one = await context.login('alice', 'one');
      const two = await context.login('alice', 'two');
      const bob = await context.login('bob', 'desk');
      await bob.send(xml('presence'));
      await two.send(xml('presence'));
      await sync(bob, context.target.domain);
      await sync(two, context.target.domain);
      const own = nextStanza(two, (s) => s.is('presence') && String(s.attrs.from).endsWith('/one'));
      await one.send(xml('presence', {}, xml('status', {}, 'here')));
      const ownSeen = await own;
      const directed = nextStanza(
        bob,
        (s) => s.is('presence') && String(s.attrs.from).startsWith(jids.alice),
      );
      await one.send(
        xml('presence', { to: `${jids.bob}/desk` }, xml('status', {}, 'just for bob')),
      );
      const directedSeen = await directed;
      const leaving = nextStanza(
        bob,
        (s) =>
          s.is('presence') &&
          s.attrs.type === 'unavailable' &&
          String(s.attrs.from).startsWith(jids.alice),
      );
      await one.send(xml('presence', { type: 'unavailable' }));
      return {
        own: { ...describe(ownSeen, context), status: ownSeen.getChildText('status') },
        directed: {
          ...describe(directedSeen, context),
          status: directedSeen.getChildText('status'),
        },
        directedEnds: describe(await leaving, context),
      };
    },
  },
];
