import { Module } from '@nestjs/common';
import { MediaService } from './media.service';
import { WorkerPool } from './worker-pool.service';

@Module({
  providers: [WorkerPool, MediaService],
  exports: [WorkerPool, MediaService],
})
export class MediaModule {}
