/**
 * Bad input to the Jitsi focus, from raw XMPP clients that speak its protocol: every
 * wrong conference request and Jingle request gets an IQ error, and the room, its
 * media and the process go on (a well-formed session-accept still works afterwards).
 */
import { MediaService } from '../../src/media/media.service';
import { rawGuest, RawXmpp } from '../support/raw-xmpp';
import { startShard, TestShard } from '../support/shard';

const ROOM = 'focus-bad@conference.localhost';
const JINGLE = 'urn:xmpp:jingle:1';
const RTP = 'urn:xmpp:jingle:apps:rtp:1';
const SSMA = 'urn:xmpp:jingle:apps:rtp:ssma:0';
const ICE = 'urn:xmpp:jingle:transports:ice-udp:1';
const FINGERPRINT = `<fingerprint xmlns="urn:xmpp:jingle:apps:dtls:0" hash="sha-256" setup="active">${Array(
  32,
)
  .fill('AB')
  .join(':')}</fingerprint>`;

const conferenceRequest = (room: string, id = 'conf') =>
  `<iq xmlns="jabber:client" type="set" id="${id}" to="focus.localhost"><conference xmlns="http://jitsi.org/protocol/focus" room="${room}"/></iq>`;

/** A Jingle IQ to the focus occupant. */
const jingle = (id: string, action: string, sid: string, contents = '') =>
  `<iq xmlns="jabber:client" type="set" id="${id}" to="${ROOM}/focus"><jingle xmlns="${JINGLE}" action="${action}" sid="${sid}">${contents}</jingle></iq>`;

const audio = (sources: string, transport = '') =>
  `<content name="audio"><description xmlns="${RTP}" media="audio"><payload-type id="100" name="opus" clockrate="48000" channels="2"/>${sources}</description>${transport}</content>`;

const source = (ssrc: number | string, extra = '') =>
  `<source xmlns="${SSMA}" ssrc="${ssrc}">${extra}</source>`;

/** The error answer to IQ `id`: its condition (and the rest, to look into). */
async function errorOf(raw: RawXmpp, id: string): Promise<string> {
  return raw.waitFor(
    new RegExp(`<iq[^>]*type="error"[^>]*id="${id}"|<iq[^>]*id="${id}"[^>]*type="error"`),
  );
}

