import { UserRole } from '../users/user.entity';

/** Access tokens are HS256 JWTs for this audience, so join tokens never pass as one. */
export const ACCESS_TOKEN_AUDIENCE = 'video-window-portal';

export interface AccessTokenClaims {
  sub: string;
  role: UserRole;
}

/** What a guarded request knows about its caller (request.user). */
export interface AuthenticatedUser {
  id: string;
  role: UserRole;
}
