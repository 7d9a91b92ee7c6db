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
  UseInterceptors,
} from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
} from '@nestjs/swagger';
import { BreakoutRooms } from '../conference/breakout-rooms';
import { DomainError } from '../conference/domain-error';
import { AdminApi } from './admin-auth.guard';
import { BreakoutsAdminView, breakoutsAdminView, CreateBreakoutsDto } from './admin-breakouts.dto';
import { DomainErrorFilter } from './domain-error.filter';
import { ForwardToRoomOwner } from './shard-forwarding';

/** A live room's breakout rooms, answered by the shard that runs the room. */
@AdminApi()
@Controller('api/v1/admin/rooms/:room/breakouts')
@UseFilters(DomainErrorFilter)
@UseInterceptors(ForwardToRoomOwner)
export class AdminBreakoutsController {
  constructor(private readonly breakouts: BreakoutRooms) {}

  @Get()
  @ApiOkResponse({ type: BreakoutsAdminView, description: 'The rooms and who is in each' })
  @ApiNotFoundResponse({ description: 'The room has no breakout rooms' })
  list(@Param('room') room: string): BreakoutsAdminView {
    const state = this.breakouts.stateOf(room);
    if (!state || state.mainRoomId !== room) {
      throw new DomainError('not_found', `room ${room} has no breakout rooms`);
    }
    return breakoutsAdminView(state);
  }

  @Post()
  @ApiCreatedResponse({ type: BreakoutsAdminView, description: 'Opened (and assigned)' })
  @ApiBadRequestResponse({ description: 'No count or names, or more than MAX_BREAKOUT_ROOMS' })
  @ApiNotFoundResponse({ description: 'No live room by that name' })
  @ApiConflictResponse({ description: 'The room has breakout rooms already' })
  async create(
    @Param('room') room: string,
    @Body() dto: CreateBreakoutsDto,
  ): Promise<BreakoutsAdminView> {
    const { names, count, assign, allowChoice, durationSeconds } = dto;
    const state = await this.breakouts.open(room, {
      rooms: names ?? count ?? 0,
      assign,
      allowChoice,
      durationSeconds,
    });
    return breakoutsAdminView(state);
  }

  @Delete()
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiNoContentResponse({ description: 'Closed: everyone in them returns to the main room' })
  @ApiNotFoundResponse({ description: 'The room has no breakout rooms' })
  close(@Param('room') room: string): Promise<void> {
    return this.breakouts.finish(room, 'closed');
  }
}
