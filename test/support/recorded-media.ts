/** What ffprobe and ffmpeg make of a recorded file: its streams, duration and decoded frames. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { probeMedia } from '../../src/recording/media-probe';

const run = promisify(execFile);

export interface RecordedMedia {
  codecs: string[];
  durationSeconds: number;
  /** Frames (video) or audio frames the decoder produced, reading the whole file. */
  decodedFrames: number;
  /** What the decoder complained about (empty for a clean file). */
  decodeErrors: string;
}

export async function inspectRecording(file: string): Promise<RecordedMedia> {
  const probed = await probeMedia('ffprobe', file);
  if (!probed) throw new Error(`ffprobe cannot read ${file}`);
  const { stdout } = await run('ffprobe', [
    ...['-v', 'error', '-count_frames', '-select_streams', '0'],
    ...['-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', file],
  ]);
  const decoded = await run('ffmpeg', ['-v', 'error', '-i', file, '-f', 'null', '-']).catch(
    (error: { stderr?: string }) => ({ stderr: error.stderr ?? 'ffmpeg failed' }),
  );
  return {
    codecs: probed.streams.map((s) => s.codec),
    durationSeconds: probed.durationSeconds,
    decodedFrames: Number(stdout.trim()),
    // The null muxer's complaint about two frames in one millisecond is no decoding error.
    decodeErrors: decoded.stderr
      .split('\n')
      .filter((line) => line.trim() && !line.includes('non monotonically increasing dts'))
      .join('\n'),
  };
}
