import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  HttpStatus,
  Param,
  ParseUUIDPipe,
  Patch,
  Post,
  Req,
  UseGuards,
} from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { AccessTokenGuard } from '../auth/access-token.strategy';
import { AuthenticatedUser } from '../auth/access-tokens';
import { RateLimit } from '../auth/rate-limits';
import { MeetingDto, MeetingJoinToken, MeetingView, UpdateMeetingDto } from './meeting.dto';
import { MeetingsService } from './meetings.service';

type AuthenticatedRequest = { user: AuthenticatedUser };

@ApiTags('meetings')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ description: 'No or invalid access token' })
@ApiNotFoundResponse({ description: 'No such meeting' })
@ApiForbiddenResponse({ description: 'Neither the host nor an admin' })
@Controller('api/v1/meetings')
@UseGuards(AccessTokenGuard)
export class MeetingsController {
  constructor(private readonly meetings: MeetingsService) {}

  @Post()
  @ApiCreatedResponse({ type: MeetingView })
  create(@Req() request: AuthenticatedRequest, @Body() dto: MeetingDto): Promise<MeetingView> {
    return this.meetings.create(request.user, dto);
  }

  @Get()
  @ApiOkResponse({ type: [MeetingView] })
  list(@Req() request: AuthenticatedRequest): Promise<MeetingView[]> {
    return this.meetings.list(request.user);
  }

  @Get(':id')
  @ApiOkResponse({ type: MeetingView })
  get(@Param('id', ParseUUIDPipe) id: string): Promise<MeetingView> {
    return this.meetings.get(id);
  }

  @Patch(':id')
  @ApiOkResponse({ type: MeetingView })
  update(
    @Req() request: AuthenticatedRequest,
    @Param('id', ParseUUIDPipe) id: string,
    @Body() dto: UpdateMeetingDto,
  ): Promise<MeetingView> {
    return this.meetings.update(request.user, id, dto);
  }

  @Delete(':id')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiNoContentResponse({ description: 'Deleted' })
  remove(
    @Req() request: AuthenticatedRequest,
    @Param('id', ParseUUIDPipe) id: string,
  ): Promise<void> {
    return this.meetings.remove(request.user, id);
  }

  @Post(':id/join-token')
  @RateLimit('token')
  @ApiCreatedResponse({ type: MeetingJoinToken })
  @ApiTooManyRequestsResponse({ description: 'Token rate limit reached' })
  joinToken(
    @Req() request: AuthenticatedRequest,
    @Param('id', ParseUUIDPipe) id: string,
  ): Promise<MeetingJoinToken> {
    return this.meetings.joinToken(request.user, id);
  }
}
