/** Why a recording ended. */
export type RecordingEndReason =
  | 'stopped'
  | 'room_closed'
  | 'disk_full'
  | 'media_lost'
  | 'shutdown'
  /** The shard died while recording: found so at its next start. */
  | 'interrupted';

/**
 * One file: a producer's media from when it was first recorded (or resumed) until it
 * paused, closed or the recording ended. A producer muted and unmuted has several.
 */
export interface RecordedTrack {
  /** The file's name inside its recording's folder. */
  file: string;
  kind: 'audio' | 'video';
  source: string;
  codec: string;
  participant: { id: string; identity?: string; displayName?: string };
  startedAt: string;
  endedAt?: string;
  durationSeconds?: number;
  sizeBytes?: number;
}

/** A recording as recording.json in its folder describes it (and the admin API shows it). */
export interface RecordingInfo {
  id: string;
  room: string;
  /** The shard that records it. */
  shard: string;
  state: 'recording' | 'finished';
  /** 'admin' (the admin API) or the id of the moderator who started it. */
  startedBy: string;
  startedAt: string;
  endedAt?: string;
  durationSeconds?: number;
  /** All its files together. */
  sizeBytes?: number;
  reason?: RecordingEndReason;
  /** Its files, in the order they were started. */
  tracks: RecordedTrack[];
  /** With recording.composite: the grid of its videos with the mixed audio, made at the end. */
  composite?: { file: string; durationSeconds: number; sizeBytes: number };
  /**
   * Where its files are: 'local' (the recording shard's recordings directory: while it
   * runs, always; finished, without a bucket or when the upload failed) or 's3' (the bucket).
   */
  storage: 'local' | 's3';
  /** Why the files of a finished recording are not in the bucket (the upload failed). */
  storageProblem?: string;
}

/** What the recording service tells others (webhooks, the doors). */
export interface RecordingEvents {
  recordingStarted: [recording: RecordingInfo];
  recordingFinished: [recording: RecordingInfo];
}

/** Why a live stream ended. */
export type StreamingEndReason =
  | 'stopped'
  | 'room_closed'
  | 'media_lost'
  | 'shutdown'
  /** The RTMP server refused the stream or went away (`problem` says what ffmpeg saw). */
  | 'stream_failed';

/** A room's composite streamed live to an RTMP server. */
export interface StreamingInfo {
  id: string;
  room: string;
  shard: string;
  state: 'streaming' | 'finished';
  /** 'admin' (the admin API) or the id of the moderator who started it. */
  startedBy: string;
  startedAt: string;
  /** Where it goes: the URL without credentials and stream key (its last path segment). */
  destination: string;
  endedAt?: string;
  durationSeconds?: number;
  reason?: StreamingEndReason;
  problem?: string;
}

export interface StreamingEvents {
  streamingStarted: [streaming: StreamingInfo];
  streamingFinished: [streaming: StreamingInfo];
}
