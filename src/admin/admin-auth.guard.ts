import {
  applyDecorators,
  CanActivate,
  ExecutionContext,
  ForbiddenException,
  Injectable,
  SetMetadata,
  UnauthorizedException,
  UseGuards,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  ApiBasicAuth,
  ApiBearerAuth,
  ApiForbiddenResponse,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { ApiKeysService } from '../portal/api-keys/api-keys.service';
import { AccessTokenGuard } from '../portal/auth/access-token.strategy';
import { AuthenticatedUser } from '../portal/auth/access-tokens';

/** Who called the admin API: an administrator's access token, or an API key. */
export type AdminCaller = { kind: 'user'; userId: string } | { kind: 'apiKey'; keyId: string };

export type AdminRequest = {
  headers: { authorization?: string };
  user?: AuthenticatedUser;
  adminCaller: AdminCaller;
};

const ADMINS_ONLY = 'admin:adminsOnly';
/** The route takes an administrator's access token only: API keys do not manage keys. */
export const AdminsOnly = () => SetMetadata(ADMINS_ONLY, true);

/** An admin API controller: guarded by AdminGuard and documented as such. */
export const AdminApi = () =>
  applyDecorators(
    ApiTags('admin'),
    ApiBearerAuth(),
    ApiBasicAuth('apiKey'),
    ApiUnauthorizedResponse({ description: 'No credentials, or an invalid or revoked API key' }),
    ApiForbiddenResponse({ description: 'Signed in, but not an administrator' }),
    UseGuards(AdminGuard),
  );

/**
 * Guards the admin API. `Authorization: Basic base64(keyId:secret)` authenticates an
 * API key; `Authorization: Bearer <access token>` a signed-in user, who must be an admin.
 */
@Injectable()
export class AdminGuard implements CanActivate {
  constructor(
    private readonly apiKeys: ApiKeysService,
    private readonly accessToken: AccessTokenGuard,
    private readonly reflector: Reflector,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<AdminRequest>();
    const [scheme, credentials] = (request.headers.authorization ?? '').split(' ', 2);
    if (scheme?.toLowerCase() === 'basic') {
      const pair = Buffer.from(credentials ?? '', 'base64').toString('utf8');
      const colon = pair.indexOf(':');
      const keyId =
        colon > 0 ? await this.apiKeys.verify(pair.slice(0, colon), pair.slice(colon + 1)) : null;
      if (!keyId) throw new UnauthorizedException('unknown or revoked API key, or wrong secret');
      const adminsOnly = this.reflector.getAllAndOverride<boolean>(ADMINS_ONLY, [
        context.getHandler(),
        context.getClass(),
      ]);
      if (adminsOnly) throw new ForbiddenException('API keys are managed by administrators only');
      request.adminCaller = { kind: 'apiKey', keyId };
      return true;
    }
    await this.accessToken.canActivate(context);
    const user = request.user!;
    if (user.role !== 'admin') throw new ForbiddenException('administrators only');
    request.adminCaller = { kind: 'user', userId: user.id };
    return true;
  }
}
