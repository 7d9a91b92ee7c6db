import { Controller, Get, ServiceUnavailableException } from '@nestjs/common';
import { WorkerPool } from '../media/worker-pool.service';

@Controller('health')
export class HealthController {
  constructor(private readonly workers: WorkerPool) {}

  @Get('live')
  live() {
    return { status: 'ok' };
  }

  @Get('ready')
  ready() {
    const workers = this.workers.liveWorkerCount();
    if (workers === 0) {
      throw new ServiceUnavailableException({ status: 'starting', workers });
    }
    return { status: 'ready', workers };
  }
}
