/**
 * fast-check arbitraries for the XMPP door's fuzz test: valid frames and stanzas of
 * every kind the door handles (stream, SASL, bind, Stream Management, IQs of each
 * namespace, presence, messages, MUC), string mutations of them, and frames that break a
 * framing rule on purpose, each with the stream error that rule calls for.
 */
import fc from 'fast-check';
import { Element } from 'ltx';

const NS = {
  client: 'jabber:client',
  framing: 'urn:ietf:params:xml:ns:xmpp-framing',
  sasl: 'urn:ietf:params:xml:ns:xmpp-sasl',
  sm: 'urn:xmpp:sm:3',
  muc: 'http://jabber.org/protocol/muc',
};

/** One WebSocket message: text, raw bytes in a text message, or a binary message. */
export type Frame =
  | { kind: 'text'; text: string }
  | { kind: 'bytes'; bytes: Buffer }
  | { kind: 'binary'; bytes: Buffer };

/** A frame the fuzzer sends, with what the server owes it. */
export interface FuzzFrame {
  frame: Frame;
  /** A well-formed stanza of jabber:client: it never ends a bound stream. */
  stanza?: true;
  /** An IQ get/set with this id that the server must answer (result or error). */
  answerId?: string;
  /** The stream errors that must end the stream when this frame is the first one sent. */
  streamError?: string[];
  /** The WebSocket close code that must end the connection instead (a message too big). */
  closeCode?: number;
}

/** The JIDs of the bystanders the fuzzer aims at: another user, rooms and occupants. */
export interface Targets {
  victimFull: string;
  victimBare: string;
  room: string;
  otherRoom: string;
  maxStanzaBytes: number;
}

const text = (value: string): Frame => ({ kind: 'text', text: value });

/** Short strings with the characters that matter to XML, JIDs and base64. */
const tricky = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom('', ' ', 'x', '0', '-1', '999999999999', 'true', 'NaN', '=', 'a@b', '/'),
  fc.string({
    unit: fc.constantFrom('<', '>', '&', '"', "'", ';', '#', '@', '/', ' ', 'é', '\u{1F600}'),
    maxLength: 8,
  }),
);

function jids(targets: Targets) {
  return fc.oneof(
    fc.constantFrom(
      'localhost',
      'conference.localhost',
      targets.victimBare,
      targets.victimFull,
      targets.room,
      `${targets.room}/victim`,
      `${targets.room}/fuzzer`,
      targets.otherRoom,
      `${targets.otherRoom}/Canary sender`,
      'nobody@localhost',
      'nobody@localhost/phone',
      'someone@elsewhere.example',
      'a@b@c',
      '@localhost',
      'localhost/',
      `${'x'.repeat(1100)}@localhost`,
    ),
    tricky,
  );
}

/** An element with attributes and children, built with ltx so that it is well-formed. */
function element(
  name: string,
  attrs: Record<string, string | undefined>,
  ...children: (Element | string)[]
) {
  const defined = Object.fromEntries(Object.entries(attrs).filter(([, v]) => v !== undefined));
  const built = new Element(name, defined as Record<string, string>);
  for (const child of children) {
    if (typeof child === 'string') built.t(child);
    else built.cnode(child);
  }
  return built;
}

const maybe = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined });

function iqPayloads(targets: Targets): fc.Arbitrary<Element[]> {
  const roster = fc
    .record({
      jid: maybe(jids(targets)),
      name: maybe(tricky),
      subscription: maybe(fc.constantFrom('remove', 'both', 'none', 'bogus')),
      groups: fc.array(tricky, { maxLength: 3 }),
    })
    .map(({ jid, name, subscription, groups }) => [
      element(
        'query',
        { xmlns: 'jabber:iq:roster' },
        element('item', { jid, name, subscription }, ...groups.map((g) => element('group', {}, g))),
      ),
    ]);
  const admin = fc
    .record({
      nick: maybe(tricky),
      role: maybe(fc.constantFrom('none', 'moderator', 'visitor', 'x')),
      reason: maybe(tricky),
    })
    .map(({ nick, role, reason }) => [
      element(
        'query',
        { xmlns: 'http://jabber.org/protocol/muc#admin' },
        element(
          'item',
          { nick, role, affiliation: undefined },
          ...(reason ? [element('reason', {}, reason)] : []),
        ),
      ),
    ]);
  const simple = fc
    .record({
      name: fc.constantFrom('query', 'ping', 'session', 'bind', 'vCard', 'item', 'x'),
      xmlns: fc.constantFrom(
        'jabber:iq:roster',
        'http://jabber.org/protocol/disco#info',
        'http://jabber.org/protocol/disco#items',
        'urn:xmpp:ping',
        'urn:ietf:params:xml:ns:xmpp-session',
        'urn:ietf:params:xml:ns:xmpp-bind',
        'vcard-temp',
        'http://jabber.org/protocol/muc#owner',
        'http://jabber.org/protocol/muc#admin',
        'urn:example:unknown',
      ),
      node: maybe(tricky),
    })
    .map(({ name, xmlns, node }) => [element(name, { xmlns, node })]);
  return fc.oneof(
    { weight: 4, arbitrary: simple },
    { weight: 2, arbitrary: roster },
    { weight: 1, arbitrary: admin },
    { weight: 1, arbitrary: fc.constant<Element[]>([]) },
    { weight: 1, arbitrary: fc.tuple(simple, simple).map(([a, b]) => [...a, ...b]) },
  );
}

