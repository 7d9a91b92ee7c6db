/**
 * Hostile input on the XMPP door, from a raw WebSocket: each case ends in the protocol's
 * own error (a stream error, a stanza error or the WebSocket's close code) and a client
 * that was connected all along keeps working.
 */
import { getRepositoryToken } from '@nestjs/typeorm';
import { connect } from 'node:net';
import { Repository } from 'typeorm';
import { JoinTokenService } from '../../src/portal/join-token.service';
import { UsersService } from '../../src/portal/users/users.service';
import { RosterItem } from '../../src/signaling/xmpp/roster/roster-item.entity';
import { MAX_UNACKED } from '../../src/signaling/xmpp/sm/stream-management';
import { eventually } from '../support/node-participant';
import { OPEN, rawGuest, rawXmpp, RawXmpp, saslAuth } from '../support/raw-xmpp';
import { readMetrics } from '../support/shard-process';
import { startShard, TestShard } from '../support/shard';
import { connectXmpp, loadXmpp, XmppClient } from '../support/xmpp-client';

const STREAM_ERROR = (condition: string) =>
  new RegExp(`<stream:error[^>]*><${condition} xmlns="urn:ietf:params:xml:ns:xmpp-streams"`);

/** The stream ends with this stream error, <close/> and a normal WebSocket close. */
async function endsWith(raw: RawXmpp, condition: string) {
  await raw.waitFor(STREAM_ERROR(condition));
  await raw.waitFor(/<close xmlns="urn:ietf:params:xml:ns:xmpp-framing"\/>/);
  expect(await raw.closed).toBe(1000);
}

