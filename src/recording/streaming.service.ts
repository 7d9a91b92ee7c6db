import { Inject, Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:dgram';
import { ClusterService } from '../cluster/cluster.service';
import { APP_CONFIG } from '../config/config.module';
import { AppConfig } from '../config/config.schema';
import { ConferenceService } from '../conference/conference.service';
import { DomainError } from '../conference/domain-error';
import { DomainEvents } from '../conference/domain-events';
import { MediaService } from '../media/media.service';
import { InjectLogger } from '../observability/logging.module';
import type { Logger } from '../observability/logger';
import { LiveComposite } from './live-composite';
import { discardSocket } from './local-udp-ports';
import { StreamingEndReason, StreamingEvents, StreamingInfo } from './recording-info';
import { ffmpegProblem } from './recording.service';
import { redactedStreamingUrl, streamingUrlProblem } from './streaming-url';

interface RoomStream {
  info: StreamingInfo;
  composite?: LiveComposite;
  ending?: Promise<StreamingInfo>;
}

/**
 * Live streams of this shard's rooms to RTMP servers: the room's LiveComposite with an
 * FLV output, at most one per room and recording.maxConcurrentStreams in all. A stream
 * whose server refuses it or goes away ends (stream_failed) without touching the call.
 */
@Injectable()
export class StreamingService implements OnModuleInit, OnModuleDestroy {
  readonly events: DomainEvents<StreamingEvents>;
  private readonly active = new Map<string, RoomStream>();
  /** Where every decoder's RTCP goes (see TrackRecorderOptions.rtcpSinkPort). */
  private rtcpSink?: Socket;
  private ffmpegMissing?: string;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly conference: ConferenceService,
    private readonly media: MediaService,
    private readonly cluster: ClusterService,
    @InjectLogger() private readonly logger: Logger,
  ) {
    this.events = new DomainEvents(logger);
    conference.events.on('roomClosed', (roomId) => this.endInBackground(roomId, 'room_closed'));
    media.events.on('roomMediaLost', (roomId) => this.endInBackground(roomId, 'media_lost'));
  }

  async onModuleInit() {
    this.rtcpSink = await discardSocket();
    this.ffmpegMissing = await ffmpegProblem(this.config.recording.ffmpegPath);
  }

  async onModuleDestroy() {
    await Promise.all([...this.active.keys()].map((roomId) => this.end(roomId, 'shutdown')));
    this.rtcpSink?.close();
  }

  /** The room's running stream, if any. */
  current(roomId: string): StreamingInfo | undefined {
    return this.active.get(roomId)?.info;
  }

  async start(roomId: string, url: unknown, startedBy: string): Promise<StreamingInfo> {
    const problem = streamingUrlProblem(url);
    if (problem) throw new DomainError('bad_request', problem);
    this.conference.roomInfo(roomId);
    const max = this.config.recording.maxConcurrentStreams;
    if (this.active.has(roomId)) {
      throw new DomainError('conflict', `room ${roomId} is being streamed already`);
    }
    if (this.ffmpegMissing) {
      throw new DomainError('unavailable', `streaming is unavailable: ${this.ffmpegMissing}`);
    }
    if (this.active.size >= max) {
      throw new DomainError(
        'unavailable',
        max === 0
          ? 'streaming is disabled on this shard'
          : `this shard streams ${max} rooms already`,
      );
    }
    const stream: RoomStream = {
      info: {
        id: randomUUID(),
        room: roomId,
        shard: this.cluster.id,
        state: 'streaming',
        startedBy,
        startedAt: new Date().toISOString(),
        destination: redactedStreamingUrl(url as string),
      },
    };
    // Taken before the await: a second start meanwhile is refused.
    this.active.set(roomId, stream);
    try {
      stream.composite = await LiveComposite.start({
        roomId,
        peerId: `stream-${stream.info.id}`,
        media: this.media,
        ffmpegPath: this.config.recording.ffmpegPath,
        rtcpSinkPort: this.rtcpSink!.address().port,
        output: { url: url as string },
        startedAt: Date.parse(stream.info.startedAt),
        logger: this.logger,
      });
    } catch (error) {
      this.active.delete(roomId);
      this.logger.error({ err: error, roomId }, 'could not start a stream');
      throw new DomainError('unavailable', `could not stream room ${roomId}`);
    }
    stream.composite.onEnd = (failure) => {
      stream.info.problem = failure;
      this.endInBackground(roomId, 'stream_failed');
    };
    const { id, destination } = stream.info;
    this.logger.info({ roomId, streamingId: id, destination, startedBy }, 'streaming started');
    this.events.emit('streamingStarted', stream.info);
    return stream.info;
  }

  /** Ends the room's stream (not_found when there is none). */
  async stop(roomId: string): Promise<StreamingInfo> {
    if (!this.active.has(roomId)) {
      throw new DomainError('not_found', `room ${roomId} is not being streamed`);
    }
    return this.end(roomId, 'stopped');
  }

  private end(roomId: string, reason: StreamingEndReason): Promise<StreamingInfo> {
    const stream = this.active.get(roomId)!;
    stream.ending ??= (async () => {
      const endedAt = new Date();
      await stream.composite?.stop();
      if (this.active.get(roomId) === stream) this.active.delete(roomId);
      Object.assign(stream.info, {
        state: 'finished',
        endedAt: endedAt.toISOString(),
        durationSeconds: (endedAt.getTime() - Date.parse(stream.info.startedAt)) / 1000,
        reason,
      });
      const { id, problem } = stream.info;
      this.logger.info({ roomId, streamingId: id, reason, problem }, 'streaming finished');
      this.events.emit('streamingFinished', stream.info);
      return stream.info;
    })();
    return stream.ending;
  }

  private endInBackground(roomId: string, reason: StreamingEndReason) {
    if (!this.active.has(roomId)) return;
    this.end(roomId, reason).catch((error: unknown) =>
      this.logger.error({ err: error, roomId }, 'could not end a stream'),
    );
  }
}
