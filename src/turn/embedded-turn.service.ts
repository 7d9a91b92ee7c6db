import { Inject, Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Counter, Gauge } from 'prom-client';
import { detectAnnouncedAddress } from '../config/announced-address';
import { APP_CONFIG } from '../config/config.module';
import { AppConfig } from '../config/config.schema';
import { InjectLogger } from '../observability/logging.module';
import type { Logger } from '../observability/logger';
import { MetricsService } from '../observability/metrics.service';
import { TurnServer, TurnServerOptions } from './turn-server';

/** The TURN secret in use: the configured one, or a random one for this process. */
export const effectiveTurnSecret = (config: AppConfig) =>
  config.turn.secret || randomBytes(32).toString('base64');

/** The address clients and peers reach the embedded server and its relays on. */
export const turnPublicAddress = (config: AppConfig) =>
  config.turn.publicAddress || config.media.announcedAddress || detectAnnouncedAddress();

export function turnServerOptions(
  config: AppConfig,
  secret: string,
  logger: Logger,
): TurnServerOptions {
  const turn = config.turn;
  return {
    listenIp: turn.listenIp,
    port: turn.port,
    tls: turn.tlsCertFile
      ? {
          port: turn.tlsPort,
          cert: readFileSync(turn.tlsCertFile),
          key: readFileSync(turn.tlsKeyFile),
        }
      : undefined,
    relayIp: turn.relayIp,
    relayAnnouncedIp: turnPublicAddress(config),
    realm: turn.realm,
    secret,
    defaultLifetimeSeconds: turn.defaultLifetimeSeconds,
    maxLifetimeSeconds: turn.maxLifetimeSeconds,
    nonceLifetimeSeconds: turn.nonceLifetimeSeconds,
    userQuota: turn.userQuota,
    totalQuota: turn.totalQuota,
    maxBitsPerSecond: turn.maxAllocationKbps * 1000,
    udpRelay: turn.udpRelay,
    allowedPeerRanges: turn.allowedPeerRanges,
    logger,
  };
}

/** Runs the embedded TURN server for the shard's lifetime when turn.mode is embedded. */
@Injectable()
export class EmbeddedTurnService implements OnModuleInit, OnModuleDestroy {
  readonly secret: string;
  private server?: TurnServer;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectLogger() private readonly logger: Logger,
    metrics: MetricsService,
  ) {
    this.secret = effectiveTurnSecret(config);
    const turn = () => this.server;
    new Gauge({
      name: 'videowindow_turn_allocations',
      help: 'Allocations held by the embedded TURN server',
      registers: [metrics.registry],
      collect() {
        this.set(turn()?.allocationCount ?? 0);
      },
    });
    new Counter({
      name: 'videowindow_turn_refreshes_total',
      help: 'Allocation refreshes the embedded TURN server granted',
      registers: [metrics.registry],
      collect() {
        this.reset();
        this.inc(turn()?.refreshCount ?? 0);
      },
    });
  }

  async onModuleInit() {
    if (this.config.turn.mode !== 'embedded') return;
    this.server = new TurnServer(turnServerOptions(this.config, this.secret, this.logger));
    await this.server.start();
    this.logger.info(
      { port: this.server.port, tlsPort: this.server.tlsPort ? this.server.tlsPort : undefined },
      'TURN server listening',
    );
  }

  async onModuleDestroy() {
    await this.server?.stop();
  }

  /** The bound ports, once started. */
  ports(): { port: number; tlsPort?: number } | undefined {
    if (!this.server) return undefined;
    return {
      port: this.server.port,
      tlsPort: this.server.tlsPort ? this.server.tlsPort : undefined,
    };
  }
}
