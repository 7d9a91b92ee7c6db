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
    ['a processing instruction inside', '<x><?p x?></x>', 'restricted-xml'],
    ['a comment after the element', '<x/><!-- bye -->', 'restricted-xml'],
    ['an XML declaration', '<?xml version="1.0"?><x/>', 'restricted-xml'],
    ['a DTD after whitespace', ' \n<!DOCTYPE x><x/>', 'restricted-xml'],
    ['a DOCTYPE inside the element', '<x><!DOCTYPE y></x>', 'not-well-formed'],
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
    expect(condition(`${'<a>'.repeat(8)}<b/>${'</a>'.repeat(8)}`)).toBe('policy-violation');
  });

  // RFC 7395 section 3.3.3: a message is exactly one well-formed element.
  it.each([
    ['text after the element', '<iq xmlns="jabber:client" type="get" id="1"/>garbage'],
    ['an element after the element', '<iq xmlns="jabber:client"/><iq xmlns="jabber:client"/>'],
    ['CDATA outside the element', '<x/><![CDATA[y]]>'],
    ['a byte order mark', '\uFEFF<x/>'],
    ['non-XML whitespace outside', '\u00A0<x/>'],
    ['a duplicate attribute', '<x id="1" id="2"/>'],
    ['a duplicate attribute by namespace', '<x xmlns:a="u" xmlns:b="u" a:id="1" b:id="2"/>'],
    ['an attribute without a value', '<x checked/>'],
    ['an unquoted attribute value', '<x id=1/>'],
    ['a < in an attribute value', '<x id="a<b"/>'],
    ['attributes without space between them', '<x a="1"b="2"/>'],
    ['a bare & in text', '<x>fish & chips</x>'],
    ['a bare & in an attribute', '<x a="fish & chips"/>'],
    [']]> in text', '<x>a]]>b</x>'],
    ['an unbound element prefix', '<stream:features/>'],
    ['an unbound attribute prefix', '<x foo:bar="1"/>'],
    ['the xmlns prefix declared', '<x xmlns:xmlns="urn:x"/>'],
    ['the xml prefix bound elsewhere', '<x xmlns:xml="urn:x"/>'],
    ['a prefix bound to nothing', '<x xmlns:a=""/>'],
    ['a prefix used outside its scope', '<x><a:y xmlns:a="urn:a"/><a:z/></x>'],
    ['a name starting with a digit', '<1x/>'],
    ['a local part starting with a digit', '<a:1x xmlns:a="urn:a"/>'],
    ['an attribute local part starting with a dot', '<x xmlns:a="urn:a" a:.y="1"/>'],
    ['a space after <', '< x/>'],
    ['an end tag with attributes', '<x></x id="1">'],
    ['a control character', '<x>\u0001</x>'],
    ['a lone surrogate', '<x>\uD800</x>'],
    ['a lone surrogate before a character', '<x>\uD800a</x>'],
    ['a lone surrogate in an attribute value', '<x a="\uD800b"/>'],
    ['U+FFFE', '<x>\uFFFE</x>'],
    ['a reference to NUL', '<x>&#0;</x>'],
    ['a reference to a control character', '<x>&#x1B;</x>'],
    ['a reference to a surrogate', '<x>&#xD800;</x>'],
    ['a reference beyond Unicode', '<x>&#x110000;</x>'],
    ['a huge reference', `<x>&#${'9'.repeat(40)};</x>`],
    ['an unterminated reference', '<x>&#65</x>'],
    ['an unterminated CDATA section', '<x><![CDATA[y</x>'],
    ['a start tag cut short', '<x a="1"'],
    ['nothing but whitespace', ' \n '],
  ])('refuses %s with not-well-formed', (_name, text) => {
    expect(condition(text)).toBe('not-well-formed');
  });

  it('takes what XML allows: references, CDATA, prefixes, whitespace around the element', () => {
    const element = parseFrame(
      ' <x:m xmlns:x="jabber:client" xmlns:p="urn:p" p:a="&#x1F600;&#65;" b=\'"\' xml:lang="en">' +
        '&lt;&gt;&amp;&apos;&quot;<![CDATA[a]]]]>]><y\n/></x:m>\r\n',
      LIMITS,
    );
    expect(element.getNS()).toBe('jabber:client');
    expect(element.attrs).toMatchObject({ 'p:a': '\u{1F600}A', b: '"', 'xml:lang': 'en' });
    expect(element.getText()).toBe('<>&\'"a]]]>');
    expect(element.getChildElements().map((child) => child.name)).toEqual(['y']);
  });

  it('normalizes line ends, and whitespace in attribute values', () => {
    const element = parseFrame('<x a="1\r\n2\t3&#9;"><b>l1\r\nl2\rl3</b></x>', LIMITS);
    expect(element.attrs.a).toBe('1 2 3\t');
    expect(element.getChildText('b')).toBe('l1\nl2\nl3');
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
