import { Body, Controller, HttpCode, HttpStatus, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { UserProfile } from '../users/users.service';
import { LoginDto, RefreshTokenDto, RegisterDto, TokenPair } from './auth.dto';
import { AuthService } from './auth.service';
import { RateLimit } from './rate-limits';

@ApiTags('auth')
@ApiBadRequestResponse({ description: 'Invalid body: `message` lists every problem' })
@Controller('api/v1/auth')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  @Post('register')
  @RateLimit('registration')
  @ApiCreatedResponse({ type: UserProfile })
  @ApiConflictResponse({ description: 'E-mail address taken' })
  @ApiTooManyRequestsResponse({ description: 'Registration rate limit reached' })
  register(@Body() dto: RegisterDto): Promise<UserProfile> {
    return this.auth.register(dto);
  }

  @Post('login')
  @HttpCode(HttpStatus.OK)
  @RateLimit('login')
  @ApiOkResponse({ type: TokenPair })
  @ApiUnauthorizedResponse({ description: 'Wrong e-mail or password' })
  @ApiTooManyRequestsResponse({ description: 'Rate limit reached or account locked' })
  login(@Body() dto: LoginDto): Promise<TokenPair> {
    return this.auth.login(dto);
  }

  @Post('refresh')
  @HttpCode(HttpStatus.OK)
  @RateLimit('token')
  @ApiOkResponse({ type: TokenPair })
  @ApiUnauthorizedResponse({ description: 'Unknown, used or revoked refresh token' })
  @ApiTooManyRequestsResponse({ description: 'Token rate limit reached' })
  refresh(@Body() dto: RefreshTokenDto): Promise<TokenPair> {
    return this.auth.refresh(dto.refreshToken);
  }

  @Post('logout')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiNoContentResponse({ description: "The session's refresh tokens are revoked" })
  logout(@Body() dto: RefreshTokenDto): Promise<void> {
    return this.auth.logout(dto.refreshToken);
  }
}
