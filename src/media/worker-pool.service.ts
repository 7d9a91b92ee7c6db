import { Inject, Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { createWorker, types } from 'mediasoup';
import { EventEmitter, once } from 'node:events';
import { cpus } from 'node:os';
import { detectAnnouncedAddress } from '../config/announced-address';
import { APP_CONFIG } from '../config/config.module';
import { AppConfig } from '../config/config.schema';
import { InjectLogger } from '../observability/logging.module';
import type { Logger } from '../observability/logger';
import { ROUTER_MEDIA_CODECS } from './media-codecs';

const RESPAWN_DELAY_MS = 1000;
/** How long a router request waits for a replacement when no worker is running. */
const WORKER_WAIT_MS = 10_000;

/**
 * The mediasoup workers of this shard, one per core by default, each with a WebRTC server
 * that all its WebRTC transports share. A worker that dies is logged and replaced; the
 * routers it carried close with it, and their owners react to that (see RoomMedia).
 */
@Injectable()
export class WorkerPool implements OnModuleInit, OnModuleDestroy {
  private readonly routerCounts = new Map<types.Worker, number>();
  private readonly workerOf = new WeakMap<types.Router, types.Worker>();
  private readonly webRtcServers = new Map<types.Worker, types.WebRtcServer>();
  /** Where each worker's WebRTC server listens: UDP and TCP, a port from the RTC range. */
  private readonly listenInfos: types.TransportListenInfo[];
  private readonly spawned = new EventEmitter<{ worker: [types.Worker] }>();
  private closing = false;
  /** What every router of this shard offers: they follow from the codecs alone. */
  routerRtpCapabilities!: types.RtpCapabilities;
  /** The last CPU reading of cpuLoad(). */
  private lastCpu = { at: 0, seconds: 0 };

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectLogger() private readonly logger: Logger,
  ) {
    const { listenIp, rtcMinPort, rtcMaxPort } = config.media;
    const announcedAddress = config.media.announcedAddress || detectAnnouncedAddress();
    this.listenInfos = (['udp', 'tcp'] as const).map((protocol) => ({
      protocol,
      ip: listenIp,
      announcedAddress,
      portRange: { min: rtcMinPort, max: rtcMaxPort },
    }));
  }

  async onModuleInit() {
    const count = this.config.media.numWorkers || cpus().length;
    await Promise.all(Array.from({ length: count }, () => this.spawn()));
    const probe = await this.workers()[0].createRouter({ mediaCodecs: ROUTER_MEDIA_CODECS });
    this.routerRtpCapabilities = probe.rtpCapabilities;
    probe.close();
    this.logger.info({ workers: count }, 'mediasoup workers running');
  }

  async onModuleDestroy() {
    this.closing = true;
    for (const worker of this.routerCounts.keys()) worker.close();
    this.routerCounts.clear();
    this.webRtcServers.clear();
  }

  liveWorkerCount(): number {
    return this.routerCounts.size;
  }

  workers(): types.Worker[] {
    return [...this.routerCounts.keys()];
  }

  /** User and system CPU seconds of each live worker so far (unreadable ones left out). */
  async cpuSeconds(): Promise<{ pid: number; seconds: number }[]> {
    const usages = await Promise.all(
      this.workers().map(async (worker) => ({
        pid: worker.pid,
        usage: await worker.getResourceUsage().catch(() => undefined),
      })),
    );
    return usages.flatMap(({ pid, usage }) =>
      usage ? [{ pid, seconds: (usage.ru_utime + usage.ru_stime) / 1000 }] : [],
    );
  }

  /** The cores the workers kept busy since the previous call (0 at the first). */
  async cpuLoad(): Promise<number> {
    const seconds = (await this.cpuSeconds()).reduce((sum, worker) => sum + worker.seconds, 0);
    const last = this.lastCpu;
    this.lastCpu = { at: Date.now(), seconds };
    // A worker that died takes its seconds with it: that interval says nothing.
    if (!last.at || seconds < last.seconds) return 0;
    return (seconds - last.seconds) / Math.max((this.lastCpu.at - last.at) / 1000, 0.001);
  }

  /** The WebRTC server of the worker that carries the router: all its transports share it. */
  webRtcServerOf(router: types.Router): types.WebRtcServer {
    const server = this.webRtcServers.get(this.workerOf.get(router)!);
    if (!server) throw new Error('the router has no running worker');
    return server;
  }

  /** Creates a router with the shard's codecs on the worker that carries the fewest. */
  async createRouter(appData: { roomId: string }): Promise<types.Router> {
    return this.createRouterOn(
      this.leastLoadedWorker() ?? (await this.replacementWorker()),
      appData,
    );
  }

  /**
   * Creates a router on the least loaded worker that carries none of `others` (a room
   * growing across workers), or resolves undefined when every worker already does.
   */
  async createRouterBeside(
    others: types.Router[],
    appData: { roomId: string },
  ): Promise<types.Router | undefined> {
    const taken = new Set(others.map((router) => this.workerOf.get(router)));
    const worker = this.leastLoadedWorker((candidate) => !taken.has(candidate));
    return worker && this.createRouterOn(worker, appData);
  }

  private async createRouterOn(worker: types.Worker, appData: { roomId: string }) {
    // Counted before the await so that concurrent calls spread over the workers.
    this.adjustRouterCount(worker, +1);
    try {
      const router = await worker.createRouter({ mediaCodecs: ROUTER_MEDIA_CODECS, appData });
      this.workerOf.set(router, worker);
      router.observer.once('close', () => this.adjustRouterCount(worker, -1));
      return router;
    } catch (error) {
      this.adjustRouterCount(worker, -1);
      throw error;
    }
  }

  private leastLoadedWorker(
    eligible: (worker: types.Worker) => boolean = () => true,
  ): types.Worker | undefined {
    return [...this.routerCounts.entries()]
      .filter(([worker]) => eligible(worker))
      .sort((a, b) => a[1] - b[1])[0]?.[0];
  }

  /** Waits for the next worker to start, when none is running (one just died). */
  private async replacementWorker(): Promise<types.Worker> {
    const [replacement] = await once(this.spawned, 'worker', {
      signal: AbortSignal.timeout(WORKER_WAIT_MS),
    }).catch(() => {
      throw new Error('no mediasoup worker is running');
    });
    return replacement as types.Worker;
  }

  private adjustRouterCount(worker: types.Worker, delta: number) {
    const count = this.routerCounts.get(worker);
    if (count !== undefined) this.routerCounts.set(worker, count + delta);
  }

  private async spawn(): Promise<void> {
    const worker = await createWorker({
      logLevel: this.config.media.workerLogLevel,
      logTags: ['info', 'ice', 'dtls', 'rtp', 'srtp', 'rtcp', 'simulcast'],
    });
    const webRtcServer = await worker
      .createWebRtcServer({ listenInfos: this.listenInfos })
      .catch((error: Error) => {
        worker.close();
        throw error;
      });
    this.webRtcServers.set(worker, webRtcServer);
    this.routerCounts.set(worker, 0);
    this.spawned.emit('worker', worker);
    worker.on('died', (error) => {
      this.routerCounts.delete(worker);
      this.webRtcServers.delete(worker);
      this.logger.error({ workerPid: worker.pid, err: error }, 'mediasoup worker died');
      if (!this.closing) void this.respawn();
    });
  }

  private async respawn(): Promise<void> {
    while (!this.closing) {
      try {
        await this.spawn();
        this.logger.info('replacement mediasoup worker running');
        return;
      } catch (error) {
        this.logger.error({ err: error }, 'could not start a replacement mediasoup worker');
        await new Promise((resolve) => setTimeout(resolve, RESPAWN_DELAY_MS));
      }
    }
  }
}