/** A well-formed IQ, message or presence, and whether an answer is owed for it. */
function stanzas(targets: Targets): fc.Arbitrary<{ stanza: Element; answerDue: boolean }> {
  const iq = fc
    .record({
      type: fc.constantFrom('get', 'get', 'set', 'set', 'result', 'error', 'bogus', undefined),
      to: maybe(jids(targets)),
      id: fc.constantFrom('fixed', 'fixed', 'fixed', '', undefined),
      payload: iqPayloads(targets),
    })
    .map(({ type, to, id, payload }) => {
      const stanza = element(
        'iq',
        { xmlns: NS.client, type, to, id: id === 'fixed' ? 'q' : id },
        ...payload,
      );
      // Get and set are answered, except when delivered to a client's full JID.
      const answerDue =
        id === 'fixed' && (type === 'get' || type === 'set') && !(to ?? '').includes('/');
      return { stanza, answerDue };
    });
  const presence = fc
    .record({
      type: maybe(
        fc.constantFrom(
          'unavailable',
          'subscribe',
          'subscribed',
          'unsubscribe',
          'unsubscribed',
          'probe',
          'error',
          'bogus',
        ),
      ),
      to: maybe(jids(targets)),
      priority: maybe(tricky),
      show: maybe(fc.constantFrom('away', 'chat', 'dnd', 'xa', 'bogus')),
      muc: fc.boolean(),
      password: maybe(tricky),
      maxstanzas: maybe(tricky),
    })
    .map(({ type, to, priority, show, muc, password, maxstanzas }) => {
      const children: Element[] = [];
      if (priority !== undefined) children.push(element('priority', {}, priority));
      if (show) children.push(element('show', {}, show));
      if (muc)
        children.push(
          element(
            'x',
            { xmlns: NS.muc },
            ...(password !== undefined ? [element('password', {}, password)] : []),
            ...(maxstanzas !== undefined ? [element('history', { maxstanzas })] : []),
          ),
        );
      return {
        stanza: element('presence', { xmlns: NS.client, type, to }, ...children),
        answerDue: false,
      };
    });
  const message = fc
    .record({
      type: maybe(fc.constantFrom('normal', 'chat', 'groupchat', 'headline', 'error', 'bogus')),
      to: maybe(jids(targets)),
      body: maybe(fc.oneof(tricky, fc.string({ maxLength: 200 }))),
      subject: maybe(tricky),
    })
    .map(({ type, to, body, subject }) => {
      const children: Element[] = [];
      if (body !== undefined) children.push(element('body', {}, body));
      if (subject !== undefined) children.push(element('subject', {}, subject));
      return {
        stanza: element('message', { xmlns: NS.client, type, to, id: 'm' }, ...children),
        answerDue: false,
      };
    });
  return fc.oneof(
    { weight: 3, arbitrary: iq },
    { weight: 2, arbitrary: presence },
    { weight: 2, arbitrary: message },
  );
}

