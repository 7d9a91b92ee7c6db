import { Element, parse } from 'ltx';
import { copyStanza, fanOutCopy } from '../../src/signaling/xmpp/core/stanza-copy';

const presence = () =>
  parse(
    `<presence from='room@muc.example/ann &amp; co' xmlns='jabber:client'>` +
      `<x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='none' role='participant'/></x>` +
      `<nick xmlns='http://jabber.org/protocol/nick'>Ann &lt;3</nick>text &amp; more</presence>`,
  ) as Element;

describe('fanOutCopy', () => {
  it('serializes exactly as copyStanza does, with the recipient’s own attributes', () => {
    const source = presence();
    for (const to of ['a@example/1', 'b@example/"2"&']) {
      const fanned = fanOutCopy(source, { to });
      expect(fanned.toString()).toBe(copyStanza(source, { to }).toString());
      expect(parse(fanned.toString()).attrs.to).toBe(to);
    }
  });

  it('serializes the children as they were at their first copy, not anew', () => {
    const source = presence();
    const first = fanOutCopy(source, { to: 'a@example/1' }).toString();
    (source.getChild('nick')!.children as string[])[0] = 'changed';
    expect(fanOutCopy(source, { to: 'a@example/1' }).toString()).toBe(first);
  });

  it('serializes a copy whose own children changed with those changes', () => {
    const copy = fanOutCopy(presence(), { to: 'a@example/1' });
    copy.toString();
    copy.c('delay', { xmlns: 'urn:xmpp:delay', stamp: '2026-12-03T00:00:00Z' });
    expect(parse(copy.toString()).getChild('delay', 'urn:xmpp:delay')).toBeDefined();
  });

  it('copies a childless stanza as an empty element', () => {
    const source = new Element('presence', { from: 'x@example' });
    expect(fanOutCopy(source, { to: 'y@example' }).toString()).toBe(
      '<presence from="x@example" to="y@example"/>',
    );
  });
});
