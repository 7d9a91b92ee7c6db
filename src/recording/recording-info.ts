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
}

/** What the recording service tells others (webhooks, the doors). */
export interface RecordingEvents {
  recordingStarted: [recording: RecordingInfo];
  recordingFinished: [recording: RecordingInfo];
}
