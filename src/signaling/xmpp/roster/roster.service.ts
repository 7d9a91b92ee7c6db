import { Injectable, OnModuleInit } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Element } from 'ltx';
import { randomBytes } from 'node:crypto';
import { Repository } from 'typeorm';
import { Jid } from '../core/jid';
import { NS } from '../core/namespaces';
import { StanzaRouter } from '../core/stanza-router';
import { XmppSession } from '../core/xmpp-session';
import { RosterItem, Subscription } from './roster-item.entity';

const MAX_ROSTER_ITEMS = 1000;
const MAX_GROUPS = 32;
const MAX_TEXT = 255;

/** Rosters (RFC 6121 section 2): get, set, remove, and pushes to interested resources. */
@Injectable()
export class RosterService implements OnModuleInit {
  private readonly removalListeners: ((item: RosterItem) => Promise<void>)[] = [];

  constructor(
    @InjectRepository(RosterItem) private readonly items: Repository<RosterItem>,
    private readonly router: StanzaRouter,
  ) {}

  onModuleInit(): void {
    this.router.handleIq('get', 'query', NS.roster, (iq, origin) => this.get(iq, origin));
    this.router.handleIq('set', 'query', NS.roster, (iq, origin) => this.set(iq, origin));
  }

  rosterOf(owner: string): Promise<RosterItem[]> {
    return this.items.findBy({ owner });
  }

  item(owner: string, contact: string): Promise<RosterItem | null> {
    return this.items.findOneBy({ owner, contact });
  }

  /** A new, empty item (not yet saved). */
  blank(owner: string, contact: string): RosterItem {
    return this.items.create({
      owner,
      contact,
      name: null,
      subscription: 'none',
      askSubscribe: false,
      groupsJson: '[]',
    });
  }

  /** Saves an item and pushes it to the owner's interested resources. */
  async save(item: RosterItem): Promise<void> {
    await this.items.save(item);
    this.push(item.owner, this.itemElement(item));
  }

  async remove(item: RosterItem): Promise<void> {
    await this.items.delete({ owner: item.owner, contact: item.contact });
    this.push(item.owner, new Element('item', { jid: item.contact, subscription: 'remove' }));
  }

  /** Contacts of `owner` whose subscription includes one of `subscriptions`. */
  async contactsWith(owner: string, ...subscriptions: Subscription[]): Promise<string[]> {
    const items = await this.rosterOf(owner);
    return items.filter((item) => subscriptions.includes(item.subscription)).map((i) => i.contact);
  }

  private async get(iq: Element, origin: XmppSession) {
    if (!origin.interestedInRoster) {
      origin.interestedInRoster = true;
      this.router.sessionChanged(origin);
    }
    const query = new Element('query', { xmlns: NS.roster });
    for (const item of await this.rosterOf(origin.bare)) query.cnode(this.itemElement(item));
    this.router.reply(iq, origin, query);
  }

  private async set(iq: Element, origin: XmppSession) {
    const bad = (text: string) => this.router.bounce(iq, origin, 'modify', 'bad-request', text);
    const items = iq.getChild('query', NS.roster)!.getChildren('item');
    if (items.length !== 1) return bad('a roster set carries exactly one item');
    const [request] = items;
    const contact = Jid.parse(String(request.attrs.jid ?? ''));
    if (!contact) return this.router.bounce(iq, origin, 'modify', 'jid-malformed');
    const contactJid = contact.bare.toString();
    if (contactJid === origin.bare || contactJid.length > MAX_TEXT)
      return this.router.bounce(iq, origin, 'modify', 'not-acceptable');
    const existing = await this.item(origin.bare, contactJid);

    if (request.attrs.subscription === 'remove') {
      if (!existing) return this.router.bounce(iq, origin, 'cancel', 'item-not-found');
      for (const listener of this.removalListeners) await listener(existing);
      await this.remove(existing);
      return this.router.reply(iq, origin);
    }
    const groups = request.getChildren('group').map((group) => group.getText());
    const name = typeof request.attrs.name === 'string' ? request.attrs.name : null;
    if (groups.length > MAX_GROUPS || groups.some((g) => g === '' || g.length > MAX_TEXT))
      return this.router.bounce(iq, origin, 'modify', 'not-acceptable', 'bad groups');
    if (new Set(groups).size !== groups.length) return bad('duplicate group');
    if (name !== null && name.length > MAX_TEXT)
      return this.router.bounce(iq, origin, 'modify', 'not-acceptable', 'name too long');
    if (!existing && (await this.items.countBy({ owner: origin.bare })) >= MAX_ROSTER_ITEMS)
      return this.router.bounce(iq, origin, 'wait', 'resource-constraint', 'roster full');
    const item = existing ?? this.blank(origin.bare, contactJid);
    item.name = name;
    item.groupsJson = JSON.stringify(groups);
    await this.save(item);
    this.router.reply(iq, origin);
  }

  /** Runs before a client removes an item (subscriptions cancel theirs). */
  onRemoval(listener: (item: RosterItem) => Promise<void>): void {
    this.removalListeners.push(listener);
  }

  private push(owner: string, item: Element) {
    for (const session of this.router.sessionsOf(owner)) {
      if (!session.interestedInRoster) continue;
      const push = new Element('iq', {
        xmlns: NS.client,
        type: 'set',
        id: `push-${randomBytes(6).toString('hex')}`,
        to: session.full,
      });
      push.c('query', { xmlns: NS.roster }).cnode(item);
      session.send(push);
    }
  }

  private itemElement(item: RosterItem): Element {
    const element = new Element('item', { jid: item.contact, subscription: item.subscription });
    if (item.name !== null) element.attrs.name = item.name;
    if (item.askSubscribe) element.attrs.ask = 'subscribe';
    for (const group of JSON.parse(item.groupsJson) as string[]) element.c('group').t(group);
    return element;
  }
}
