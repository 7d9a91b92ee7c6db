import { Element } from 'ltx';
import { isUtf8 } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import WebSocket, { RawData } from 'ws';
import type { LocateOptions } from '../../../cluster/room-placement.service';
import { AppConfig } from '../../../config/config.schema';
import type { Logger } from '../../../observability/logger';
import { TokenBucket } from '../../token-bucket';
import { Jid } from '../core/jid';
import { NS } from '../core/namespaces';
import { errorReply, iqResult, streamError, StreamErrorCondition } from '../core/stanza-errors';
import { StanzaRouter } from '../core/stanza-router';
import { SessionEndReason, XmppAccount, XmppSession } from '../core/xmpp-session';
import { SaslAuthenticator } from '../sasl/sasl-authenticator';
import { SaslExchange } from '../sasl/sasl-mechanism';
import { StreamManagement } from '../sm/stream-management';
import { textFrameLength, writeTextFrame } from './websocket-frames';
import { FramingError, parseFrame } from './xml-framing';

export interface StreamServices {
  config: AppConfig['xmpp'];
  router: StanzaRouter;
  sasl: SaslAuthenticator;
  sm: StreamManagement;
  logger: Logger;
}

type StreamState = 'opening' | 'authenticating' | 'binding' | 'bound' | 'closed';

const STANZAS = new Set(['message', 'presence', 'iq']);
/**
 * Frames written in one turn of the event loop leave together, unless this many bytes wait:
 * then they leave at once, so that the client reads a long fan-out while the rest is built.
 */
const FLUSH_BYTES = 64 * 1024;
const FIRST_BUFFER_BYTES = 2048;
/** After this many failed SASL attempts the stream ends. */
const MAX_SASL_FAILURES = 3;

/**
 * One XMPP stream over one WebSocket (RFC 7395): the framing, the stream features, SASL,
 * resource binding and Stream Management; once bound, stanzas go to the router. Messages
 * are handled one after the other, in order.
 */
export class XmppStream {
  private state: StreamState = 'opening';
  private opened = false;
  private account: XmppAccount | null = null;
  private sasl: SaslExchange | null = null;
  private saslFailures = 0;
  private session: XmppSession | null = null;
  private readonly bucket: TokenBucket;
  private work: Promise<void> = Promise.resolve();
  private answeredPing = true;
  private closedByClient = false;

  /** WebSocket frames written since the last flush (see flush), and their bytes. */
  private unsent: Buffer | null = null;
  private unsentBytes = 0;

  constructor(
    private readonly socket: WebSocket,
    private readonly services: StreamServices,
    /** The account of a `?token=` join token on the WebSocket URL. */
    private readonly urlAccount: XmppAccount | null,
    /** What the connection tells the placement of a room it opens. */
    private readonly placement: LocateOptions = {},
    /** Where the client reached the WebSocket (see XmppSession.origin). */
    private readonly origin: string | null = null,
  ) {
    const { stanzasPerSecond, stanzaBurst } = services.config;
    this.bucket = new TokenBucket(stanzasPerSecond, stanzaBurst);
    socket.on('message', (data, isBinary) => this.guarded(() => this.received(data, isBinary)));
    socket.on('close', () => this.guarded(() => this.socketClosed()));
    socket.on('pong', () => (this.answeredPing = true));
    socket.on('error', (error) => services.logger.debug({ err: error }, 'XMPP WebSocket error'));
  }

  /**
   * Called periodically: a connection that did not answer the previous WebSocket ping
   * is dead (its session then waits for resumption, or ends); otherwise ping again.
   */
  heartbeat(): void {
    if (!this.answeredPing) return void this.socket.terminate();
    this.answeredPing = false;
    if (this.socket.readyState === WebSocket.OPEN) this.socket.ping();
  }

  /** Ends the stream with a stream error (RFC 6120 section 4.9), then closes. */
  fail(condition: StreamErrorCondition, text?: string): void {
    if (this.state === 'closed') return;
    this.services.logger.debug({ condition, text, jid: this.session?.full }, 'XMPP stream error');
    if (!this.opened) this.write(this.openElement());
    this.write(streamError(condition, text));
    this.close();
  }

