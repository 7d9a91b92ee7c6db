import { DynamicModule, Module } from '@nestjs/common';
import { AdminModule } from './admin/admin.module';
import { CascadeModule } from './cascade/cascade.module';
import { ConferenceModule } from './conference/conference.module';
import { ConfigModule } from './config/config.module';
import { AppConfig } from './config/config.schema';
import { LoggingModule } from './observability/logging.module';
import { ObservabilityModule } from './observability/observability.module';
import { PortalModule } from './portal/portal.module';
import { SocketIoModule } from './signaling/socketio/socketio.module';
import { FocusModule } from './signaling/xmpp/focus/focus.module';
import { MucModule } from './signaling/xmpp/muc/muc.module';
import { XmppModule } from './signaling/xmpp/xmpp.module';
import { WebModule } from './web/web.module';
import { WebhooksModule } from './webhooks/webhooks.module';

@Module({})
export class AppModule {
  static forConfig(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggingModule,
        ObservabilityModule,
        ConferenceModule,
        CascadeModule,
        PortalModule,
        AdminModule,
        SocketIoModule,
        XmppModule,
        MucModule,
        FocusModule,
        WebModule,
        WebhooksModule,
      ],
    };
  }
}
