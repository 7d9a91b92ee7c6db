import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ConferenceService } from '../conference/conference.service';
import { MediaService } from '../media/media.service';
import { WorkerPool } from '../media/worker-pool.service';

type MediaStats = Awaited<ReturnType<MediaService['stats']>>;

/**
 * The shard's Prometheus metrics. Counts are read from the services at scrape time;
 * the signaling door records what only it sees (connections, join latency).
 */
@Injectable()
export class MetricsService {
  // One registry per shard, not prom-client's global one: tests run several shards in
  // one process.
  readonly registry = new Registry();
  private readonly signalingConnections: Gauge;
  private readonly joinDuration: Histogram;
  private readonly signalingRequests: Counter<'method'>;

  constructor(
    private readonly conference: ConferenceService,
    private readonly media: MediaService,
    private readonly workers: WorkerPool,
  ) {
    collectDefaultMetrics({ register: this.registry });
    const registers = [this.registry];

    new Gauge({
      name: 'videowindow_rooms',
      help: 'Rooms open on this shard',
      registers,
      collect() {
        this.set(conference.roomIds().length);
      },
    });
    new Gauge({
      name: 'videowindow_participants',
      help: 'Participants in the rooms of this shard',
      registers,
      collect() {
        const rooms = conference.roomIds();
        // This shard's own: those of other shards in a spanning room count there.
        const here = (room: string) => conference.participantsOf(room).filter((p) => !p.shard);
        this.set(rooms.reduce((sum, room) => sum + here(room).length, 0));
      },
    });
    this.mediaGauge('transports', 'mediasoup WebRTC transports', (s) => s.transports);
    this.mediaGauge('producers', 'mediasoup producers', (s) => s.producers);
    this.mediaGauge('consumers', 'mediasoup consumers', (s) => s.consumers);
    new Gauge({
      name: 'videowindow_bitrate_bps',
      help: 'Bits per second the mediasoup transports receive (in) and send (out), RTP and RTCP',
      labelNames: ['direction'],
      registers,
      async collect() {
        const rates = await media.bitrates();
        this.set({ direction: 'in' }, rates.in);
        this.set({ direction: 'out' }, rates.out);
      },
    });
    new Gauge({
      name: 'videowindow_mediasoup_workers',
      help: 'Live mediasoup workers',
      registers,
      collect() {
        this.set(workers.liveWorkerCount());
      },
    });
    new Counter({
      name: 'videowindow_mediasoup_worker_cpu_seconds_total',
      help: 'User and system CPU time of each live mediasoup worker',
      labelNames: ['pid'],
      registers,
      async collect() {
        const workerSeconds = await workers.cpuSeconds();
        // Reset so that workers which died disappear from the output.
        this.reset();
        for (const { pid, seconds } of workerSeconds) this.inc({ pid }, seconds);
      },
    });
    this.signalingConnections = new Gauge({
      name: 'videowindow_socketio_connections',
      help: 'Open socket.io connections',
      registers,
    });
    this.signalingRequests = new Counter({
      name: 'videowindow_socketio_requests_total',
      help: 'socket.io requests received, by method',
      labelNames: ['method'],
      registers,
    });
    this.joinDuration = new Histogram({
      name: 'videowindow_join_duration_seconds',
      help: 'Time from a join request arriving to its answer',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
  }

  socketConnected() {
    this.signalingConnections.inc();
  }

  socketDisconnected() {
    this.signalingConnections.dec();
  }

  socketRequest(method: string) {
    this.signalingRequests.inc({ method });
  }

  /** Starts timing a join; call the returned function when it is answered. */
  startJoinTimer(): () => void {
    const end = this.joinDuration.startTimer();
    return () => void end();
  }

  private mediaGauge(name: string, help: string, read: (stats: MediaStats) => number) {
    const { media } = this;
    new Gauge({
      name: `videowindow_${name}`,
      help,
      registers: [this.registry],
      async collect() {
        this.set(read(await media.stats()));
      },
    });
  }
}
