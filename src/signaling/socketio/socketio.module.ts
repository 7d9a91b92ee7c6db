import { Module } from '@nestjs/common';
import { ConferenceModule } from '../../conference/conference.module';
import { ObservabilityModule } from '../../observability/observability.module';
import { PortalModule } from '../../portal/portal.module';
import { TurnModule } from '../../turn/turn.module';
import { ConferenceGateway } from './conference.gateway';

@Module({
  imports: [ConferenceModule, ObservabilityModule, PortalModule, TurnModule],
  providers: [ConferenceGateway],
})
export class SocketIoModule {}
