import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { MediaService } from '../media/media.service';
import type { MediaSession } from '../media/media-session';
import type { ProducerInfo } from '../media/media-events';
import type { Logger } from '../observability/logger';
import {
  COMPOSITE_FPS as FPS,
  COMPOSITE_HEIGHT as HEIGHT,
  COMPOSITE_WIDTH as WIDTH,
  gridOf,
  Tile,
} from './composite-layout';
import { watchProducers } from './room-producers';
import { DecodedOutput, TrackRecorder } from './track-recorder';

const SAMPLE_RATE = 48_000;
const FRAME_BYTES = (WIDTH * HEIGHT * 3) / 2;
/**
 * A track's audio is mixed once this much of it waits (which absorbs the jitter of its
 * packets), and no more than MAX_QUEUED is kept (a track that got ahead is cut back).
 */
const AUDIO_PRIMING_SAMPLES = SAMPLE_RATE / 10;
const AUDIO_MAX_QUEUED_SAMPLES = SAMPLE_RATE / 2;
/**
 * Past this much unencoded video (the encoder cannot keep up), a tick is skipped: a file
 * may lag further behind than a live stream, whose viewers wait for it.
 */
const MAX_BACKLOG_SECONDS = { file: 5, stream: 2 };
const RESTART_DELAY_MS = 1000;
const STOP_TIMEOUT_MS = 10_000;

/** A fragmented MP4 file (playable however it ends) or an RTMP server (FLV). */
export type CompositeOutput = { file: string } | { url: string };

export interface LiveCompositeOptions {
  roomId: string;
  /** The composite's media peer in the room (no participant). */
  peerId: string;
  media: MediaService;
  ffmpegPath: string;
  rtcpSinkPort: number;
  output: CompositeOutput;
  /** The composite's time 0 (epoch ms): what comes before its first frame is black. */
  startedAt: number;
  logger: Logger;
}

/** A producer of the room shown in (video) or mixed into (audio) the composite. */
interface Source {
  producer: ProducerInfo;
  /** Its decoders: the one shown, and one for a new tile size until its first frame. */
  decoders: Set<TrackRecorder>;
  shown?: TrackRecorder;
  tile?: Tile;
  /** Video: the last decoded frame, its size. */
  frame?: { pixels: Buffer; width: number; height: number };
  /** Audio: decoded samples (s16le) waiting to be mixed. */
  queue: Buffer;
  primed: boolean;
}

/**
 * The room as one picture and one sound, live: every producer that sends media is decoded
 * by its own ffmpeg (a TrackRecorder that decodes: video scaled to its grid tile, audio to
 * 48 kHz mono), and this process draws the latest frame of each into a 1280x720 grid 15
 * times a second and mixes the audio into one ffmpeg encoder (H264 + AAC) that writes a
 * fragmented MP4 or streams FLV to an RTMP server. The encoder runs from start to stop
 * with the clock of this process: a participant who joins, leaves, mutes or shares a
 * screen changes the grid at once (a tile shows what it has, cropped or centred, until
 * its decoder for the new size delivers), and a track that stalls shows its last frame
 * and falls silent without holding the others up.
 */
export class LiveComposite {
  /** The encoder ended by itself (its output failed), with what it said. */
  onEnd?: (problem: string) => void;
  framesWritten = 0;
  framesSkipped = 0;
  private samplesWritten = 0;
  private readonly sources = new Map<string, Source>();
  private readonly restartTimers = new Set<NodeJS.Timeout>();
  private clock?: NodeJS.Timeout;
  private readonly unwatch: () => void;
  private readonly exited: Promise<unknown>;
  private stderr = '';
  private stopping?: Promise<void>;

