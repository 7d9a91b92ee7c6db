import { Controller, Get, Req, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiTags, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { AccessTokenGuard } from '../portal/auth/access-token.strategy';
import { AuthenticatedUser } from '../portal/auth/access-tokens';
import { IceServer, TurnService } from './turn.service';

/** ICE servers with fresh TURN credentials, for signed-in apps that set up calls themselves. */
@ApiTags('turn')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ description: 'No or invalid access token' })
@Controller('api/v1/turn')
@UseGuards(AccessTokenGuard)
export class TurnController {
  constructor(private readonly turn: TurnService) {}

  @Get('credentials')
  credentials(@Req() request: { user: AuthenticatedUser }): { iceServers: IceServer[] } {
    return { iceServers: this.turn.iceServersFor(`user-${request.user.id}`) };
  }
}
