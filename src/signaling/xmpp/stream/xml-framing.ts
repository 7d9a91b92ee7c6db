import { Element } from 'ltx';
import { SaxesParser } from 'saxes';
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

const notWellFormed = (message: string) => new FramingError('not-well-formed', message);

// saxes reads names as XML Names, split at the colon; but the local part of a prefixed
// name must be an NCName too, so it cannot start with a character that only continues one.
// eslint-disable-next-line no-misleading-character-class
const NAME_CHAR_ONLY = /^[-.0-9\u00B7\u0300-\u036F\u203F\u2040]/;

// RFC 6120 section 11.1: no comments, processing instructions, DTDs or entity declarations
// (an XML declaration counts as a processing instruction here).
const RESTRICTED_PROLOG = /^(?:<\?xml|[ \t\r\n]*<!DOCTYPE)/;
function restricted(): never {
  throw new FramingError(
    'restricted-xml',
    'comments, processing instructions and DTDs are not allowed',
  );
}

/**
 * Parses one WebSocket message, which RFC 7395 defines as exactly one complete,
 * well-formed element (an <open/>, <close/>, stanza or nonza), within the size and depth
 * limits. ltx's own parser is lenient (it takes duplicate attributes, trailing text,
 * unquoted values, illegal characters ...), so the message is read by saxes, a strict
 * XML 1.0 and Namespaces in XML parser, and built into ltx elements.
 */
export function parseFrame(text: string, limits: FramingLimits): Element {
  if (Buffer.byteLength(text) > limits.maxStanzaBytes)
    throw new FramingError('policy-violation', `stanza larger than ${limits.maxStanzaBytes} bytes`);
  // XML lets a document start with one (saxes skips it); a message is already UTF-8 text.
  if (text.startsWith('\uFEFF')) throw notWellFormed('byte order mark');
  // saxes takes a lone high surrogate and the code unit after it for one character (text
  // decoded from UTF-8, as the door's is, never has one).
  if (/\p{Cs}/u.test(text)) throw notWellFormed('lone surrogate');

  // The XML declaration and a DTD can only open a document, so they are looked for here:
  // saxes keeps each handler in a property of the parser, and V8 turns a parser given
  // more than six into a dictionary-mode object that parses 4 to 10 times slower.
  if (RESTRICTED_PROLOG.test(text)) restricted();

  const parser = new SaxesParser({ xmlns: true });
  const open: Element[] = [];
  let root: Element | undefined;
  parser.on('comment', restricted);
  parser.on('processinginstruction', restricted);
  parser.on('opentag', (tag) => {
    if (open.length >= limits.maxDepth)
      throw new FramingError('policy-violation', `elements nested deeper than ${limits.maxDepth}`);
    const attributes = Object.values(tag.attributes);
    for (const { name, prefix, local } of [tag, ...attributes])
      if (prefix && NAME_CHAR_ONLY.test(local)) throw notWellFormed(`malformed name ${name}`);
    const attrs: Record<string, string> = {};
    for (const { name, value } of attributes) attrs[name] = value;
    const element = new Element(tag.name, attrs);
    const parent = open.at(-1);
    if (parent) parent.cnode(element);
    else root = element;
    open.push(element);
  });
  parser.on('closetag', () => open.pop());
  // Outside the element saxes allows only XML whitespace, which is dropped.
  const characters = (data: string) => open.at(-1)?.t(data);
  parser.on('text', characters);
  parser.on('cdata', characters);
  try {
    parser.write(text).close();
  } catch (error) {
    if (error instanceof FramingError) throw error;
    throw notWellFormed((error as Error).message);
  }
  return root!;
}
