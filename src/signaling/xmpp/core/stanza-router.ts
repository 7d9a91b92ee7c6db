import { Inject, Injectable } from '@nestjs/common';
import { Element } from 'ltx';
import { APP_CONFIG } from '../../../config/config.module';
import { AppConfig } from '../../../config/config.schema';
import type { Logger } from '../../../observability/logger';
import { InjectLogger } from '../../../observability/logging.module';
import { Jid } from './jid';
import { NS } from './namespaces';
import { errorReply } from './stanza-errors';
import { SessionEndReason, XmppSession } from './xmpp-session';

/** Handles a stanza a session sent; `to` is its parsed destination (null when absent). */
export type StanzaHandler = (stanza: Element, origin: XmppSession, to: Jid | null) => unknown;

/**
 * Where a stanza to a local address goes, Prosody style: `<kind>/<addressing>`, with
 * `bare` and `full` for user JIDs and `host` for the server's own domain. IQs addressed
 * to the server (or to the sender's own bare JID) go to IQ handlers keyed by their
 * payload namespace instead (see handleIq).
 */
export type RouteEvent =
  | 'message/bare'
  | 'message/full'
  | 'message/host'
  | 'presence/bare'
  | 'presence/full'
  | 'presence/host'
  | 'presence/broadcast'
  | 'iq/bare'
  | 'iq/full';

type SessionListener = (session: XmppSession, reason: SessionEndReason) => unknown;

/**
 * The core of the XMPP door: the bound sessions (this shard's own and, in a cluster, the
 * remote sessions of the others, reached alike) and the table of handlers each module
 * (roster, presence, message, disco, ping, MUC ...) registers at start-up. It stamps
 * `from`, checks `to`, and dispatches; what a stanza means is the modules' business.
 */
