import { Module } from '@nestjs/common';
import { ClusterModule } from '../cluster/cluster.module';
import { MediaModule } from '../media/media.module';
import { ConferenceService } from './conference.service';

@Module({
  imports: [MediaModule, ClusterModule],
  providers: [ConferenceService],
  exports: [ConferenceService, MediaModule, ClusterModule],
})
export class ConferenceModule {}
