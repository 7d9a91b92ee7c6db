import { Module } from '@nestjs/common';
import { ConferenceModule } from '../conference/conference.module';
import { ObservabilityModule } from '../observability/observability.module';
import { RoomSpanService } from './room-span.service';

/** Rooms spanning shards: placement, signaling and media pipes between their hosts. */
@Module({
  imports: [ConferenceModule, ObservabilityModule],
  providers: [RoomSpanService],
})
export class CascadeModule {}
