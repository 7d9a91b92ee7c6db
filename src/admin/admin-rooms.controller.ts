import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  HttpStatus,
  Param,
  Post,
  UseFilters,
} from '@nestjs/common';
import {
  ApiConflictResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
} from '@nestjs/swagger';
import { ShardDrain } from '../cluster/shard-drain.service';
import { ConferenceService } from '../conference/conference.service';
import { AdminApi } from './admin-auth.guard';
import { AdminRoomsService } from './admin-rooms.service';
import { DrainStatusView, MuteDto, MuteResult, RoomAdminView, ShardInfo } from './admin.dto';
import { DomainErrorFilter } from './domain-error.filter';

/** Live rooms on this shard and their moderation, for administrators and API keys. */
@AdminApi()
@Controller('api/v1/admin')
@UseFilters(DomainErrorFilter)
export class AdminRoomsController {
  constructor(
    private readonly rooms: AdminRoomsService,
    private readonly conference: ConferenceService,
    private readonly drainer: ShardDrain,
  ) {}

  @Get('shard')
  @ApiOkResponse({ type: ShardInfo })
  shard(): Promise<ShardInfo> {
    return this.rooms.shard();
  }

  @Post('shard/drain')
  @HttpCode(HttpStatus.OK)
  @ApiOkResponse({
    type: DrainStatusView,
    description:
      'Draining: no new rooms here; live rooms go on until they end or the deadline, ' +
      'then the shard exits',
  })
  drain(): Promise<DrainStatusView> {
    return this.drainer.start();
  }

  @Get('rooms')
  @ApiOkResponse({ type: [RoomAdminView] })
  list(): Promise<RoomAdminView[]> {
    return this.rooms.rooms();
  }

  @Get('rooms/:room')
  @ApiOkResponse({ type: RoomAdminView })
  @ApiNotFoundResponse({ description: 'No live room by that name' })
  get(@Param('room') room: string): Promise<RoomAdminView> {
    return this.rooms.room(room);
  }

  @Delete('rooms/:room')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiNoContentResponse({ description: 'Ended: everyone was removed (reason room_ended)' })
  @ApiNotFoundResponse({ description: 'No live room by that name' })
  end(@Param('room') room: string): Promise<void> {
    return this.conference.endRoom(room);
  }

  @Post('rooms/:room/lock')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiNoContentResponse({ description: 'Locked: new joins except moderators get room_locked' })
  @ApiNotFoundResponse({ description: 'No live room by that name' })
  lock(@Param('room') room: string): void {
    this.conference.setLocked(room, true);
  }

  @Delete('rooms/:room/lock')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiNoContentResponse({ description: 'Unlocked' })
  @ApiNotFoundResponse({ description: 'No live room by that name' })
  unlock(@Param('room') room: string): void {
    this.conference.setLocked(room, false);
  }

  @Post('rooms/:room/participants/:participantId/kick')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiNoContentResponse({ description: 'Removed; the participant is told (reason kicked)' })
  @ApiNotFoundResponse({ description: 'No such room or participant' })
  kick(@Param('room') room: string, @Param('participantId') participantId: string): Promise<void> {
    return this.conference.kick(room, participantId);
  }

  @Post('rooms/:room/participants/:participantId/mute')
  @HttpCode(HttpStatus.OK)
  @ApiOkResponse({ type: MuteResult, description: 'Paused on the server; the client is told' })
  @ApiNotFoundResponse({ description: 'No such room or participant' })
  @ApiConflictResponse({ description: 'The room restarted' })
  async mute(
    @Param('room') room: string,
    @Param('participantId') participantId: string,
    @Body() dto: MuteDto,
  ): Promise<MuteResult> {
    return { producerIds: await this.conference.mute(room, participantId, dto.kind) };
  }
}
