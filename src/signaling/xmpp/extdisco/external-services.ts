import { Injectable, OnModuleInit } from '@nestjs/common';
import { Element } from 'ltx';
import { TurnService } from '../../../turn/turn.service';
import { StanzaRouter } from '../core/stanza-router';
import { XmppSession } from '../core/xmpp-session';
import { ServiceDiscovery } from '../disco/service-discovery';

const EXTDISCO = ['urn:xmpp:extdisco:2', 'urn:xmpp:extdisco:1'] as const;

/**
 * External Service Discovery (XEP-0215) at the server: the STUN and TURN servers a
 * participant uses, with fresh TURN REST credentials for the session's identity (the
 * same the socket.io door's join answer carries). Jitsi Meet clients ask for them.
 */
@Injectable()
export class ExternalServices implements OnModuleInit {
  constructor(
    private readonly router: StanzaRouter,
    private readonly disco: ServiceDiscovery,
    private readonly turn: TurnService,
  ) {}

  onModuleInit(): void {
    for (const xmlns of EXTDISCO) {
      this.disco.addFeature(xmlns);
      this.router.handleIq('get', 'services', xmlns, (iq, origin) =>
        this.router.reply(iq, origin, this.services(xmlns, origin)),
      );
    }
  }

  private services(xmlns: string, session: XmppSession): Element {
    const identity = session.account.grant?.identity ?? session.account.localpart;
    const services = new Element('services', { xmlns });
    for (const server of this.turn.iceServersFor(identity)) {
      const urls = Array.isArray(server.urls) ? server.urls : [server.urls];
      for (const url of urls) {
        const match =
          /^(stuns?|turns?):([^:?]+|\[[^\]]+\])(?::(\d+))?(?:\?transport=(udp|tcp))?$/.exec(url);
        if (!match) continue;
        const [, type, host, port, transport] = match;
        const attrs: Record<string, string> = { type, host };
        if (port) attrs.port = port;
        attrs.transport = transport ?? (type === 'turns' ? 'tcp' : 'udp');
        if (server.username && server.credential && type.startsWith('turn')) {
          attrs.username = server.username;
          attrs.password = server.credential;
          const expiry = Number(server.username.split(':')[0]);
          if (expiry) attrs.expires = new Date(expiry * 1000).toISOString();
          attrs.restricted = '1';
        }
        services.c('service', attrs);
      }
    }
    return services;
  }
}
