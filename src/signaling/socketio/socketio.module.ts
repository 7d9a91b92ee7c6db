import { Module } from '@nestjs/common';
import { ConferenceModule } from '../../conference/conference.module';
import { ObservabilityModule } from '../../observability/observability.module';
import { PortalModule } from '../../portal/portal.module';
import { RecordingModule } from '../../recording/recording.module';
import { TurnModule } from '../../turn/turn.module';
import { ConferenceGateway } from './conference.gateway';

@Module({
  imports: [ConferenceModule, ObservabilityModule, PortalModule, TurnModule, RecordingModule],
  providers: [ConferenceGateway],
})
export class SocketIoModule {}
