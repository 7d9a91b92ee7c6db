import { Column, Entity, PrimaryColumn } from 'typeorm';
import { epochMillis } from '../database/epoch-millis.transformer';
import { ScramCredentials } from './scram-credentials';

export const USER_ROLES = ['admin', 'user'] as const;
export type UserRole = (typeof USER_ROLES)[number];

@Entity({ name: 'users' })
export class User {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  /** Stored lower-case; unique. */
  @Column({ type: 'varchar', length: 254 })
  email!: string;

  @Column({ name: 'display_name', type: 'varchar', length: 100 })
  displayName!: string;

  @Column({ type: 'varchar', length: 16 })
  role!: UserRole;

  /** scrypt hash in the format of password-hasher.ts; never leaves the service. */
  @Column({ name: 'password_hash', type: 'varchar', length: 255 })
  passwordHash!: string;

  /** SCRAM-SHA-1 and SCRAM-SHA-256 verifiers (for the XMPP door), JSON. */
  @Column({ name: 'scram_credentials', type: 'text' })
  scramCredentialsJson!: string;

  @Column({ name: 'failed_logins', type: 'integer', default: 0 })
  failedLogins!: number;

  @Column({ name: 'locked_until', type: 'bigint', nullable: true, transformer: epochMillis })
  lockedUntil!: Date | null;

  @Column({ name: 'created_at', type: 'bigint', transformer: epochMillis })
  createdAt!: Date;

  get scramCredentials(): ScramCredentials {
    return JSON.parse(this.scramCredentialsJson) as ScramCredentials;
  }
}
