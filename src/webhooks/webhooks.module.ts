import { Module } from '@nestjs/common';
import { ConferenceModule } from '../conference/conference.module';
import { ObservabilityModule } from '../observability/observability.module';
import { RecordingModule } from '../recording/recording.module';
import { WebhooksService } from './webhooks.service';

/** Signed HTTP callbacks for room, participant and recording events (config: webhooks). */
@Module({
  imports: [ConferenceModule, ObservabilityModule, RecordingModule],
  providers: [WebhooksService],
})
export class WebhooksModule {}
