import { Controller, Get, ServiceUnavailableException } from '@nestjs/common';
import { ClusterService } from '../cluster/cluster.service';
import { WorkerPool } from '../media/worker-pool.service';

@Controller('health')
export class HealthController {
  constructor(
    private readonly workers: WorkerPool,
    private readonly cluster: ClusterService,
  ) {}

  @Get('live')
  live() {
    return { status: 'ok', shard: this.cluster.id };
  }

  @Get('ready')
  ready() {
    const workers = this.workers.liveWorkerCount();
    if (workers === 0) {
      throw new ServiceUnavailableException({ status: 'starting', workers });
    }
    // A draining shard still serves its live rooms: the proxy learns of the drain from
    // the agent check, and keeps sending their newcomers here.
    return { status: this.cluster.isDraining ? 'draining' : 'ready', workers };
  }
}