  /** Server-side end of the stream: <close/> and the WebSocket closing handshake. */
  close(): void {
    if (this.state === 'closed') return;
    this.write(new Element('close', { xmlns: NS.framing }));
    this.state = 'closed';
    this.endSession('closed');
    this.flush();
    this.socket.close(1000);
  }

  private received(data: RawData, isBinary: boolean) {
    if (this.state === 'closed') return;
    if (!this.bucket.take()) return this.fail('policy-violation', 'too many stanzas per second');
    if (isBinary) return this.fail('bad-format', 'XMPP over WebSocket uses text messages');
    const bytes = data as Buffer; // ws's default binaryType: one Buffer per message
    // RFC 6120 section 11.6 (the WebSocket's own UTF-8 check is off: see WebSocketDoor).
    if (!isUtf8(bytes)) return this.fail('unsupported-encoding', 'not UTF-8');
    let element: Element;
    try {
      element = parseFrame(bytes.toString('utf8'), this.services.config);
    } catch (error) {
      if (!(error instanceof FramingError)) throw error;
      return this.fail(error.condition, error.message);
    }
    // Its turn may come after the connection dropped (earlier stanzas take long): the
    // client still wanted no resumption.
    if (element.name === 'close' && element.getNS() === NS.framing) this.closedByClient = true;
    this.work = this.work.then(() => this.handle(element)).catch((error) => this.failed(error));
  }

  /** Runs a WebSocket event's handler: what it throws ends this stream, not the process. */
  private guarded(handler: () => void) {
    try {
      handler();
    } catch (error) {
      this.failed(error);
    }
  }

  /**
   * A failure of the stream's own work (the router answers for its handlers): logged,
   * then a SASL exchange fails with temporary-auth-failure, anything else ends the stream.
   */
  private failed(error: unknown) {
    this.services.logger.error({ err: error, jid: this.session?.full }, 'XMPP stream failed');
    if (this.state === 'authenticating') this.saslFailure('temporary-auth-failure');
    else this.fail('internal-server-error');
  }

  private async handle(element: Element) {
    if (this.state === 'closed') return;
    const ns = element.getNS() ?? (STANZAS.has(element.name) ? NS.client : undefined);
    if (element.name === 'open' && ns === NS.framing) return this.opening(element);
    if (!this.opened) return this.fail('invalid-namespace', 'expected <open/>');
    if (element.name === 'close' && ns === NS.framing) return this.close();

    if (STANZAS.has(element.name)) {
      if (ns !== NS.client) return this.fail('invalid-namespace');
      if (this.state === 'binding' && element.name === 'iq') return this.bind(element);
      if (this.state !== 'bound' || !this.session)
        return this.fail('not-authorized', 'authenticate and bind a resource first');
      this.services.sm.countInbound(this.session);
      return this.services.router.route(element, this.session);
    }
    if (ns === NS.sasl && this.state === 'authenticating') return this.saslElement(element);
    if (ns === NS.sm && this.state === 'bound' && this.session)
      return this.smElement(element, this.session);
    if (ns === NS.sm && this.state === 'binding' && element.name === 'resume')
      return this.resume(element);
    if (ns === NS.sm && this.state === 'binding' && element.name === 'enable')
      return this.write(this.services.sm.failed('unexpected-request'));
    if (this.state === 'authenticating' || this.state === 'binding')
      return this.fail('not-authorized');
    this.fail('unsupported-stanza-type', `unexpected <${element.name}/>`);
  }

  private opening(open: Element) {
    const { to, version } = open.attrs as { to?: string; version?: string };
    this.write(this.openElement());
    this.opened = true;
    if (to?.toLowerCase() !== this.services.router.domain)
      return this.fail('host-unknown', `this server is ${this.services.router.domain}`);
    if (version !== '1.0') return this.fail('unsupported-version');
    if (this.state === 'opening') this.state = 'authenticating';
    this.write(this.features());
  }