  private constructor(
    private readonly options: LiveCompositeOptions,
    private readonly session: MediaSession,
    private readonly encoder: ChildProcess,
  ) {
    this.exited = once(encoder, 'exit').catch(() => undefined);
    encoder.once('error', (error) => options.logger.error({ err: error }, 'ffmpeg did not start'));
    encoder.stderr!.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-2000);
    });
    for (const input of [this.video, this.audio]) input.on('error', () => undefined);
    void this.exited.then(() => {
      if (this.stopping) return;
      const problem = this.stderr.trim().split('\n').pop() || 'the encoder ended';
      options.logger.warn({ roomId: options.roomId, stderr: this.stderr }, 'composite ended');
      void this.stop().then(() => this.onEnd?.(problem));
    });
    this.unwatch = watchProducers(
      options.media,
      options.roomId,
      (producer) => this.add(producer),
      (producer) => this.remove(producer.id),
    );
    for (const producer of session.roomProducers()) this.add(producer);
    // The clock starts once the encoder has taken a first frame (it may take a while to
    // start on a busy machine): then it gets what is due since the start at once.
    this.video.write(this.draw(), (error) => {
      if (error || this.stopping) return;
      this.framesWritten = 1;
      this.clock = setInterval(() => this.tick(), 1000 / FPS);
    });
  }

  static async start(options: LiveCompositeOptions): Promise<LiveComposite> {
    const session = await options.media.attach(options.roomId, options.peerId);
    const encoder = spawn(options.ffmpegPath, encoderArguments(options.output), {
      stdio: ['pipe', 'ignore', 'pipe', 'pipe'],
    });
    return new LiveComposite(options, session, encoder);
  }

  private get video() {
    return this.encoder.stdin!;
  }

  private get audio() {
    return this.encoder.stdio[3] as Writable;
  }

  /** Ends every decoder, lets the encoder finish its output, leaves the room's media. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.unwatch();
      clearInterval(this.clock);
      this.restartTimers.forEach(clearTimeout);
      if (this.clock && this.encoder.exitCode === null && this.encoder.signalCode === null) {
        this.tick();
      }
      const decoders = [...this.sources.values()].flatMap((source) => [...source.decoders]);
      this.sources.clear();
      const aborted = Promise.all(decoders.map((decoder) => decoder.abort()));
      this.video.end();
      this.audio.end();
      if (this.encoder.exitCode === null && this.encoder.signalCode === null) {
        const timer = setTimeout(() => this.encoder.kill('SIGKILL'), STOP_TIMEOUT_MS);
        await this.exited;
        clearTimeout(timer);
      }
      await aborted;
      await this.options.media.detach(this.options.roomId, this.options.peerId);
      const { roomId, logger } = this.options;
      const { framesWritten, framesSkipped } = this;
      // Skipped frames: the encoder did not keep up with real time (a busy machine).
      const level = framesSkipped ? 'warn' : 'info';
      logger[level]({ roomId, framesWritten, framesSkipped }, 'composite stopped');
    })();
    return this.stopping;
  }

  private add(producer: ProducerInfo) {
    if (this.stopping || producer.paused || this.sources.has(producer.id)) return;
    const source: Source = { producer, decoders: new Set(), queue: Buffer.alloc(0), primed: false };
    this.sources.set(producer.id, source);
    if (producer.kind === 'video') this.layOut();
    else this.decode(source);
  }

  private remove(producerId: string) {
    const source = this.sources.get(producerId);
    if (!source) return;
    this.sources.delete(producerId);
    this.drop(source);
    if (source.producer.kind === 'video') this.layOut();
  }

  private drop(source: Source) {
    for (const decoder of source.decoders) void decoder.abort();
    source.decoders.clear();
  }

  /** The videos in the order they came, each in its tile; a tile that changed size is decoded anew. */
  private layOut() {
    const videos = [...this.sources.values()].filter((s) => s.producer.kind === 'video');
    gridOf(videos.length).forEach((tile, i) => {
      const source = videos[i];
      const resized = source.tile?.width !== tile.width || source.tile?.height !== tile.height;
      source.tile = tile;
      if (resized) this.decode(source);
    });
  }

  private decode(source: Source) {
    const { session, options } = this;
    const { tile } = source;
    const output: DecodedOutput = tile ? { width: tile.width, height: tile.height } : 'audio';
    const current = () => !this.stopping && this.sources.get(source.producer.id) === source;
    TrackRecorder.start({
      session,
      producer: source.producer,
      basePath: '',
      ffmpegPath: options.ffmpegPath,
      rtcpSinkPort: options.rtcpSinkPort,
      logger: options.logger,
      decode: output,
    }).then(
      (decoder) => {
        if (!current()) return void decoder.abort();
        source.decoders.add(decoder);
        // Its media stalled: decoded anew once it comes back.
        decoder.onEnd = () => {
          source.decoders.delete(decoder);
          if (source.shown !== decoder) return;
          source.shown = undefined;
          this.decodeLater(source);
        };
        if (output === 'audio') {
          source.shown = decoder;
          decoder.output.on('data', (chunk: Buffer) => this.queueAudio(source, chunk));
        } else {
          this.readFrames(source, decoder, output.width, output.height);
        }
      },
      (error: unknown) => {
        options.logger.warn({ err: error, producerId: source.producer.id }, 'cannot decode');
        if (current()) this.decodeLater(source);
      },
    );
  }

  private decodeLater(source: Source) {
    const timer = setTimeout(() => {
      this.restartTimers.delete(timer);
      if (!this.stopping && this.sources.get(source.producer.id) === source) this.decode(source);
    }, RESTART_DELAY_MS);
    this.restartTimers.add(timer);
  }

  private readFrames(source: Source, decoder: TrackRecorder, width: number, height: number) {
    const bytes = (width * height * 3) / 2;
    // The chunks of the frame under way, joined once it is whole (a frame spans many).
    let chunks: Buffer[] = [];
    let pending = 0;
    decoder.output.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      pending += chunk.length;
      if (pending < bytes) return;
      let joined = Buffer.concat(chunks, pending);
      while (joined.length >= bytes) {
        this.show(source, decoder, { pixels: joined.subarray(0, bytes), width, height });
        joined = joined.subarray(bytes);
      }
      chunks = joined.length ? [joined] : [];
      pending = joined.length;
    });
  }

  /** A decoded frame; the first one of the tile's size makes its decoder the one shown. */
  private show(source: Source, decoder: TrackRecorder, frame: Source['frame'] & object) {
    if (source.shown !== decoder) {
      if (source.tile?.width !== frame.width || source.tile.height !== frame.height) return;
      source.shown = decoder;
      for (const other of source.decoders) {
        if (other === decoder) continue;
        source.decoders.delete(other);
        void other.abort();
      }
    }
    source.frame = frame;
  }

  private queueAudio(source: Source, chunk: Buffer) {
    source.queue = Buffer.concat([source.queue, chunk]);
    const excess = source.queue.length - AUDIO_MAX_QUEUED_SAMPLES * 2;
    if (excess > 0) source.queue = source.queue.subarray(excess + (excess % 2));
  }

  /** Writes what is due by the clock: frames of the grid as it is now, the audio mixed. */
  private tick() {
    const elapsed = Date.now() - this.options.startedAt;
    const frames = Math.floor((elapsed * FPS) / 1000) - this.framesWritten - this.framesSkipped;
    const samples = Math.floor((elapsed * SAMPLE_RATE) / 1000) - this.samplesWritten;
    if (frames <= 0 || samples <= 0) return;
    const mixed = this.mix(samples);
    this.samplesWritten += samples;
    // The encoder is behind: audio and video skip this stretch together (they stay in step).
    const backlog =
      'file' in this.options.output ? MAX_BACKLOG_SECONDS.file : MAX_BACKLOG_SECONDS.stream;
    if (this.video.writableLength > backlog * FPS * FRAME_BYTES) {
      this.framesSkipped += frames;
      return;
    }
    const picture = this.draw();
    for (let i = 0; i < frames; i++) this.video.write(picture);
    this.framesWritten += frames;
    this.audio.write(mixed);
  }

  private draw(): Buffer {
    const picture = Buffer.allocUnsafe(FRAME_BYTES);
    picture.fill(16, 0, WIDTH * HEIGHT);
    picture.fill(128, WIDTH * HEIGHT);
    for (const source of this.sources.values()) {
      if (source.tile && source.frame) blit(picture, source.frame, source.tile);
    }
    return picture;
  }

  private mix(samples: number): Buffer {
    const sum = new Int32Array(samples);
    for (const source of this.sources.values()) {
      if (source.tile) continue;
      const queued = source.queue.length >> 1;
      if (!source.primed && queued < AUDIO_PRIMING_SAMPLES) continue;
      source.primed = true;
      const taken = Math.min(samples, queued);
      for (let i = 0; i < taken; i++) sum[i] += source.queue.readInt16LE(i * 2);
      source.queue = source.queue.subarray(taken * 2);
      // Ran dry: waits to have enough again rather than play it in crumbs.
      if (taken < samples) source.primed = false;
    }
    const out = Buffer.allocUnsafe(samples * 2);
    for (let i = 0; i < samples; i++) {
      out.writeInt16LE(Math.max(-32768, Math.min(32767, sum[i])), i * 2);
    }
    return out;
  }
}

