import { Inject, Injectable } from '@nestjs/common';
import { AuthGuard, PassportStrategy } from '@nestjs/passport';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { APP_CONFIG } from '../../config/config.module';
import { AppConfig } from '../../config/config.schema';
import { ACCESS_TOKEN_AUDIENCE, AccessTokenClaims, AuthenticatedUser } from './access-tokens';

const STRATEGY = 'access-token';

/** Checks `Authorization: Bearer <access token>`: signature, issuer, audience, expiry. */
@Injectable()
export class AccessTokenStrategy extends PassportStrategy(Strategy, STRATEGY) {
  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      secretOrKey: config.auth.jwtSecret,
      algorithms: ['HS256'],
      issuer: config.auth.jwtIssuer,
      audience: ACCESS_TOKEN_AUDIENCE,
      ignoreExpiration: false,
    });
  }

  validate(claims: AccessTokenClaims): AuthenticatedUser {
    return { id: claims.sub, role: claims.role };
  }
}

/** Guards a route with an access token (401 without a valid one). */
export const AccessTokenGuard = AuthGuard(STRATEGY);
