import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface ProbedFile {
  /** The container's duration, or from first to last packet when it names none. */
  durationSeconds: number;
  streams: { codec: string; kind: string }[];
}

/**
 * What ffprobe reads of a recorded file. A file cut short (its recorder killed) names no
 * duration: its packets tell it. Undefined for a file ffprobe cannot read.
 */
export async function probeMedia(
  ffprobePath: string,
  file: string,
): Promise<ProbedFile | undefined> {
  try {
    const { stdout } = await run(ffprobePath, [
      ...['-v', 'error', '-of', 'json'],
      ...['-show_entries', 'format=duration:stream=codec_name,codec_type', file],
    ]);
    const probed = JSON.parse(stdout) as {
      format?: { duration?: string };
      streams?: { codec_name: string; codec_type: string }[];
    };
    const streams = (probed.streams ?? []).map((s) => ({
      codec: s.codec_name,
      kind: s.codec_type,
    }));
    let durationSeconds = Number(probed.format?.duration);
    if (!Number.isFinite(durationSeconds)) durationSeconds = await packetSpan(ffprobePath, file);
    return { durationSeconds, streams };
  } catch {
    return undefined;
  }
}

async function packetSpan(ffprobePath: string, file: string): Promise<number> {
  const { stdout } = await run(
    ffprobePath,
    [
      '-v',
      'error',
      '-select_streams',
      '0',
      '-show_entries',
      'packet=pts_time',
      '-of',
      'csv=p=0',
      file,
    ],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  let first = Infinity;
  let last = -Infinity;
  for (const line of stdout.split('\n')) {
    const time = line.trim() ? Number(line) : NaN;
    if (!Number.isFinite(time)) continue;
    first = Math.min(first, time);
    last = Math.max(last, time);
  }
  return last > first ? last - first : 0;
}
