import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import type { MediaSession } from '../media/media-session';
import type { ProducerInfo } from '../media/media-events';
import type { Logger } from '../observability/logger';
import { COMPOSITE_FPS } from './composite-layout';
import { freeUdpPortPair, udpPortTaken } from './local-udp-ports';
import { recorderRtpCapabilities, sdpFor, TrackFormat, trackFormatOf } from './track-format';

/**
 * How long ffmpeg may take to listen (many starting at once on a busy machine take
 * seconds), and to finish its file once its media stopped.
 */
const LISTEN_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 5000;
/**
 * ffmpeg ends its input (and finishes its file) after this long without a packet: that is
 * how a recorder stops, as a signal would not interrupt ffmpeg's wait for the next packet.
 */
const IDLE_SECONDS = 4;
/** Keyframe requests after the start: the first ones can reach ffmpeg before it reads. */
const KEYFRAME_RETRIES_MS = [200, 500, 1000, 2000];

/**
 * What a live composite reads of a track instead of a file: raw frames of that size
 * (yuv420p, the picture fitted in and centred) or, for audio, 48 kHz mono s16le samples.
 */
export type DecodedOutput = { width: number; height: number } | 'audio';

export interface TrackRecorderOptions {
  session: MediaSession;
  producer: ProducerInfo;
  /** The file without its extension, which follows from the codec. */
  basePath: string;
  /** Decode onto ffmpeg's stdout (TrackRecorder.output) instead of writing the file. */
  decode?: DecodedOutput;
  ffmpegPath: string;
  /**
   * Where mediasoup's RTCP goes instead of ffmpeg: ffmpeg re-bases its timestamps at the
   * first sender report, which would fold the media before it onto what follows.
   */
  rtcpSinkPort: number;
  logger: Logger;
}

/**
 * One stretch of a producer's media (until it pauses, closes or the recording ends)
 * written to one file by one ffmpeg process, without transcoding: a consumer on its own
 * plain transport sends RTP to ffmpeg, which copies it into the codec's container,
 * flushed as it goes so the file stays playable if the shard dies. Whatever happens to
 * ffmpeg, the call does not notice: the consumer merely sends to a port nobody reads
 * until the recorder closes it.
 */
export class TrackRecorder {
  readonly startedAt = new Date();
  endedAt?: Date;
  /** Called when ffmpeg ends on its own, its media idle (the recorder is stopped by then). */
  onEnd?: () => void;
  /** The end of what ffmpeg said, for the log. */
  private stderr = '';
  private stopping?: Promise<void>;
  private readonly keyFrameTimers: NodeJS.Timeout[] = [];

  private constructor(
    readonly producer: ProducerInfo,
    readonly consumerId: string,
    readonly file: string,
    readonly codec: string,
    private readonly transportId: string,
    private readonly ffmpeg: ChildProcess,
    private readonly exited: Promise<unknown>,
    private readonly options: TrackRecorderOptions,
  ) {}

  /** The decoded media (with options.decode). */
  get output(): NodeJS.ReadableStream {
    return this.ffmpeg.stdout!;
  }

  static async start(options: TrackRecorderOptions): Promise<TrackRecorder> {
    const { session, producer, basePath, ffmpegPath, rtcpSinkPort, logger, decode } = options;
    const port = await freeUdpPortPair();
    const transport = await session.createPlainTransport('127.0.0.1', {
      ip: '127.0.0.1',
      port,
      rtcpPort: rtcpSinkPort,
    });
    let ffmpeg: ChildProcess | undefined;
    try {
      const consumer = await session.consume(
        transport.id,
        producer.id,
        recorderRtpCapabilities(session.rtpCapabilities),
        true,
      );
      const codec = consumer.rtpParameters.codecs[0].mimeType;
      const format = trackFormatOf(codec)!;
      const file = `${basePath}.${format.extension}`;
      const output = decode ? decodeArguments(decode) : fileArguments(format, file);
      ffmpeg = spawn(ffmpegPath, [...inputArguments(!!decode), ...output], {
        stdio: ['pipe', decode ? 'pipe' : 'ignore', 'pipe'],
      });
      const exited = once(ffmpeg, 'exit').catch(() => undefined);
      ffmpeg.once('error', (error) => logger.error({ err: error, file }, 'ffmpeg did not start'));
      ffmpeg.stderr!.on('data', (chunk: Buffer) => {
        recorder.stderr = (recorder.stderr + chunk.toString()).slice(-2000);
      });
      ffmpeg.stdin!.on('error', () => undefined);
      ffmpeg.stdin!.end(sdpFor(consumer.kind, consumer.rtpParameters, port));
      const recorder = new TrackRecorder(
        producer,
        consumer.id,
        file,
        codec,
        transport.id,
        ffmpeg,
        exited,
        options,
      );
      void exited.then(() => {
        if (recorder.stopping) return;
        logger.info({ file, stderr: recorder.stderr }, 'a track recorder ended on its own');
        void recorder.stop().then(() => recorder.onEnd?.());
      });
      await recorder.listening(port);
      await session.setConsumerPaused(consumer.id, false);
      recorder.requestKeyFrames();
      return recorder;
    } catch (error) {
      ffmpeg?.kill('SIGKILL');
      session.closePlainTransport(transport.id);
      throw error;
    }
  }