/** Stream-level elements: <open/>, <close/>, SASL, bind, Stream Management. */
function nonzas(): fc.Arbitrary<Element> {
  const base64ish = fc.oneof(
    fc.string({ maxLength: 40 }).map((s) => Buffer.from(s).toString('base64')),
    fc.constantFrom(
      '=',
      '',
      '====',
      'not base64!',
      'AA',
      Buffer.from('\0guest\0guest').toString('base64'),
    ),
    fc
      .constantFrom(
        'n,,n=user,r=nonce',
        'c=biws,r=nonce,p=proof',
        'p=tls-unique,,n=x,r=y',
        'n,a=admin,n=x,r=y',
      )
      .map((s) => Buffer.from(s).toString('base64')),
  );
  return fc.oneof(
    fc
      .record({
        to: maybe(fc.constantFrom('localhost', 'LOCALHOST', 'elsewhere.example', '')),
        version: maybe(fc.constantFrom('1.0', '2.0', '')),
      })
      .map(({ to, version }) => element('open', { xmlns: NS.framing, to, version })),
    fc.constant(element('close', { xmlns: NS.framing })),
    fc
      .record({
        mechanism: maybe(
          fc.constantFrom('PLAIN', 'ANONYMOUS', 'SCRAM-SHA-1', 'SCRAM-SHA-256', 'DIGEST-MD5', 'x'),
        ),
        data: maybe(base64ish),
      })
      .map(({ mechanism, data }) =>
        element('auth', { xmlns: NS.sasl, mechanism }, ...(data !== undefined ? [data] : [])),
      ),
    base64ish.map((data) => element('response', { xmlns: NS.sasl }, data)),
    fc
      .constantFrom('abort', 'success', 'challenge', 'failure')
      .map((name) => element(name, { xmlns: NS.sasl })),
    maybe(tricky).map((resource) =>
      element(
        'iq',
        { xmlns: NS.client, type: 'set', id: 'rebind' },
        element(
          'bind',
          { xmlns: 'urn:ietf:params:xml:ns:xmpp-bind' },
          ...(resource !== undefined ? [element('resource', {}, resource)] : []),
        ),
      ),
    ),
    fc
      .record({
        name: fc.constantFrom('enable', 'r', 'a', 'resume', 'enabled', 'x'),
        h: maybe(fc.oneof(fc.nat(50).map(String), tricky)),
        previd: maybe(tricky),
        resume: maybe(fc.constantFrom('true', '1', 'false')),
      })
      .map(({ name, h, previd, resume }) => element(name, { xmlns: NS.sm, h, previd, resume })),
  );
}

/** String-level damage to a valid frame: anything may come of it but a crash. */
function mutated(frame: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc
    .tuple(frame, fc.nat(), fc.nat(), fc.constantFrom(...MUTATIONS))
    .map(([valid, at, length, mutate]) => mutate(valid, at % (valid.length + 1), length % 12));
}

type Mutation = (text: string, at: number, length: number) => string;
const insert =
  (piece: string): Mutation =>
  (t, at) =>
    t.slice(0, at) + piece + t.slice(at);
