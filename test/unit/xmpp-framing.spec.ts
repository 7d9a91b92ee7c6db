import { Jid } from '../../src/signaling/xmpp/core/jid';
import { FramingError, parseFrame } from '../../src/signaling/xmpp/stream/xml-framing';

const LIMITS = { maxStanzaBytes: 4096, maxDepth: 8 };

function condition(text: string): string {
  try {
    parseFrame(text, LIMITS);
    return 'parsed';
  } catch (error) {
    return error instanceof FramingError ? error.condition : `threw ${String(error)}`;
  }
}

describe('parseFrame', () => {
  it('parses one element with text, attributes, entities and CDATA', () => {
    const element = parseFrame(
      '<message xmlns="jabber:client" to="a@b"><body>x &amp; <![CDATA[<y>]]></body></message>',
      LIMITS,
    );
    expect(element.name).toBe('message');
    expect(element.getChildText('body')).toBe('x & <y>');
  });

  it.each([
    ['a DTD', '<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>', 'restricted-xml'],
    ['a comment', '<x><!-- hi --></x>', 'restricted-xml'],
    ['a processing instruction', '<?xml-stylesheet href="x"?><x/>', 'restricted-xml'],
    ['an undefined entity', '<x>&lol;</x>', 'not-well-formed'],
    ['a mismatched end tag', '<x><y></x></y>', 'not-well-formed'],
    ['an unclosed element', '<x><y/>', 'not-well-formed'],
    ['two elements', '<x/><y/>', 'not-well-formed'],
    ['text outside', 'hello <x/>', 'not-well-formed'],
    ['deep nesting', `${'<a>'.repeat(9)}${'</a>'.repeat(9)}`, 'policy-violation'],
    ['too many bytes', `<x>${'é'.repeat(2100)}</x>`, 'policy-violation'],
  ])('refuses %s', (_name, text, expected) => {
    expect(condition(text)).toBe(expected);
  });

  it('accepts nesting up to the limit', () => {
    expect(condition(`${'<a>'.repeat(8)}${'</a>'.repeat(8)}`)).toBe('parsed');
  });
});

describe('Jid', () => {
  it('splits, lower-cases local and domain parts, and keeps the resource', () => {
    const jid = Jid.parse('Alice@Example.ORG/Phone 1')!;
    expect([jid.local, jid.domain, jid.resource]).toEqual(['alice', 'example.org', 'Phone 1']);
    expect(jid.bare.toString()).toBe('alice@example.org');
    expect(Jid.parse('example.org')!.local).toBe('');
  });

  it.each([
    '',
    '@example.org',
    'a@b@c',
    'a b@example.org',
    'a@-bad',
    'a@example.org/',
    'x@exa mple',
  ])('rejects %p', (text) => {
    expect(Jid.parse(text)).toBeNull();
  });
});
