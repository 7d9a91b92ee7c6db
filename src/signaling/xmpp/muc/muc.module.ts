import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ConferenceModule } from '../../../conference/conference.module';
import { ObservabilityModule } from '../../../observability/observability.module';
import { Meeting } from '../../../portal/meetings/meeting.entity';
import { RecordingModule } from '../../../recording/recording.module';
import { XmppModule } from '../xmpp.module';
import { MultiUserChat } from './muc.handler';

/** XEP-0045 rooms at conference.<domain>, on top of the XMPP door's stanza router. */
@Module({
  imports: [
    XmppModule,
    ConferenceModule,
    ObservabilityModule,
    RecordingModule,
    TypeOrmModule.forFeature([Meeting]),
  ],
  providers: [MultiUserChat],
  exports: [MultiUserChat],
})
export class MucModule {}
