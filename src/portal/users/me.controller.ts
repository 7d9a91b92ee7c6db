import { Controller, Get, NotFoundException, Req, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiTags, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { AccessTokenGuard } from '../auth/access-token.strategy';
import { AuthenticatedUser } from '../auth/access-tokens';
import { toProfile, UserProfile, UsersService } from './users.service';

@ApiTags('users')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ description: 'No or invalid access token' })
@Controller('api/v1/me')
@UseGuards(AccessTokenGuard)
export class MeController {
  constructor(private readonly users: UsersService) {}

  @Get()
  @ApiOkResponse({ type: UserProfile })
  async profile(@Req() request: { user: AuthenticatedUser }): Promise<UserProfile> {
    const user = await this.users.findById(request.user.id);
    if (!user) throw new NotFoundException('the account no longer exists');
    return toProfile(user);
  }
}
