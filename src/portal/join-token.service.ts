import { Inject, Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { APP_CONFIG } from '../config/config.module';
import { AppConfig } from '../config/config.schema';
import { DomainError } from '../conference/domain-error';
import { ROLES, Role } from '../conference/participant';
import { ROOM_ID_PATTERN } from '../conference/room';

/** What a join token grants: one identity, in one room, with one role. */
export interface JoinGrant {
  room: string;
  identity: string;
  name: string;
  role: Role;
}

const claimsSchema = z.object({
  sub: z.string().min(1).max(256),
  room: z.string().regex(ROOM_ID_PATTERN),
  name: z.string().min(1).max(100),
  role: z.enum(ROLES),
});

/** Mints and verifies join tokens: HS256 JWTs scoped to a room and a role. */
@Injectable()
export class JoinTokenService {
  private readonly jwt: JwtService;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    this.jwt = new JwtService({
      secret: config.auth.jwtSecret,
      signOptions: { algorithm: 'HS256', issuer: config.auth.jwtIssuer },
      verifyOptions: { algorithms: ['HS256'], issuer: config.auth.jwtIssuer },
    });
  }

  mint(grant: JoinGrant, ttlSeconds = this.config.auth.tokenTtlSeconds): string {
    const { identity, room, name, role } = grant;
    const claims = claimsSchema.parse({ sub: identity, room, name, role });
    return this.jwt.sign(claims, { expiresIn: ttlSeconds, jwtid: randomUUID() });
  }

  verify(token: string): JoinGrant {
    let payload: unknown;
    try {
      payload = this.jwt.verify(token);
    } catch (error) {
      const reason = (error as Error).name === 'TokenExpiredError' ? 'expired' : 'invalid';
      throw new DomainError('unauthorized', `join token ${reason}`);
    }
    const claims = claimsSchema.safeParse(payload);
    if (!claims.success)
      throw new DomainError('unauthorized', 'join token lacks room, name or role');
    const { sub, room, name, role } = claims.data;
    return { identity: sub, room, name, role };
  }
}
