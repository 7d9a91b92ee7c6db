import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { RecordingInfo } from './recording-info';

const run = promisify(execFile);

export const COMPOSITE_FILE = 'composite.mp4';
const WIDTH = 1280;
const HEIGHT = 720;
const FPS = 15;

const even = (n: number) => Math.floor(n / 2) * 2;

/**
 * The ffmpeg arguments that make one MP4 (H264 720p, AAC) of a finished recording's
 * files: every video file in a grid tile (in the order they started; a tile shows its
 * last frame through a gap and is black before its file starts and after it ends) and
 * every audio file mixed, each placed at its offset from the recording's start.
 */
export function compositeArguments(info: RecordingInfo, folder: string): string[] {
  const start = Date.parse(info.startedAt);
  const offset = (startedAt: string) => Math.max(0, (Date.parse(startedAt) - start) / 1000);
  const videos = info.tracks.filter((t) => t.kind === 'video');
  const audios = info.tracks.filter((t) => t.kind === 'audio');
  const duration = info.durationSeconds ?? 0;
  const columns = Math.max(1, Math.ceil(Math.sqrt(videos.length)));
  const rows = Math.max(1, Math.ceil(videos.length / columns));
  const [w, h] = [even(WIDTH / columns), even(HEIGHT / rows)];

  const inputs = [...videos, ...audios].flatMap((t) => ['-i', join(folder, t.file)]);
  const filters = [`color=c=black:s=${WIDTH}x${HEIGHT}:r=${FPS}:d=${duration}[base0]`];
  videos.forEach((track, i) => {
    filters.push(
      `[${i}:v]setpts=PTS-STARTPTS+${offset(track.startedAt)}/TB,` +
        `scale=${w}:${h}:force_original_aspect_ratio=decrease,` +
        `pad=${w}:${h}:(ow-iw)/2:(oh-ih)/2[tile${i}]`,
      `[base${i}][tile${i}]overlay=${(i % columns) * w}:${Math.floor(i / columns) * h}` +
        `:eof_action=pass[base${i + 1}]`,
    );
  });
  const maps = ['-map', `[base${videos.length}]`];
  if (audios.length) {
    audios.forEach((track, j) => {
      const delay = Math.round(offset(track.startedAt) * 1000);
      filters.push(`[${videos.length + j}:a]adelay=${delay}:all=1[voice${j}]`);
    });
    const voices = audios.map((_, j) => `[voice${j}]`).join('');
    filters.push(`${voices}amix=inputs=${audios.length}:duration=longest:normalize=0[mix]`);
    maps.push('-map', '[mix]');
  }
  return [
    ...['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error'],
    ...inputs,
    ...['-filter_complex', filters.join(';'), ...maps, '-t', String(duration)],
    ...['-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-r', String(FPS)],
    ...(audios.length ? ['-c:a', 'aac', '-b:a', '128k'] : []),
    ...['-movflags', '+faststart', '-y', join(folder, COMPOSITE_FILE)],
  ];
}

/** Makes the recording's composite file (after the recording ended). */
export async function makeComposite(
  ffmpegPath: string,
  info: RecordingInfo,
  folder: string,
): Promise<void> {
  await run(ffmpegPath, compositeArguments(info, folder), { maxBuffer: 16 * 1024 * 1024 });
}