  /** Asks for a keyframe now and a few times more (on starts and resumes). */
  requestKeyFrames() {
    if (this.producer.kind !== 'video' || this.stopping) return;
    const request = () =>
      void this.options.session.requestKeyFrame(this.consumerId).catch(() => undefined);
    request();
    for (const delay of KEYFRAME_RETRIES_MS) this.keyFrameTimers.push(setTimeout(request, delay));
  }

  /** Stops at once: for a decoder, whose output nobody reads any more. */
  abort(): Promise<void> {
    const stopped = this.stop();
    this.ffmpeg.kill('SIGKILL');
    return stopped;
  }

  /** Stops the media; ffmpeg then finishes its file when idle (killed if it takes too long). */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.keyFrameTimers.forEach(clearTimeout);
      this.options.session.closePlainTransport(this.transportId);
      if (this.ffmpeg.exitCode === null && this.ffmpeg.signalCode === null) {
        const timer = setTimeout(() => {
          const { file, stderr } = this;
          this.options.logger.warn({ file, stderr }, 'ffmpeg did not finish in time: killed');
          this.ffmpeg.kill('SIGKILL');
        }, STOP_TIMEOUT_MS);
        await this.exited;
        clearTimeout(timer);
      }
      this.endedAt = new Date();
    })();
    return this.stopping;
  }

  private async listening(port: number) {
    const deadline = Date.now() + LISTEN_TIMEOUT_MS;
    while (!(await udpPortTaken(port))) {
      if (this.ffmpeg.exitCode !== null || Date.now() > deadline) {
        throw new Error(`ffmpeg did not listen on UDP port ${port}: ${this.stderr.trim()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

/** The consumer's RTP, described by the SDP on stdin. */
function inputArguments(decoding: boolean): string[] {
  return [
    ...['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'warning'],
    ...['-protocol_whitelist', 'pipe,udp,rtp', '-f', 'sdp', '-localaddr', '127.0.0.1'],
    // A decoder's frames are timed by RTP: ffmpeg need not count 20 frames to guess a
    // frame rate before it decodes (a composite's first picture came 9 s late once on a
    // busy machine, 1.2 s without). Not yet tried on the track files' Chromium test.
    ...(decoding ? ['-fpsprobesize', '0'] : []),
    ...['-listen_timeout', String(IDLE_SECONDS), '-i', 'pipe:0'],
  ];
}

function fileArguments(format: TrackFormat, file: string): string[] {
  // Matroska/WebM: a cluster per second at most, each flushed, so that a killed recorder
  // loses at most the last second. Ogg pages are flushed the same way.
  const muxerOptions =
    format.muxer === 'ogg' ? ['-page_duration', '1000000'] : ['-cluster_time_limit', '1000'];
  return [
    ...['-map', '0', '-c', 'copy', '-flush_packets', '1', ...muxerOptions],
    ...['-f', format.muxer, '-y', file],
  ];
}

/** Each frame (or audio packet) written out as soon as it is decoded. */
function decodeArguments(decode: DecodedOutput): string[] {
  const raw = ['-flush_packets', '1', 'pipe:1'];
  if (decode === 'audio') return ['-map', '0:a', '-ac', '1', '-ar', '48000', '-f', 's16le', ...raw];
  const { width: w, height: h } = decode;
  const fit =
    `fps=${COMPOSITE_FPS},scale=${w}:${h}:force_original_aspect_ratio=decrease:flags=fast_bilinear,` +
    `pad=${w}:${h}:(ow-iw)/2:(oh-ih)/2,format=yuv420p`;
  return ['-map', '0:v', '-vf', fit, '-fps_mode', 'passthrough', '-f', 'rawvideo', ...raw];
}
