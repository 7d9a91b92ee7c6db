import { Module } from '@nestjs/common';
import { ConferenceModule } from '../conference/conference.module';
import { WebhooksService } from './webhooks.service';

/** Signed HTTP callbacks for room and participant events (config: webhooks). */
@Module({
  imports: [ConferenceModule],
  providers: [WebhooksService],
})
export class WebhooksModule {}