const even = (n: number) => Math.floor(n / 2) * 2;

/** Copies a yuv420p frame into its tile of the picture, centred, cropped where larger. */
function blit(
  picture: Buffer,
  frame: { pixels: Buffer; width: number; height: number },
  tile: Tile,
) {
  const dx = even((tile.width - frame.width) / 2);
  const dy = even((tile.height - frame.height) / 2);
  const [width, height] = [Math.min(frame.width, tile.width), Math.min(frame.height, tile.height)];
  const [fromX, fromY] = [Math.max(0, -dx), Math.max(0, -dy)];
  const [toX, toY] = [tile.x + Math.max(0, dx), tile.y + Math.max(0, dy)];
  const lumaBytes = frame.width * frame.height;
  const planes = [
    { at: 0, from: 0, scale: 1 },
    { at: WIDTH * HEIGHT, from: lumaBytes, scale: 2 },
    { at: (WIDTH * HEIGHT * 5) / 4, from: (lumaBytes * 5) / 4, scale: 2 },
  ];
  for (const { at, from, scale } of planes) {
    const [stride, frameStride] = [WIDTH / scale, frame.width / scale];
    const rowBytes = width / scale;
    for (let row = 0; row < height / scale; row++) {
      const source = from + (fromY / scale + row) * frameStride + fromX / scale;
      const target = at + (toY / scale + row) * stride + toX / scale;
      frame.pixels.copy(picture, target, source, source + rowBytes);
    }
  }
}

