/**
 * RemoteOccupancies: the rooms of other shards that this shard's sessions are in, as
 * the rooms' presence tells.
 */
import { Element, parse } from 'ltx';
import { Jid } from '../../src/signaling/xmpp/core/jid';
import { XmppSession } from '../../src/signaling/xmpp/core/xmpp-session';
import { RemoteOccupancies } from '../../src/signaling/xmpp/muc/remote-occupancies';

const DOMAIN = 'conference.localhost';

function session() {
  const jid = Jid.parse('ann@localhost/desk')!;
  const sent: Element[] = [];
  const ann = new XmppSession(jid, { localpart: 'ann', displayName: 'Ann', kind: 'guest' });
  ann.attach(
    'stream',
    (stanza) => sent.push(stanza),
    () => undefined,
  );
  return { ann, sent };
}

/** Room presence from `room/nick` of conference.localhost. */
const presence = (occupant: string, type?: string, codes: number[] = [], affiliation = 'member') =>
  parse(
    `<presence xmlns="jabber:client" from="${occupant.replace('/', `@${DOMAIN}/`)}"` +
      `${type ? ` type="${type}"` : ''}>` +
      `<x xmlns="http://jabber.org/protocol/muc#user"><item affiliation="${affiliation}" role="participant"/>` +
      codes.map((code) => `<status code="${code}"/>`).join('') +
      '</x></presence>',
  );

describe('RemoteOccupancies', () => {
  it('follows a join to its answer: confirmed by the self-presence, ended by leaving or a refusal', () => {
    const occupancies = new RemoteOccupancies(DOMAIN);
    const { ann } = session();
    occupancies.joining(ann, 'one', 'ann', 's2');
    occupancies.joining(ann, 'two', 'ann', 's3');
    expect([occupancies.shardOf(ann, 'one'), occupancies.count(ann)]).toEqual(['s2', 2]);
    // Others' presence and a refusal of another nick change nothing.
    occupancies.observe(ann, presence('one/bob'), 's2');
    occupancies.observe(ann, presence('one/bob', 'unavailable'), 's2');
    occupancies.observe(ann, presence('two/other', 'error'), 's3');
    expect(occupancies.count(ann)).toBe(2);
    occupancies.observe(ann, presence('two/ann', 'error'), 's3');
    expect(occupancies.shardOf(ann, 'two')).toBeUndefined();
    occupancies.observe(ann, presence('one/ann', undefined, [110]), 's2');
    // Once in, an error (a refused nick change, say) does not end it; leaving does.
    occupancies.observe(ann, presence('one/ann', 'error'), 's2');
    expect(occupancies.shardOf(ann, 'one')).toBe('s2');
    occupancies.observe(ann, presence('one/ann', 'unavailable', [110, 307]), 's2');
    expect(occupancies.count(ann)).toBe(0);
    // A self-presence from a room of another shard is an occupancy there, asked or not.
    occupancies.observe(ann, presence('late/ann', undefined, [110]), 's3');
    expect(occupancies.shardOf(ann, 'late')).toBe('s3');
    occupancies.observe(ann, parse(`<message xmlns="jabber:client" from="x@${DOMAIN}"/>`), 's2');
    const elsewhere = String(presence('x/ann', undefined, [110])).replace(
      DOMAIN,
      'elsewhere.example',
    );
    occupancies.observe(ann, parse(elsewhere), 's2');
    expect(occupancies.count(ann)).toBe(1);
  });

  it("tells the sessions in a lost shard's rooms that those rooms shut down (332)", () => {
    const occupancies = new RemoteOccupancies(DOMAIN);
    const { ann, sent } = session();
    occupancies.observe(ann, presence('one/ann', undefined, [110], 'owner'), 's2');
    occupancies.joining(ann, 'two', 'ann', 's3');
    occupancies.endOn('s2');
    expect(sent.map(String)).toEqual([
      `<presence xmlns="jabber:client" type="unavailable" from="one@${DOMAIN}/ann" to="ann@localhost/desk">` +
        '<x xmlns="http://jabber.org/protocol/muc#user"><item affiliation="owner" role="none"/>' +
        '<status code="110"/><status code="332"/></x></presence>',
    ]);
    expect([occupancies.shardOf(ann, 'one'), occupancies.shardOf(ann, 'two')]).toEqual([
      undefined,
      's3',
    ]);
    occupancies.forget(ann);
    occupancies.endOn('s3');
    expect(sent).toHaveLength(1);
  });
});
