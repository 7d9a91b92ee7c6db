import { Injectable, OnModuleInit } from '@nestjs/common';
import { Element } from 'ltx';
import { Jid } from '../core/jid';
import { NS } from '../core/namespaces';
import { copyStanza } from '../core/stanza-copy';
import { StanzaRouter } from '../core/stanza-router';
import { XmppSession } from '../core/xmpp-session';
import { RosterService } from '../roster/roster.service';
import { Subscriptions, SUBSCRIPTION_TYPES } from '../roster/subscriptions';

/**
 * Presence (RFC 6121 section 4): broadcast to subscribers and the user's own resources,
 * probes answered from the sessions in memory, directed presence, and unavailable
 * presence on behalf of a session that ends.
 */
@Injectable()
export class PresenceHandler implements OnModuleInit {
  constructor(
    private readonly router: StanzaRouter,
    private readonly roster: RosterService,
    private readonly subscriptions: Subscriptions,
  ) {}

  onModuleInit(): void {
    this.router.handle('presence/broadcast', (stanza, origin) => this.broadcast(stanza, origin));
    this.router.handle('presence/bare', (stanza, origin, to) => this.directed(stanza, origin, to!));
    this.router.handle('presence/full', (stanza, origin, to) => this.directed(stanza, origin, to!));
    this.router.handle('presence/host', () => undefined);
    this.router.onSessionEnded(async (session) => {
      if (session.available || session.directedPresence.size > 0)
        await this.goUnavailable(session, this.unavailable(session));
    });
  }

  private async broadcast(stanza: Element, origin: XmppSession) {
    const type = stanza.attrs.type as string | undefined;
    if (type === 'unavailable') return this.goUnavailable(origin, stanza);
    if (type !== undefined) {
      if (type !== 'error') this.router.bounce(stanza, origin, 'modify', 'bad-request');
      return;
    }
    const priority = stanza.getChildText('priority');
    // RFC 6121 section 4.7.2.3: an integer from -128 to +127.
    const value = priority === null ? 0 : Number(priority.trim());
    if (
      priority !== null &&
      (!/^[+-]?\d{1,3}$/.test(priority.trim()) || value < -128 || value > 127)
    )
      return this.router.bounce(stanza, origin, 'modify', 'bad-request', 'bad priority');
    const initial = !origin.available;
    origin.presence = copyStanza(stanza, { to: undefined });
    this.router.sessionChanged(origin);
    for (const target of await this.broadcastTargets(origin))
      target.send(copyStanza(stanza, { to: this.addressFor(origin, target) }));
    if (!initial) return;
    // Probe: the current presence of everyone the user is subscribed to.
    for (const contact of await this.roster.contactsWith(origin.bare, 'to', 'both'))
      for (const session of this.router.availableSessions(contact))
        origin.send(copyStanza(session.presence!, { from: session.full, to: origin.full }));
    await this.router.initialPresence(origin);
  }

  private async goUnavailable(origin: XmppSession, stanza: Element) {
    const wasAvailable = origin.available;
    origin.presence = null;
    if (wasAvailable) this.router.sessionChanged(origin);
    const targets = wasAvailable ? await this.broadcastTargets(origin) : [];
    for (const target of targets)
      target.send(copyStanza(stanza, { to: this.addressFor(origin, target) }));
    // Through the router: directed presence may have gone to a component (a MUC room).
    const directed = [...origin.directedPresence];
    origin.directedPresence.clear();
    for (const jid of directed) await this.router.route(copyStanza(stanza, { to: jid }), origin);
  }

  /**
   * Available sessions of subscribed contacts, and of the user (the sender included). A
   * remote session's presence is its home shard's to broadcast; when this shard speaks
   * for it (its home is gone), it tells its own sessions only, as every other shard does.
   */
  private async broadcastTargets(origin: XmppSession): Promise<XmppSession[]> {
    const subscribers = await this.roster.contactsWith(origin.bare, 'from', 'both');
    const targets = [origin.bare, ...subscribers].flatMap((bare) =>
      this.router.availableSessions(bare),
    );
    if (!targets.includes(origin) && !origin.ended) targets.push(origin);
    return targets.filter((session) => !session.ended && !(origin.remote && session.remote));
  }

  /** Contacts get presence addressed to their bare JID, the user's own resources to the full. */
  private addressFor(origin: XmppSession, target: XmppSession): string {
    return target.bare === origin.bare ? target.full : target.bare;
  }

  private async directed(stanza: Element, origin: XmppSession, to: Jid) {
    const type = stanza.attrs.type as string | undefined;
    if (type && SUBSCRIPTION_TYPES.has(type)) return this.subscriptions.handle(stanza, origin, to);
    if (type === 'probe') return this.probe(origin, to);
    if (type === undefined) origin.directedPresence.add(to.toString());
    if (type === 'unavailable') origin.directedPresence.delete(to.toString());
    if (type !== undefined && type !== 'unavailable' && type !== 'error')
      return this.router.bounce(stanza, origin, 'modify', 'bad-request');
    this.deliver(stanza);
  }

  private async probe(origin: XmppSession, to: Jid) {
    const contact = to.bare.toString();
    const subscribers = await this.roster.contactsWith(contact, 'from', 'both');
    if (!subscribers.includes(origin.bare)) return;
    for (const session of this.router.availableSessions(contact))
      origin.send(copyStanza(session.presence!, { from: session.full, to: origin.full }));
  }

  /** Presence to a full JID goes to that session; to a bare JID, to its available ones. */
  private deliver(stanza: Element) {
    const to = Jid.parse(String(stanza.attrs.to))!;
    if (!to.isBare) return void this.router.deliverToFull(to.toString(), stanza);
    if (stanza.attrs.type === 'error') return;
    for (const session of this.router.availableSessions(to.toString()))
      session.send(copyStanza(stanza, {}));
  }

  private unavailable(session: XmppSession): Element {
    return new Element('presence', { xmlns: NS.client, type: 'unavailable', from: session.full });
  }
}
