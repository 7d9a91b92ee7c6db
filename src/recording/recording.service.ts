import { Inject, Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:dgram';
import { ClusterService } from '../cluster/cluster.service';
import { APP_CONFIG } from '../config/config.module';
import { AppConfig } from '../config/config.schema';
import { ConferenceService } from '../conference/conference.service';
import { DomainError } from '../conference/domain-error';
import { DomainEvents } from '../conference/domain-events';
import { canModerate, Participant } from '../conference/participant';
import { MediaService } from '../media/media.service';
import { InjectLogger } from '../observability/logging.module';
import type { Logger } from '../observability/logger';
import { discardSocket } from './local-udp-ports';
import { probeMedia } from './media-probe';
import { RecordingEndReason, RecordingEvents, RecordingInfo } from './recording-info';
import { RecordingFile, RecordingStorage } from './recording-storage';
import { RoomRecording } from './room-recording';

const RETENTION_SWEEP_MS = 60 * 60 * 1000;

/** Undefined when `ffmpeg -version` runs, else what went wrong. */
export const ffmpegProblem = (ffmpegPath: string): Promise<string | undefined> =>
  new Promise((resolve) =>
    execFile(ffmpegPath, ['-hide_banner', '-version'], (error) =>
      resolve(error ? `${ffmpegPath} does not run (${error.message})` : undefined),
    ),
  );

/**
 * Recordings of this shard's rooms: at most one per room and recording.maxConcurrent in
 * all, started only with recording.minFreeMegabytes free and stopped (disk_full) when the
 * free space falls below it; a room that closes ends its recording.
 */
@Injectable()
export class RecordingService implements OnModuleInit, OnModuleDestroy {
  readonly events: DomainEvents<RecordingEvents>;
  private readonly active = new Map<string, RoomRecording>();
  private diskTimer?: NodeJS.Timeout;
  /** Where every recorder's RTCP goes (see TrackRecorderOptions.rtcpSinkPort). */
  private rtcpSink?: Socket;
  /** Why ffmpeg cannot run, found at start-up (recording is then unavailable). */
  private ffmpegMissing?: string;
  private retentionTimer?: NodeJS.Timeout;
  private sweeping?: Promise<void>;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly conference: ConferenceService,
    private readonly media: MediaService,
    private readonly storage: RecordingStorage,
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
    if (this.ffmpegMissing) this.logger.error({ problem: this.ffmpegMissing }, 'cannot record');
    // Found before the shard serves (so none started since is taken), probed after: a
    // shard killed while recording much does not wait for ffprobe to start.
    const interrupted = (await this.storage.inDirectory()).filter(
      (info) => info.state === 'recording' && info.shard === this.cluster.id,
    );
    void this.finishInterrupted(interrupted)
      .catch((error: unknown) =>
        this.logger.error({ err: error }, 'could not finish interrupted recordings'),
      )
      // Then uploaded to a bucket (with uploads that failed before) and expired in time.
      .then(() => this.sweep());
    this.retentionTimer = setInterval(() => void this.sweep(), RETENTION_SWEEP_MS);
    this.retentionTimer.unref();
  }

  async onModuleDestroy() {
    clearInterval(this.retentionTimer);
    await Promise.all([...this.active.keys()].map((roomId) => this.end(roomId, 'shutdown')));
    this.rtcpSink?.close();
  }

  /** The room's running recording, if any. */
  current(roomId: string): RecordingInfo | undefined {
    return this.active.get(roomId)?.info;
  }

  async start(roomId: string, startedBy: string): Promise<RecordingInfo> {
    this.conference.roomInfo(roomId);
    const { maxConcurrent, minFreeMegabytes } = this.config.recording;
    if (this.active.has(roomId)) {
      throw new DomainError('conflict', `room ${roomId} is being recorded already`);
    }
    if (this.ffmpegMissing) {
      throw new DomainError('unavailable', `recording is unavailable: ${this.ffmpegMissing}`);
    }
    if (this.active.size >= maxConcurrent) {
      throw new DomainError(
        'unavailable',
        maxConcurrent === 0
          ? 'recording is disabled on this shard'
          : `this shard records ${maxConcurrent} rooms already`,
      );
    }
    const recording = new RoomRecording({
      info: {
        id: randomUUID(),
        room: roomId,
        shard: this.cluster.id,
        state: 'recording',
        startedBy,
        startedAt: new Date().toISOString(),
        tracks: [],
        storage: 'local',
      },
      media: this.media,
      storage: this.storage,
      ffmpegPath: this.config.recording.ffmpegPath,
      ffprobePath: this.config.recording.ffprobePath,
      rtcpSinkPort: this.rtcpSink!.address().port,
      composite: this.config.recording.composite,
      describe: (participantId) => {
        const participant = this.conference
          .participantsOf(roomId)
          .find((p) => p.id === participantId);
        return { identity: participant?.identity, displayName: participant?.displayName };
      },
      logger: this.logger,
    });
    // Taken before the awaits: a second start meanwhile is refused.
    this.active.set(roomId, recording);
    try {
      if ((await this.storage.freeBytes()) < minFreeMegabytes * 1024 * 1024) {
        throw new DomainError('unavailable', 'not enough free disk space to record');
      }
      await recording.start();
    } catch (error) {
      this.active.delete(roomId);
      await recording.end('stopped').catch(() => undefined);
      await this.storage.remove(recording.info.id);
      if (error instanceof DomainError) throw error;
      // The room's media went away meanwhile, or ffmpeg is missing.
      this.logger.error({ err: error, roomId }, 'could not start a recording');
      throw new DomainError('unavailable', `could not record room ${roomId}`);
    }
    this.watchDisk();
    this.logger.info({ roomId, recordingId: recording.info.id, startedBy }, 'recording started');
    this.events.emit('recordingStarted', recording.info);
    return recording.info;
  }

  /** A moderator records the room it is in. */
  startFor(participantId: string): Promise<RecordingInfo> {
    return this.start(this.moderator(participantId).roomId, participantId);
  }

  /** A moderator stops recording the room it is in. */
  stopFor(participantId: string): Promise<RecordingInfo> {
    return this.stop(this.moderator(participantId).roomId);
  }

  /** Ends the room's recording (not_found when there is none). */
  async stop(roomId: string): Promise<RecordingInfo> {
    if (!this.active.has(roomId)) {
      throw new DomainError('not_found', `room ${roomId} is not being recorded`);
    }
    return this.end(roomId, 'stopped');
  }

  list(): Promise<RecordingInfo[]> {
    return this.storage.list();
  }

  get(id: string): Promise<RecordingInfo> {
    return this.storage.get(id);
  }

  download(id: string, file: string): Promise<RecordingFile> {
    return this.storage.download(id, file);
  }

  async remove(id: string): Promise<void> {
    const info = await this.storage.get(id);
    if (info.state === 'recording') {
      throw new DomainError('conflict', `recording ${id} is running: stop it first`);
    }
    await this.storage.remove(id);
    this.logger.info({ recordingId: id, roomId: info.room }, 'recording deleted');
  }

  private moderator(participantId: string): Participant {
    const participant = this.conference.participant(participantId);
    if (!canModerate(participant)) {
      throw new DomainError('forbidden', 'only moderators start and stop recordings');
    }
    return participant;
  }

  private async end(roomId: string, reason: RecordingEndReason): Promise<RecordingInfo> {
    const recording = this.active.get(roomId)!;
    const info = await recording.end(reason);
    if (this.active.get(roomId) === recording) {
      this.active.delete(roomId);
      this.events.emit('recordingFinished', info);
    }
    if (!this.active.size) this.stopWatchingDisk();
    return info;
  }

  private endInBackground(roomId: string, reason: RecordingEndReason) {
    if (!this.active.has(roomId)) return;
    this.end(roomId, reason).catch((error: unknown) =>
      this.logger.error({ err: error, roomId }, 'could not end a recording'),
    );
  }

  private watchDisk() {
    this.diskTimer ??= setInterval(() => {
      void this.storage.freeBytes().then(
        (free) => {
          if (free >= this.config.recording.minFreeMegabytes * 1024 * 1024) return;
          this.logger.warn({ freeBytes: free }, 'disk almost full: stopping recordings');
          for (const roomId of this.active.keys()) this.endInBackground(roomId, 'disk_full');
        },
        (error: unknown) => this.logger.error({ err: error }, 'cannot read free disk space'),
      );
    }, this.config.recording.diskCheckSeconds * 1000);
  }

  private stopWatchingDisk() {
    clearInterval(this.diskTimer);
    this.diskTimer = undefined;
  }

  /** Recordings this shard left running when it was killed: their files hold what was written. */
  private async finishInterrupted(interrupted: RecordingInfo[]) {
    for (const info of interrupted) {
      for (const track of info.tracks) {
        const file = `${this.storage.folderOf(info.id)}/${track.file}`;
        track.durationSeconds = (await probeMedia(this.config.recording.ffprobePath, file))
          ?.durationSeconds;
        track.sizeBytes = (await this.storage.sizeOf(info.id, track.file)) ?? 0;
      }
      info.state = 'finished';
      info.reason = 'interrupted';
      info.sizeBytes = info.tracks.reduce((sum, track) => sum + (track.sizeBytes ?? 0), 0);
      if (info.composite) {
        const file = `${this.storage.folderOf(info.id)}/${info.composite.file}`;
        info.composite.durationSeconds =
          (await probeMedia(this.config.recording.ffprobePath, file))?.durationSeconds ?? 0;
        info.composite.sizeBytes = (await this.storage.sizeOf(info.id, info.composite.file)) ?? 0;
        info.sizeBytes += info.composite.sizeBytes;
      }
      await this.storage.save(info);
      this.logger.warn({ recordingId: info.id, roomId: info.room }, 'recording was interrupted');
    }
  }

  /** At start and hourly: uploads that failed are tried again, then retention applies. */
  private sweep(): Promise<void> {
    this.sweeping ??= (async () => {
      await this.archiveLeftovers().catch((error: unknown) =>
        this.logger.error({ err: error }, 'could not archive recordings'),
      );
      await this.applyRetention().catch((error: unknown) =>
        this.logger.error({ err: error }, 'could not apply the recordings retention'),
      );
    })().finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  /**
   * Finished recordings still in the recordings directory that belong elsewhere (a bucket
   * whose upload failed, a shard stopped while uploading, an interrupted recording).
   */
  private async archiveLeftovers() {
    const ending = new Set([...this.active.values()].map((recording) => recording.info.id));
    for (const info of await this.storage.inDirectory()) {
      if (info.state !== 'finished' || info.storage === this.storage.target) continue;
      if (!ending.has(info.id)) await this.storage.archive(info);
    }
  }

  /** Deletes finished recordings older than recording.retentionDays (0: keeps all). */
  private async applyRetention() {
    const days = this.config.recording.retentionDays;
    if (!days) return;
    const cutoff = Date.now() - days * 24 * 3600 * 1000;
    for (const info of await this.storage.list()) {
      if (info.state !== 'finished' || Date.parse(info.endedAt ?? info.startedAt) >= cutoff)
        continue;
      await this.storage.remove(info.id);
      this.logger.info({ recordingId: info.id, roomId: info.room }, 'recording expired');
    }
  }
}
