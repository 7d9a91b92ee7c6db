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
  Res,
  UseFilters,
  UseInterceptors,
} from '@nestjs/common';
import {
  ApiConflictResponse,
  ApiBadRequestResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiServiceUnavailableResponse,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { RecordingInfo, StreamingInfo } from '../recording/recording-info';
import { RecordingService } from '../recording/recording.service';
import { StreamingService } from '../recording/streaming.service';
import { AdminApi } from './admin-auth.guard';
import { AdminRecordingsService } from './admin-recordings.service';
import { RecordingView, StartStreamingDto, StreamingView } from './admin.dto';
import { DomainErrorFilter } from './domain-error.filter';
import { ForwardToRoomOwner } from './shard-forwarding';

/**
 * Recording and streaming rooms, and the recordings of every shard. Starting and stopping
 * is answered by the shard that runs the room; a recording by the shard that has it.
 */
@AdminApi()
@Controller('api/v1/admin')
@UseFilters(DomainErrorFilter)
@UseInterceptors(ForwardToRoomOwner)
export class AdminRecordingsController {
  constructor(
    private readonly recordings: RecordingService,
    private readonly streams: StreamingService,
    private readonly clusterRecordings: AdminRecordingsService,
  ) {}

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

  @Post('rooms/:room/streaming')
  @ApiCreatedResponse({ type: StreamingView, description: "Streaming the room's composite" })
  @ApiBadRequestResponse({ description: 'The URL is no rtmp:// or rtmps:// URL' })
  @ApiNotFoundResponse({ description: 'No live room by that name' })
  @ApiConflictResponse({ description: 'The room is being streamed already' })
  @ApiServiceUnavailableResponse({ description: 'The shard streams as many rooms as it may' })
  startStreaming(
    @Param('room') room: string,
    @Body() dto: StartStreamingDto,
  ): Promise<StreamingInfo> {
    return this.streams.start(room, dto.url, 'admin');
  }

  @Delete('rooms/:room/streaming')
  @HttpCode(HttpStatus.OK)
  @ApiOkResponse({ type: StreamingView, description: 'Stopped: the finished stream' })
  @ApiNotFoundResponse({ description: 'The room is not being streamed' })
  stopStreaming(@Param('room') room: string): Promise<StreamingInfo> {
    return this.streams.stop(room);
  }

  @Get('recordings')
  @ApiOkResponse({
    type: [RecordingView],
    description: 'The recordings of every shard of the cluster, newest first',
  })
  list(@Req() request: Request): Promise<RecordingInfo[]> {
    return this.clusterRecordings.list(request);
  }

  @Get('recordings/:id')
  @ApiOkResponse({ type: RecordingView })
  @ApiNotFoundResponse({ description: 'No recording by that id' })
  get(@Param('id') id: string, @Req() request: Request): Promise<RecordingInfo> {
    return this.clusterRecordings.get(id, request);
  }

  @Get('recordings/:id/files/:file')
  @ApiOkResponse({ description: 'The file (Ogg, WebM, Matroska or MP4), as an attachment' })
  @ApiNotFoundResponse({ description: 'No such recording or file' })
  @ApiServiceUnavailableResponse({ description: 'The recordings bucket does not answer' })
  download(
    @Param('id') id: string,
    @Param('file') file: string,
    @Req() request: Request,
    @Res() response: Response,
  ): Promise<void> {
    return this.clusterRecordings.download(id, file, request, response);
  }

  @Delete('recordings/:id')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiNoContentResponse({ description: 'Deleted with its files' })
  @ApiNotFoundResponse({ description: 'No recording by that id' })
  @ApiConflictResponse({ description: 'The recording is running' })
  remove(@Param('id') id: string, @Req() request: Request): Promise<void> {
    return this.clusterRecordings.remove(id, request);
  }
}
