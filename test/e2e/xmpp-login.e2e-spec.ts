/**
 * Every way into the XMPP door, with the real xmpp.js client: SCRAM-SHA-256,
 * SCRAM-SHA-1 and PLAIN with a portal account, PLAIN with a join token, ANONYMOUS for
 * guests, and a `?token=` join token on the WebSocket URL; and each way's failure.
 */
import { JoinTokenService } from '../../src/portal/join-token.service';
import { portalApi } from '../support/portal-api';
import { OPEN, rawXmpp, saslAuth } from '../support/raw-xmpp';
import { startShard, TestShard } from '../support/shard';
import { connectXmpp, loadXmpp, XmppClient } from '../support/xmpp-client';

const ALICE = { email: 'alice@example.org', password: 'alice-password', displayName: 'Alice' };

describe('XMPP login', () => {
  let shard: TestShard;
  let aliceId: string;
  let service: string;
  const clients: XmppClient[] = [];
  const http = portalApi(() => shard);

  const connect = async (login: Parameters<typeof connectXmpp>[0]) => {
    const xmpp = await connectXmpp(login);
    clients.push(xmpp);
    return xmpp;
  };
  const joinToken = (identity: string) =>
    shard.app
      .get(JoinTokenService)
      .mint({ room: 'xmpp-room', identity, name: 'Token User', role: 'participant' });

  beforeAll(async () => {
    shard = await startShard({ LOGIN_RATE_LIMIT_PER_MINUTE: '1000', LOGIN_MAX_FAILURES: '100' });
    service = `${shard.baseUrl.replace('http', 'ws')}/xmpp-websocket`;
    const registered = await http.register(ALICE);
    expect(registered.status).toBe(201);
    aliceId = registered.body.id as string;
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((xmpp) => xmpp.stop().catch(() => undefined)));
  });

  afterAll(() => shard.close());

  it.each(['SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN'] as const)(
    'a portal user logs in with %s by e-mail address or user id; the JID is the user id',
    async (mechanism) => {
      const byEmail = await connect({
        service,
        domain: 'localhost',
        username: ALICE.email,
        password: ALICE.password,
        mechanism,
        resource: 'laptop',
      });
      expect(String(byEmail.jid)).toBe(`${aliceId}@localhost/laptop`);
      const byId = await connect({
        service,
        domain: 'localhost',
        username: aliceId,
        password: ALICE.password,
        mechanism,
      });
      expect(String(byId.jid.bare())).toBe(`${aliceId}@localhost`);
      const { xml } = await loadXmpp();
      const pong = await byId.iqCaller.request(
        xml('iq', { type: 'get', to: 'localhost' }, xml('ping', { xmlns: 'urn:xmpp:ping' })),
      );
      expect(pong.attrs.type).toBe('result');
    },
  );

  it.each(['SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN'] as const)(
    '%s refuses a wrong password and an unknown user with not-authorized',
    async (mechanism) => {
      for (const [username, password] of [
        [ALICE.email, 'wrong-password'],
        ['nobody@example.org', 'whatever-password'],
      ])
        await expect(
          connect({ service, domain: 'localhost', username, password, mechanism }),
        ).rejects.toMatchObject({ condition: 'not-authorized' });
    },
  );

  it('PLAIN accepts a join token as the password', async () => {
    const xmpp = await connect({
      service,
      domain: 'localhost',
      username: 'anything',
      password: joinToken('token-person'),
      mechanism: 'PLAIN',
    });
    expect(String(xmpp.jid.bare())).toBe('token-person@localhost');
    await expect(
      connect({
        service,
        domain: 'localhost',
        username: 'anything',
        password: `${joinToken('token-person').slice(0, -4)}AAAA`,
        mechanism: 'PLAIN',
      }),
    ).rejects.toMatchObject({ condition: 'not-authorized' });
  });

  it('a join token for a portal user logs in as that user', async () => {
    const xmpp = await connect({
      service,
      domain: 'localhost',
      username: 'ignored',
      password: joinToken(aliceId),
      mechanism: 'PLAIN',
    });
    expect(String(xmpp.jid.bare())).toBe(`${aliceId}@localhost`);
  });

  it('ANONYMOUS gives a guest a fresh JID', async () => {
    const one = await connect({ service, domain: 'localhost', mechanism: 'ANONYMOUS' });
    const two = await connect({ service, domain: 'localhost', mechanism: 'ANONYMOUS' });
    expect(String(one.jid)).toMatch(/^guest-[0-9a-f]+@localhost\//);
    expect(String(one.jid.bare())).not.toBe(String(two.jid.bare()));
  });

  it('a ?token= join token on the URL makes ANONYMOUS log in as its identity', async () => {
    const xmpp = await connect({
      service: `${service}?token=${joinToken('url-person')}`,
      domain: 'localhost',
      mechanism: 'ANONYMOUS',
    });
    expect(String(xmpp.jid.bare())).toBe('url-person@localhost');
    await expect(rawXmpp(`${service}?token=not-a-token`)).rejects.toThrow('HTTP 401');
  });

  it('a second login with the same full JID replaces the first with a conflict stream error', async () => {
    const login = {
      service,
      domain: 'localhost',
      username: ALICE.email,
      password: ALICE.password,
      mechanism: 'PLAIN' as const,
      resource: 'same',
    };
    const first = await connect(login);
    const conflict = new Promise((resolve) =>
      first.on('error', (error) => resolve((error as { condition?: string }).condition)),
    );
    const second = await connect(login);
    expect(await conflict).toBe('conflict');
    expect(String(second.jid)).toBe(`${aliceId}@localhost/same`);
    const { xml } = await loadXmpp();
    const pong = await second.iqCaller.request(
      xml('iq', { type: 'get', to: 'localhost' }, xml('ping', { xmlns: 'urn:xmpp:ping' })),
    );
    expect(pong.attrs.type).toBe('result');
  });

  it('counts open connections in videowindow_xmpp_connections', async () => {
    const gauge = async () => {
      const text = await (await fetch(`${shard.baseUrl}/metrics`)).text();
      return Number(/^videowindow_xmpp_connections (\d+)$/m.exec(text)?.[1]);
    };
    const before = await gauge();
    await connect({ service, domain: 'localhost', mechanism: 'ANONYMOUS' });
    await connect({ service, domain: 'localhost', mechanism: 'ANONYMOUS' });
    expect(await gauge()).toBe(before + 2);
  });

  it('refuses a WebSocket without the xmpp subprotocol', async () => {
    await expect(rawXmpp(service, ['chat'])).rejects.toThrow('HTTP 400');
  });

  it('answers SASL failures with their conditions', async () => {
    const raw = await rawXmpp(service);
    raw.send(OPEN());
    await raw.waitFor(/<mechanism>SCRAM-SHA-256<\/mechanism>/);
    raw.send(saslAuth('X-UNKNOWN', 'x'));
    await raw.waitFor(/<failure[^>]*><invalid-mechanism\/>/);
    raw.received.length = 0;
    raw.send(saslAuth('PLAIN', 'no separators'));
    await raw.waitFor(/<failure[^>]*><malformed-request\/>/);
    raw.received.length = 0;
    raw.send(
      '<auth xmlns="urn:ietf:params:xml:ns:xmpp-sasl" mechanism="PLAIN">**not base64**</auth>',
    );
    await raw.waitFor(/<failure[^>]*><incorrect-encoding\/>/);
    // Three failures end the stream.
    await raw.waitFor(/<policy-violation/);
    expect(await raw.closed).toBe(1000);
  });

  it('without guests allowed, ANONYMOUS is neither offered nor accepted', async () => {
    const strict = await startShard({ ALLOW_GUESTS: 'false' });
    try {
      const raw = await rawXmpp(`${strict.baseUrl.replace('http', 'ws')}/xmpp-websocket`);
      raw.send(OPEN());
      const features = await raw.waitFor(/<mechanisms/);
      expect(features).not.toContain('ANONYMOUS');
      raw.send(saslAuth('ANONYMOUS', ''));
      await raw.waitFor(/<invalid-mechanism\/>/);
      raw.close();
    } finally {
      await strict.close();
    }
  });
});
