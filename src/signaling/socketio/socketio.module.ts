import { Module } from '@nestjs/common';
import { ConferenceModule } from '../../conference/conference.module';
import { ObservabilityModule } from '../../observability/observability.module';
import { PortalModule } from '../../portal/portal.module';
import { ConferenceGateway } from './conference.gateway';

@Module({
  imports: [ConferenceModule, ObservabilityModule, PortalModule],
  providers: [ConferenceGateway],
})
export class SocketIoModule {}