function encoderArguments(output: CompositeOutput): string[] {
  const destination =
    'file' in output
      ? [
          // A fragment a second, each flushed: a killed encoder loses at most the last one.
          ...['-movflags', '+frag_keyframe+empty_moov+default_base_moof'],
          ...['-frag_duration', '1000000', '-flush_packets', '1', '-f', 'mp4', '-y', output.file],
        ]
      : ['-f', 'flv', output.url];
  return [
    ...['-hide_banner', '-nostats', '-loglevel', 'warning'],
    // Both inputs say what they are: ffmpeg need not wait to analyse them.
    ...['-probesize', '32', '-analyzeduration', '0', '-thread_queue_size', '16'],
    ...['-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-video_size', `${WIDTH}x${HEIGHT}`],
    ...['-framerate', String(FPS), '-i', 'pipe:0'],
    ...['-probesize', '32', '-analyzeduration', '0', '-thread_queue_size', '64'],
    ...['-f', 's16le', '-ar', String(SAMPLE_RATE), '-ac', '1', '-i', 'pipe:3'],
    ...['-map', '0:v', '-map', '1:a'],
    ...['-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p'],
    ...['-g', String(2 * FPS), '-b:v', '2500k', '-maxrate', '2500k', '-bufsize', '5000k'],
    ...['-c:a', 'aac', '-b:a', '128k', '-ar', String(SAMPLE_RATE)],
    ...destination,
  ];
}
