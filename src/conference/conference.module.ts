import { Module } from '@nestjs/common';
import { ClusterModule } from '../cluster/cluster.module';
import { MediaModule } from '../media/media.module';
import { PortalModule } from '../portal/portal.module';
import { ConferenceService } from './conference.service';

@Module({
  // The portal supplies the rules of meeting rooms (ROOM_POLICY_PROVIDER).
  imports: [MediaModule, ClusterModule, PortalModule],
  providers: [ConferenceService],
  exports: [ConferenceService, MediaModule],
})
export class ConferenceModule {}
