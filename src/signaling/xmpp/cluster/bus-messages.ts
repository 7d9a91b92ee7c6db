import { Element } from 'ltx';
import { z } from 'zod';
import { ROLES } from '../../../conference/participant';
import { ROOM_ID_PATTERN } from '../../../conference/room';
import { Jid } from '../core/jid';
import { NS } from '../core/namespaces';
import { SESSION_END_REASONS } from '../core/xmpp-session';
import { FramingError, FramingLimits, parseFrame } from '../stream/xml-framing';

/** The XMPP door's topics on the cluster bus. */
export const TOPICS = {
  /** A session bound or changed on its home shard: its state. */
  session: 'xmpp.session',
  /** A session ended on its home shard. */
  ended: 'xmpp.ended',
  /** Every session of the sending shard (the others of that shard are gone). */
  sessions: 'xmpp.sessions',
  /** A stanza a session sent, to be routed on the receiving shard (a MUC room's). */
  stanza: 'xmpp.stanza',
  /** A stanza for a session of the receiving shard (a remote session's writer). */
  deliver: 'xmpp.deliver',
} as const;

const STANZAS = new Set(['message', 'presence', 'iq']);

/**
 * What arrives over the bus, checked as a client's input is at the door: the shapes,
 * full JIDs of this domain, and stanzas through the door's own framing and parsing.
 * Parsing yields Jids and ltx Elements.
 */
export function busMessages(domain: string, limits: FramingLimits) {
  const fullJid = z.string().transform((text, context) => {
    const jid = Jid.parse(text);
    if (jid?.local && !jid.isBare && jid.domain === domain) return jid;
    context.addIssue({ code: 'custom', message: `not a full JID of ${domain}` });
    return z.NEVER;
  });
  const stanza = z.string().transform((text, context): Element => {
    try {
      const element = parseFrame(text, limits);
      if (STANZAS.has(element.name) && element.getNS() === NS.client) return element;
      context.addIssue({ code: 'custom', message: `not a stanza: <${element.name}/>` });
    } catch (error) {
      if (!(error instanceof FramingError)) throw error;
      context.addIssue({ code: 'custom', message: error.message });
    }
    return z.NEVER;
  });
  const availablePresence = stanza.refine(
    (element) => element.name === 'presence' && element.attrs.type === undefined,
    'not available presence',
  );
  const session = z.object({
    jid: fullJid,
    account: z.object({
      localpart: z.string().refine(Jid.isValidLocal, 'not a localpart'),
      displayName: z.string().max(1024),
      kind: z.enum(['user', 'token', 'guest']),
      grant: z
        .object({
          room: z.string().regex(ROOM_ID_PATTERN),
          identity: z.string().min(1).max(256),
          name: z.string().min(1).max(100),
          role: z.enum(ROLES),
        })
        .optional(),
    }),
    presence: availablePresence.nullable(),
    interestedInRoster: z.boolean(),
    focusClient: z.boolean().default(false),
    /** Where the client reached its shard (XmppSession.origin). */
    origin: z
      .string()
      .regex(/^wss?:\/\/[A-Za-z0-9.:[\]-]{1,300}$/)
      .nullable()
      .default(null),
  });
  return {
    session,
    ended: z.object({ jid: fullJid, reason: z.enum(SESSION_END_REASONS) }),
    sessions: z.object({
      sessions: z.array(session),
      /** The receiver answers with its own sessions. */
      reply: z.boolean(),
      /** The sender holds nothing of the receiver's sessions (it started, or dropped them). */
      forgot: z.boolean(),
    }),
    stanza: z.object({ from: fullJid, stanza }),
    deliver: z.object({ to: fullJid, stanza }),
  };
}

export type BusMessages = ReturnType<typeof busMessages>;
export type SessionState = z.input<BusMessages['session']>;
