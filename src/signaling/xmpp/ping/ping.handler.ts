import { Injectable, OnModuleInit } from '@nestjs/common';
import { NS } from '../core/namespaces';
import { StanzaRouter } from '../core/stanza-router';
import { ServiceDiscovery } from '../disco/service-discovery';

/** XMPP Ping (XEP-0199) to the server; pings between clients are routed as any IQ. */
@Injectable()
export class PingHandler implements OnModuleInit {
  constructor(
    private readonly router: StanzaRouter,
    private readonly disco: ServiceDiscovery,
  ) {}

  onModuleInit(): void {
    this.disco.addFeature(NS.ping);
    this.router.handleIq('get', 'ping', NS.ping, (iq, origin) => this.router.reply(iq, origin));
  }
}
