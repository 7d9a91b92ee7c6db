import { Column, Entity, PrimaryColumn } from 'typeorm';
import { epochMillis } from '../../../portal/database/epoch-millis.transformer';

/**
 * A stanza kept for a user who had no available resource: a message, or a presence
 * subscription request. Delivered (and deleted) at the user's next initial presence.
 */
@Entity({ name: 'xmpp_offline_messages' })
export class OfflineMessage {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  /** Bare JID of the recipient. */
  @Column({ type: 'varchar', length: 255 })
  owner!: string;

  /** The stanza as XML. */
  @Column({ type: 'text' })
  stanza!: string;

  @Column({ name: 'created_at', type: 'bigint', transformer: epochMillis })
  createdAt!: Date;
}
