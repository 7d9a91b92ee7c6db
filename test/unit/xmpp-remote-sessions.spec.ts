/**
 * RemoteSessions against a bus this test drives: copies of other shards' sessions in the
 * router, forwarded stanzas routed as from them, deliveries to this shard's sessions,
 * and bus messages that are not what they should be (dropped with a warning, never a
 * failure, never a change).
 */
import fc from 'fast-check';
import { Element, parse } from 'ltx';
import { EventEmitter } from 'node:events';
import { ClusterBus } from '../../src/cluster/cluster-bus';
import { ClusterEvents, ClusterService } from '../../src/cluster/cluster.service';
import { AppConfig } from '../../src/config/config.schema';
import type { Logger } from '../../src/observability/logger';
import { TOPICS } from '../../src/signaling/xmpp/cluster/bus-messages';
import { RemoteSessions } from '../../src/signaling/xmpp/cluster/remote-sessions';
import { Jid } from '../../src/signaling/xmpp/core/jid';
import { StanzaRouter } from '../../src/signaling/xmpp/core/stanza-router';
import { XmppSession } from '../../src/signaling/xmpp/core/xmpp-session';
import { fuzzParameters } from '../support/fuzz';

/** A bus whose messages the test sends, as if from another shard, and whose output it reads. */
class TestBus extends ClusterBus {
  readonly sent: { shardId: string | null; topic: string; payload: Record<string, unknown> }[] = [];
  /** While down, every send fails. */
  down = false;

  async send(shardId: string, topic: string, payload: unknown) {
    if (this.down) throw new Error('bus down');
    this.sent.push({ shardId, topic, payload: payload as Record<string, unknown> });
  }

  async broadcast(topic: string, payload: unknown) {
    if (this.down) throw new Error('bus down');
    this.sent.push({ shardId: null, topic, payload: payload as Record<string, unknown> });
  }

