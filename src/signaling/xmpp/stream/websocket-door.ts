import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { IncomingMessage, Server } from 'node:http';
import { Duplex } from 'node:stream';
import { Gauge } from 'prom-client';
import { WebSocketServer } from 'ws';
import { ClusterService } from '../../../cluster/cluster.service';
import { placementHint } from '../../../cluster/placement-hint';
import { APP_CONFIG } from '../../../config/config.module';
import { AppConfig } from '../../../config/config.schema';
import type { Logger } from '../../../observability/logger';
import { InjectLogger } from '../../../observability/logging.module';
import { MetricsService } from '../../../observability/metrics.service';
import { StanzaRouter } from '../core/stanza-router';
import { XmppAccount } from '../core/xmpp-session';
import { SaslAuthenticator } from '../sasl/sasl-authenticator';
import { XmppAccounts } from '../sasl/xmpp-accounts';
import { StreamManagement } from '../sm/stream-management';
import { XmppStream } from './xmpp-stream';

export const XMPP_WEBSOCKET_PATH = '/xmpp-websocket';

/** How much larger than a stanza a WebSocket message may be before ws itself refuses it. */
const WEBSOCKET_PAYLOAD_FACTOR = 4;
/** Silent connections are pinged this often; one that misses a pong is dropped. */
const HEARTBEAT_MS = 30_000;

/**
 * The XMPP door on the shard's HTTP server: WebSocket upgrades of /xmpp-websocket with
 * the `xmpp` subprotocol (RFC 7395) become XmppStreams; every other upgrade (socket.io)
 * is left alone.
 */
@Injectable()
export class WebSocketDoor implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly wss: WebSocketServer;
  private readonly streams = new Set<XmppStream>();
  private server: Server | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private readonly onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) =>
    this.upgrade(request, socket, head);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly adapterHost: HttpAdapterHost,
    private readonly router: StanzaRouter,
    private readonly sasl: SaslAuthenticator,
    private readonly accounts: XmppAccounts,
    private readonly sm: StreamManagement,
    private readonly cluster: ClusterService,
    @InjectLogger() private readonly logger: Logger,
    metrics: MetricsService,
  ) {
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: config.xmpp.maxStanzaBytes * WEBSOCKET_PAYLOAD_FACTOR,
      // XmppStream checks UTF-8 itself, to end the stream with its stream error.
      skipUTF8Validation: true,
      handleProtocols: (protocols) => (protocols.has('xmpp') ? 'xmpp' : false),
    });
    const streams = this.streams;
    new Gauge({
      name: 'videowindow_xmpp_connections',
      help: 'Open XMPP WebSocket connections',
      registers: [metrics.registry],
      collect() {
        this.set(streams.size);
      },
    });
    new Gauge({
      name: 'videowindow_xmpp_sessions',
      help: 'Bound XMPP sessions of this shard, including those waiting for resumption (XEP-0198)',
      registers: [metrics.registry],
      collect() {
        this.set(router.localSessions().length);
      },
    });
  }

  onApplicationBootstrap(): void {
    this.server = this.adapterHost.httpAdapter.getHttpServer() as Server;
    this.server.on('upgrade', this.onUpgrade);
    this.heartbeat = setInterval(() => {
      for (const stream of this.streams) stream.heartbeat();
    }, HEARTBEAT_MS).unref();
  }

  beforeApplicationShutdown(): void {
    this.server?.off('upgrade', this.onUpgrade);
    if (this.heartbeat) clearInterval(this.heartbeat);
    for (const session of this.router.localSessions()) session.end('shutdown');
    for (const stream of this.streams) stream.fail('system-shutdown');
    this.wss.close();
  }

  private upgrade(request: IncomingMessage, socket: Duplex, head: Buffer) {
    // An unparsable request target (`//a:b`) is no path of ours.
    const url = URL.canParse(request.url ?? '/', 'http://localhost')
      ? new URL(request.url ?? '/', 'http://localhost')
      : null;
    if (url?.pathname !== XMPP_WEBSOCKET_PATH) return;
    const protocols = (request.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((protocol) => protocol.trim());
    if (!protocols.includes('xmpp'))
      return this.refuse(socket, 400, 'the xmpp WebSocket subprotocol is required');
    let urlAccount: XmppAccount | null = null;
    const token = url.searchParams.get('token');
    if (token !== null) {
      urlAccount = this.accounts.tokenAccount(token);
      if (!urlAccount) return this.refuse(socket, 401, 'invalid or expired join token');
    }
    const placement = placementHint(
      request.headers,
      url.searchParams.get('shard'),
      this.cluster.id,
      Boolean(this.config.http.trustProxy),
    );
    this.wss.handleUpgrade(request, socket, head, (ws) => {
      const stream = new XmppStream(
        ws,
        {
          config: this.config.xmpp,
          router: this.router,
          sasl: this.sasl,
          sm: this.sm,
          logger: this.logger,
        },
        urlAccount,
        placement,
        clientOrigin(request, Boolean(this.config.http.trustProxy)),
      );
      this.streams.add(stream);
      ws.on('close', () => this.streams.delete(stream));
    });
  }

  private refuse(socket: Duplex, status: 400 | 401, reason: string) {
    refuseUpgrade(socket, status, reason);
  }
}

const STATUS_TITLES = { 400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found' } as const;

/** Answers a WebSocket upgrade request with an HTTP error instead. */
export function refuseUpgrade(socket: Duplex, status: keyof typeof STATUS_TITLES, reason: string) {
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TITLES[status]}\r\nContent-Type: text/plain\r\nConnection: close\r\n` +
      `Content-Length: ${Buffer.byteLength(reason)}\r\n\r\n${reason}`,
  );
}

/**
 * `ws://` or `wss://` and the Host the client asked for: through a trusted proxy that
 * terminated TLS (X-Forwarded-Proto https), or TLS here, it is wss.
 */
export function clientOrigin(request: IncomingMessage, behindTrustedProxy: boolean): string | null {
  const host = request.headers.host;
  if (!host || !/^[A-Za-z0-9.:[\]-]{1,300}$/.test(host)) return null;
  const forwarded = behindTrustedProxy ? request.headers['x-forwarded-proto'] : undefined;
  const tls =
    (typeof forwarded === 'string' && forwarded.split(',')[0].trim() === 'https') ||
    Boolean((request.socket as { encrypted?: boolean }).encrypted);
  return `${tls ? 'wss' : 'ws'}://${host}`;
}