const MUTATIONS: Mutation[] = [
  (t, at, length) => t.slice(0, at) + t.slice(at + length + 1),
  (t, at) => t.slice(0, at),
  (t, at) => t.slice(at),
  insert('<'),
  insert('>'),
  insert('&'),
  insert('"'),
  insert('/'),
  insert('\u0000'),
  insert('\u001b'),
  insert('\uFFFE'),
  insert('\uD800'),
  insert('&lol;'),
  insert('&#0;'),
  insert('&#x110000;'),
  insert('&#65;'),
  insert('<![CDATA[x]]>'),
  insert('<!-- c -->'),
  insert('<?pi x?>'),
  insert(' id="dup"'),
  insert(' xmlns:p="urn:p" p:a="1"'),
  insert('<x:y/>'),
  insert('</iq>'),
  (t) => t.replace(/"/g, "'"),
  (t) => t.replace(/="[^"]*"/, '=unquoted'),
  (t) => t.replace(/ ([a-z]+)="/, ' $1="x" $1="'),
  (t) => t.replace('<', '<p:'),
  (t) => `\uFEFF${t}`,
  (t) => `${t}${t}`,
  (t) => `${t} trailing`,
];

/** Frames that break one framing rule, each with its stream error (or close code). */
export function framingViolations(targets: Targets): fc.Arbitrary<FuzzFrame> {
  const limit = targets.maxStanzaBytes;
  const violation = (streamError: string, build: fc.Arbitrary<string>) =>
    build.map((t): FuzzFrame => ({ frame: text(t), streamError: [streamError] }));
  const stanza = '<message xmlns="jabber:client" to="localhost"><body>x</body></message>';
  return fc.oneof(
    violation(
      'policy-violation',
      fc
        .integer({ min: 32, max: 3000 })
        .map(
          (depth) =>
            `<message xmlns="jabber:client">${'<a>'.repeat(depth)}${'</a>'.repeat(depth)}</message>`,
        ),
    ),
    violation(
      'policy-violation',
      fc
        .integer({ min: limit + 1, max: 2 * limit })
        .map((size) => `<message xmlns="jabber:client"><body>${'x'.repeat(size)}</body></message>`),
    ),
    fc.constant<FuzzFrame>({
      frame: text(
        `<message xmlns="jabber:client"><body>${'x'.repeat(4 * limit + 1)}</body></message>`,
      ),
      closeCode: 1009,
    }),
    violation(
      'restricted-xml',
      fc
        .integer({ min: 1, max: 9 })
        .map(
          (levels) =>
            `<!DOCTYPE lolz [<!ENTITY lol0 "lol">${Array.from({ length: levels }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i};`.repeat(10)}">`).join('')}]>` +
            `<message xmlns="jabber:client"><body>&lol${levels};</body></message>`,
        ),
    ),
    violation(
      'restricted-xml',
      fc.constantFrom(
        `<?xml version="1.0"?>${stanza}`,
        `<message xmlns="jabber:client"><!-- hi --></message>`,
      ),
    ),
    violation(
      'not-well-formed',
      fc
        .oneof(
          fc.constantFrom(
            '&lol;',
            '&amp',
            '&#;',
            '&#x;',
            '&#0;',
            '&#x1;',
            '&#xD800;',
            '&#xFFFE;',
            '&#1114112;',
            `&#${'9'.repeat(30)};`,
            '\u0001',
            '\uFFFF',
          ),
          fc
            .integer({ min: 0, max: 31 })
            .filter((c) => c !== 9 && c !== 10 && c !== 13)
            .map((c) => `&#${c};`),
        )
        .map((bad) => `<message xmlns="jabber:client"><body>${bad}</body></message>`),
    ),
    violation(
      'not-well-formed',
      fc.constantFrom(
        `${stanza}garbage`,
        `${stanza}<presence xmlns="jabber:client"/>`,
        `${stanza}<![CDATA[x]]>`,
        `\uFEFF${stanza}`,
        '<message xmlns="jabber:client" id="1" id="2"/>',
        '<message xmlns="jabber:client" xmlns:a="u" xmlns:b="u" a:x="1" b:x="2"/>',
        '<p:message xmlns="jabber:client"/>',
        '<message xmlns="jabber:client" p:x="1"/>',
        '<message xmlns="jabber:client" checked/>',
        '<message xmlns="jabber:client" id=1/>',
        '<message xmlns="jabber:client" id="a<b"/>',
        '<message xmlns="jabber:client"><body></message></body>',
        '<message xmlns="jabber:client"><body>x',
        '<message xmlns="jabber:client"/></message>',
        '</message>',
        'just text',
        ' ',
        '<stream:stream xmlns="jabber:client" xmlns:stream="http://etherx.jabber.org/streams" to="localhost">',
      ),
    ),
    fc.string({ maxLength: 20 }).map((t): FuzzFrame => ({
      frame: { kind: 'binary', bytes: Buffer.from(t) },
      streamError: ['bad-format'],
    })),
    fc
      .constantFrom(
        [0xc3, 0x28],
        [0xff],
        [0xed, 0xa0, 0x80],
        [0xf4, 0x90, 0x80, 0x80],
        [0xc0, 0xaf],
        [0xe2, 0x82],
      )
      .map((bad): FuzzFrame => ({
        frame: {
          kind: 'bytes',
          bytes: Buffer.concat([
            Buffer.from('<message xmlns="jabber:client"><body>'),
            Buffer.from(bad),
            Buffer.from('</body></message>'),
          ]),
        },
        streamError: ['unsupported-encoding'],
      })),
  );
}

/** Any frame of a fuzz run after its first: valid, damaged or stream-level. */
export function frames(targets: Targets): fc.Arbitrary<FuzzFrame> {
  const valid = stanzas(targets);
  return fc.oneof(
    {
      weight: 6,
      arbitrary: valid.map(({ stanza, answerDue }): FuzzFrame => ({
        frame: text(stanza.toString()),
        stanza: true,
        answerId: answerDue ? String(stanza.attrs.id) : undefined,
      })),
    },
    {
      weight: 3,
      arbitrary: mutated(
        fc.oneof(
          valid.map(({ stanza }) => stanza.toString()),
          nonzas().map(String),
        ),
      ).map((t) => ({ frame: text(t) })),
    },
    { weight: 2, arbitrary: nonzas().map((nonza) => ({ frame: text(nonza.toString()) })) },
  );
}
