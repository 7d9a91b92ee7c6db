import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { APP_CONFIG } from '../config/config.module';
import { AppConfig } from '../config/config.schema';
import type { Logger } from '../observability/logger';
import { InjectLogger } from '../observability/logging.module';
import { ClusterService } from './cluster.service';

export interface DrainStatus {
  state: 'active' | 'draining';
  /** Rooms still running here. */
  rooms: number;
  /** When whoever is left is told to move (ISO 8601); absent while active. */
  deadline?: string;
}

const CHECK_MS = 250;
/**
 * After the deadline moved the rooms, how long the shard stays up: their participants
 * rejoin through it (it redirects them to the rooms' new shards) before it exits.
 */
const EVACUATION_GRACE_MS = 3000;

/**
 * Taking a shard out of service without cutting calls: no new rooms, live ones go on
 * (and stay joinable) until they end, or until the deadline, when their participants
 * are told to move and the rooms close; then the shard is drained and may exit.
 */
@Injectable()
export class ShardDrain implements OnModuleDestroy {
  /** Settles when the shard is drained. */
  readonly drained: Promise<void>;
  private finish!: () => void;
  private deadline?: Date;
  private evacuatedAt?: number;
  private timers: NodeJS.Timeout[] = [];

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly cluster: ClusterService,
    @InjectLogger() private readonly logger: Logger,
  ) {
    this.drained = new Promise((resolve) => (this.finish = resolve));
  }

  status(): DrainStatus {
    return {
      state: this.cluster.isDraining ? 'draining' : 'active',
      rooms: this.cluster.roomsHere.length,
      deadline: this.deadline?.toISOString(),
    };
  }

  /** Starts draining (again: no effect) and answers how it stands. */
  async start(): Promise<DrainStatus> {
    if (this.deadline) return this.status();
    const timeoutMs = this.config.cluster.drainTimeoutSeconds * 1000;
    this.deadline = new Date(Date.now() + timeoutMs);
    await this.cluster.drain();
    const watch = setInterval(() => {
      if (this.cluster.roomsHere.length > 0) return;
      if (this.evacuatedAt && Date.now() - this.evacuatedAt < EVACUATION_GRACE_MS) return;
      this.logger.info('shard drained: no room left');
      this.stop();
    }, CHECK_MS);
    const deadline = setTimeout(() => {
      this.logger.warn({ rooms: this.cluster.roomsHere.length }, 'drain deadline: moving rooms');
      this.evacuatedAt = Date.now();
      this.cluster.evacuate();
    }, timeoutMs);
    this.timers = [watch, deadline];
    return this.status();
  }

  onModuleDestroy() {
    this.timers.forEach(clearTimeout);
  }

  private stop() {
    this.timers.forEach(clearTimeout);
    this.finish();
  }
}
