import { Element } from 'ltx';
import { StreamErrorCondition } from '../core/stanza-errors';

export interface FramingLimits {
  maxStanzaBytes: number;
  maxDepth: number;
}

/** Why a WebSocket message is not an acceptable XMPP element: ends the stream. */
export class FramingError extends Error {
  constructor(
    readonly condition: StreamErrorCondition,
    message: string,
  ) {
    super(message);
  }
}

const XML_NS = 'http://www.w3.org/XML/1998/namespace';
const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';

// XML 1.0 (fifth edition) productions, with the Namespaces in XML 1.0 split of names.
const NAME_START =
  'A-Z_a-z\\u00C0-\\u00D6\\u00D8-\\u00F6\\u00F8-\\u02FF\\u0370-\\u037D\\u037F-\\u1FFF' +
  '\\u200C-\\u200D\\u2070-\\u218F\\u2C00-\\u2FEF\\u3001-\\uD7FF\\uF900-\\uFDCF\\uFDF0-\\uFFFD' +
  '\\u{10000}-\\u{EFFFF}';
const NAME_CHAR = `${NAME_START}\\-.0-9\\u00B7\\u0300-\\u036F\\u203F-\\u2040`;
const NCNAME = `[${NAME_START}][${NAME_CHAR}]*`;
const QNAME = `(?:${NCNAME}:)?${NCNAME}`;
const NOT_CHAR = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
// Name characters include ranges of combining marks (U+0300-U+036F), on purpose.
/* eslint-disable no-misleading-character-class */
const START_TAG = new RegExp(`<(${QNAME})`, 'uy');
const ATTRIBUTE = new RegExp(`[ \\t\\n]+(${QNAME})[ \\t\\n]*=[ \\t\\n]*("[^<"]*"|'[^<']*')`, 'uy');
const END_TAG = new RegExp(`</(${QNAME})[ \\t\\n]*>`, 'uy');
/* eslint-enable no-misleading-character-class */
const TAG_END = /[ \t\n]*(\/?)>/y;
const CDATA = /<!\[CDATA\[([^]*?)\]\]>/y;
const CHAR_DATA = /[^<]+/y;
const REFERENCE = /&(?:(lt|gt|amp|apos|quot)|#([0-9]+)|#x([0-9a-fA-F]+));|&/g;
const WHITESPACE = /^[ \t\n]*$/;
// RFC 6120 section 11.1: no comments, processing instructions, DTDs or entity
// declarations.
const RESTRICTED = /<(?:!--|!DOCTYPE|!ENTITY|\?)/y;
const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' };

interface Scope {
  element: Element;
  namespaces: Map<string, string>;
}

/**
 * Parses one WebSocket message, which RFC 7395 defines as exactly one complete,
 * well-formed element (an <open/>, <close/>, stanza or nonza), within the size and depth
 * limits. ltx's own parser is lenient (it takes duplicate attributes, trailing text,
 * unquoted values, illegal characters ...), so the message is read here against the
 * XML 1.0 and Namespaces in XML productions and built into ltx elements.
 */
export function parseFrame(text: string, limits: FramingLimits): Element {
  if (Buffer.byteLength(text) > limits.maxStanzaBytes)
    throw new FramingError('policy-violation', `stanza larger than ${limits.maxStanzaBytes} bytes`);
  return new FrameReader(text.replace(/\r\n?/g, '\n'), limits).read();
}

const notWellFormed = (message: string) => new FramingError('not-well-formed', message);

class FrameReader {
  private at = 0;
  private readonly open: Scope[] = [];
  private root: Element | undefined;

  constructor(
    private readonly text: string,
    private readonly limits: FramingLimits,
  ) {}

  read(): Element {
    const illegal = NOT_CHAR.exec(this.text);
    if (illegal) throw notWellFormed(`illegal character ${codePoint(illegal[0])}`);
    while (this.at < this.text.length) {
      if (this.text[this.at] !== '<') this.characterData();
      else if (this.match(RESTRICTED))
        throw new FramingError(
          'restricted-xml',
          'comments, processing instructions and DTDs are not allowed',
        );
      else if (this.text.startsWith('</', this.at)) this.endTag();
      else if (this.text.startsWith('<![CDATA[', this.at)) this.cdata();
      else this.startTag();
    }
    if (this.open.length > 0) throw notWellFormed('unclosed element');
    if (!this.root) throw notWellFormed('no element');
    return this.root;
  }

  private startTag() {
    if (this.root && this.open.length === 0) throw notWellFormed('more than one element');
    const start = this.match(START_TAG);
    if (!start) throw notWellFormed('malformed start tag');
    const attrs: Record<string, string> = {};
    const names = new Set<string>();
    for (let attribute; (attribute = this.match(ATTRIBUTE));) {
      const [, name, quoted] = attribute;
      if (names.has(name)) throw notWellFormed(`duplicate attribute ${name}`);
      names.add(name);
      attrs[name] = decode(quoted.slice(1, -1).replace(/[\t\n]/g, ' '));
    }
    const end = this.match(TAG_END);
    if (!end) throw notWellFormed(`malformed start tag <${start[1]}>`);
    if (this.open.length >= this.limits.maxDepth)
      throw new FramingError(
        'policy-violation',
        `elements nested deeper than ${this.limits.maxDepth}`,
      );
    const parent = this.open.at(-1);
    const element = new Element(start[1], attrs);
    const namespaces = declaredNamespaces(attrs, parent?.namespaces);
    checkNames(start[1], names, namespaces);
    if (parent) parent.element.cnode(element);
    else this.root = element;
    if (!end[1]) this.open.push({ element, namespaces });
  }

  private endTag() {
    const end = this.match(END_TAG);
    if (!end) throw notWellFormed('malformed end tag');
    if (this.open.pop()?.element.name !== end[1])
      throw notWellFormed(`unexpected end tag ${end[1]}`);
  }

  private cdata() {
    const section = this.match(CDATA);
    if (!section) throw notWellFormed('unterminated CDATA section');
    const parent = this.open.at(-1);
    if (!parent) throw notWellFormed('CDATA outside the element');
    parent.element.t(section[1]);
  }

  /** Text; outside the element only XML whitespace may stand (not even a BOM). */
  private characterData() {
    const [data] = this.match(CHAR_DATA)!;
    if (data.includes(']]>')) throw notWellFormed(']]> in character data');
    const parent = this.open.at(-1);
    if (parent) parent.element.t(decode(data));
    else if (!WHITESPACE.test(data)) throw notWellFormed('text outside the element');
  }

  private match(pattern: RegExp): RegExpExecArray | null {
    pattern.lastIndex = this.at;
    const match = pattern.exec(this.text);
    if (match) this.at = pattern.lastIndex;
    return match;
  }
}

/** Character and predefined entity references replaced; any other `&` is an error. */
function decode(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(REFERENCE, (reference, entity?: string, decimal?: string, hex?: string) => {
    if (entity) return PREDEFINED[entity];
    const code = decimal !== undefined ? parseInt(decimal, 10) : hex ? parseInt(hex, 16) : NaN;
    const char = code <= 0x10ffff ? String.fromCodePoint(code) : '';
    if (!char || NOT_CHAR.test(char)) throw notWellFormed(`bad reference ${reference}…`);
    return char;
  });
}

/** The prefixes in scope on an element: its parent's plus its own declarations. */
function declaredNamespaces(
  attrs: Record<string, string>,
  inherited = new Map([['xml', XML_NS]]),
): Map<string, string> {
  let namespaces = inherited;
  for (const [name, uri] of Object.entries(attrs)) {
    if (name === 'xmlns' && (uri === XML_NS || uri === XMLNS_NS))
      throw notWellFormed(`"${uri}" cannot be the default namespace`);
    if (!name.startsWith('xmlns:')) continue;
    const prefix = name.slice('xmlns:'.length);
    if (prefix === 'xmlns' || (prefix === 'xml') !== (uri === XML_NS) || uri === XMLNS_NS)
      throw notWellFormed(`namespace prefix ${prefix} may not be bound to "${uri}"`);
    if (uri === '') throw notWellFormed(`namespace prefix ${prefix} bound to nothing`);
    if (namespaces === inherited) namespaces = new Map(inherited);
    namespaces.set(prefix, uri);
  }
  return namespaces;
}

/** Every prefix bound, and no two attributes with the same namespace and local name. */
function checkNames(element: string, attributes: Set<string>, namespaces: Map<string, string>) {
  const uriOf = (prefix: string) => {
    const uri = namespaces.get(prefix);
    if (uri === undefined) throw notWellFormed(`unbound namespace prefix ${prefix}`);
    return uri;
  };
  const [prefix] = splitName(element);
  if (prefix) uriOf(prefix);
  const expanded = new Set<string>();
  for (const name of attributes) {
    const [attributePrefix, local] = splitName(name);
    if (!attributePrefix || attributePrefix === 'xmlns') continue;
    const key = `{${uriOf(attributePrefix)}}${local}`;
    if (expanded.has(key)) throw notWellFormed(`duplicate attribute ${key}`);
    expanded.add(key);
  }
}

function splitName(name: string): [prefix: string, local: string] {
  const colon = name.indexOf(':');
  return colon === -1 ? ['', name] : [name.slice(0, colon), name.slice(colon + 1)];
}

function codePoint(char: string): string {
  return `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}
