import { randomBytes } from 'node:crypto';
import {
  ScramCredential,
  ScramMechanism as ScramName,
  scramServerSignature,
  verifyScramClientProof,
} from '../../../portal/users/scram-credentials';
import { User } from '../../../portal/users/user.entity';
import { failure, SaslExchange, SaslStep } from './sasl-mechanism';
import { XmppAccounts } from './xmpp-accounts';

/** `=2C` and `=3D` are the only escapes in a SCRAM saslname (RFC 5802 section 5.1). */
function unescapeSaslName(name: string): string | null {
  if (/=(?!2C|3D)/.test(name)) return null;
  return name.replace(/=2C/g, ',').replace(/=3D/g, '=');
}

function attributes(message: string): Map<string, string> | null {
  const map = new Map<string, string>();
  for (const part of message.split(',')) {
    const match = /^([a-zA-Z])=(.*)$/s.exec(part);
    if (!match) return null;
    map.set(match[1], match[2]);
  }
  return map;
}

/**
 * SCRAM-SHA-1 and SCRAM-SHA-256 (RFC 5802, RFC 7677) against the verifiers the portal
 * stores; channel binding is not offered (no -PLUS variants).
 */
export class ScramMechanism implements SaslExchange {
  private state:
    | { at: 'start' }
    | {
        at: 'proof';
        gs2Header: string;
        clientFirstBare: string;
        serverFirst: string;
        nonce: string;
        credential: ScramCredential;
        user: User | null;
      }
    | { at: 'done' } = { at: 'start' };

  constructor(
    private readonly mechanism: ScramName,
    private readonly accounts: XmppAccounts,
  ) {}

  async step(response: string | null): Promise<SaslStep> {
    const state = this.state;
    if (state.at === 'start') {
      if (response === null) return { kind: 'challenge', data: '' };
      return this.clientFirst(response);
    }
    if (state.at === 'proof' && response !== null) {
      this.state = { at: 'done' };
      return this.clientFinal(response, state);
    }
    return failure('malformed-request');
  }

  private async clientFirst(message: string): Promise<SaslStep> {
    const match = /^([nyp][^,]*),([^,]*),(.*)$/s.exec(message);
    if (!match) return failure('malformed-request', 'bad client-first-message');
    const [, cbindFlag, authzid, clientFirstBare] = match;
    if (cbindFlag.startsWith('p')) return failure('malformed-request', 'no channel binding');
    const attrs = attributes(clientFirstBare);
    const username = attrs && unescapeSaslName(attrs.get('n') ?? '');
    const clientNonce = attrs?.get('r');
    if (!attrs || !username || !clientNonce || attrs.has('m'))
      return failure('malformed-request', 'bad client-first-message');
    const user = await this.accounts.findUser(username);
    if (authzid && (!authzid.startsWith('a=') || !user)) return failure('invalid-authzid');
    const credential =
      user && !this.accounts.isLocked(user)
        ? user.scramCredentials[this.mechanism]
        : this.accounts.decoyCredential(this.mechanism, username);
    const nonce = clientNonce + randomBytes(18).toString('base64');
    const serverFirst = `r=${nonce},s=${credential.salt},i=${credential.iterations}`;
    this.state = {
      at: 'proof',
      gs2Header: `${cbindFlag},${authzid},`,
      clientFirstBare,
      serverFirst,
      nonce,
      credential,
      user,
    };
    return { kind: 'challenge', data: serverFirst };
  }

  private async clientFinal(
    message: string,
    state: Extract<ScramMechanism['state'], { at: 'proof' }>,
  ): Promise<SaslStep> {
    const proofAt = message.lastIndexOf(',p=');
    const attrs = proofAt === -1 ? null : attributes(message.slice(0, proofAt));
    if (!attrs) return failure('malformed-request', 'bad client-final-message');
    if (attrs.get('r') !== state.nonce) return failure('malformed-request', 'nonce mismatch');
    if (attrs.get('c') !== Buffer.from(state.gs2Header).toString('base64'))
      return failure('malformed-request', 'channel binding mismatch');
    const authMessage = `${state.clientFirstBare},${state.serverFirst},${message.slice(0, proofAt)}`;
    const proof = message.slice(proofAt + 3);
    const ok = verifyScramClientProof(this.mechanism, state.credential, authMessage, proof);
    if (state.user) await this.accounts.recordOutcome(state.user, ok);
    if (!ok || !state.user) return failure('not-authorized');
    const signature = scramServerSignature(this.mechanism, state.credential, authMessage);
    return {
      kind: 'success',
      account: this.accounts.userAccount(state.user),
      data: `v=${signature}`,
    };
  }
}
