import { Module } from '@nestjs/common';
import { ConferenceModule } from '../conference/conference.module';
import { ObservabilityModule } from '../observability/observability.module';
import { WebhooksService } from './webhooks.service';

/** Signed HTTP callbacks for room and participant events (config: webhooks). */
@Module({
  imports: [ConferenceModule, ObservabilityModule],
  providers: [WebhooksService],
})
export class WebhooksModule {}
