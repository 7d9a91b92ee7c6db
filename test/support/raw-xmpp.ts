/**
 * A raw XMPP-over-WebSocket connection for hostile-input tests: sends whatever text it
 * is given and records every message the server answers with.
 */
import WebSocket from 'ws';

export interface RawXmpp {
  socket: WebSocket;
  received: string[];
  send(text: string): void;
  /** The first received message matching `pattern` (waits for it). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves with the close code once the server closed the WebSocket. */
  closed: Promise<number>;
  close(): void;
}

export const OPEN = (domain = 'localhost') =>
  `<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" to="${domain}" version="1.0"/>`;

export function saslAuth(mechanism: string, initial?: string): string {
  const data = initial === undefined ? '' : Buffer.from(initial).toString('base64') || '=';
  return `<auth xmlns="urn:ietf:params:xml:ns:xmpp-sasl" mechanism="${mechanism}">${data}</auth>`;
}

export function rawXmpp(url: string, protocols: string[] = ['xmpp']): Promise<RawXmpp> {
  const socket = new WebSocket(url, protocols);
  const received: string[] = [];
  const waiters: { pattern: RegExp; resolve: (text: string) => void }[] = [];
  socket.on('message', (data) => {
    const text = data.toString();
    received.push(text);
    for (const waiter of [...waiters])
      if (waiter.pattern.test(text)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(text);
      }
  });
  const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
  socket.on('error', () => undefined);
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.once('unexpected-response', (_request, response) =>
      reject(new Error(`HTTP ${response.statusCode}`)),
    );
    socket.once('open', () =>
      resolve({
        socket,
        received,
        closed,
        send: (text) => socket.send(text),
        close: () => socket.close(),
        waitFor: (pattern, timeoutMs = 10_000) => {
          const already = received.find((text) => pattern.test(text));
          if (already) return Promise.resolve(already);
          return new Promise((resolveWait, rejectWait) => {
            const timer = setTimeout(
              () => rejectWait(new Error(`no message matching ${pattern}: ${received.join('\n')}`)),
              timeoutMs,
            );
            waiters.push({
              pattern,
              resolve: (text) => {
                clearTimeout(timer);
                resolveWait(text);
              },
            });
          });
        },
      }),
    );
  });
}

/** Opens a stream and authenticates with SASL ANONYMOUS, then binds a resource. */
export async function rawGuest(url: string): Promise<RawXmpp> {
  const raw = await rawXmpp(url);
  raw.send(OPEN());
  await raw.waitFor(/<mechanisms/);
  raw.send(saslAuth('ANONYMOUS', ''));
  await raw.waitFor(/<success/);
  raw.send(OPEN());
  await raw.waitFor(/<bind/);
  raw.send(
    '<iq xmlns="jabber:client" type="set" id="bind1"><bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"/></iq>',
  );
  await raw.waitFor(/id="bind1"/);
  return raw;
}
