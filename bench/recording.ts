/**
 * recording: what per-track recording costs. R rooms, each with one real participant
 * (mediasoup-client over wrtc: Opus and VP8), are recorded at once for S seconds through
 * the shard's RecordingService (one ffmpeg per track, copying). Measured: the CPU of the
 * recorders (every ffmpeg the shard started) and what recording adds to the mediasoup
 * worker's (its rate while recording minus its rate over as long just before, when it
 * only took the participants' media in), per recorded room; from those, rooms recorded
 * per core; and whether the files keep up with real time (video duration / wall time: the
 * wrtc participants' audio clock lags on a busy machine, see test/e2e/recording.e2e-spec).
 *
 * Composites are not implemented yet: no composite row.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { WorkerPool } from '../src/media/worker-pool.service';
import { RecordingService } from '../src/recording/recording.service';
import { NodeParticipant } from '../test/support/node-participant';
import { inspectRecording } from '../test/support/recorded-media';
import { startShard } from '../test/support/shard';
import type { Bench, Row } from './run';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const TICKS_PER_SECOND = 100;

/** CPU seconds (user + system) of a process so far, 0 once it is gone. */
function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** This process's ffmpeg children (the shard runs in it). */
function ffmpegPids(): number[] {
  const pids: number[] = [];
  for (const task of readdirSync(`/proc/${process.pid}/task`)) {
    const children = readFileSync(`/proc/${process.pid}/task/${task}/children`, 'utf8');
    for (const pid of children.split(' ').filter(Boolean).map(Number)) {
      const name = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      if (name === 'ffmpeg') pids.push(pid);
    }
  }
  return pids;
}

export const recordingBench: Bench = {
  columns: [
    'scenario',
    'rooms',
    'tracks',
    'seconds',
    'ffmpeg CPU % per room',
    'worker CPU % per room',
    'rooms per core',
    'realtime min',
  ],
  async run(args, progress) {
    const { values } = parseArgs({
      args,
      options: {
        rooms: { type: 'string', default: '4' },
        seconds: { type: 'string', default: '20' },
        tiny: { type: 'boolean' },
      },
    });
    const rooms = values.tiny ? 1 : Number(values.rooms);
    const seconds = values.tiny ? 3 : Number(values.seconds);
    const directory = await mkdtemp(join(tmpdir(), 'vw-bench-recording-'));
    const shard = await startShard({
      RECORDINGS_DIR: directory,
      RECORDING_MIN_FREE_MB: '1',
      MAX_CONCURRENT_RECORDINGS: String(rooms),
    });
    const clients: NodeParticipant[] = [];
    try {
      for (let i = 0; i < rooms; i++) {
        const client = await NodeParticipant.connect(shard.baseUrl);
        clients.push(client);
        await client.join(`bench-${i}`, `P${i}`);
        await client.publish();
      }
      progress(`${rooms} rooms with a publisher each: ${seconds} s unrecorded, then recorded`);
      const recordings = shard.app.get(RecordingService);
      const workers = shard.app.get(WorkerPool);
      const workerSeconds = async () =>
        (await workers.cpuSeconds()).reduce((sum, worker) => sum + worker.seconds, 0);
      const baselineFrom = { at: Date.now(), cpu: await workerSeconds() };
      await sleep(seconds * 1000);
      const baseline =
        ((await workerSeconds()) - baselineFrom.cpu) / ((Date.now() - baselineFrom.at) / 1000);
      await Promise.all(clients.map((_, i) => recordings.start(`bench-${i}`, 'admin')));
      const recorders = ffmpegPids();
      const workerBefore = await workerSeconds();
      const before = recorders.map(cpuSeconds);
      const startedAt = Date.now();
      await sleep(seconds * 1000);
      // Read before the stop: ffmpeg's CPU is gone from /proc once it exits.
      const ffmpegCpu = recorders.reduce((sum, pid, i) => sum + cpuSeconds(pid) - before[i], 0);
      const wall = (Date.now() - startedAt) / 1000;
      const workerCpu = Math.max(0, (await workerSeconds()) - workerBefore - baseline * wall);
      const stopAsked = Date.now();
      const finished = await Promise.all(clients.map((_, i) => recordings.stop(`bench-${i}`)));
      progress(`stopped; checking ${finished.reduce((n, r) => n + r.tracks.length, 0)} files`);
      let realtime = Infinity;
      // Each video file against the time from its recorder's start to the stop.
      for (const recording of finished) {
        for (const track of recording.tracks.filter((t) => t.kind === 'video')) {
          const media = await inspectRecording(join(directory, recording.id, track.file));
          const span = (stopAsked - Date.parse(track.startedAt)) / 1000;
          realtime = Math.min(realtime, media.durationSeconds / span);
        }
      }
      const perRoom = (cpu: number) => (100 * cpu) / wall / rooms;
      const total = (ffmpegCpu + workerCpu) / wall / rooms;
      const row: Row = {
        scenario: 'per-track (audio + video)',
        rooms,
        tracks: recorders.length,
        seconds: Math.round(wall),
        'ffmpeg CPU % per room': Number(perRoom(ffmpegCpu).toFixed(2)),
        'worker CPU % per room': Number(perRoom(workerCpu).toFixed(2)),
        'rooms per core': Math.floor(1 / Math.max(total, 1e-6)),
        'realtime min': Number(realtime.toFixed(2)),
      };
      return [row];
    } finally {
      clients.forEach((client) => client.close());
      await shard.close();
      await rm(directory, { recursive: true, force: true });
    }
  },
};
