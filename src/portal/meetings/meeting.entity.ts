import { Column, Entity, PrimaryColumn } from 'typeorm';
import { epochMillis } from '../database/epoch-millis.transformer';

/**
 * A scheduled or standing meeting: a title, a host, the room it takes place in and the
 * rules of that room's door.
 */
@Entity({ name: 'meetings' })
export class Meeting {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  /** The conference room id (unique, random, matches ROOM_ID_PATTERN). */
  @Column({ type: 'varchar', length: 64 })
  room!: string;

  @Column({ type: 'varchar', length: 200 })
  title!: string;

  @Column({ name: 'host_id', type: 'varchar', length: 36 })
  hostId!: string;

  /** scrypt hash of the meeting password; null: no password. */
  @Column({ name: 'password_hash', type: 'varchar', length: 200, nullable: true })
  passwordHash!: string | null;

  @Column({ type: 'boolean', default: false })
  lobby!: boolean;

  @Column({ name: 'max_participants', type: 'integer', nullable: true })
  maxParticipants!: number | null;

  @Column({ name: 'created_at', type: 'bigint', transformer: epochMillis })
  createdAt!: Date;
}
