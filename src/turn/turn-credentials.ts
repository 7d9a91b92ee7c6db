import { createHmac } from 'node:crypto';

export interface TurnCredentials {
  username: string;
  credential: string;
}

/**
 * Time-limited TURN credentials of the "TURN REST API" scheme that coturn's
 * use-auth-secret implements: the username is "<expiry unix time>:<identity>" and the
 * password base64(HMAC-SHA1(shared secret, username)).
 */
export function turnRestCredentials(
  secret: string,
  identity: string,
  ttlSeconds: number,
  nowMs = Date.now(),
): TurnCredentials {
  const username = `${Math.floor(nowMs / 1000) + ttlSeconds}:${identity}`;
  const credential = createHmac('sha1', secret).update(username).digest('base64');
  return { username, credential };
}
