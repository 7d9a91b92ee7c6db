import { Injectable, OnModuleInit } from '@nestjs/common';
import { Element } from 'ltx';
import { Jid } from '../core/jid';
import { NS } from '../core/namespaces';
import { StanzaRouter } from '../core/stanza-router';
import { XmppSession } from '../core/xmpp-session';

/**
 * Service Discovery (XEP-0030) for the server's domain and its accounts. Modules
 * announce their features and items here (MUC adds its conference.<domain> item).
 */
@Injectable()
export class ServiceDiscovery implements OnModuleInit {
  private readonly features = new Set<string>([NS.discoInfo, NS.discoItems]);
  private readonly items = new Map<string, string>();

  constructor(private readonly router: StanzaRouter) {}

  addFeature(namespace: string): void {
    this.features.add(namespace);
  }

  addItem(jid: string, name: string): void {
    this.items.set(jid, name);
  }

  onModuleInit(): void {
    this.router.handleIq('get', 'query', NS.discoInfo, (iq, origin, to) =>
      this.info(iq, origin, to),
    );
    this.router.handleIq('get', 'query', NS.discoItems, (iq, origin, to) =>
      this.itemsOf(iq, origin, to),
    );
  }

  private info(iq: Element, origin: XmppSession, to: Jid | null) {
    const request = iq.getChild('query', NS.discoInfo)!;
    if (request.attrs.node) return this.router.bounce(iq, origin, 'cancel', 'item-not-found');
    const query = new Element('query', { xmlns: NS.discoInfo });
    if (to?.local) {
      query.c('identity', { category: 'account', type: 'registered' });
    } else {
      query.c('identity', { category: 'server', type: 'im', name: 'Video Window' });
      for (const feature of [...this.features].sort()) query.c('feature', { var: feature });
    }
    this.router.reply(iq, origin, query);
  }

  private itemsOf(iq: Element, origin: XmppSession, to: Jid | null) {
    const query = new Element('query', { xmlns: NS.discoItems });
    if (!to?.local) for (const [jid, name] of this.items) query.c('item', { jid, name });
    this.router.reply(iq, origin, query);
  }
}
