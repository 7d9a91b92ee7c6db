import { join } from 'node:path';
import type { MediaService } from '../media/media.service';
import type { MediaSession } from '../media/media-session';
import type { ProducerInfo } from '../media/media-events';
import type { Logger } from '../observability/logger';
import { LiveComposite } from './live-composite';
import { probeMedia } from './media-probe';
import { RecordedTrack, RecordingEndReason, RecordingInfo } from './recording-info';
import type { RecordingStorage } from './recording-storage';
import { watchProducers } from './room-producers';
import { TrackRecorder } from './track-recorder';

export const COMPOSITE_FILE = 'composite.mp4';

/** A producer whose recorder ended with its media still flowing is recorded again after this. */
const RESTART_DELAY_MS = 1000;

export interface RoomRecordingOptions {
  info: RecordingInfo;
  media: MediaService;
  storage: RecordingStorage;
  ffmpegPath: string;
  ffprobePath: string;
  rtcpSinkPort: number;
  /** Also write composite.mp4 (a LiveComposite) while recording. */
  composite: boolean;
  /** Who a producer's participant is, for the manifest. */
  describe(participantId: string): { identity?: string; displayName?: string };
  logger: Logger;
}

/**
 * The per-track recording of one room: a media peer of the room (no participant) with a
 * TrackRecorder for each producer that sends media: those already there and each one
 * added later. A producer that pauses ends its file; resumed, it starts another one; one
 * that closes ends its file. recording.json follows every change.
 */
export class RoomRecording {
  private session?: MediaSession;
  /** The running recorder of each producer, or its start under way. */
  private readonly running = new Map<string, Promise<TrackRecorder | undefined>>();
  private readonly finishing = new Map<TrackRecorder, Promise<void>>();
  private readonly tracks = new Map<TrackRecorder, RecordedTrack>();
  private readonly restartTimers = new Set<NodeJS.Timeout>();
  private unwatch?: () => void;
  private composite?: LiveComposite;
  private ending?: Promise<RecordingInfo>;
  private fileCount = 0;
  private saving = Promise.resolve();

  constructor(private readonly options: RoomRecordingOptions) {}

  get info(): RecordingInfo {
    return this.options.info;
  }

  private get peerId() {
    return `recorder-${this.info.id}`;
  }

  async start(): Promise<void> {
    const { media, storage } = this.options;
    await storage.create(this.info);
    this.session = await media.attach(this.info.room, this.peerId);
    this.unwatch = watchProducers(
      media,
      this.info.room,
      (producer) => this.record(producer),
      (producer) => void this.finish(producer.id),
    );
    for (const producer of this.session.roomProducers()) this.record(producer);
    if (this.options.composite) await this.startComposite();
    await Promise.all(this.running.values());
  }

  /** Stops every track recorder, leaves the room's media and finishes recording.json. */
  end(reason: RecordingEndReason): Promise<RecordingInfo> {
    this.ending ??= (async () => {
      // The recording ends now; its files take a moment to be finished.
      const endedAt = new Date();
      const { media } = this.options;
      this.unwatch?.();
      this.restartTimers.forEach(clearTimeout);
      await Promise.all([
        ...[...this.running.keys()].map((producerId) => this.finish(producerId)),
        this.composite?.stop(),
      ]);
      await Promise.all(this.finishing.values());
      await media.detach(this.info.room, this.peerId);
      Object.assign(this.info, {
        state: 'finished',
        endedAt: endedAt.toISOString(),
        durationSeconds: (endedAt.getTime() - Date.parse(this.info.startedAt)) / 1000,
        sizeBytes: this.info.tracks.reduce((sum, track) => sum + (track.sizeBytes ?? 0), 0),
        reason,
      });
      if (this.info.composite) await this.finishComposite();
      await this.save();
      // Finished where it was written; the storage may take it elsewhere (a bucket).
      await this.options.storage.archive(this.info);
      this.options.logger.info(
        {
          recordingId: this.info.id,
          roomId: this.info.room,
          reason,
          files: this.info.tracks.length,
        },
        'recording finished',
      );
      return this.info;
    })();
    return this.ending;
  }

