import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  HttpStatus,
  Param,
  Post,
  Req,
  UseFilters,
  UseInterceptors,
} from '@nestjs/common';
import type { Request } from 'express';
import {
  ApiConflictResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
} from '@nestjs/swagger';
import { ClusterService } from '../cluster/cluster.service';
import { ShardDrain } from '../cluster/shard-drain.service';
import { ConferenceService } from '../conference/conference.service';
import { AdminApi } from './admin-auth.guard';
import { AdminRoomsService } from './admin-rooms.service';
import {
  DrainStatusView,
  MuteDto,
  MuteResult,
  RoomAdminView,
  ShardInfo,
  ShardView,
} from './admin.dto';
import { FORWARDED_HEADER, ForwardToRoomOwner } from './shard-forwarding';
import { DomainErrorFilter } from './domain-error.filter';

/**
 * Live rooms and their moderation, for administrators and API keys, from any shard of
 * the cluster: requests about one room are answered by the shard that runs it.
 */
@AdminApi()
@Controller('api/v1/admin')
@UseFilters(DomainErrorFilter)
@UseInterceptors(ForwardToRoomOwner)
export class AdminRoomsController {
  constructor(
    private readonly rooms: AdminRoomsService,
    private readonly conference: ConferenceService,
    private readonly drainer: ShardDrain,
    private readonly cluster: ClusterService,
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

  @Get('shards')
  @ApiOkResponse({ type: [ShardView], description: 'The live shards of the cluster' })
  shards(): ShardView[] {
    return this.cluster.shards();
  }

  @Get('rooms')
  @ApiOkResponse({ type: [RoomAdminView], description: 'Every live room of the cluster' })
  list(@Req() request: Request): Promise<RoomAdminView[]> {
    if (request.headers[FORWARDED_HEADER]) return this.rooms.rooms();
    return this.rooms.clusterRooms(request);
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
