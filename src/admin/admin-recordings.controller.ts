import {
  Controller,
  Delete,
  Get,
  HttpCode,
  HttpStatus,
  Param,
  Post,
  Res,
  UseFilters,
  UseInterceptors,
} from '@nestjs/common';
import {
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiServiceUnavailableResponse,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { RecordingInfo } from '../recording/recording-info';
import { RecordingService } from '../recording/recording.service';
import { AdminApi } from './admin-auth.guard';
import { RecordingView } from './admin.dto';
import { DomainErrorFilter } from './domain-error.filter';
import { ForwardToRoomOwner } from './shard-forwarding';

/**
 * Recording rooms, and the recordings in this shard's recordings directory. Starting
 * and stopping is answered by the shard that runs the room.
 */
@AdminApi()
@Controller('api/v1/admin')
@UseFilters(DomainErrorFilter)
@UseInterceptors(ForwardToRoomOwner)
export class AdminRecordingsController {
  constructor(private readonly recordings: RecordingService) {}

  @Post('rooms/:room/recording')
  @ApiCreatedResponse({ type: RecordingView, description: 'Recording every track of the room' })
  @ApiNotFoundResponse({ description: 'No live room by that name' })
  @ApiConflictResponse({ description: 'The room is being recorded already' })
  @ApiServiceUnavailableResponse({
    description: 'The shard records as many rooms as it may, or the disk is almost full',
  })
  start(@Param('room') room: string): Promise<RecordingInfo> {
    return this.recordings.start(room, 'admin');
  }

  @Delete('rooms/:room/recording')
  @HttpCode(HttpStatus.OK)
  @ApiOkResponse({ type: RecordingView, description: 'Stopped: the finished recording' })
  @ApiNotFoundResponse({ description: 'The room is not being recorded' })
  stop(@Param('room') room: string): Promise<RecordingInfo> {
    return this.recordings.stop(room);
  }

  @Get('recordings')
  @ApiOkResponse({ type: [RecordingView], description: 'The recordings here, newest first' })
  list(): Promise<RecordingInfo[]> {
    return this.recordings.list();
  }

  @Get('recordings/:id')
  @ApiOkResponse({ type: RecordingView })
  @ApiNotFoundResponse({ description: 'No recording by that id' })
  get(@Param('id') id: string): Promise<RecordingInfo> {
    return this.recordings.get(id);
  }

  @Get('recordings/:id/files/:file')
  @ApiOkResponse({ description: 'The file (Ogg, WebM or Matroska), as an attachment' })
  @ApiNotFoundResponse({ description: 'No such recording or file' })
  async download(
    @Param('id') id: string,
    @Param('file') file: string,
    @Res() response: Response,
  ): Promise<void> {
    const path = await this.recordings.fileOf(id, file);
    await new Promise<void>((resolve, reject) =>
      response.download(path, file, (error) => (error ? reject(error) : resolve())),
    );
  }

  @Delete('recordings/:id')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiNoContentResponse({ description: 'Deleted with its files' })
  @ApiNotFoundResponse({ description: 'No recording by that id' })
  @ApiConflictResponse({ description: 'The recording is running' })
  remove(@Param('id') id: string): Promise<void> {
    return this.recordings.remove(id);
  }
}
