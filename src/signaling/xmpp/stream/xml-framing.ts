import { Element, Parser } from 'ltx';
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

// RFC 6120 section 11.1: no comments, processing instructions, DTDs or entity
// declarations. CDATA sections are allowed.
const RESTRICTED_XML = /<!(?!\[CDATA\[)|<\?/;

interface SaxEvents {
  on(event: 'startElement', listener: (name: string) => void): void;
  on(event: 'endElement', listener: (name: string) => void): void;
  on(event: 'text', listener: (text: string) => void): void;
}

/**
 * Parses one WebSocket message, which RFC 7395 defines as exactly one complete element
 * (an <open/>, <close/>, stanza or nonza), with ltx's streaming parser while enforcing
 * the size and depth limits.
 */
export function parseFrame(text: string, limits: FramingLimits): Element {
  if (Buffer.byteLength(text) > limits.maxStanzaBytes)
    throw new FramingError('policy-violation', `stanza larger than ${limits.maxStanzaBytes} bytes`);
  if (RESTRICTED_XML.test(text))
    throw new FramingError(
      'restricted-xml',
      'comments, processing instructions and DTDs are not allowed',
    );

  const parser = new Parser();
  const sax = (parser as unknown as { parser: SaxEvents }).parser;
  const open: string[] = [];
  let roots = 0;
  let problem: FramingError | undefined;
  const fail = (condition: StreamErrorCondition, message: string) => {
    problem ??= new FramingError(condition, message);
  };
  sax.on('startElement', (name) => {
    if (open.length === 0 && ++roots > 1) fail('not-well-formed', 'more than one element');
    open.push(name);
    if (open.length > limits.maxDepth)
      fail('policy-violation', `elements nested deeper than ${limits.maxDepth}`);
  });
  sax.on('endElement', (name) => {
    if (open.pop() !== name) fail('not-well-formed', `unexpected end tag ${name}`);
  });
  sax.on('text', (content) => {
    if (open.length === 0 && content.trim() !== '')
      fail('not-well-formed', 'text outside the element');
  });
  let tree: Element | undefined;
  parser.on('tree', (element: Element) => (tree = element));
  parser.on('error', (error: Error) => fail('not-well-formed', error.message));
  try {
    parser.write(text);
    if (!problem) parser.end('');
  } catch (error) {
    // ltx throws on an undefined entity or an illegal character reference.
    fail('not-well-formed', (error as Error).message);
  }
  if (!problem && open.length > 0) fail('not-well-formed', 'unclosed element');
  if (problem) throw problem;
  if (!tree) throw new FramingError('not-well-formed', 'no element');
  return tree;
}
