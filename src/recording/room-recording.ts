import { join } from 'node:path';
import type { MediaService } from '../media/media.service';
import type { MediaSession } from '../media/media-session';
import type { MediaEvents, ProducerInfo } from '../media/media-events';
import type { Logger } from '../observability/logger';
import { probeMedia } from './media-probe';
import { RecordedTrack, RecordingEndReason, RecordingInfo } from './recording-info';
import type { RecordingStorage } from './recording-storage';
import { TrackRecorder } from './track-recorder';

export interface RoomRecordingOptions {
  info: RecordingInfo;
  media: MediaService;
  storage: RecordingStorage;
  ffmpegPath: string;
  ffprobePath: string;
  /** Who a producer's participant is, for the manifest. */
  describe(participantId: string): { identity?: string; displayName?: string };
  logger: Logger;
}

type Listeners = { [K in keyof MediaEvents]?: (...args: MediaEvents[K]) => void };

/**
 * The per-track recording of one room: a media peer of the room (no participant) with
 * one TrackRecorder per producer, started for those already there and for each one
 * added later, stopped when its producer closes. recording.json follows every change.
 */
export class RoomRecording {
  private session?: MediaSession;
  private readonly recorders = new Map<string, TrackRecorder>();
  private readonly tracks = new Map<TrackRecorder, RecordedTrack>();
  private readonly starting = new Set<Promise<unknown>>();
  private readonly finishing = new Map<TrackRecorder, Promise<void>>();
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
    const roomOf = this.info.room;
    this.listeners = {
      producerAdded: (roomId, producer) => {
        if (roomId === roomOf) this.record(producer);
      },
      consumerClosed: (roomId, peerId, consumerId) => {
        if (roomId === roomOf && peerId === this.peerId) this.stopTrackOf(consumerId);
      },
      consumerResumed: (roomId, peerId, consumerId) => {
        if (roomId !== roomOf || peerId !== this.peerId) return;
        for (const recorder of this.recorders.values())
          if (recorder.consumerId === consumerId) recorder.requestKeyFrames();
      },
    };
    for (const [event, listener] of Object.entries(this.listeners)) {
      media.events.on(event as keyof MediaEvents, listener as never);
    }
    for (const producer of this.session.roomProducers()) this.record(producer);
    await Promise.all(this.starting);
  }

  /** Stops every track recorder, leaves the room's media and finishes recording.json. */
  end(reason: RecordingEndReason): Promise<RecordingInfo> {
    this.ending ??= (async () => {
      const { media } = this.options;
      for (const [event, listener] of Object.entries(this.listeners)) {
        media.events.off(event as keyof MediaEvents, listener as never);
      }
      await Promise.allSettled(this.starting);
      await Promise.all([...this.recorders.values()].map((recorder) => this.finishTrack(recorder)));
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
          tracks: this.info.tracks.length,
        },
        'recording finished',
      );
      return this.info;
    })();
    return this.ending;
  }

  private record(producer: ProducerInfo) {
    if (this.ending || this.recorders.has(producer.id)) return;
    const { ffmpegPath, logger, storage, describe } = this.options;
    const who = describe(producer.participantId);
    const name = `${String(++this.fileCount).padStart(3, '0')}-${producer.source}-${producer.participantId.slice(0, 8)}`;
    const started = TrackRecorder.start({
      session: this.session!,
      producer,
      basePath: join(storage.folderOf(this.info.id), name),
      ffmpegPath,
      logger,
    })
      .then(async (recorder) => {
        this.recorders.set(producer.id, recorder);
        const track: RecordedTrack = {
          file: `${name}.${recorder.file.split('.').pop()}`,
          kind: producer.kind,
          source: producer.source,
          codec: recorder.codec,
          participant: { id: producer.participantId, ...who },
          startedAt: recorder.startedAt.toISOString(),
        };
        this.tracks.set(recorder, track);
        this.info.tracks.push(track);
        recorder.onEnd = () => this.stopTrackOf(recorder.consumerId);
        await this.save();
        // The recording ended, or the producer closed, while this track started.
        const gone = !this.session!.roomProducers().some((p) => p.id === producer.id);
        if (this.ending || gone) await this.finishTrack(recorder).then(() => this.save());
      })
      .catch((error: unknown) => {
        // A producer that closed meanwhile is simply not recorded.
        logger.warn({ err: error, producerId: producer.id }, 'a track could not be recorded');
      })
      .finally(() => this.starting.delete(started));
    this.starting.add(started);
  }

  private stopTrackOf(consumerId: string) {
    for (const recorder of this.recorders.values()) {
      if (recorder.consumerId === consumerId)
        void this.finishTrack(recorder).then(() => this.save());
    }
  }

  private finishTrack(recorder: TrackRecorder): Promise<void> {
    let finished = this.finishing.get(recorder);
    if (!finished) {
      finished = this.finishTrackOnce(recorder);
      this.finishing.set(recorder, finished);
    }
    return finished;
  }

  private async finishTrackOnce(recorder: TrackRecorder) {
    await recorder.stop();
    this.recorders.delete(recorder.producer.id);
    const track = this.tracks.get(recorder);
    if (!track) return;
    track.endedAt = (recorder.endedAt ?? new Date()).toISOString();
    if (recorder.failed) track.failed = true;
    const { storage, ffprobePath } = this.options;
    track.sizeBytes = (await storage.sizeOf(this.info.id, track.file)) ?? 0;
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
