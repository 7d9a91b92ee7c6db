import { Module } from '@nestjs/common';
import { ConferenceModule } from '../../../conference/conference.module';
import { ObservabilityModule } from '../../../observability/observability.module';
import { MucModule } from '../muc/muc.module';
import { XmppModule } from '../xmpp.module';
import { ColibriBridge } from './colibri-bridge';
import { JitsiFocus } from './jitsi-focus';

/**
 * focus.<domain> and the `<room>/focus` occupant: Jingle sessions for Jitsi Meet clients,
 * and their bridge channel.
 */
@Module({
  imports: [XmppModule, MucModule, ConferenceModule, ObservabilityModule],
  providers: [JitsiFocus, ColibriBridge],
})
export class FocusModule {}
