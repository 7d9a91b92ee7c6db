/**
 * XEP-0215 external service discovery: an XMPP client (Jitsi Meet clients ask at
 * connect) gets the shard's STUN and TURN servers, with TURN REST credentials for its
 * own identity that the embedded TURN server accepts (HMAC of the shared secret).
 */
import { createHmac } from 'node:crypto';
import { rawGuest, RawXmpp } from '../support/raw-xmpp';
import { startShard, TestShard } from '../support/shard';

const SECRET = 'extdisco-shared-secret';

describe('XMPP external services (XEP-0215)', () => {
  let shard: TestShard;
  let client: RawXmpp;

  beforeAll(async () => {
    shard = await startShard({ TURN_MODE: 'embedded', TURN_SECRET: SECRET });
    client = await rawGuest(`${shard.baseUrl.replace('http', 'ws')}/xmpp-websocket`);
  });

  afterAll(async () => {
    client.close();
    await shard.close();
  });

  it.each(['urn:xmpp:extdisco:2', 'urn:xmpp:extdisco:1'])(
    'lists STUN and TURN with credentials for the session (%s)',
    async (xmlns) => {
      const id = `services-${xmlns.slice(-1)}`;
      client.send(
        `<iq xmlns="jabber:client" type="get" id="${id}" to="localhost"><services xmlns="${xmlns}"/></iq>`,
      );
      const answer = await client.waitFor(new RegExp(`id="${id}"`));
      expect(answer).toMatch(/type="result"/);
      const services = [...answer.matchAll(/<service ([^>]*)\/>/g)].map((m) =>
        Object.fromEntries([...m[1].matchAll(/(\w+)="([^"]*)"/g)].map((a) => [a[1], a[2]])),
      );
      const stun = services.find((s) => s.type === 'stun');
      expect(stun).toMatchObject({ host: '127.0.0.1', transport: 'udp' });
      const turn = services.filter((s) => s.type === 'turn');
      expect(turn.map((s) => s.transport).sort()).toEqual(['tcp', 'udp']);
      for (const service of turn) {
        expect(service.port).toBe(stun!.port);
        // <expiry>:<the session's localpart>, signed with the shared secret.
        expect(service.username).toMatch(/^\d+:guest-[0-9a-f]+$/);
        expect(service.password).toBe(
          createHmac('sha1', SECRET).update(service.username).digest('base64'),
        );
        expect(Date.parse(service.expires)).toBeGreaterThan(Date.now());
      }
    },
  );
});
