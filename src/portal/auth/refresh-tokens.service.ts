import { Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { IsNull, Repository } from 'typeorm';
import { APP_CONFIG } from '../../config/config.module';
import { AppConfig } from '../../config/config.schema';
import { RefreshToken } from '../users/refresh-token.entity';

const sha256 = (token: string) => createHash('sha256').update(token).digest('hex');

/** Rotating refresh tokens, stored hashed: the only access to the refresh_tokens table. */
@Injectable()
export class RefreshTokensService {
  constructor(
    @InjectRepository(RefreshToken) private readonly tokens: Repository<RefreshToken>,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Issues a token for a user: a new family, or the next token of an existing one. */
  async issue(userId: string, familyId: string = randomUUID()): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    const now = Date.now();
    await this.tokens.insert({
      id: randomUUID(),
      userId,
      familyId,
      tokenHash: sha256(token),
      expiresAt: new Date(now + this.config.portal.refreshTokenTtlSeconds * 1000),
      usedAt: null,
      revokedAt: null,
      createdAt: new Date(now),
    });
    return token;
  }

  /**
   * Exchanges a valid token for its successor and returns the user id and new token.
   * A token that was already exchanged means it leaked: the whole family is revoked.
   */
  async rotate(token: string): Promise<{ userId: string; refreshToken: string }> {
    const current = await this.tokens.findOneBy({ tokenHash: sha256(token) });
    if (!current || current.revokedAt) throw new UnauthorizedException('refresh token revoked');
    if (current.expiresAt.getTime() <= Date.now())
      throw new UnauthorizedException('refresh token expired');
    const claimed = await this.tokens.update(
      { id: current.id, usedAt: IsNull() },
      { usedAt: new Date() },
    );
    if (current.usedAt || claimed.affected !== 1) {
      await this.revokeFamily(current.familyId);
      throw new UnauthorizedException('refresh token reused: the session is revoked');
    }
    const refreshToken = await this.issue(current.userId, current.familyId);
    return { userId: current.userId, refreshToken };
  }

  /** Revokes the session a token belongs to (logout). Unknown tokens are ignored. */
  async revoke(token: string): Promise<void> {
    const current = await this.tokens.findOneBy({ tokenHash: sha256(token) });
    if (current) await this.revokeFamily(current.familyId);
  }

  private async revokeFamily(familyId: string): Promise<void> {
    await this.tokens.update({ familyId, revokedAt: IsNull() }, { revokedAt: new Date() });
  }
}
