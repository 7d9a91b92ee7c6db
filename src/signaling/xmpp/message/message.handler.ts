import { Injectable, OnModuleInit } from '@nestjs/common';
import { Element } from 'ltx';
import { Jid } from '../core/jid';
import { NS } from '../core/namespaces';
import { copyStanza } from '../core/stanza-copy';
import { StanzaRouter } from '../core/stanza-router';
import { XmppSession } from '../core/xmpp-session';
import { OfflineStore } from './offline-store';

type MessageType = 'normal' | 'chat' | 'groupchat' | 'headline' | 'error';

/**
 * 1:1 messages (RFC 6121 section 8.5): to a full JID, that resource; to a bare JID (or
 * a resource that is gone), every available resource with non-negative priority; with
 * none, offline storage, delivered at the next initial presence. IQs between full JIDs
 * are routed the same way, so two clients can negotiate directly.
 */
@Injectable()
export class MessageHandler implements OnModuleInit {
  constructor(
    private readonly router: StanzaRouter,
    private readonly offline: OfflineStore,
  ) {}

  onModuleInit(): void {
    this.router.handle('message/full', (stanza, origin, to) => this.toFull(stanza, origin, to!));
    this.router.handle('message/bare', (stanza, origin, to) => this.toBare(stanza, origin, to!));
    this.router.handle('message/host', (stanza, origin) =>
      this.router.bounce(stanza, origin, 'cancel', 'service-unavailable'),
    );
    this.router.handle('iq/full', (stanza, origin, to) => {
      if (!this.router.deliverToFull(to!.toString(), stanza) && !isResponse(stanza))
        this.router.bounce(stanza, origin, 'cancel', 'service-unavailable');
    });
    this.router.handle('iq/bare', (stanza, origin) => {
      if (!isResponse(stanza)) this.router.bounce(stanza, origin, 'cancel', 'service-unavailable');
    });
    this.router.onInitialPresence(async (session) => {
      for (const stanza of await this.offline.takeAll(session.bare)) session.send(stanza);
    });
    // Messages a client never acknowledged (XEP-0198) go to the user's other resources
    // or to offline storage, instead of being lost with a broken connection. (A client
    // that closes its stream itself has read what came before its <close/>.)
    this.router.onSessionEnded(async (session, reason) => {
      if (reason !== 'dropped' && reason !== 'timeout') return;
      const unacked = session.sm?.unacked ?? [];
      for (const stanza of unacked) {
        if (stanza.name !== 'message' || !['normal', 'chat'].includes(typeOf(stanza))) continue;
        if (!stanza.getChild('body')) continue;
        const stamped = stanza.getChild('delay', NS.delay)
          ? stanza
          : copyStanza(stanza, {})
              .c('delay', {
                xmlns: NS.delay,
                from: this.router.domain,
                stamp: new Date().toISOString(),
              })
              .root();
        await this.deliverToBare(copyStanza(stamped, { to: session.bare }), session.bare);
      }
    });
  }

  private async toFull(stanza: Element, origin: XmppSession, to: Jid) {
    if (this.router.deliverToFull(to.toString(), stanza)) return;
    const type = typeOf(stanza);
    if (type === 'normal' || type === 'chat') return this.toBare(stanza, origin, to.bare);
    if (type === 'groupchat') this.router.bounce(stanza, origin, 'cancel', 'service-unavailable');
  }

  private async toBare(stanza: Element, origin: XmppSession, to: Jid) {
    const type = typeOf(stanza);
    if (type === 'error') return;
    if (type === 'groupchat')
      return this.router.bounce(stanza, origin, 'cancel', 'service-unavailable');
    const delivered = await this.deliverToBare(stanza, to.bare.toString());
    if (!delivered && type !== 'headline')
      this.router.bounce(stanza, origin, 'cancel', 'service-unavailable');
  }

  /** Delivers to the available resources of `bare`, else stores; false when neither. */
  private async deliverToBare(stanza: Element, bare: string): Promise<boolean> {
    const sessions = this.router
      .availableSessions(bare)
      .filter((session) => priorityOf(session) >= 0);
    // The 'to' is left as the sender wrote it (RFC 6121 section 8.5.2.1.1).
    for (const session of sessions) session.send(copyStanza(stanza, {}));
    if (sessions.length > 0) return true;
    if (typeOf(stanza) === 'headline') return false;
    return this.offline.store(bare, stanza);
  }
}

function typeOf(stanza: Element): MessageType {
  return (stanza.attrs.type as MessageType | undefined) ?? 'normal';
}

function isResponse(iq: Element): boolean {
  return iq.attrs.type === 'result' || iq.attrs.type === 'error';
}

function priorityOf(session: XmppSession): number {
  return Number(session.presence?.getChildText('priority') ?? 0) || 0;
}
