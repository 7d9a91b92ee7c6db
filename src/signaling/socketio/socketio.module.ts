import { Module } from '@nestjs/common';
import { ConferenceModule } from '../../conference/conference.module';
import { PortalModule } from '../../portal/portal.module';
import { ConferenceGateway } from './conference.gateway';

@Module({
  imports: [ConferenceModule, PortalModule],
  providers: [ConferenceGateway],
})
export class SocketIoModule {}