  private openElement() {
    return new Element('open', {
      xmlns: NS.framing,
      id: randomBytes(12).toString('hex'),
      from: this.services.router.domain,
      version: '1.0',
      'xml:lang': 'en',
    });
  }

  private features() {
    const features = new Element('stream:features', { 'xmlns:stream': NS.stream });
    if (this.state === 'authenticating') {
      const mechanisms = features.c('mechanisms', { xmlns: NS.sasl });
      for (const name of this.services.sasl.mechanisms(this.urlAccount !== null))
        mechanisms.c('mechanism').t(name);
    } else {
      features.c('bind', { xmlns: NS.bind });
      features.c('session', { xmlns: NS.session }).c('optional');
      features.c('sm', { xmlns: NS.sm });
    }
    return features;
  }

  private async saslElement(element: Element) {
    let response: string | null;
    if (element.name === 'auth') {
      const mechanism = element.attrs.mechanism as string;
      this.sasl = this.services.sasl.start(mechanism, this.urlAccount);
      if (!this.sasl) return this.saslFailure('invalid-mechanism');
      const text = element.getText().trim();
      response = text === '' ? null : text;
    } else if (element.name === 'response' && this.sasl) {
      response = element.getText().trim();
    } else if (element.name === 'abort') {
      this.sasl = null;
      return this.saslFailure('aborted');
    } else {
      return this.saslFailure('malformed-request');
    }
    let decoded: string | null = null;
    if (response !== null && response !== '=') {
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(response) || response.length % 4 !== 0)
        return this.saslFailure('incorrect-encoding');
      decoded = Buffer.from(response, 'base64').toString('utf8');
    } else if (response === '=') {
      decoded = '';
    }
    const step = await this.sasl.step(decoded);
    if (step.kind === 'challenge') {
      return this.write(
        new Element('challenge', { xmlns: NS.sasl }).t(Buffer.from(step.data).toString('base64')),
      );
    }
    this.sasl = null;
    if (step.kind === 'failure') return this.saslFailure(step.condition, step.text);
    this.account = step.account;
    this.state = 'binding';
    const success = new Element('success', { xmlns: NS.sasl });
    if (step.data) success.t(Buffer.from(step.data).toString('base64'));
    this.write(success);
    this.services.logger.debug({ localpart: step.account.localpart }, 'XMPP authenticated');
  }

  private saslFailure(condition: string, text?: string) {
    this.sasl = null;
    const failure = new Element('failure', { xmlns: NS.sasl });
    failure.c(condition);
    if (text) failure.c('text').t(text);
    this.write(failure);
    if (++this.saslFailures >= MAX_SASL_FAILURES)
      this.fail('policy-violation', 'too many failed authentication attempts');
  }

  private bind(iq: Element) {
    const bindRequest = iq.getChild('bind', NS.bind);
    const account = this.account!;
    if (iq.attrs.type !== 'set' || !bindRequest)
      return this.fail('not-authorized', 'bind a resource first');
    const requested = bindRequest.getChildText('resource')?.trim();
    if (requested && !Jid.isValidResource(requested)) {
      const reply = errorReply(iq, 'modify', 'bad-request', 'invalid resource');
      if (reply) this.write(reply);
      return;
    }
    const resource = requested || randomBytes(6).toString('hex');
    const jid = Jid.of(account.localpart, this.services.router.domain, resource);
    const session = new XmppSession(jid, account, this.placement, null, this.origin);
    this.adopt(session);
    this.services.router.bind(session);
    this.state = 'bound';
    const bound = new Element('bind', { xmlns: NS.bind });
    bound.c('jid').t(jid.toString());
    const result = iqResult(iq, bound);
    delete result.attrs.from;
    session.send(result);
  }

  /** Carries `session` on this stream; a session ending elsewhere closes the stream. */
  private adopt(session: XmppSession) {
    this.session = session;
    session.attach(
      this,
      (stanza) => {
        const { sm } = this.services;
        this.write(stanza);
        if (sm.overflowing(session))
          this.fail('policy-violation', 'too many unacknowledged stanzas');
        else if (sm.wantsAck(session)) this.write(new Element('r', { xmlns: NS.sm }));
      },
      () => this.fail('conflict', 'the session was resumed on another stream'),
    );
    session.onEnd((reason: SessionEndReason) => {
      if (!session.isCarriedBy(this)) return;
      if (reason === 'replaced') this.fail('conflict', 'replaced by a new session');
      else if (reason === 'shutdown') this.fail('system-shutdown');
      else if (reason === 'timeout' || reason === 'error') this.fail('connection-timeout');
    });
  }

  private smElement(element: Element, session: XmppSession) {
    const sm = this.services.sm;
    // <enabled/> is a nonza: not counted, not kept for resumption.
    if (element.name === 'enable') return this.write(sm.enable(session, element));
    if (element.name === 'r') return this.write(sm.ackAnswer(session));
    if (element.name === 'a') {
      if (!sm.acknowledge(session, Number(element.attrs.h)))
        this.fail('undefined-condition', 'acknowledged unsent stanzas');
      return;
    }
    this.fail('unsupported-stanza-type', `unexpected <${element.name}/>`);
  }

  private resume(request: Element) {
    const { sm, router } = this.services;
    const bare = Jid.of(this.account!.localpart, router.domain).toString();
    const previd = String(request.attrs.previd ?? '');
    const session = sm.takeForResumption(previd, bare, Number(request.attrs.h));
    if (typeof session === 'string') return this.write(sm.failed(session));
    this.adopt(session);
    this.state = 'bound';
    this.write(sm.resumed(session, previd));
    for (const stanza of session.sm!.unacked) this.write(stanza);
    this.services.logger.debug({ jid: session.full }, 'XMPP session resumed');
  }

  private socketClosed() {
    const wasClosed = this.state === 'closed';
    this.state = 'closed';
    const session = this.session;
    if (!session || !session.isCarriedBy(this)) return;
    session.detach(this);
    if (wasClosed || this.closedByClient) session.end('closed');
    else if (!this.services.sm.hibernate(session)) session.end('dropped');
  }

  private endSession(reason: SessionEndReason) {
    const session = this.session;
    if (session?.isCarriedBy(this)) {
      session.detach(this);
      session.end(reason);
    }
  }

  private write(element: Element) {
    if (this.socket.readyState !== WebSocket.OPEN) return;
    const text = element.toString();
    const payloadBytes = Buffer.byteLength(text);
    const frameBytes = textFrameLength(payloadBytes);
    const needed = this.unsentBytes + frameBytes;
    if (this.unsent && needed > this.unsent.length) {
      if (needed > FLUSH_BYTES) this.flush();
      else this.unsent = this.grown(this.unsent, needed);
    }
    if (!this.unsent) {
      this.unsent = Buffer.allocUnsafe(Math.max(FIRST_BUFFER_BYTES, frameBytes));
      setImmediate(() => this.flush());
    }
    this.unsentBytes = writeTextFrame(this.unsent, this.unsentBytes, text, payloadBytes);
  }

  /**
   * A turn's buffer starts small (most turns write a stanza or two) and doubles, up to
   * FLUSH_BYTES.
   */
  private grown(buffer: Buffer, needed: number): Buffer {
    let size = buffer.length * 2;
    while (size < needed) size *= 2;
    const larger = Buffer.allocUnsafe(Math.min(size, FLUSH_BYTES));
    buffer.copy(larger, 0, 0, this.unsentBytes);
    return larger;
  }

  /**
   * Writes the frames waiting since the last flush with one socket write. ws writes two
   * chunks per message, and a MUC fan-out hands each stream many stanzas per turn: those
   * writes, and the frames they kept on the heap until the end of the turn, dominated its
   * cost. Control frames that ws writes itself (pong, close) fall between whole messages.
   */
  private flush() {
    const frames = this.unsent?.subarray(0, this.unsentBytes);
    this.unsent = null;
    this.unsentBytes = 0;
    if (!frames?.length || this.socket.readyState !== WebSocket.OPEN) return;
    (this.socket as unknown as { _socket: Socket })._socket.write(frames);
  }
}
