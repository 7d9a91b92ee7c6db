import { Module } from '@nestjs/common';
import { ClusterModule } from '../cluster/cluster.module';
import { MediaModule } from '../media/media.module';
import { BreakoutRooms } from './breakout-rooms';
import { ConferenceService } from './conference.service';

@Module({
  imports: [MediaModule, ClusterModule],
  providers: [ConferenceService, BreakoutRooms],
  exports: [ConferenceService, BreakoutRooms, MediaModule, ClusterModule],
})
export class ConferenceModule {}
