import { Element } from 'ltx';
import { NS } from './namespaces';

export type ErrorType = 'auth' | 'cancel' | 'continue' | 'modify' | 'wait';

/** Stanza error conditions (RFC 6120 section 8.3.3) this server answers with. */
export type StanzaErrorCondition =
  | 'bad-request'
  | 'conflict'
  | 'feature-not-implemented'
  | 'forbidden'
  | 'item-not-found'
  | 'jid-malformed'
  | 'not-acceptable'
  | 'not-allowed'
  | 'not-authorized'
  | 'policy-violation'
  | 'recipient-unavailable'
  | 'registration-required'
  | 'remote-server-not-found'
  | 'resource-constraint'
  | 'service-unavailable'
  | 'internal-server-error';

/** Stream error conditions (RFC 6120 section 4.9.3) this server ends streams with. */
export type StreamErrorCondition =
  | 'bad-format'
  | 'conflict'
  | 'connection-timeout'
  | 'host-unknown'
  | 'invalid-namespace'
  | 'invalid-xml'
  | 'not-authorized'
  | 'not-well-formed'
  | 'policy-violation'
  | 'restricted-xml'
  | 'system-shutdown'
  | 'unsupported-encoding'
  | 'unsupported-stanza-type'
  | 'unsupported-version'
  | 'undefined-condition'
  | 'internal-server-error';

/** The `<error/>` child of a stanza error. */
export function stanzaError(type: ErrorType, condition: StanzaErrorCondition, text?: string) {
  const error = new Element('error', { type });
  error.c(condition, { xmlns: NS.stanzas });
  if (text) error.c('text', { xmlns: NS.stanzas }).t(text);
  return error;
}

/**
 * The error reply to a stanza: addresses swapped, type error, the original payload kept
 * (RFC 6120 section 8.3.1). Null for a stanza of type error, and for an IQ result
 * (section 8.2.3), which are never answered.
 */
export function errorReply(
  stanza: Element,
  type: ErrorType,
  condition: StanzaErrorCondition,
  text?: string,
): Element | null {
  if (stanza.attrs.type === 'error') return null;
  if (stanza.name === 'iq' && stanza.attrs.type === 'result') return null;
  const reply = new Element(stanza.name, {
    xmlns: NS.client,
    type: 'error',
    id: stanza.attrs.id,
    from: stanza.attrs.to,
    to: stanza.attrs.from,
  });
  for (const child of stanza.children) if (typeof child !== 'string') reply.cnode(child);
  reply.cnode(stanzaError(type, condition, text));
  return reply;
}

/** A `<stream:error/>` in the form RFC 7395 uses inside WebSocket messages. */
export function streamError(condition: StreamErrorCondition, text?: string): Element {
  const error = new Element('stream:error', { 'xmlns:stream': NS.stream });
  error.c(condition, { xmlns: NS.streams });
  if (text) error.c('text', { xmlns: NS.streams }).t(text);
  return error;
}

/** An IQ result for a request, optionally carrying a payload. */
export function iqResult(iq: Element, payload?: Element): Element {
  const result = new Element('iq', {
    xmlns: NS.client,
    type: 'result',
    id: iq.attrs.id,
    from: iq.attrs.to,
    to: iq.attrs.from,
  });
  if (payload) result.cnode(payload);
  return result;
}
