import { Injectable, OnModuleInit } from '@nestjs/common';
import { Element } from 'ltx';
import { Jid } from '../core/jid';
import { NS } from '../core/namespaces';
import { copyStanza } from '../core/stanza-copy';
import { StanzaRouter } from '../core/stanza-router';
import { XmppSession } from '../core/xmpp-session';
import { OfflineStore } from '../message/offline-store';
import { RosterItem } from './roster-item.entity';
import { RosterService } from './roster.service';

export const SUBSCRIPTION_TYPES = new Set([
  'subscribe',
  'subscribed',
  'unsubscribe',
  'unsubscribed',
]);
type SubscriptionType = 'subscribe' | 'subscribed' | 'unsubscribe' | 'unsubscribed';

/**
 * Presence subscriptions (RFC 6121 section 3). Every account is local, so one call
 * applies both the sender's side (outbound) and the recipient's side (inbound) of a
 * subscription stanza to the two rosters, then delivers what the RFC says to deliver.
 */
@Injectable()
export class Subscriptions implements OnModuleInit {
  constructor(
    private readonly roster: RosterService,
    private readonly router: StanzaRouter,
    private readonly offline: OfflineStore,
  ) {}

  onModuleInit(): void {
    this.roster.onRemoval(async (item) => {
      if (item.subscription === 'to' || item.subscription === 'both' || item.askSubscribe)
        await this.process('unsubscribe', item.owner, item.contact);
      if (item.subscription === 'from' || item.subscription === 'both')
        await this.process('unsubscribed', item.owner, item.contact);
    });
  }

  /** A subscription stanza a user sent to `to`. */
  async handle(stanza: Element, origin: XmppSession, to: Jid): Promise<void> {
    const contact = to.bare.toString();
    if (contact === origin.bare) return;
    await this.process(stanza.attrs.type as SubscriptionType, origin.bare, contact, stanza);
  }

  private async process(type: SubscriptionType, from: string, to: string, original?: Element) {
    const stanza = new Element('presence', { xmlns: NS.client, type, from, to });
    for (const child of original?.children ?? []) stanza.cnode(child as Element);
    await this.outbound(type, from, to);
    await this.inbound(type, from, to, stanza);
  }

  private async outbound(type: SubscriptionType, from: string, to: string) {
    const existing = await this.roster.item(from, to);
    const item = existing ?? this.roster.blank(from, to);
    const before = { ...item };
    if (type === 'subscribe' && item.subscription !== 'to' && item.subscription !== 'both')
      item.askSubscribe = true;
    if (type === 'subscribed') grantFrom(item);
    if (type === 'unsubscribe' && existing) {
      revokeTo(item);
    }
    if (type === 'unsubscribed' && existing) revokeFrom(item);
    if (changed(before, item) || (!existing && type === 'subscribe')) await this.roster.save(item);
  }

  private async inbound(type: SubscriptionType, from: string, to: string, stanza: Element) {
    const item = await this.roster.item(to, from);
    switch (type) {
      case 'subscribe':
        // Already approved: the contact's server answers on its behalf.
        if (item && (item.subscription === 'from' || item.subscription === 'both'))
          return this.process('subscribed', to, from);
        return this.deliverOrStore(to, stanza);
      case 'subscribed':
        if (!item?.askSubscribe) return;
        item.askSubscribe = false;
        item.subscription = item.subscription === 'from' ? 'both' : 'to';
        await this.roster.save(item);
        this.deliverToInterested(to, stanza);
        return this.sendPresence(from, to);
      case 'unsubscribe':
        if (item && (item.subscription === 'from' || item.subscription === 'both')) {
          revokeFrom(item);
          await this.roster.save(item);
          this.deliverToInterested(to, stanza);
        }
        return this.sendUnavailable(to, from);
      case 'unsubscribed':
        if (
          item &&
          (item.subscription === 'to' || item.subscription === 'both' || item.askSubscribe)
        ) {
          revokeTo(item);
          await this.roster.save(item);
          this.deliverToInterested(to, stanza);
        }
        return this.sendUnavailable(from, to);
    }
  }

  private async deliverOrStore(to: string, stanza: Element) {
    if (!this.deliver(to, stanza)) await this.offline.store(to, stanza);
  }

  /**
   * Answers to subscriptions go to the resources that asked for the roster (RFC 6121
   * section 3.1.5: "interested resources"), which also get the roster push.
   */
  private deliverToInterested(to: string, stanza: Element) {
    for (const session of this.router.sessionsOf(to))
      if (session.interestedInRoster) session.send(copyStanza(stanza, {}));
  }

  private deliver(to: string, stanza: Element): boolean {
    const sessions = this.router.availableSessions(to);
    // The 'to' stays the bare JID (RFC 6121 section 3.1.3).
    for (const session of sessions) session.send(copyStanza(stanza, {}));
    return sessions.length > 0;
  }

  /** `from` approved `to`: `to` now receives the current presence of `from`. */
  private sendPresence(from: string, to: string) {
    for (const sender of this.router.availableSessions(from))
      for (const receiver of this.router.availableSessions(to))
        receiver.send(copyStanza(sender.presence!, { from: sender.full, to }));
  }

  private sendUnavailable(from: string, to: string) {
    for (const sender of this.router.availableSessions(from))
      for (const receiver of this.router.availableSessions(to))
        receiver.send(
          new Element('presence', {
            xmlns: NS.client,
            type: 'unavailable',
            from: sender.full,
            to,
          }),
        );
  }
}

function grantFrom(item: RosterItem) {
  if (item.subscription === 'none') item.subscription = 'from';
  else if (item.subscription === 'to') item.subscription = 'both';
}

function revokeFrom(item: RosterItem) {
  if (item.subscription === 'from') item.subscription = 'none';
  else if (item.subscription === 'both') item.subscription = 'to';
}

function revokeTo(item: RosterItem) {
  item.askSubscribe = false;
  if (item.subscription === 'to') item.subscription = 'none';
  else if (item.subscription === 'both') item.subscription = 'from';
}

function changed(before: Partial<RosterItem>, after: RosterItem): boolean {
  return before.subscription !== after.subscription || before.askSubscribe !== after.askSubscribe;
}
