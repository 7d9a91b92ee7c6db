import { ExecutionContext, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { AuthGuard, PassportStrategy } from '@nestjs/passport';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { APP_CONFIG } from '../../config/config.module';
import { AppConfig } from '../../config/config.schema';
import { UsersService } from '../users/users.service';
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

/**
 * Guards a route with an access token (401 without a valid one) whose account exists
 * here: it may have been deleted since, or the token minted by a shard with a database of
 * its own. The caller has the account's role.
 */
@Injectable()
export class AccessTokenGuard extends AuthGuard(STRATEGY) {
  constructor(private readonly users: UsersService) {
    super();
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    await super.canActivate(context);
    const request = context.switchToHttp().getRequest<{ user: AuthenticatedUser }>();
    const user = await this.users.findById(request.user.id);
    if (!user) {
      throw new UnauthorizedException(
        'the account of this access token does not exist on this server',
      );
    }
    request.user = { id: user.id, role: user.role };
    return true;
  }
}
