import { XmppAccount } from '../core/xmpp-session';

/** SASL failure conditions (RFC 6120 section 6.5). */
export type SaslFailureCondition =
  | 'aborted'
  | 'account-disabled'
  | 'incorrect-encoding'
  | 'invalid-authzid'
  | 'invalid-mechanism'
  | 'malformed-request'
  | 'not-authorized'
  | 'temporary-auth-failure';

export type SaslStep =
  | { kind: 'challenge'; data: string }
  | { kind: 'success'; account: XmppAccount; data?: string }
  | { kind: 'failure'; condition: SaslFailureCondition; text?: string };

/**
 * One authentication exchange: each client message (the initial response first, null
 * when the client sent none) produces the server's next step.
 */
export interface SaslExchange {
  step(response: string | null): Promise<SaslStep>;
}

export const failure = (condition: SaslFailureCondition, text?: string): SaslStep => ({
  kind: 'failure',
  condition,
  text,
});
