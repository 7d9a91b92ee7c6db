/**
 * Multi-user chat (XEP-0045) scenarios for the conformance suite, run against Prosody
 * and Video Window alike. They compare what any client relies on: status codes, the
 * order of join presence, subject, groupchat reflection, history, private messages, IQs
 * between occupants and error conditions. Affiliations and roles are left out: in
 * Video Window they come from the conference (join token, meeting host), not from who
 * created the room (documented in the README).
 */
import type { Element } from 'ltx';
import { loadXmpp, XmppClient } from './xmpp-client';
import type { Scenario, ScenarioContext } from './xmpp-scenarios';

const MUC = 'http://jabber.org/protocol/muc';
const MUC_USER = 'http://jabber.org/protocol/muc#user';

/** What a client received, and a way to wait for more. */
function record(xmpp: XmppClient) {
  const received: Element[] = [];
  const waiters: (() => void)[] = [];
  xmpp.on('stanza', (stanza) => {
    received.push(stanza);
    for (const waiter of [...waiters]) waiter();
  });
  const waitFor = (match: (stanza: Element) => boolean) =>
    new Promise<Element>((resolve, reject) => {
      const check = () => {
        const found = received.find(match);
        if (!found) return;
        waiters.splice(waiters.indexOf(check), 1);
        clearTimeout(timer);
        resolve(found);
      };
      const timer = setTimeout(() => {
        waiters.splice(waiters.indexOf(check), 1);
        reject(new Error(`no matching stanza among:\n${received.join('\n')}`));
      }, 10_000);
      waiters.push(check);
      check();
    });
  return { received, waitFor };
}

const codes = (stanza: Element) =>
  (stanza.getChild('x', MUC_USER)?.getChildren('status') ?? [])
    .map((status) => Number(status.attrs.code))
    .sort();
const condition = (stanza: Element) => stanza.getChild('error')?.getChildElements()[0]?.name;

async function occupant(context: ScenarioContext, account: 'alice' | 'bob', resource: string) {
  const { xml } = await loadXmpp();
  const xmpp = await context.login(account, resource);
  const recorder = record(xmpp);
  await xmpp.send(xml('presence'));
  const room = `muc-${resource}@conference.${context.target.domain}`;
  /** Joins as `nick`; resolves with the self-presence or the error. */
  const join = async (nick: string, roomJid = room) => {
    await xmpp.send(xml('presence', { to: `${roomJid}/${nick}` }, xml('x', { xmlns: MUC })));
    return recorder.waitFor(
      (s) =>
        s.is('presence') &&
        s.attrs.from === `${roomJid}/${nick}` &&
        (s.attrs.type === 'error' || codes(s).includes(110)),
    );
  };
  return { xmpp, room, join, ...recorder };
}

/** A stanza reduced to what both servers must agree on, with the room JID as ROOM. */
function summary(stanza: Element, room: string) {
  return {
    name: stanza.name,
    type: stanza.attrs.type,
    from: String(stanza.attrs.from).replace(room, 'ROOM'),
    codes: codes(stanza),
    body: stanza.getChildText('body') ?? undefined,
    subject: stanza.getChildText('subject') ?? undefined,
    delayed: stanza.getChild('delay', 'urn:xmpp:delay') !== undefined,
    error: condition(stanza),
  };
}

export const MUC_SCENARIOS: Scenario[] = [
  {
    name: 'MUC: join presence in order, 110 and 201, empty subject, leaving',
    async run(context) {
      const { xml } = await loadXmpp();
      const alice = await occupant(context, 'alice', 'join');
      const aliceSelf = await alice.join('alice');
      await alice.waitFor((s) => s.getChild('subject') !== undefined);
      const bob = await occupant(context, 'bob', 'join');
      const bobSelf = await bob.join('bob', alice.room);
      await bob.waitFor((s) => s.getChild('subject') !== undefined);
      await alice.waitFor((s) => s.attrs.from === `${alice.room}/bob`);
      await bob.xmpp.send(xml('presence', { to: `${alice.room}/bob`, type: 'unavailable' }));
      await alice.waitFor(
        (s) => s.attrs.from === `${alice.room}/bob` && s.attrs.type === 'unavailable',
      );
      await bob.waitFor(
        (s) => s.attrs.from === `${alice.room}/bob` && s.attrs.type === 'unavailable',
      );
      const fromRoom = (s: Element) => String(s.attrs.from).startsWith(alice.room);
      return {
        aliceSelf: summary(aliceSelf, alice.room),
        bobSelf: summary(bobSelf, alice.room),
        alice: alice.received.filter(fromRoom).map((s) => summary(s, alice.room)),
        bob: bob.received.filter(fromRoom).map((s) => summary(s, alice.room)),
      };
    },
  },
  {
    name: 'MUC: groupchat reflection, history, private messages and IQs between occupants',
    async run(context) {
      const { xml } = await loadXmpp();
      const alice = await occupant(context, 'alice', 'chat');
      await alice.join('alice');
      const groupchat = (text: string, id: string) =>
        xml('message', { to: alice.room, type: 'groupchat', id }, xml('body', {}, text));
      await alice.xmpp.send(groupchat('first', 'g1'));
      const reflected = await alice.waitFor((s) => s.attrs.id === 'g1');
      const bob = await occupant(context, 'bob', 'chat');
      await bob.join('bob', alice.room);
      const history = await bob.waitFor((s) => s.getChildText('body') === 'first');
      await bob.waitFor((s) => s.getChild('subject') !== undefined);
      await bob.xmpp.send(
        xml(
          'message',
          { to: `${alice.room}/alice`, type: 'chat', id: 'p1' },
          xml('body', {}, 'psst'),
        ),
      );
      const privately = await alice.waitFor((s) => s.attrs.id === 'p1');
      alice.xmpp.iqCallee.get('urn:example:probe', 'probe', () =>
        xml('probe', { xmlns: 'urn:example:probe' }, 'answer'),
      );
      const answer = await bob.xmpp.iqCaller.request(
        xml(
          'iq',
          { type: 'get', to: `${alice.room}/alice` },
          xml('probe', { xmlns: 'urn:example:probe' }),
        ),
      );
      return {
        reflected: summary(reflected, alice.room),
        history: summary(history, alice.room),
        private: {
          ...summary(privately, alice.room),
          mucUser: privately.getChild('x', MUC_USER) !== undefined,
        },
        iq: { ...summary(answer, alice.room), payload: answer.getChildText('probe') },
      };
    },
  },
  {
    name: 'MUC: refusals (taken nickname, outsiders)',
    async run(context) {
      const { xml } = await loadXmpp();
      const alice = await occupant(context, 'alice', 'refusals');
      await alice.join('alice');
      const bob = await occupant(context, 'bob', 'refusals');
      const taken = await bob.join('alice', alice.room);
      await bob.xmpp.send(
        xml('message', { to: alice.room, type: 'groupchat', id: 'out' }, xml('body', {}, 'hi')),
      );
      const outsider = await bob.waitFor((s) => s.attrs.id === 'out');
      await bob.xmpp.send(
        xml(
          'message',
          { to: `${alice.room}/alice`, type: 'chat', id: 'pm' },
          xml('body', {}, 'hi'),
        ),
      );
      const outsiderPrivate = await bob.waitFor((s) => s.attrs.id === 'pm');
      return {
        taken: condition(taken),
        outsider: condition(outsider),
        outsiderPrivate: condition(outsiderPrivate),
        aliceHeardNothing: alice.received.every((s) => !['out', 'pm'].includes(String(s.attrs.id))),
      };
    },
  },
];
