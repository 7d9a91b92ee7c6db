import { join } from 'node:path';
import type { MediaService } from '../media/media.service';
import type { MediaSession } from '../media/media-session';
import type { MediaEvents, ProducerInfo } from '../media/media-events';
import type { Logger } from '../observability/logger';
import { probeMedia } from './media-probe';
import { RecordedTrack, RecordingEndReason, RecordingInfo } from './recording-info';
import type { RecordingStorage } from './recording-storage';
import { TrackRecorder } from './track-recorder';

/** A producer whose recorder ended with its media still flowing is recorded again after this. */
const RESTART_DELAY_MS = 1000;

export interface RoomRecordingOptions {
  info: RecordingInfo;
  media: MediaService;
  storage: RecordingStorage;
  ffmpegPath: string;
  ffprobePath: string;
  rtcpSinkPort: number;
  /** Who a producer's participant is, for the manifest. */
  describe(participantId: string): { identity?: string; displayName?: string };
  logger: Logger;
}

type Listeners = { [K in keyof MediaEvents]?: (...args: MediaEvents[K]) => void };

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
  private listeners: Listeners = {};
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
    const inRoom =
      (listener: (producer: ProducerInfo) => void) => (roomId: string, producer: ProducerInfo) => {
        if (roomId === this.info.room) listener(producer);
      };
    this.listeners = {
      producerAdded: inRoom((producer) => this.record(producer)),
      producerResumed: inRoom((producer) => this.record(producer)),
      producerPaused: inRoom((producer) => void this.finish(producer.id)),
      producerClosed: inRoom((producer) => void this.finish(producer.id)),
    };
    for (const [event, listener] of Object.entries(this.listeners)) {
      media.events.on(event as keyof MediaEvents, listener as never);
    }
    for (const producer of this.session.roomProducers()) this.record(producer);
    await Promise.all(this.running.values());
  }

  /** Stops every track recorder, leaves the room's media and finishes recording.json. */
  end(reason: RecordingEndReason): Promise<RecordingInfo> {
    this.ending ??= (async () => {
      const { media } = this.options;
      for (const [event, listener] of Object.entries(this.listeners)) {
        media.events.off(event as keyof MediaEvents, listener as never);
      }
      this.restartTimers.forEach(clearTimeout);
      await Promise.all([...this.running.keys()].map((producerId) => this.finish(producerId)));
      await Promise.all(this.finishing.values());
      await media.detach(this.info.room, this.peerId);
      const endedAt = new Date();
      Object.assign(this.info, {
        state: 'finished',
        endedAt: endedAt.toISOString(),
        durationSeconds: (endedAt.getTime() - Date.parse(this.info.startedAt)) / 1000,
        sizeBytes: this.info.tracks.reduce((sum, track) => sum + (track.sizeBytes ?? 0), 0),
        reason,
      });
      await this.save();
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
        // Most often the producer closed meanwhile: it is simply not recorded.
        logger.warn({ err: error, producerId: producer.id }, 'a track could not be recorded');
        if (this.running.get(producer.id) === started) this.running.delete(producer.id);
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
