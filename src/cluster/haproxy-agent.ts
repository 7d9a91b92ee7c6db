import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { createServer, Server } from 'node:net';
import { APP_CONFIG } from '../config/config.module';
import { AppConfig } from '../config/config.schema';
import type { Logger } from '../observability/logger';
import { InjectLogger } from '../observability/logging.module';
import { ClusterService } from './cluster.service';

/**
 * HAProxy's agent check (`agent-check agent-port`): one line per connection, "ready up"
 * while the shard takes new rooms, "drain" while it drains (HAProxy then sends it only
 * what persistence, such as `use-server`, names: newcomers to its live rooms).
 */
@Injectable()
export class HaproxyAgent implements OnApplicationBootstrap, OnApplicationShutdown {
  private server?: Server;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly cluster: ClusterService,
    @InjectLogger() private readonly logger: Logger,
  ) {}

  async onApplicationBootstrap() {
    const { agentPort } = this.config.cluster;
    if (!agentPort) return;
    const server = createServer((socket) => {
      socket.on('error', () => undefined);
      socket.end(this.cluster.isDraining ? 'drain\n' : 'ready up\n');
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(agentPort, this.config.http.host, () => resolve());
    });
    server.on('error', (error) => this.logger.error({ err: error }, 'HAProxy agent failed'));
    this.server = server;
    this.logger.info({ port: agentPort }, 'HAProxy agent listening');
  }

  onApplicationShutdown() {
    this.server?.close();
  }
}
