import { Inject, Injectable } from '@nestjs/common';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { APP_CONFIG } from '../../../config/config.module';
import { AppConfig } from '../../../config/config.schema';
import { DomainError } from '../../../conference/domain-error';
import { JoinGrant, JoinTokenService } from '../../../portal/join-token.service';
import { hashPassword, verifyPassword } from '../../../portal/users/password-hasher';
import {
  ScramCredential,
  scramCredential,
  ScramMechanism,
} from '../../../portal/users/scram-credentials';
import { User } from '../../../portal/users/user.entity';
import { UsersService } from '../../../portal/users/users.service';
import { Jid } from '../core/jid';
import { XmppAccount } from '../core/xmpp-session';

const JWT_SHAPE = /^[\w-]+\.[\w-]+\.[\w-]+$/;

/**
 * Maps the portal's identities to XMPP accounts. A portal user's JID localpart is their
 * user id (a UUID), so it never changes with the e-mail address; SASL accepts either the
 * e-mail address or the user id as the username. A join token's identity becomes the
 * localpart as it is when it is a valid localpart (the portal uses the user id, so a
 * user is the same JID both ways), otherwise a hash of it.
 */
@Injectable()
export class XmppAccounts {
  private decoyHash: Promise<string> | undefined;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly users: UsersService,
    private readonly joinTokens: JoinTokenService,
  ) {}

  /** The portal user a SASL username (e-mail address or user id) names. */
  async findUser(username: string): Promise<User | null> {
    if (username.length === 0 || username.length > 254) return null;
    return username.includes('@')
      ? this.users.findByEmail(username)
      : this.users.findById(username.toLowerCase());
  }

  isLocked(user: User): boolean {
    return user.lockedUntil !== null && user.lockedUntil.getTime() > Date.now();
  }

  /** Checks a password; for an unknown user the same work is done against a decoy. */
  async checkPassword(user: User | null, password: string): Promise<boolean> {
    if (!user) {
      this.decoyHash ??= hashPassword(randomBytes(16).toString('hex'));
      await verifyPassword(password, await this.decoyHash);
      return false;
    }
    if (this.isLocked(user)) return false;
    const ok = await verifyPassword(password, user.passwordHash);
    await this.recordOutcome(user, ok);
    return ok;
  }

  /** Counts a failed login towards the portal's lockout, or clears the count. */
  async recordOutcome(user: User, ok: boolean): Promise<void> {
    const { loginMaxFailures, loginLockoutMinutes } = this.config.portal;
    if (ok) await this.users.clearFailedLogins(user);
    else await this.users.recordFailedLogin(user, loginMaxFailures, loginLockoutMinutes * 60_000);
  }

  /**
   * Verifiers for an unknown user, derived from the secret so that repeated attempts
   * look the same: SCRAM then fails at the proof, like a wrong password.
   */
  decoyCredential(mechanism: ScramMechanism, username: string): ScramCredential {
    const salt = createHmac('sha256', this.config.auth.jwtSecret).update(username).digest();
    return scramCredential(mechanism, randomBytes(16).toString('hex'), salt.subarray(0, 16));
  }

  userAccount(user: User): XmppAccount {
    return { localpart: user.id, displayName: user.displayName, kind: 'user' };
  }

  looksLikeJoinToken(password: string): boolean {
    return JWT_SHAPE.test(password);
  }

  /** The account of a join token; null when the token is invalid or expired. */
  tokenAccount(token: string): XmppAccount | null {
    let grant: JoinGrant;
    try {
      grant = this.joinTokens.verify(token);
    } catch (error) {
      if (error instanceof DomainError) return null;
      throw error;
    }
    return this.grantAccount(grant);
  }

  grantAccount(grant: JoinGrant): XmppAccount {
    const identity = grant.identity.toLowerCase();
    const localpart =
      Jid.isValidLocal(identity) && /^[\x21-\x7e]+$/.test(identity)
        ? identity
        : `token-${createHash('sha256').update(grant.identity).digest('hex').slice(0, 24)}`;
    return { localpart, displayName: grant.name, kind: 'token', grant };
  }

  guestAccount(): XmppAccount {
    return {
      localpart: `guest-${randomBytes(8).toString('hex')}`,
      displayName: 'Guest',
      kind: 'guest',
    };
  }
}