@Injectable()
export class StanzaRouter {
  readonly domain: string;
  private readonly sessions = new Map<string, Map<string, XmppSession>>();
  /** IQ handlers by type and payload namespace, with the payload element they take. */
  private readonly iqHandlers = new Map<string, { payload: string; handler: StanzaHandler }>();
  private readonly routeHandlers = new Map<RouteEvent, StanzaHandler>();
  private readonly domainHandlers = new Map<string, StanzaHandler>();
  private readonly sessionStartedListeners: ((session: XmppSession) => unknown)[] = [];
  private readonly sessionChangedListeners: ((session: XmppSession) => unknown)[] = [];
  private readonly sessionEndedListeners: SessionListener[] = [];
  private readonly initialPresenceListeners: ((session: XmppSession) => unknown)[] = [];

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    @InjectLogger() private readonly logger: Logger,
  ) {
    this.domain = config.xmpp.domain.toLowerCase();
  }

  /**
   * IQs of `type` whose payload is `<payload xmlns=xmlns/>`, addressed to the server or
   * self (another element of that namespace is a bad request).
   */
  handleIq(type: 'get' | 'set', payload: string, xmlns: string, handler: StanzaHandler): void {
    this.iqHandlers.set(`${type} ${xmlns}`, { payload, handler });
  }

  handle(event: RouteEvent, handler: StanzaHandler): void {
    this.routeHandlers.set(event, handler);
  }

  /** Every stanza to `domain` (a component such as conference.<domain>) goes to handler. */
  handleDomain(domain: string, handler: StanzaHandler): void {
    this.domainHandlers.set(domain.toLowerCase(), handler);
  }

  onSessionStarted(listener: (session: XmppSession) => unknown): void {
    this.sessionStartedListeners.push(listener);
  }

  /** Runs when a session ends for good (not when its stream merely drops for resumption). */
  onSessionEnded(listener: SessionListener): void {
    this.sessionEndedListeners.push(listener);
  }

  /** Runs when a session's presence or its interest in roster pushes changed. */
  onSessionChanged(listener: (session: XmppSession) => unknown): void {
    this.sessionChangedListeners.push(listener);
  }

  sessionChanged(session: XmppSession): void {
    for (const listener of this.sessionChangedListeners) this.run(listener, session);
  }

  /** Runs when a session sends its initial presence (it is now available). */
  onInitialPresence(listener: (session: XmppSession) => unknown): void {
    this.initialPresenceListeners.push(listener);
  }

  async initialPresence(session: XmppSession): Promise<void> {
    for (const listener of this.initialPresenceListeners) await listener(session);
  }

  session(fullJid: string): XmppSession | undefined {
    const jid = Jid.parse(fullJid);
    return jid ? this.sessions.get(jid.bare.toString())?.get(jid.resource) : undefined;
  }

  sessionsOf(bareJid: string): XmppSession[] {
    return [...(this.sessions.get(bareJid.toLowerCase())?.values() ?? [])];
  }

  /** The sessions of `bareJid` that have sent available presence. */
  availableSessions(bareJid: string): XmppSession[] {
    return this.sessionsOf(bareJid).filter((session) => session.available);
  }

  allSessions(): XmppSession[] {
    return [...this.sessions.values()].flatMap((resources) => [...resources.values()]);
  }

  /** The sessions this shard's streams carry (no remote ones). */
  localSessions(): XmppSession[] {
    return this.allSessions().filter((session) => !session.remote);
  }

  isLocalDomain(domain: string): boolean {
    return domain === this.domain;
  }

  /**
   * Registers a bound session. A session already holding the same full JID is replaced
   * (RFC 6120 section 7.7.2.2): it ends with a conflict stream error.
   */
  bind(session: XmppSession): void {
    const resources = this.sessions.get(session.bare) ?? new Map<string, XmppSession>();
    this.sessions.set(session.bare, resources);
    resources.get(session.jid.resource)?.end('replaced');
    resources.set(session.jid.resource, session);
    session.onEnd((reason) => {
      if (resources.get(session.jid.resource) === session) resources.delete(session.jid.resource);
      if (resources.size === 0 && this.sessions.get(session.bare) === resources)
        this.sessions.delete(session.bare);
      for (const listener of this.sessionEndedListeners) this.run(listener, session, reason);
    });
    for (const listener of this.sessionStartedListeners) this.run(listener, session);
  }

  /**
   * Routes a stanza from a bound session. Whatever a handler throws is logged here and
   * answered with internal-server-error: the stream and the process go on.
   */
  async route(stanza: Element, origin: XmppSession): Promise<void> {
    try {
      await this.dispatch(stanza, origin);
    } catch (error) {
      this.failed(stanza, origin, error);
    }
  }

  /** The same for work on a stanza that goes on after its handler returned. */
  answerFailures(stanza: Element, origin: XmppSession, work: Promise<unknown>): void {
    work.catch((error: unknown) => this.failed(stanza, origin, error));
  }

  private async dispatch(stanza: Element, origin: XmppSession): Promise<void> {
    stanza.attrs.from = origin.full;
    delete stanza.attrs.xmlns;
    stanza.attrs.xmlns = NS.client;
    const toText: unknown = stanza.attrs.to;
    let to: Jid | null = null;
    if (typeof toText === 'string' && toText !== '') {
      to = Jid.parse(toText);
      if (!to) return this.bounce(stanza, origin, 'modify', 'jid-malformed');
      stanza.attrs.to = to.toString();
    }
    const kind = stanza.name as 'message' | 'presence' | 'iq';
    if (kind === 'iq' && !this.checkIq(stanza, origin)) return;

    const domainHandler = to && this.domainHandlers.get(to.domain);
    if (domainHandler) return void (await domainHandler(stanza, origin, to));
    if (to && !this.isLocalDomain(to.domain))
      return this.bounce(stanza, origin, 'cancel', 'remote-server-not-found');

    if (kind === 'iq' && (!to || !to.local || (to.isBare && to.bare.toString() === origin.bare)))
      return this.handleServerIq(stanza, origin, to);
    let event: RouteEvent;
    if (!to) event = kind === 'presence' ? 'presence/broadcast' : `${kind}/bare`;
    else if (!to.local) event = `${kind}/host` as RouteEvent;
    else event = `${kind}/${to.isBare ? 'bare' : 'full'}` as RouteEvent;
    const handler = this.routeHandlers.get(event);
    if (handler) return void (await handler(stanza, origin, to ?? origin.jid.bare));
    if (kind !== 'presence') this.bounce(stanza, origin, 'cancel', 'service-unavailable');
  }

  /** Delivers a stanza to one session (of any shard) by full JID; false when there is none. */
  deliverToFull(fullJid: string, stanza: Element): boolean {
    const session = this.session(fullJid);
    if (!session) return false;
    session.send(stanza);
    return true;
  }

  /** Sends the result of an IQ the server handled, with an optional payload. */
  reply(iq: Element, origin: XmppSession, payload?: Element): void {
    const result = new Element('iq', {
      xmlns: NS.client,
      type: 'result',
      id: iq.attrs.id,
      to: origin.full,
    });
    if (iq.attrs.to) result.attrs.from = iq.attrs.to;
    if (payload) result.cnode(payload);
    origin.send(result);
  }

  /** Answers `stanza` with an error on behalf of its addressee. */
  bounce(
    stanza: Element,
    origin: XmppSession,
    type: Parameters<typeof errorReply>[1],
    condition: Parameters<typeof errorReply>[2],
    text?: string,
  ): void {
    const reply = errorReply(stanza, type, condition, text);
    if (reply) {
      reply.attrs.to = origin.full;
      reply.attrs.from = stanza.attrs.to ?? this.domain;
      origin.send(reply);
    }
  }

  private checkIq(iq: Element, origin: XmppSession): boolean {
    const { type, id } = iq.attrs as { type?: string; id?: string };
    const payloads = iq.getChildElements().length;
    const valid =
      typeof id === 'string' &&
      id !== '' &&
      (((type === 'get' || type === 'set') && payloads === 1) ||
        type === 'result' ||
        type === 'error');
    if (!valid) this.bounce(iq, origin, 'modify', 'bad-request', 'malformed IQ');
    return valid;
  }

  private failed(stanza: Element, origin: XmppSession, error: unknown) {
    this.logger.error(
      { err: error, jid: origin.full, stanza: stanza.name },
      'XMPP stanza handler failed',
    );
    this.bounce(stanza, origin, 'cancel', 'internal-server-error');
  }

  private async handleServerIq(iq: Element, origin: XmppSession, to: Jid | null) {
    const type = iq.attrs.type as string;
    if (type === 'result' || type === 'error') return;
    const payload = iq.getChildElements()[0];
    const xmlns = payload.getNS() ?? '';
    const registered = this.iqHandlers.get(`${type} ${xmlns}`);
    if (registered?.payload === payload.getName())
      return void (await registered.handler(iq, origin, to));
    if (registered)
      return this.bounce(iq, origin, 'modify', 'bad-request', `expected <${registered.payload}/>`);
    const otherType = type === 'get' ? 'set' : 'get';
    if (this.iqHandlers.has(`${otherType} ${xmlns}`))
      return this.bounce(iq, origin, 'cancel', 'feature-not-implemented');
    this.bounce(iq, origin, 'cancel', 'service-unavailable');
  }

  private run<A extends unknown[]>(listener: (...args: A) => unknown, ...args: A) {
    Promise.resolve()
      .then(() => listener(...args))
      .catch((error: unknown) => this.logger.error({ err: error }, 'XMPP session listener failed'));
  }
}
