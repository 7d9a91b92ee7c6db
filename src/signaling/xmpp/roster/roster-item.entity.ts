import { Column, Entity, PrimaryColumn } from 'typeorm';

export const SUBSCRIPTIONS = ['none', 'to', 'from', 'both'] as const;
export type Subscription = (typeof SUBSCRIPTIONS)[number];

/** One contact on a user's roster (RFC 6121 section 2), keyed by both bare JIDs. */
@Entity({ name: 'xmpp_roster_items' })
export class RosterItem {
  @PrimaryColumn({ name: 'owner', type: 'varchar', length: 255 })
  owner!: string;

  @PrimaryColumn({ name: 'contact', type: 'varchar', length: 255 })
  contact!: string;

  @Column({ type: 'varchar', length: 255, nullable: true })
  name!: string | null;

  @Column({ type: 'varchar', length: 8 })
  subscription!: Subscription;

  /** The owner asked to subscribe to the contact and awaits an answer ("pending out"). */
  @Column({ name: 'ask_subscribe', type: 'boolean' })
  askSubscribe!: boolean;

  /** Group names, JSON. */
  @Column({ name: 'groups', type: 'text' })
  groupsJson!: string;
}
