import {
  ForbiddenException,
  HttpException,
  HttpStatus,
  Inject,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { APP_CONFIG } from '../../config/config.module';
import { AppConfig } from '../../config/config.schema';
import { hashPassword, verifyPassword } from '../users/password-hasher';
import { UserRole } from '../users/user.entity';
import { toProfile, UserProfile, UsersService } from '../users/users.service';
import { ACCESS_TOKEN_AUDIENCE, AccessTokenClaims } from './access-tokens';
import { LoginDto, RegisterDto, TokenPair } from './auth.dto';
import { RefreshTokensService } from './refresh-tokens.service';

/** Registration, login with lockout, token refresh and logout. */
@Injectable()
export class AuthService {
  private readonly jwt: JwtService;
  /** Compared against when the e-mail is unknown, so both cases take as long. */
  private readonly unknownUserHash = hashPassword('unknown user');

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly users: UsersService,
    private readonly refreshTokens: RefreshTokensService,
  ) {
    this.jwt = new JwtService({
      secret: config.auth.jwtSecret,
      signOptions: {
        algorithm: 'HS256',
        issuer: config.auth.jwtIssuer,
        audience: ACCESS_TOKEN_AUDIENCE,
      },
    });
  }

  async register(dto: RegisterDto): Promise<UserProfile> {
    if (!this.config.portal.registrationEnabled)
      throw new ForbiddenException('registration is turned off on this server');
    return toProfile(await this.users.create({ ...dto, role: 'user' }));
  }

  async login({ email, password }: LoginDto): Promise<TokenPair> {
    const { loginMaxFailures, loginLockoutMinutes } = this.config.portal;
    const user = await this.users.findByEmail(email);
    if (user?.lockedUntil && user.lockedUntil.getTime() > Date.now())
      throw new HttpException(
        {
          statusCode: HttpStatus.TOO_MANY_REQUESTS,
          error: 'Too Many Requests',
          message: `account locked after ${loginMaxFailures} failed logins; try again later`,
          retryAfterSeconds: Math.ceil((user.lockedUntil.getTime() - Date.now()) / 1000),
        },
        HttpStatus.TOO_MANY_REQUESTS,
      );
    const passwordMatches = await verifyPassword(
      password,
      user?.passwordHash ?? (await this.unknownUserHash),
    );
    if (!user || !passwordMatches) {
      if (user)
        await this.users.recordFailedLogin(user, loginMaxFailures, loginLockoutMinutes * 60_000);
      throw new UnauthorizedException('wrong e-mail or password');
    }
    await this.users.clearFailedLogins(user);
    return this.tokenPair(user.id, user.role, await this.refreshTokens.issue(user.id));
  }

  async refresh(token: string): Promise<TokenPair> {
    const { userId, refreshToken } = await this.refreshTokens.rotate(token);
    const user = await this.users.findById(userId);
    if (!user) throw new UnauthorizedException('the account no longer exists');
    return this.tokenPair(user.id, user.role, refreshToken);
  }

  logout(refreshToken: string): Promise<void> {
    return this.refreshTokens.revoke(refreshToken);
  }

  private tokenPair(userId: string, role: UserRole, refreshToken: string): TokenPair {
    const expiresIn = this.config.portal.accessTokenTtlSeconds;
    const claims: AccessTokenClaims = { sub: userId, role };
    return {
      tokenType: 'Bearer',
      accessToken: this.jwt.sign(claims, { expiresIn }),
      expiresIn,
      refreshToken,
    };
  }
}
