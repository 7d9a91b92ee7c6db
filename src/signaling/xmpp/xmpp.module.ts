import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ClusterModule } from '../../cluster/cluster.module';
import { ObservabilityModule } from '../../observability/observability.module';
import { TurnModule } from '../../turn/turn.module';
import { PortalModule } from '../../portal/portal.module';
import { SessionEstablishment } from './bind/session-establishment';
import { RemoteSessions } from './cluster/remote-sessions';
import { StanzaRouter } from './core/stanza-router';
import { ServiceDiscovery } from './disco/service-discovery';
import { ExternalServices } from './extdisco/external-services';
import { MessageHandler } from './message/message.handler';
import { OfflineMessage } from './message/offline-message.entity';
import { OfflineStore } from './message/offline-store';
import { PingHandler } from './ping/ping.handler';
import { PresenceHandler } from './presence/presence.handler';
import { RosterItem } from './roster/roster-item.entity';
import { RosterService } from './roster/roster.service';
import { Subscriptions } from './roster/subscriptions';
import { SaslAuthenticator } from './sasl/sasl-authenticator';
import { XmppAccounts } from './sasl/xmpp-accounts';
import { StreamManagement } from './sm/stream-management';
import { WebSocketDoor } from './stream/websocket-door';

/**
 * The XMPP door: a small core (StanzaRouter) and one provider per concern, each
 * registering its handlers on the router at start-up. Extensions such as MUC import this
 * module and do the same with the exported router and service discovery; in a cluster,
 * RemoteSessions carries stanzas between shards.
 */
@Module({
  imports: [
    ObservabilityModule,
    PortalModule,
    ClusterModule,
    TurnModule,
    TypeOrmModule.forFeature([RosterItem, OfflineMessage]),
  ],
  providers: [
    StanzaRouter,
    XmppAccounts,
    SaslAuthenticator,
    StreamManagement,
    WebSocketDoor,
    SessionEstablishment,
    ServiceDiscovery,
    PingHandler,
    ExternalServices,
    RosterService,
    Subscriptions,
    PresenceHandler,
    OfflineStore,
    MessageHandler,
    RemoteSessions,
  ],
  exports: [StanzaRouter, ServiceDiscovery, XmppAccounts, RemoteSessions],
})
export class XmppModule {}
