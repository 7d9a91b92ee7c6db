import { failure, SaslExchange, SaslStep } from './sasl-mechanism';
import { XmppAccounts } from './xmpp-accounts';

/**
 * PLAIN (RFC 4616): `authzid NUL authcid NUL password`. The password is the portal
 * password, or a join token (then the username is not consulted).
 */
export class PlainMechanism implements SaslExchange {
  constructor(
    private readonly accounts: XmppAccounts,
    private readonly domain: string,
  ) {}

  async step(response: string | null): Promise<SaslStep> {
    if (response === null) return { kind: 'challenge', data: '' };
    const parts = response.split('\0');
    if (parts.length !== 3)
      return failure('malformed-request', 'expected authzid, authcid, password');
    const [authzid, authcid, password] = parts;
    if (!authcid && !this.accounts.looksLikeJoinToken(password))
      return failure('malformed-request', 'empty username');

    let account;
    if (this.accounts.looksLikeJoinToken(password)) {
      account = this.accounts.tokenAccount(password);
    } else {
      const user = await this.accounts.findUser(authcid);
      if (await this.accounts.checkPassword(user, password))
        account = this.accounts.userAccount(user!);
    }
    if (!account) return failure('not-authorized');
    if (authzid && authzid.toLowerCase() !== `${account.localpart}@${this.domain}`)
      return failure('invalid-authzid');
    return { kind: 'success', account };
  }
}
