/**
 * The real xmpp.js client (@xmpp/client 0.14) for tests, on Node's `ws` WebSocket, plus
 * a SCRAM-SHA-256 mechanism for its SASL factory (xmpp.js ships SCRAM-SHA-1 only).
 * xmpp.js is ESM-only, and a dynamic import() inside jest needs Node's
 * --experimental-vm-modules; its own single-file build (dist/xmpp.js, the same code
 * with the WebSocket transport) loads without it. That build leaves out SCRAM-SHA-1, so
 * the SCRAM-SHA-1 mechanism xmpp.js uses on Node (npm sasl-scram-sha-1) is added back.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Element } from 'ltx';
import WebSocket from 'ws';

export type XmppElement = Element;

export interface XmppClient {
  /** Set once the client is online. */
  jid: { toString(): string; bare(): { toString(): string }; local: string };
  status: string;
  start(): Promise<unknown>;
  stop(): Promise<void>;
  send(element: Element): Promise<void>;
  on(event: 'stanza', listener: (stanza: Element) => void): void;
  on(event: 'online', listener: (jid: unknown) => void): void;
  on(event: 'error' | 'offline' | 'disconnect', listener: (error?: unknown) => void): void;
  on(event: 'nonza' | 'element' | 'send', listener: (element: Element) => void): void;
  off(event: string, listener: (...args: never[]) => void): void;
  iqCaller: {
    request(iq: Element, timeout?: number): Promise<Element>;
    get(payload: Element, to?: string, timeout?: number): Promise<Element>;
    set(payload: Element, to?: string, timeout?: number): Promise<Element>;
  };
  iqCallee: {
    get(ns: string, name: string, handler: (ctx: { stanza: Element }) => unknown): void;
  };
  streamManagement: {
    id: string;
    enabled: boolean;
    inbound: number;
    outbound: number;
    on(event: 'resumed' | 'fail' | 'ack', listener: (...args: unknown[]) => void): void;
  };
  reconnect: { delay: number; stop(): void; start(): void };
  socket: { socket?: WebSocket } | null;
  saslFactory: { use(mechanism: unknown): void };
  disconnect(timeout?: number): Promise<void>;
}

interface XmppModule {
  client(options: Record<string, unknown>): XmppClient;
  xml(name: string, attrs?: Record<string, unknown> | null, ...children: unknown[]): Element;
}

let loaded: XmppModule | undefined;

