import { Injectable, OnModuleInit } from '@nestjs/common';
import { NS } from '../core/namespaces';
import { StanzaRouter } from '../core/stanza-router';

/**
 * Resource binding itself happens in the stream (it precedes routing); this answers the
 * legacy session establishment IQ (RFC 3921) that older clients still send after it.
 */
@Injectable()
export class SessionEstablishment implements OnModuleInit {
  constructor(private readonly router: StanzaRouter) {}

  onModuleInit(): void {
    this.router.handleIq('set', 'session', NS.session, (iq, origin) =>
      this.router.reply(iq, origin),
    );
  }
}
