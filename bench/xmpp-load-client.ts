/**
 * A light XMPP-over-WebSocket client for load: SASL ANONYMOUS, resource binding, and
 * raw frames out; incoming frames are handed over as text (RFC 7395 puts one element in
 * each WebSocket message), so that thousands of them cost little on the client side.
 */
import WebSocket from 'ws';

const FRAMING = 'urn:ietf:params:xml:ns:xmpp-framing';

export class LightXmpp {
  jid = '';
  /** Receives every frame once the session is bound. */
  onFrame: (frame: string) => void = () => undefined;
  private waiting: { pattern: RegExp; resolve: (frame: string) => void } | null = null;

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const frame = data.toString();
      const waiter = this.waiting;
      if (waiter && waiter.pattern.test(frame)) {
        this.waiting = null;
        waiter.resolve(frame);
      } else if (!waiter) this.onFrame(frame);
    });
  }

  /** Connects, logs in anonymously and binds a resource. */
  static async connect(url: string, domain: string, timeoutMs = 60_000): Promise<LightXmpp> {
    const socket = new WebSocket(url, ['xmpp']);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    socket.on('error', () => undefined);
    const client = new LightXmpp(socket);
    const open = `<open xmlns="${FRAMING}" to="${domain}" version="1.0"/>`;
    const step = (send: string, pattern: RegExp) => {
      const answer = client.next(pattern, timeoutMs);
      socket.send(send);
      return answer;
    };
    const features = await step(open, /<(stream:)?features/);
    if (!features.includes('ANONYMOUS')) throw new Error('the server offers no ANONYMOUS login');
    const outcome = await step(
      `<auth xmlns="urn:ietf:params:xml:ns:xmpp-sasl" mechanism="ANONYMOUS">=</auth>`,
      /<(success|failure)/,
    );
    if (!outcome.startsWith('<success')) throw new Error(`login failed: ${outcome}`);
    await step(open, /<(stream:)?features/);
    const bound = await step(
      `<iq xmlns="jabber:client" type="set" id="bind"><bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"/></iq>`,
      /id=["']bind["']/,
    );
    const jid = /<jid>([^<]+)<\/jid>/.exec(bound)?.[1];
    if (!jid) throw new Error(`bind failed: ${bound}`);
    client.jid = jid;
    return client;
  }

  send(frame: string): void {
    this.socket.send(frame);
  }

  close(): void {
    if (this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(`<close xmlns="${FRAMING}"/>`);
      this.socket.close();
    }
  }

  private next(pattern: RegExp, timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer matching ${pattern}`)), timeoutMs);
      this.waiting = {
        pattern,
        resolve: (frame) => {
          clearTimeout(timer);
          resolve(frame);
        },
      };
    });
  }
}

/** The `from` attribute of a frame (either quote style). */
export const fromOf = (frame: string) => /\sfrom=(["'])(.*?)\1/.exec(frame)?.[2];