describe('XMPP bad input', () => {
  let shard: TestShard;
  let service: string;
  let bystander: XmppClient;

  beforeAll(async () => {
    shard = await startShard({
      XMPP_MAX_STANZA_BYTES: '65536',
      XMPP_MAX_DEPTH: '16',
      XMPP_STANZAS_PER_SECOND: '20',
      XMPP_STANZA_BURST: '100',
      XMPP_RESUME_SECONDS: '1',
    });
    service = `${shard.baseUrl.replace('http', 'ws')}/xmpp-websocket`;
    bystander = await connectXmpp({ service, domain: 'localhost', mechanism: 'ANONYMOUS' });
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    // The shard is healthy and the bystander's session still answers.
    const { xml } = await loadXmpp();
    const pong = await bystander.iqCaller.request(
      xml('iq', { type: 'get', to: 'localhost' }, xml('ping', { xmlns: 'urn:xmpp:ping' })),
    );
    expect(pong.attrs.type).toBe('result');
    expect((await fetch(`${shard.baseUrl}/health/live`)).status).toBe(200);
  });

  afterAll(async () => {
    await bystander.stop();
    await shard.close();
  });

  it('refuses an entity-expansion bomb with restricted-xml', async () => {
    const raw = await rawGuest(service);
    const entities = Array.from(
      { length: 9 },
      (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i};`.repeat(10)}">`,
    ).join('');
    raw.send(
      `<!DOCTYPE lolz [<!ENTITY lol0 "lol">${entities}]>` +
        '<message xmlns="jabber:client" to="localhost"><body>&lol9;</body></message>',
    );
    await endsWith(raw, 'restricted-xml');
  });

  it('refuses an undefined entity and broken XML with not-well-formed', async () => {
    const entity = await rawGuest(service);
    entity.send('<message xmlns="jabber:client" to="localhost"><body>&lol9;</body></message>');
    await endsWith(entity, 'not-well-formed');
    const broken = await rawGuest(service);
    broken.send('<message xmlns="jabber:client"><body>unclosed</message>');
    await endsWith(broken, 'not-well-formed');
  });

  it('ends a message that is more than one well-formed element with not-well-formed', async () => {
    const trailing = await rawGuest(service);
    trailing.send(
      '<iq xmlns="jabber:client" type="get" id="t1" to="localhost"><ping xmlns="urn:xmpp:ping"/></iq>garbage',
    );
    await endsWith(trailing, 'not-well-formed');
    expect(trailing.received.some((text) => text.includes('id="t1"'))).toBe(false);
    const duplicate = await rawGuest(service);
    duplicate.send(
      '<iq xmlns="jabber:client" type="get" id="d1" id="d2" to="localhost"><ping xmlns="urn:xmpp:ping"/></iq>',
    );
    await endsWith(duplicate, 'not-well-formed');
  });

  it('ends a text message that is not UTF-8 with unsupported-encoding', async () => {
    const raw = await rawGuest(service);
    const invalid = Buffer.concat([
      Buffer.from('<message xmlns="jabber:client" to="localhost"><body>'),
      Buffer.from([0xc3, 0x28, 0xff]),
      Buffer.from('</body></message>'),
    ]);
    raw.socket.send(invalid, { binary: false });
    await endsWith(raw, 'unsupported-encoding');
  });

  it('answers another element of a namespace the server handles with bad-request', async () => {
    const raw = await rawGuest(service);
    raw.send(
      '<iq xmlns="jabber:client" type="get" id="w1" to="localhost"><item xmlns="http://jabber.org/protocol/disco#info"/></iq>',
    );
    await raw.waitFor(/id="w1"[^]*<bad-request xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/);
    raw.send(
      '<iq xmlns="jabber:client" type="set" id="w2"><item xmlns="jabber:iq:roster" jid="a@localhost"/></iq>',
    );
    await raw.waitFor(/id="w2"[^]*<bad-request xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/);
    raw.send(
      '<iq xmlns="jabber:client" type="get" id="w3" to="localhost"><ping xmlns="urn:xmpp:ping"/></iq>',
    );
    await raw.waitFor(/type="result"[^>]*id="w3"|id="w3"[^>]*type="result"/);
    raw.close();
  });

  it('answers a stanza whose database call fails with internal-server-error, and goes on', async () => {
    const rosters = shard.app.get<Repository<RosterItem>>(getRepositoryToken(RosterItem));
    jest.spyOn(rosters, 'findBy').mockRejectedValueOnce(new Error('database is gone'));
    const raw = await rawGuest(service);
    raw.send('<iq xmlns="jabber:client" type="get" id="r1"><query xmlns="jabber:iq:roster"/></iq>');
    await raw.waitFor(
      /id="r1"[^]*<error type="cancel"><internal-server-error xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/,
    );
    raw.send('<iq xmlns="jabber:client" type="get" id="r2"><query xmlns="jabber:iq:roster"/></iq>');
    await raw.waitFor(/type="result"[^>]*id="r2"|id="r2"[^>]*type="result"/);
    raw.close();
  });

  it('fails a login whose account lookup fails with temporary-auth-failure', async () => {
    jest
      .spyOn(shard.app.get(UsersService), 'findByEmail')
      .mockRejectedValueOnce(new Error('database is gone'));
    const raw = await rawXmpp(service);
    raw.send(OPEN());
    await raw.waitFor(/<mechanisms/);
    raw.send(saslAuth('PLAIN', '\0someone@example.org\0password'));
    await raw.waitFor(
      /<failure xmlns="urn:ietf:params:xml:ns:xmpp-sasl"><temporary-auth-failure\/>/,
    );
    raw.send(saslAuth('ANONYMOUS', ''));
    await raw.waitFor(/<success/);
    raw.close();
  });

  /** A stream logged in with a join token for `identity` (so a resumption can follow). */
  const tokenLogin = async (identity: string) => {
    const token = shard.app
      .get(JoinTokenService)
      .mint({ room: 'resume-room', identity, name: identity, role: 'participant' });
    const raw = await rawXmpp(`${service}?token=${token}`);
    raw.send(OPEN());
    await raw.waitFor(/<mechanisms/);
    raw.send(saslAuth('ANONYMOUS', ''));
    await raw.waitFor(/<success/);
    raw.send(OPEN());
    await raw.waitFor(/<bind/);
    return raw;
  };

  /** Closes a stream as a client would (a mere disconnection keeps it for resumption). */
  const closeStream = async (raw: RawXmpp) => {
    raw.send('<close xmlns="urn:ietf:params:xml:ns:xmpp-framing"/>');
    expect(await raw.closed).toBe(1000);
  };

  /** A bound, resumable session: its stream and SM id. */
  const resumableSession = async (identity: string) => {
    const raw = await tokenLogin(identity);
    raw.send(
      '<iq xmlns="jabber:client" type="set" id="b1"><bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"/></iq>',
    );
    await raw.waitFor(/id="b1"/);
    raw.send('<enable xmlns="urn:xmpp:sm:3" resume="true"/>');
    const previd = /<enabled [^>]*id="([^"]+)"/.exec(await raw.waitFor(/<enabled /))![1];
    return { raw, previd };
  };

  /** A bound, resumable session whose connection then broke: its SM id. */
  const brokenResumableSession = async (identity: string) => {
    const { raw, previd } = await resumableSession(identity);
    raw.socket.terminate();
    return previd;
  };

  it('ends a stream whose session another stream resumed with conflict', async () => {
    const { raw: first, previd } = await resumableSession('taken-over');
    const second = await tokenLogin('taken-over');
    second.send(`<resume xmlns="urn:xmpp:sm:3" previd="${previd}" h="0"/>`);
    await second.waitFor(/<resumed /);
    await endsWith(first, 'conflict');
    second.send(
      '<iq xmlns="jabber:client" type="get" id="p1" to="localhost"><ping xmlns="urn:xmpp:ping"/></iq>',
    );
    await second.waitFor(/type="result"[^>]*id="p1"|id="p1"[^>]*type="result"/);
    await closeStream(second);
  });

  it('keeps the expiry of a session whose resumption gave a bad count', async () => {
    const sessions = async () => (await readMetrics(shard.baseUrl)).videowindow_xmpp_sessions;
    const before = await sessions();
    const previd = await brokenResumableSession('resumer');
    const second = await tokenLogin('resumer');
    second.send(`<resume xmlns="urn:xmpp:sm:3" previd="${previd}" h="99"/>`);
    await second.waitFor(/<failed xmlns="urn:xmpp:sm:3"><unexpected-request/);
    second.close();
    expect(await eventually(sessions, (count) => count === before, 5_000)).toBe(before);
  });

  it('counts stanzas, not <enabled/>, for Stream Management: a resumption replays none', async () => {
    const previd = await brokenResumableSession('replayed');
    const second = await tokenLogin('replayed');
    second.send(`<resume xmlns="urn:xmpp:sm:3" previd="${previd}" h="0"/>`);
    await second.waitFor(/<resumed /);
    second.send(
      '<iq xmlns="jabber:client" type="get" id="p1" to="localhost"><ping xmlns="urn:xmpp:ping"/></iq>',
    );
    await second.waitFor(/type="result"[^>]*id="p1"|id="p1"[^>]*type="result"/);
    expect(second.received.filter((text) => text.startsWith('<enabled'))).toEqual([]);
    await closeStream(second);
  });

  it('leaves a WebSocket upgrade with an unparsable request target to time out', async () => {
    const socket = connect(Number(new URL(shard.baseUrl).port));
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.on('error', () => undefined);
    socket.write(
      'GET //a:b/xmpp-websocket HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n' +
        'Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: xmpp\r\n\r\n',
    );
    await closed;
  });

  it('ends a stanza over the size limit with policy-violation, and 10 MB at the WebSocket', async () => {
    const large = await rawGuest(service);
    large.send(
      `<message xmlns="jabber:client" to="localhost"><body>${'x'.repeat(70_000)}</body></message>`,
    );
    await endsWith(large, 'policy-violation');
    const huge = await rawGuest(service);
    huge.send(
      `<message xmlns="jabber:client" to="localhost"><body>${'x'.repeat(10 * 1024 * 1024)}</body></message>`,
    );
    // RFC 6455 "message too big": the WebSocket layer refuses it before any parsing.
    expect(await huge.closed).toBe(1009);
  });

  it('ends deep nesting with policy-violation', async () => {
    const raw = await rawGuest(service);
    raw.send(
      `<message xmlns="jabber:client" to="localhost">${'<x>'.repeat(500)}${'</x>'.repeat(500)}</message>`,
    );
    await endsWith(raw, 'policy-violation');
  });

  it('ends a stanza flood with policy-violation', async () => {
    const raw = await rawGuest(service);
    for (let i = 0; i < 400; i++)
      raw.send(`<presence xmlns="jabber:client" to="nobody@localhost/${i}"/>`);
    await endsWith(raw, 'policy-violation');
  });

  it('answers bad JIDs with jid-malformed and keeps the stream', async () => {
    const raw = await rawGuest(service);
    raw.send('<message xmlns="jabber:client" id="m1" to="a@b@c"><body>x</body></message>');
    await raw.waitFor(/id="m1"[^]*<jid-malformed xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/);
    raw.send(
      '<iq xmlns="jabber:client" type="get" id="p1" to="localhost"><ping xmlns="urn:xmpp:ping"/></iq>',
    );
    await raw.waitFor(/type="result"[^>]*id="p1"|id="p1"[^>]*type="result"/);
    raw.close();
  });

  it('ends a stream opened for another domain with host-unknown', async () => {
    const raw = await rawXmpp(service);
    raw.send(OPEN('elsewhere.example'));
    await endsWith(raw, 'host-unknown');
  });

  it('ends stanzas before authentication or before binding with not-authorized', async () => {
    const early = await rawXmpp(service);
    early.send(OPEN());
    await early.waitFor(/<mechanisms/);
    early.send('<message xmlns="jabber:client" to="someone@localhost"><body>hi</body></message>');
    await endsWith(early, 'not-authorized');

    const unbound = await rawXmpp(service);
    unbound.send(OPEN());
    await unbound.waitFor(/<mechanisms/);
    unbound.send(saslAuth('ANONYMOUS', ''));
    await unbound.waitFor(/<success/);
    unbound.send(OPEN());
    await unbound.waitFor(/<bind/);
    unbound.send('<presence xmlns="jabber:client"/>');
    await endsWith(unbound, 'not-authorized');
  });

  it('answers a resumption of an unknown session with <failed/>, and binding still works', async () => {
    const raw = await rawXmpp(service);
    raw.send(OPEN());
    await raw.waitFor(/<mechanisms/);
    raw.send(saslAuth('ANONYMOUS', ''));
    await raw.waitFor(/<success/);
    raw.send(OPEN());
    await raw.waitFor(/<sm xmlns="urn:xmpp:sm:3"/);
    raw.send('<resume xmlns="urn:xmpp:sm:3" previd="no-such-session" h="0"/>');
    await raw.waitFor(/<failed xmlns="urn:xmpp:sm:3"><item-not-found/);
    raw.send(
      '<iq xmlns="jabber:client" type="set" id="b1"><bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"/></iq>',
    );
    await raw.waitFor(/id="b1"[^]*<jid>guest-/);
    raw.close();
  });

  it('ends a stream with binary messages or one without <open/> first', async () => {
    const binary = await rawXmpp(service);
    binary.socket.send(Buffer.from(OPEN()));
    await endsWith(binary, 'bad-format');
    const noOpen = await rawXmpp(service);
    noOpen.send('<presence xmlns="jabber:client"/>');
    await endsWith(noOpen, 'invalid-namespace');
  });
});

describe('XMPP bad input: a Stream Management client that never acknowledges', () => {
  let shard: TestShard;

  beforeAll(async () => {
    shard = await startShard({ XMPP_STANZAS_PER_SECOND: '100000', XMPP_STANZA_BURST: '100000' });
  });

  afterAll(() => shard.close());

  it(`is ended with policy-violation once over ${MAX_UNACKED} stanzas wait for its acknowledgement`, async () => {
    const raw = await rawGuest(`${shard.baseUrl.replace('http', 'ws')}/xmpp-websocket`);
    raw.send('<enable xmlns="urn:xmpp:sm:3"/>');
    await raw.waitFor(/<enabled /);
    for (let i = 0; i <= MAX_UNACKED; i++)
      raw.send(
        `<iq xmlns="jabber:client" type="get" id="p${i}" to="localhost"><ping xmlns="urn:xmpp:ping"/></iq>`,
      );
    await endsWith(raw, 'policy-violation');
    const answered = raw.received.filter((text) => /^<iq [^>]*id="p\d+"/.test(text));
    expect(answered).toHaveLength(MAX_UNACKED + 1);
  });
});