  arrive(topic: string, payload: unknown, fromShard: unknown = 'there') {
    this.dispatch(topic, payload, fromShard as string);
  }
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

const BOB = 'bob@localhost/phone';
const state = (overrides: Record<string, unknown> = {}) => ({
  jid: BOB,
  account: { localpart: 'bob', displayName: 'Bob', kind: 'user' },
  presence: '<presence xmlns="jabber:client"><status>here</status></presence>',
  interestedInRoster: true,
  ...overrides,
});

function setup() {
  const config = {
    xmpp: { domain: 'localhost', maxStanzaBytes: 4096, maxDepth: 8 },
  } as AppConfig;
  const logger = {
    warn: jest.fn(),
    error: jest.fn(),
    info: jest.fn(),
    debug: jest.fn(),
  } as unknown as Logger & Record<'warn' | 'error', jest.Mock>;
  const router = new StanzaRouter(config, logger);
  const events = new EventEmitter<ClusterEvents>();
  const cluster = {
    id: 'here',
    events,
    shards: () => [{ id: 'here' }, { id: 'there' }],
  } as unknown as ClusterService;
  const bus = new TestBus();
  const sessions = new RemoteSessions(config, router, cluster, bus, logger);
  sessions.onModuleInit();
  /** A session this shard carries, with what its stream wrote. */
  const local = (full: string) => {
    const session = new XmppSession(Jid.parse(full)!, {
      localpart: Jid.parse(full)!.local,
      displayName: full,
      kind: 'guest',
    });
    const written: Element[] = [];
    session.attach(
      'stream',
      (stanza) => written.push(stanza),
      () => undefined,
    );
    router.bind(session);
    return { session, written };
  };
  return { router, bus, logger, events, sessions, local };
}

describe('RemoteSessions', () => {
  it("keeps a copy of another shard's session whose stanzas go to its home, until it ends there", async () => {
    const { router, bus } = setup();
    bus.arrive(TOPICS.session, state());
    const copy = router.session(BOB)!;
    expect(copy).toMatchObject({ home: 'there', remote: true, interestedInRoster: true });
    expect(router.availableSessions('bob@localhost')).toEqual([copy]);
    expect(router.localSessions()).toEqual([]);

    copy.send(parse('<message xmlns="jabber:client" to="bob@localhost/phone" id="m1"/>'));
    expect(bus.sent.at(-1)).toMatchObject({
      shardId: 'there',
      topic: TOPICS.deliver,
      payload: { to: BOB },
    });
    expect(bus.sent.at(-1)!.payload.stanza).toContain('id="m1"');

    // A change updates the same copy (MUC occupants hold on to it); another shard's
    // word about it counts for nothing.
    bus.arrive(TOPICS.session, state({ presence: null }));
    expect(router.session(BOB)).toBe(copy);
    expect(copy.available).toBe(false);
    bus.arrive(TOPICS.ended, { jid: BOB, reason: 'closed' }, 'elsewhere');
    expect(router.session(BOB)).toBe(copy);
    bus.arrive(TOPICS.ended, { jid: BOB, reason: 'closed' });
    expect(router.session(BOB)).toBeUndefined();
    expect(copy.ended).toBe(true);
  });

  it("announces this shard's sessions, and ends the copies of a shard that is gone", async () => {
    const { router, bus, events, sessions, local } = setup();
    const lost: string[] = [];
    sessions.onShardLost((shardId) => lost.push(shardId));
    const { session } = local('ann@localhost/desk');
    await settle();
    expect(bus.sent).toContainEqual({
      shardId: null,
      topic: TOPICS.session,
      payload: expect.objectContaining({ jid: 'ann@localhost/desk', presence: null }),
    });
    bus.arrive(TOPICS.session, state());
    events.emit('shardGone', 'there');
    expect(router.session(BOB)).toBeUndefined();
    expect(lost).toEqual(['there']);

    // When it comes back, it gets this shard's sessions and hears that it was forgotten.
    events.emit('shardSeen', 'there');
    expect(bus.sent.at(-1)).toMatchObject({
      shardId: 'there',
      topic: TOPICS.sessions,
      payload: {
        reply: true,
        forgot: true,
        sessions: [expect.objectContaining({ jid: session.full })],
      },
    });
    session.end('closed');
    await settle();
    expect(bus.sent.at(-1)).toEqual({
      shardId: null,
      topic: TOPICS.ended,
      payload: { jid: 'ann@localhost/desk', reason: 'closed' },
    });
  });

  it('swaps its sessions with every other shard when the bus is back after failing', async () => {
    const { bus, local } = setup();
    bus.down = true;
    local('ann@localhost/desk');
    await settle();
    bus.down = false;
    local('bea@localhost/desk');
    await settle();
    expect(bus.sent.map(({ shardId, topic }) => [shardId, topic])).toEqual([
      [null, TOPICS.session],
      ['there', TOPICS.sessions],
    ]);
    const listed = bus.sent[1].payload.sessions as { jid: string }[];
    expect(listed.map((session) => session.jid).sort()).toEqual([
      'ann@localhost/desk',
      'bea@localhost/desk',
    ]);
    expect(bus.sent[1].payload.reply).toBe(true);
  });

  it("replaces a shard's copies with the sessions it lists, and answers when asked", () => {
    const { router, bus, sessions } = setup();
    const lost: string[] = [];
    sessions.onShardLost((shardId) => lost.push(shardId));
    bus.arrive(TOPICS.session, state({ jid: 'old@localhost/x' }));
    bus.arrive(TOPICS.sessions, { sessions: [state()], reply: true, forgot: true });
    expect(router.session('old@localhost/x')).toBeUndefined();
    expect(router.session(BOB)?.home).toBe('there');
    expect(lost).toEqual(['there']);
    expect(bus.sent.at(-1)).toMatchObject({
      shardId: 'there',
      topic: TOPICS.sessions,
      payload: { reply: false, forgot: false, sessions: [] },
    });
  });

  it('routes a forwarded stanza as from its copy; one from a session it does not know is answered', async () => {
    const { router, bus } = setup();
    const origins: XmppSession[] = [];
    router.handle('message/bare', (_stanza, origin) => origins.push(origin));
    const message =
      '<message xmlns="jabber:client" to="room@localhost" id="f1"><body>x</body></message>';
    bus.arrive(TOPICS.session, state());
    bus.arrive(TOPICS.stanza, { from: BOB, stanza: message });
    await settle();
    expect(origins).toEqual([router.session(BOB)]);

    // The copy ended (or never arrived), or the stanza comes from a shard not its home.
    bus.arrive(TOPICS.stanza, { from: 'gone@localhost/x', stanza: message });
    bus.arrive(TOPICS.stanza, { from: BOB, stanza: message }, 'elsewhere');
    await settle();
    expect(origins).toHaveLength(1);
    const bounces = bus.sent.filter((sent) => sent.topic === TOPICS.deliver);
    expect(bounces.map(({ shardId, payload }) => [shardId, payload.to])).toEqual([
      ['there', 'gone@localhost/x'],
      ['elsewhere', BOB],
    ]);
    const bounce = parse(String(bounces[0].payload.stanza));
    expect(bounce.attrs).toMatchObject({ type: 'error', id: 'f1' });
    expect(bounce.getChild('error')?.getChild('service-unavailable')).toBeDefined();
  });

  it('delivers to a session of this shard; for one that ended, only an IQ request is answered', async () => {
    const { bus, sessions, local } = setup();
    const observed: string[] = [];
    sessions.onDelivery((session, stanza) => observed.push(`${session.full} ${stanza.attrs.id}`));
    const { written } = local('ann@localhost/desk');
    bus.arrive(TOPICS.session, state());
    bus.arrive(TOPICS.deliver, {
      to: 'ann@localhost/desk',
      stanza: '<message xmlns="jabber:client" id="d1"/>',
    });
    expect(written.map((stanza) => stanza.attrs.id)).toEqual(['d1']);
    expect(observed).toEqual(['ann@localhost/desk d1']);

    bus.sent.length = 0;
    for (const stanza of [
      `<iq xmlns="jabber:client" type="get" id="q1" from="${BOB}"><ping xmlns="urn:xmpp:ping"/></iq>`,
      `<iq xmlns="jabber:client" type="result" id="q2" from="${BOB}"/>`,
      `<message xmlns="jabber:client" id="d2" from="${BOB}"/>`,
      `<presence xmlns="jabber:client" id="d3" from="${BOB}"/>`,
    ])
      bus.arrive(TOPICS.deliver, { to: 'gone@localhost/x', stanza });
    // A delivery to a copy is no delivery of this shard's either.
    bus.arrive(TOPICS.deliver, { to: BOB, stanza: '<message xmlns="jabber:client" id="d4"/>' });
    expect(bus.sent).toHaveLength(1);
    expect(bus.sent[0]).toMatchObject({ shardId: 'there', payload: { to: BOB } });
    expect(bus.sent[0].payload.stanza).toMatch(/type="error".*id="q1".*service-unavailable/);
    expect(observed).toHaveLength(1);
  });

  it('drops bus messages that are not what they should be, with a warning and no change', async () => {
    const { router, bus, logger, local } = setup();
    local('ann@localhost/desk');
    const bad: [string, unknown, unknown?][] = [
      [TOPICS.session, null],
      [TOPICS.session, 'text'],
      [TOPICS.session, state({ jid: 'bob@localhost' })],
      [TOPICS.session, state({ jid: 'bob@example.org/x' })],
      [TOPICS.session, state({ jid: 'a@@b/c' })],
      [TOPICS.session, state({ presence: '<presence xmlns="jabber:client" type="probe"/>' })],
      [TOPICS.session, state({ presence: '<message xmlns="jabber:client"/>' })],
      [TOPICS.session, state({ presence: '<presence><!-- x --></presence>' })],
      [TOPICS.session, state({ presence: '<presence xmlns="jabber:client">' })],
      [TOPICS.session, state({ presence: `<presence xmlns="jabber:client">${'<a>'.repeat(20)}` })],
      [TOPICS.session, state({ account: { localpart: 'a b', displayName: 'x', kind: 'user' } })],
      [TOPICS.session, state({ account: { localpart: 'bob', displayName: 'x', kind: 'admin' } })],
      [TOPICS.session, state({ interestedInRoster: 'yes' })],
      [TOPICS.session, state(), 42],
      [TOPICS.session, state(), 'here'],
      [TOPICS.ended, { jid: 'ann@localhost/desk', reason: 'bored' }],
      [TOPICS.sessions, { sessions: [state(), 'x'], reply: true, forgot: false }],
      [TOPICS.sessions, { sessions: 'all', reply: true, forgot: false }],
      [TOPICS.stanza, { from: BOB, stanza: '<open xmlns="urn:ietf:params:xml:ns:xmpp-framing"/>' }],
      [TOPICS.stanza, { from: BOB, stanza: '<message xmlns="jabber:client">' + 'x'.repeat(20000) }],
      [TOPICS.stanza, { from: BOB, stanza: '<message xmlns="jabber:server"/>' }],
      [TOPICS.deliver, { to: 'ann@localhost/desk', stanza: '<message/><message/>' }],
      [TOPICS.deliver, { to: 'ann@localhost/desk' }],
      [TOPICS.deliver, { to: ['ann@localhost/desk'], stanza: '<message xmlns="jabber:client"/>' }],
    ];
    for (const [topic, payload, from] of bad) bus.arrive(topic, payload, from ?? 'there');
    await settle();
    expect(router.allSessions().map((session) => session.full)).toEqual(['ann@localhost/desk']);
    expect(logger.error).not.toHaveBeenCalled();
    // Every malformed message is named (messages from this shard or no shard are ignored).
    expect(logger.warn).toHaveBeenCalledTimes(bad.length - 2);
  });

  it('never fails on arbitrary or mutated bus messages', async () => {
    const { router, bus, logger, local } = setup();
    local('ann@localhost/desk');
    const mutated = (valid: Record<string, unknown>) =>
      fc.record(
        Object.fromEntries(
          Object.entries(valid).map(([key, value]) => [
            key,
            fc.oneof(fc.constant(value), fc.anything()),
          ]),
        ),
      );
    const stanzaText = fc.oneof(
      fc.string(),
      fc.constantFrom('<message xmlns="jabber:client"/>', '<iq xmlns="jabber:client" type="get"/>'),
      fc.string().map((text) => `<presence xmlns="jabber:client">${text}</presence>`),
    );
    const message = fc.oneof(
      fc.tuple(fc.constantFrom(...Object.values(TOPICS)), fc.anything()),
      fc.tuple(fc.constant(TOPICS.session), mutated(state())),
      fc.tuple(fc.constant(TOPICS.ended), mutated({ jid: BOB, reason: 'closed' })),
      fc.tuple(
        fc.constant(TOPICS.sessions),
        mutated({ sessions: [state()], reply: true, forgot: true }),
      ),
      fc.tuple(
        fc.constantFrom(TOPICS.stanza, TOPICS.deliver),
        fc.record({
          from: fc.constantFrom(BOB, 'ann@localhost/desk'),
          to: fc.constantFrom(BOB, 'ann@localhost/desk'),
          stanza: stanzaText,
        }),
      ),
    );
    await fc.assert(
      fc.asyncProperty(message, async ([topic, payload]) => {
        expect(() => bus.arrive(topic, payload)).not.toThrow();
        await settle();
        // Whatever came through is a proper copy of a session of that shard.
        for (const session of router.allSessions())
          expect(session.remote ? session.home : session.full).toMatch(
            /^(there|ann@localhost\/desk)$/,
          );
      }),
      fuzzParameters(500),
    );
    expect(logger.error).not.toHaveBeenCalled();
  });
});