describe('Jitsi focus bad input', () => {
  let shard: TestShard;
  let service: string;
  let client: RawXmpp;
  let sid: string;
  const open: RawXmpp[] = [];

  beforeAll(async () => {
    shard = await startShard();
    service = `${shard.baseUrl.replace('http', 'ws')}/xmpp-websocket`;
    client = await rawGuest(service);
    open.push(client);
  });

  afterAll(async () => {
    for (const raw of open) raw.close();
    await shard.close();
  });

  it('refuses a conference request for no room of the MUC service', async () => {
    for (const [id, room] of [
      ['c1', ''],
      ['c2', 'room@elsewhere.example'],
      ['c3', 'conference.localhost'],
      ['c4', `${ROOM}/nick`],
    ]) {
      client.send(conferenceRequest(room, id));
      expect(await errorOf(client, id)).toMatch(/<bad-request/);
    }
    client.send(
      `<iq xmlns="jabber:client" type="get" id="c5" to="focus.localhost"><query xmlns="jabber:iq:version"/></iq>`,
    );
    expect(await errorOf(client, 'c5')).toMatch(/<service-unavailable/);
  });

  it('answers the conference request and offers a session to the occupant', async () => {
    client.send(conferenceRequest(ROOM));
    const answer = await client.waitFor(/id="conf"/);
    expect(answer).toMatch(/ready="true"/);
    expect(answer).toMatch(/focusjid="focus@focus.localhost"/);
    client.send(
      `<presence xmlns="jabber:client" to="${ROOM}/abcd1234"><x xmlns="http://jabber.org/protocol/muc"/></presence>`,
    );
    // The focus occupant, with its real JID for everyone, then the session.
    const focus = await client.waitFor(new RegExp(`<presence[^>]*from="${ROOM}/focus"`));
    expect(focus).toMatch(/jid="focus@focus.localhost\/focus"/);
    const initiate = await client.waitFor(/action="session-initiate"/);
    sid = /sid="([^"]+)"/.exec(initiate)![1];
    const id = /<iq[^>]* id="([^"]+)"/.exec(initiate)![1];
    client.send(`<iq xmlns="jabber:client" type="result" id="${id}" to="${ROOM}/focus"/>`);
  });

  it('refuses Jingle it cannot take with IQ errors', async () => {
    const cases: [string, string, RegExp][] = [
      [
        'j1',
        jingle('j1', 'session-accept', 'no-such-sid', audio(source(1))),
        /<item-not-found[\s\S]*<unknown-session/,
      ],
      [
        'j2',
        jingle(
          'j2',
          'session-accept',
          sid,
          audio(source('x'), `<transport xmlns="${ICE}">${FINGERPRINT}</transport>`),
        ),
        /<bad-request/,
      ],
      [
        'j3',
        jingle('j3', 'session-accept', sid, audio(source(1))),
        /<bad-request[\s\S]*DTLS fingerprint/,
      ],
      ['j4', jingle('j4', 'content-modify', sid), /<feature-not-implemented/],
      [
        'j5',
        `<iq xmlns="jabber:client" type="set" id="j5" to="${ROOM}/focus"><query xmlns="jabber:iq:version"/></iq>`,
        /<feature-not-implemented/,
      ],
      [
        'j6',
        jingle(
          'j6',
          'source-add',
          sid,
          `<content name="audio"><description xmlns="${RTP}" media="text"/></content>`,
        ),
        /<bad-request/,
      ],
    ];
    for (const [id, stanza, condition] of cases) {
      client.send(stanza);
      expect(await errorOf(client, id)).toMatch(condition);
    }
  });

  it('refuses Jingle from someone who is not the session participant', async () => {
    // Not in the room at all.
    const outsider = await rawGuest(service);
    open.push(outsider);
    outsider.send(jingle('o1', 'session-accept', sid, audio(source(5))));
    expect(await errorOf(outsider, 'o1')).toMatch(/<unknown-session/);
    // In the room, but without a session (it asked for no conference): not its session.
    outsider.send(
      `<presence xmlns="jabber:client" to="${ROOM}/other"><x xmlns="http://jabber.org/protocol/muc"/></presence>`,
    );
    await outsider.waitFor(/status code="110"/);
    outsider.send(jingle('o2', 'session-accept', sid, audio(source(5))));
    expect(await errorOf(outsider, 'o2')).toMatch(/<unknown-session/);
  });

  it('takes a good session-accept afterwards, and refuses sources of others', async () => {
    const transport = `<transport xmlns="${ICE}" ufrag="u" pwd="p">${FINGERPRINT}</transport>`;
    client.send(jingle('a1', 'session-accept', sid, audio(source(1111), transport)));
    await client.waitFor(/type="result"[^>]*id="a1"|id="a1"[^>]*type="result"/);
    client.send(jingle('a2', 'session-accept', sid, audio(source(1112), transport)));
    expect(await errorOf(client, 'a2')).toMatch(/<conflict/);
    // A source that another occupant sends.
    const owned = source(
      2222,
      `<ssrc-info xmlns="http://jitsi.org/jitmeet" owner="${ROOM}/other"/>`,
    );
    client.send(jingle('a3', 'source-add', sid, audio(owned)));
    expect(await errorOf(client, 'a3')).toMatch(/<bad-request[\s\S]*not yours/);
    // A stream in a codec the focus did not offer.
    const h264 = `<content name="video"><description xmlns="${RTP}" media="video"><payload-type id="120" name="H264" clockrate="90000"/>${source(3333)}</description></content>`;
    client.send(jingle('a4', 'source-add', sid, h264));
    expect(await errorOf(client, 'a4')).toMatch(/<bad-request[\s\S]*no offered video codec/);
    const media = shard.app.get(MediaService);
    const room = await media.room('focus-bad');
    expect(room.stats()).toMatchObject({ transports: 1, producers: 1 });
    // source-remove of its stream closes its producer.
    client.send(jingle('a5', 'source-remove', sid, audio(source(1111))));
    await client.waitFor(/type="result"[^>]*id="a5"|id="a5"[^>]*type="result"/);
    expect(room.stats()).toMatchObject({ transports: 1, producers: 0 });
    expect((await fetch(`${shard.baseUrl}/health/live`)).status).toBe(200);
  });

  it('drops the session when its client goes, with everything it had', async () => {
    const media = shard.app.get(MediaService);
    const room = await media.room('focus-bad');
    client.close();
    for (let i = 0; i < 50 && room.stats().transports > 0; i++)
      await new Promise((resolve) => setTimeout(resolve, 100));
    expect(room.stats()).toMatchObject({ transports: 0, producers: 0, consumers: 0 });
  });
});
