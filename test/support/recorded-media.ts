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

/** One decoded picture of a video file, `seconds` in, as yuv420p. */
export async function pictureAt(file: string, seconds: number) {
  const { stdout } = await run(
    'ffmpeg',
    [
      ...['-v', 'error', '-ss', String(seconds), '-i', file, '-frames:v', '1'],
      ...['-f', 'rawvideo', '-pix_fmt', 'yuv420p', 'pipe:1'],
    ],
    { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 },
  );
  const probed = await run('ffprobe', [
    ...['-v', 'error', '-select_streams', 'v', '-show_entries', 'stream=width,height'],
    ...['-of', 'csv=p=0', file],
  ]);
  const [width, height] = probed.stdout.trim().split(',').map(Number);
  return {
    width,
    height,
    /** The U (blue-difference) sample at a pixel: 128 is grey or black, the test cameras' 0. */
    blueAt: (x: number, y: number) =>
      stdout[width * height + Math.floor(y / 2) * (width / 2) + Math.floor(x / 2)],
  };
}

/** The mean loudness (dBFS) of a file's audio between two times. */
export async function meanVolume(file: string, from: number, to: number): Promise<number> {
  const { stderr } = await run('ffmpeg', [
    ...['-hide_banner', '-nostats', '-ss', String(from), '-to', String(to), '-i', file],
    ...['-vn', '-af', 'volumedetect', '-f', 'null', '-'],
  ]);
  const match = /mean_volume: (-?[\d.]+|-inf) dB/.exec(stderr);
  return match ? Number(match[1].replace('-inf', '-Infinity')) : -Infinity;
}
