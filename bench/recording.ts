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
 * Then C more rooms, each with two publishers, get a live 720p composite each (the
 * LiveComposite a recording with RECORDING_COMPOSITE or a stream runs: a decoding ffmpeg
 * per track, the grid drawn and the audio mixed in the shard's process, one H264/AAC
 * encoder) written to a file for S seconds. Measured: every ffmpeg of the composites,
 * what the shard's process and the worker spend beyond their rate just before, per
 * composite; composites per core from their sum; and whether they kept real time (the
 * output's duration against the wall time, and no frame skipped).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { MediaService } from '../src/media/media.service';
import { WorkerPool } from '../src/media/worker-pool.service';
import { LOGGER } from '../src/observability/logging.module';
import type { Logger } from '../src/observability/logger';
import { LiveComposite } from '../src/recording/live-composite';
import { discardSocket } from '../src/recording/local-udp-ports';
import { probeMedia } from '../src/recording/media-probe';
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
    'shard process CPU % per room',
    'rooms per core',
    'realtime min',
  ],
  async run(args, progress) {
    const { values } = parseArgs({
      args,
      options: {
        rooms: { type: 'string', default: '4' },
        composites: { type: 'string', default: '2' },
        seconds: { type: 'string', default: '20' },
        tiny: { type: 'boolean' },
      },
    });
    const rooms = values.tiny ? 1 : Number(values.rooms);
    const composites = values.tiny ? 1 : Number(values.composites);
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
        'shard process CPU % per room': '-',
        'rooms per core': Math.floor(1 / Math.max(total, 1e-6)),
        'realtime min': Number(realtime.toFixed(2)),
      };
      if (!composites) return [row];

      // Live composites, in rooms of their own with two publishers each.
      for (let i = 0; i < composites; i++) {
        for (const name of ['A', 'B']) {
          const client = await NodeParticipant.connect(shard.baseUrl);
          clients.push(client);
          await client.join(`composite-${i}`, `${name}${i}`);
          await client.publish();
        }
      }
      progress(`${composites} rooms of two publishers: ${seconds} s uncomposed, then composed`);
      const shardSeconds = () => {
        const { user, system } = process.cpuUsage();
        return (user + system) / 1e6;
      };
      const rates = { at: Date.now(), worker: await workerSeconds(), shard: shardSeconds() };
      await sleep(seconds * 1000);
      const idle = (Date.now() - rates.at) / 1000;
      const workerRate = ((await workerSeconds()) - rates.worker) / idle;
      const shardRate = (shardSeconds() - rates.shard) / idle;
      const alreadyRunning = new Set(ffmpegPids());
      const rtcpSink = await discardSocket();
      const { config } = shard;
      const composedFrom = Date.now();
      const running = await Promise.all(
        Array.from({ length: composites }, (_, i) =>
          LiveComposite.start({
            roomId: `composite-${i}`,
            peerId: `bench-composite-${i}`,
            media: shard.app.get(MediaService),
            ffmpegPath: config.recording.ffmpegPath,
            rtcpSinkPort: rtcpSink.address().port,
            output: { file: join(directory, `composite-${i}.mp4`) },
            startedAt: composedFrom,
            logger: shard.app.get<Logger>(LOGGER),
          }),
        ),
      );
      // An encoder and four decoders each once they all run.
      const deadline = Date.now() + 20_000;
      let pids: number[] = [];
      while (Date.now() < deadline) {
        pids = ffmpegPids().filter((pid) => !alreadyRunning.has(pid));
        if (pids.length >= composites * 5) break;
        await sleep(200);
      }
      const from = {
        at: Date.now(),
        worker: await workerSeconds(),
        shard: shardSeconds(),
        ffmpeg: pids.map(cpuSeconds),
      };
      await sleep(seconds * 1000);
      const composed = (Date.now() - from.at) / 1000;
      const compositeFfmpeg = pids.reduce(
        (sum, pid, i) => sum + cpuSeconds(pid) - from.ffmpeg[i],
        0,
      );
      const compositeWorker = Math.max(
        0,
        (await workerSeconds()) - from.worker - workerRate * composed,
      );
      const compositeShard = Math.max(0, shardSeconds() - from.shard - shardRate * composed);
      const stoppedAt = Date.now();
      await Promise.all(running.map((composite) => composite.stop()));
      rtcpSink.close();
      let compositeRealtime = Infinity;
      let skipped = 0;
      for (const [i, composite] of running.entries()) {
        const probed = await probeMedia('ffprobe', join(directory, `composite-${i}.mp4`));
        const wallSeconds = (stoppedAt - composedFrom) / 1000;
        // Skipped frames are missing from the file: it is shorter than the wall time.
        compositeRealtime = Math.min(
          compositeRealtime,
          (probed?.durationSeconds ?? 0) / wallSeconds,
        );
        skipped += composite.framesSkipped;
      }
      progress(`composites stopped: ${skipped} frames skipped (the encoder fell behind)`);
      const perComposite = (cpu: number) => (100 * cpu) / composed / composites;
      const compositeTotal = (compositeFfmpeg + compositeWorker + compositeShard) / composed;
      return [
        row,
        {
          scenario: 'live composite 720p (2 cameras, 2 mics)',
          rooms: composites,
          tracks: composites * 4,
          seconds: Math.round(composed),
          'ffmpeg CPU % per room': Number(perComposite(compositeFfmpeg).toFixed(2)),
          'worker CPU % per room': Number(perComposite(compositeWorker).toFixed(2)),
          'shard process CPU % per room': Number(perComposite(compositeShard).toFixed(2)),
          'rooms per core': Number((composites / Math.max(compositeTotal, 1e-6)).toFixed(1)),
          'realtime min': Number(compositeRealtime.toFixed(2)),
        },
      ];
    } finally {
      clients.forEach((client) => client.close());
      await shard.close();
      await rm(directory, { recursive: true, force: true });
    }
  },
};
