import { Body, Controller, Inject, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiTooManyRequestsResponse } from '@nestjs/swagger';
import { APP_CONFIG } from '../config/config.module';
import { AppConfig } from '../config/config.schema';
import { RateLimit } from '../portal/auth/rate-limits';
import { JoinTokenService } from '../portal/join-token.service';
import { AdminApi } from './admin-auth.guard';
import { MintedJoinToken, MintJoinTokenDto } from './admin.dto';

/** Join tokens for any room, identity and role: what an app's backend calls with its key. */
@AdminApi()
@Controller('api/v1/admin/join-tokens')
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
