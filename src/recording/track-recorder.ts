import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import type { MediaSession } from '../media/media-session';
import type { ProducerInfo } from '../media/media-events';
import type { Logger } from '../observability/logger';
import { freeUdpPortPair, udpPortTaken } from './local-udp-ports';
import { recorderRtpCapabilities, sdpFor, TrackFormat, trackFormatOf } from './track-format';

/** How long ffmpeg may take to listen, and to finish its file once asked to stop. */
const LISTEN_TIMEOUT_MS = 5000;
const STOP_TIMEOUT_MS = 5000;
/** Keyframe requests after the start: the first ones can reach ffmpeg before it reads. */
const KEYFRAME_RETRIES_MS = [500, 1500, 3000];

export interface TrackRecorderOptions {
  session: MediaSession;
  producer: ProducerInfo;
  /** The file without its extension, which follows from the codec. */
  basePath: string;
  ffmpegPath: string;
  logger: Logger;
}

/**
 * One producer written to one file by one ffmpeg process, without transcoding: a
 * consumer on its own plain transport sends RTP to ffmpeg, which copies it into the
 * codec's container, flushed as it goes so the file stays playable if the shard dies.
 * Whatever happens to ffmpeg, the call does not notice: the consumer merely sends to a
 * port nobody reads until the recorder closes it.
 */
export class TrackRecorder {
  readonly startedAt = new Date();
  endedAt?: Date;
  /** ffmpeg ended on its own (it failed), not because it was asked to. */
  failed = false;
  /** Called when ffmpeg ends on its own (the recorder is stopped by then). */
  onEnd?: () => void;
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

  static async start(options: TrackRecorderOptions): Promise<TrackRecorder> {
    const { session, producer, basePath, ffmpegPath, logger } = options;
    const port = await freeUdpPortPair();
    const transport = await session.createPlainTransport('127.0.0.1', { ip: '127.0.0.1', port });
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
      ffmpeg = spawn(ffmpegPath, ffmpegArguments(format, file), {
        stdio: ['pipe', 'ignore', 'pipe'],
      });
      const exited = once(ffmpeg, 'exit').catch(() => undefined);
      ffmpeg.once('error', (error) => logger.error({ err: error, file }, 'ffmpeg did not start'));
      let stderr = '';
      ffmpeg.stderr!.on('data', (chunk: Buffer) => {
        stderr = (stderr + chunk.toString()).slice(-2000);
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
        recorder.failed = true;
        logger.error({ file, stderr, exitCode: ffmpeg!.exitCode }, 'a track recorder ended');
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

  /** Stops the media, then lets ffmpeg finish its file (killing it if it takes too long). */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.keyFrameTimers.forEach(clearTimeout);
      this.options.session.closePlainTransport(this.transportId);
      if (this.ffmpeg.exitCode === null && this.ffmpeg.signalCode === null) {
        this.ffmpeg.kill('SIGINT');
        const timer = setTimeout(() => this.ffmpeg.kill('SIGKILL'), STOP_TIMEOUT_MS);
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
        throw new Error(`ffmpeg did not listen on UDP port ${port}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

function ffmpegArguments(format: TrackFormat, file: string): string[] {
  // Matroska/WebM: a cluster per second at most, each flushed, so that a killed recorder
  // loses at most the last second. Ogg pages are flushed the same way.
  const muxerOptions =
    format.muxer === 'ogg' ? ['-page_duration', '1000000'] : ['-cluster_time_limit', '1000'];
  return [
    ...['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'warning'],
    ...['-protocol_whitelist', 'pipe,udp,rtp', '-f', 'sdp', '-i', 'pipe:0'],
    ...['-map', '0', '-c', 'copy', '-flush_packets', '1', ...muxerOptions],
    ...['-f', format.muxer, '-y', file],
  ];
}
