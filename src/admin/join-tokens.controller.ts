import { Body, Controller, Inject, Post, UseGuards } from '@nestjs/common';
import {
  ApiBasicAuth,
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { APP_CONFIG } from '../config/config.module';
import { AppConfig } from '../config/config.schema';
import { RateLimit } from '../portal/auth/rate-limits';
import { JoinTokenService } from '../portal/join-token.service';
import { AdminGuard } from './admin-auth.guard';
import { MintedJoinToken, MintJoinTokenDto } from './admin.dto';

/** Join tokens for any room, identity and role: what an app's backend calls with its key. */
@ApiTags('admin')
@ApiBearerAuth()
@ApiBasicAuth('apiKey')
@ApiUnauthorizedResponse({ description: 'No credentials, or an invalid or revoked API key' })
@ApiForbiddenResponse({ description: 'Signed in, but not an administrator' })
@Controller('api/v1/admin/join-tokens')
@UseGuards(AdminGuard)
export class JoinTokensController {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly joinTokens: JoinTokenService,
  ) {}

  @Post()
  @RateLimit('token')
  @ApiCreatedResponse({ type: MintedJoinToken })
  @ApiTooManyRequestsResponse({ description: 'Token rate limit reached' })
  mint(@Body() dto: MintJoinTokenDto): MintedJoinToken {
    const expiresIn = dto.ttlSeconds ?? this.config.auth.tokenTtlSeconds;
    const { room, identity, name, role } = dto;
    const token = this.joinTokens.mint({ room, identity, name, role }, expiresIn);
    const url = `/r/${encodeURIComponent(room)}?token=${encodeURIComponent(token)}`;
    return { token, room, identity, role, expiresIn, url };
  }
}