  /** Starts a recorder for the producer, unless it has one, is paused or the recording ends. */
  private record(producer: ProducerInfo) {
    if (this.ending || producer.paused || this.running.has(producer.id)) return;
    const { ffmpegPath, rtcpSinkPort, logger, storage, describe } = this.options;
    const name = [
      String(++this.fileCount).padStart(3, '0'),
      producer.source,
      producer.participantId.slice(0, 8),
    ].join('-');
    const started = TrackRecorder.start({
      session: this.session!,
      producer,
      basePath: join(storage.folderOf(this.info.id), name),
      ffmpegPath,
      rtcpSinkPort,
      logger,
    }).then(
      async (recorder) => {
        const track: RecordedTrack = {
          file: `${name}.${recorder.file.split('.').pop()}`,
          kind: producer.kind,
          source: producer.source,
          codec: recorder.codec,
          participant: { id: producer.participantId, ...describe(producer.participantId) },
          startedAt: recorder.startedAt.toISOString(),
        };
        this.tracks.set(recorder, track);
        this.info.tracks.push(track);
        recorder.onEnd = () => void this.restartAfterIdle(producer);
        await this.save();
        return recorder;
      },
      (error: unknown) => {
        if (this.running.get(producer.id) === started) this.running.delete(producer.id);
        // A producer that closed meanwhile is simply not recorded; one still there is
        // tried again (ffmpeg could not start).
        const still = this.session?.roomProducers().some((p) => p.id === producer.id);
        logger.warn({ err: error, producerId: producer.id, retry: still }, 'a track did not start');
        if (still) this.recordLater(producer);
        return undefined;
      },
    );
    this.running.set(producer.id, started);
    // Paused or closed while its recorder started: that file ends at once.
    void started.then((recorder) => {
      const now = this.session?.roomProducers().find((p) => p.id === producer.id);
      if (recorder && (!now || now.paused)) void this.finish(producer.id);
    });
  }

  /** Ends the producer's current file, if it has one. */
  private async finish(producerId: string): Promise<void> {
    const entry = this.running.get(producerId);
    // Forgotten at once: a resume right after a pause starts the next file.
    this.running.delete(producerId);
    const recorder = await entry;
    if (!recorder) return;
    let finished = this.finishing.get(recorder);
    if (!finished) {
      finished = this.finishFile(recorder).then(() => this.save());
      this.finishing.set(recorder, finished);
    }
    await finished;
  }

  /** ffmpeg ended by itself: its media paused, or stalled (then it is recorded anew). */
  private async restartAfterIdle(producer: ProducerInfo) {
    await this.finish(producer.id);
    this.recordLater(producer);
  }

  /** Records the producer again in a moment, if it is still there then (and unpaused). */
  private recordLater(producer: ProducerInfo) {
    if (this.ending) return;
    const timer = setTimeout(() => {
      this.restartTimers.delete(timer);
      const now = this.session?.roomProducers().find((p) => p.id === producer.id);
      if (now) this.record(now);
    }, RESTART_DELAY_MS);
    this.restartTimers.add(timer);
  }

  private async finishFile(recorder: TrackRecorder) {
    await recorder.stop();
    const track = this.tracks.get(recorder)!;
    const { storage, ffprobePath } = this.options;
    const size = await storage.sizeOf(this.info.id, track.file);
    if (!size) {
      // ffmpeg got no media before it ended: there is no file to list.
      this.info.tracks.splice(this.info.tracks.indexOf(track), 1);
      await storage.removeFile(this.info.id, track.file);
      return;
    }
    track.endedAt = (recorder.endedAt ?? new Date()).toISOString();
    track.sizeBytes = size;
    track.durationSeconds = (await probeMedia(ffprobePath, recorder.file))?.durationSeconds ?? 0;
  }

  private async startComposite() {
    const { media, ffmpegPath, rtcpSinkPort, storage, logger } = this.options;
    this.composite = await LiveComposite.start({
      roomId: this.info.room,
      peerId: `composite-${this.info.id}`,
      media,
      ffmpegPath,
      rtcpSinkPort,
      output: { file: join(storage.folderOf(this.info.id), COMPOSITE_FILE) },
      startedAt: Date.parse(this.info.startedAt),
      logger,
    });
    // The per-track files go on without it.
    this.composite.onEnd = (problem) =>
      logger.error({ recordingId: this.info.id, problem }, 'the composite failed');
    this.info.composite = { file: COMPOSITE_FILE, durationSeconds: 0, sizeBytes: 0 };
  }

  private async finishComposite() {
    const { ffprobePath, storage } = this.options;
    const sizeBytes = (await storage.sizeOf(this.info.id, COMPOSITE_FILE)) ?? 0;
    const file = join(storage.folderOf(this.info.id), COMPOSITE_FILE);
    const durationSeconds = (await probeMedia(ffprobePath, file))?.durationSeconds ?? 0;
    this.info.composite = { file: COMPOSITE_FILE, durationSeconds, sizeBytes };
    this.info.sizeBytes = (this.info.sizeBytes ?? 0) + sizeBytes;
  }

  /** Saves in order: a slow write never overtakes a later one. */
  private save(): Promise<void> {
    this.saving = this.saving
      .then(() => this.options.storage.save(this.info))
      .catch((error: unknown) =>
        this.options.logger.error(
          { err: error, recordingId: this.info.id },
          'recording.json not written',
        ),
      );
    return this.saving;
  }
}
