import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG } from '../../../config/config.module';
import { AppConfig } from '../../../config/config.schema';
import { StanzaRouter } from '../core/stanza-router';
import { XmppAccount } from '../core/xmpp-session';
import { AnonymousMechanism } from './anonymous.mechanism';
import { PlainMechanism } from './plain.mechanism';
import { SaslExchange } from './sasl-mechanism';
import { ScramMechanism } from './scram.mechanism';
import { XmppAccounts } from './xmpp-accounts';

/** The SASL mechanisms on offer, strongest first, and the exchange for each. */
@Injectable()
export class SaslAuthenticator {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly accounts: XmppAccounts,
    private readonly router: StanzaRouter,
  ) {}

  /** ANONYMOUS is offered to guests when allowed, and to a stream with a URL token. */
  mechanisms(hasUrlToken: boolean): string[] {
    const names = ['SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN'];
    if (hasUrlToken || this.config.auth.allowGuests) names.push('ANONYMOUS');
    return names;
  }

  /** An exchange for `mechanism`; null when it is not offered to this stream. */
  start(mechanism: string, urlAccount: XmppAccount | null): SaslExchange | null {
    if (!this.mechanisms(urlAccount !== null).includes(mechanism)) return null;
    switch (mechanism) {
      case 'SCRAM-SHA-256':
      case 'SCRAM-SHA-1':
        return new ScramMechanism(mechanism, this.accounts);
      case 'PLAIN':
        return new PlainMechanism(this.accounts, this.router.domain);
      default:
        return new AnonymousMechanism(() => urlAccount ?? this.accounts.guestAccount());
    }
  }
}