/** @xmpp/client, on the `ws` WebSocket (Node 20 has no global WebSocket). */
export function loadXmpp(): Promise<XmppModule> {
  (globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;
  if (!loaded) {
    const bundle = readFileSync(require.resolve('@xmpp/client/dist/xmpp.js'), 'utf8');
    loaded = new Function(`${bundle}\nreturn XMPP;`)() as XmppModule;
  }
  return Promise.resolve(loaded);
}

/** SCRAM-SHA-256 (RFC 7677) for xmpp.js's saslmechanisms factory. */
export class ScramSha256 {
  static readonly prototypeName = ((ScramSha256.prototype as unknown as { name: string }).name =
    'SCRAM-SHA-256');
  clientFirst = true;
  private stage: 'initial' | 'challenge' | 'final' = 'initial';
  private gs2Header = 'n,,';
  private clientFirstBare = '';
  private serverFirst = '';
  private values = new Map<string, string>();

  response(credentials: { username: string; password: string }): string {
    if (this.stage === 'initial') {
      const nonce = randomBytes(18).toString('base64');
      const name = credentials.username.replace(/=/g, '=3D').replace(/,/g, '=2C');
      this.clientFirstBare = `n=${name},r=${nonce}`;
      this.stage = 'challenge';
      return this.gs2Header + this.clientFirstBare;
    }
    if (this.stage === 'challenge') {
      const salt = Buffer.from(this.values.get('s') ?? '', 'base64');
      const iterations = Number(this.values.get('i'));
      const salted = pbkdf2Sync(credentials.password, salt, iterations, 32, 'sha256');
      const clientKey = createHmac('sha256', salted).update('Client Key').digest();
      const storedKey = createHash('sha256').update(clientKey).digest();
      const withoutProof = `c=${Buffer.from(this.gs2Header).toString('base64')},r=${this.values.get('r')}`;
      const authMessage = `${this.clientFirstBare},${this.serverFirst},${withoutProof}`;
      const signature = createHmac('sha256', storedKey).update(authMessage).digest();
      const proof = Buffer.from(clientKey.map((byte, i) => byte ^ signature[i]));
      this.stage = 'final';
      return `${withoutProof},p=${proof.toString('base64')}`;
    }
    return '';
  }

  challenge(challenge: string): this {
    this.serverFirst = challenge;
    this.values = new Map(
      challenge.split(',').map((part) => [part.slice(0, 1), part.slice(2)] as [string, string]),
    );
    return this;
  }
}

export interface XmppLogin {
  service: string;
  domain: string;
  username?: string;
  password?: string;
  /** The SASL mechanism to use; default: xmpp.js's own choice. */
  mechanism?: 'SCRAM-SHA-256' | 'SCRAM-SHA-1' | 'PLAIN' | 'ANONYMOUS';
  resource?: string;
}

/** A started xmpp.js client (online). Reconnection is off unless the test turns it on. */
export async function connectXmpp(login: XmppLogin): Promise<XmppClient> {
  const { client } = await loadXmpp();
  const { service, domain, username, password, mechanism, resource } = login;
  const xmpp = client({
    service,
    domain,
    resource,
    credentials: async (
      authenticate: (credentials: unknown, mechanism: string) => Promise<void>,
      offered: string[],
    ) => {
      const chosen = mechanism ?? offered.find((name) => name !== 'PLAIN') ?? offered[0];
      await authenticate({ username, password }, chosen);
    },
  });
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  xmpp.saslFactory.use(require('sasl-scram-sha-1'));
  xmpp.saslFactory.use(ScramSha256);
  xmpp.reconnect.stop();
  xmpp.on('error', () => undefined);
  await xmpp.start();
  return xmpp;
}

/** Resolves with the first stanza (or nonza) `client` receives that `match` accepts. */
export function nextStanza(
  xmpp: XmppClient,
  match: (stanza: Element) => boolean,
  timeoutMs = 10_000,
): Promise<Element> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      xmpp.off('element', listener);
      reject(
        new Error(`no matching stanza arrived; the last ones:\n${seen.slice(-10).join('\n')}`),
      );
    }, timeoutMs);
    const seen: string[] = [];
    const listener = (stanza: Element) => {
      seen.push(stanza.toString());
      if (!match(stanza)) return;
      clearTimeout(timer);
      xmpp.off('element', listener);
      resolve(stanza);
    };
    xmpp.on('element', listener);
  });
}

/** Everything a client received since it was recorded, and waits among it. */
export interface StanzaLog {
  received: Element[];
  /** The first received stanza `match` accepts, already there or still to come. */
  waitFor(match: (stanza: Element) => boolean, what?: string, timeoutMs?: number): Promise<Element>;
}

export function recordStanzas(xmpp: XmppClient): StanzaLog {
  const received: Element[] = [];
  const waiters = new Set<() => void>();
  xmpp.on('stanza', (stanza) => {
    received.push(stanza);
    for (const waiter of [...waiters]) waiter();
  });
  const waitFor = (match: (stanza: Element) => boolean, what = 'a stanza', timeoutMs = 15_000) =>
    new Promise<Element>((resolve, reject) => {
      const check = () => {
        const found = received.find(match);
        if (!found) return;
        waiters.delete(check);
        clearTimeout(timer);
        resolve(found);
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(
          new Error(`${what} never arrived; the last ones:\n${received.slice(-10).join('\n')}`),
        );
      }, timeoutMs);
      waiters.add(check);
      check();
    });
  return { received, waitFor };
}
