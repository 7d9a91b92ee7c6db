import { Module } from '@nestjs/common';
import { ConferenceModule } from '../../conference/conference.module';
import { PortalModule } from '../../portal/portal.module';
import { TurnModule } from '../../turn/turn.module';
import { ConferenceGateway } from './conference.gateway';

@Module({
  imports: [ConferenceModule, PortalModule, TurnModule],
  providers: [ConferenceGateway],
})
export class SocketIoModule {}
