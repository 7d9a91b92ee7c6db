import { Module } from '@nestjs/common';
import { ConferenceModule } from '../conference/conference.module';
import { PortalModule } from '../portal/portal.module';
import { RecordingModule } from '../recording/recording.module';
import { AdminBreakoutsController } from './admin-breakouts.controller';
import { AdminRecordingsController } from './admin-recordings.controller';
import { AdminRecordingsService } from './admin-recordings.service';
import { AdminGuard } from './admin-auth.guard';
import { AdminRoomsController } from './admin-rooms.controller';
import { AdminRoomsService } from './admin-rooms.service';
import { ApiKeysController } from './api-keys.controller';
import { JoinTokensController } from './join-tokens.controller';
import { ForwardToRoomOwner, ShardForwarder } from './shard-forwarding';

/** The admin REST API (/api/v1/admin): administrators' access tokens or API keys. */
@Module({
  imports: [ConferenceModule, PortalModule, RecordingModule],
  controllers: [
    ApiKeysController,
    JoinTokensController,
    AdminRoomsController,
    AdminRecordingsController,
    AdminBreakoutsController,
  ],
  providers: [
    AdminGuard,
    AdminRoomsService,
    AdminRecordingsService,
    ShardForwarder,
    ForwardToRoomOwner,
  ],
})
export class AdminModule {}
