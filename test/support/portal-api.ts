/** A small client of the portal's REST API (/api/v1) for the e2e suites. */
import { TestShard } from './shard';

export interface Answer {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

/** The Authorization header of an API key: HTTP Basic with the key id and its secret. */
export const apiKeyAuthorization = (keyId: string, secret: string) =>
  `Basic ${Buffer.from(`${keyId}:${secret}`).toString('base64')}`;

export function portalApi(shard: () => Pick<TestShard, 'baseUrl'>) {
  /** Sends the body text exactly as given (malformed JSON included). */
  const send = async (
    method: string,
    path: string,
    text?: string,
    token?: string,
  ): Promise<Answer> => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    const response = await fetch(`${shard().baseUrl}/api/v1${path}`, {
      method,
      headers,
      body: text,
    });
    const answer = await response.text();
    return { status: response.status, body: answer ? JSON.parse(answer) : {} };
  };
  const call = (method: string, path: string, body?: unknown, token?: string) =>
    send(method, path, body === undefined ? undefined : JSON.stringify(body), token);
  return {
    send,
    call,
    register: (body: unknown) => call('POST', '/auth/register', body),
    login: (body: unknown) => call('POST', '/auth/login', body),
    refresh: (refreshToken: unknown) => call('POST', '/auth/refresh', { refreshToken }),
    logout: (refreshToken: unknown) => call('POST', '/auth/logout', { refreshToken }),
    me: (token?: string) => call('GET', '/me', undefined, token),
  };
}
