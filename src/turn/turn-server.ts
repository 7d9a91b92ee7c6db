/**
 * The embedded TURN/STUN server (RFC 5389/8489 STUN, RFC 5766/8656 TURN with UDP
 * relaying) over UDP, TCP (same port, RFC 5766 framing) and TLS. Authentication is the
 * long-term mechanism with TURN REST API passwords derived from the shared secret.
 *
 * Client input enters in two places, fromUdp and fromStream (relay sockets enter in
 * Allocation): whatever fails inside is logged there and a request is answered 500, so
 * no datagram or stream can throw out of a socket callback.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { Socket as UdpSocket } from 'node:dgram';
import { createServer, Server, Socket } from 'node:net';
import { createServer as createTlsServer, Server as TlsServer } from 'node:tls';
import type { Logger } from '../observability/logger';
import { Allocation, bindUdp, createUdpSocket, OddPortError } from './allocation';
import { PeerAddressPolicy } from './peer-address-policy';
import {
  Attr,
  Class,
  decode,
  decodeHeader,
  framedLength,
  integrityValid,
  isChannelData,
  longTermKey,
  Method,
  StunBuilder,
  StunHeader,
  StunMessage,
  TransportAddress,
} from './stun-message';
import { TransportAddressMap } from './transport-address-map';
import { UdpRelay } from './udp-relay';

export interface TurnServerOptions {
  listenIp: string;
  /** UDP and TCP port; 0 picks a free one for both. */
  port: number;
  tls?: { port: number; cert: Buffer; key: Buffer };
  /** Address relay sockets bind to, and the address announced for them. */
  relayIp: string;
  relayAnnouncedIp: string;
  realm: string;
  secret: string;
  defaultLifetimeSeconds: number;
  maxLifetimeSeconds: number;
  nonceLifetimeSeconds: number;
  userQuota: number;
  totalQuota: number;
  /** Per allocation, both directions; 0: unlimited. */
  maxBitsPerSecond: number;
  allowedPeerRanges: string[];
  logger: Logger;
  /** How long a TCP/TLS connection without an allocation may stay idle (default 30 s). */
  streamIdleMs?: number;
  /**
   * `native` (default): UDP clients' ChannelData is relayed by the native relay
   * (udp-relay.ts), or in JavaScript when it is not built; `node`: in JavaScript.
   */
  udpRelay?: 'native' | 'node';
}

type TransportKind = 'udp' | 'tcp' | 'tls';

/** Where a request came from and how to answer it. */
interface Client {
  kind: TransportKind;
  remote: TransportAddress;
  send(message: Buffer): void;
  allocation(): Allocation | undefined;
  attach(allocation: Allocation): void;
  detach(allocation: Allocation): void;
}

interface Credentials {
  username: string;
  user: string;
  key: Buffer;
}

const STREAM_BUFFER_LIMIT = 1 << 20;
const RESERVATION_LIFETIME_MS = 30_000;
const STREAM_IDLE_MS = 30_000;
/**
 * All UDP clients share one socket: a large buffer rides out moments when the process
 * is not scheduled (the kernel caps it at net.core.rmem_max / wmem_max).
 */
const SERVER_SOCKET_BUFFER_BYTES = 4 << 20;
const isAddressInUse = (error: unknown) => (error as { code?: string }).code === 'EADDRINUSE';

export class TurnServer {
  private udp?: UdpSocket;
  private udpRelay?: UdpRelay;
  private tcp?: Server;
  private tls?: TlsServer;
  private readonly connections = new Set<Socket>();
  private readonly udpAllocations = new TransportAddressMap<Allocation>();
  private readonly allocations = new Set<Allocation>();
  private readonly perUser = new Map<string, number>();
  private readonly keys = new Map<string, Buffer>();
  private readonly nonceKey = randomBytes(32);
  private readonly policy: PeerAddressPolicy;
  /** The Allocate that made an allocation, and its answer once there is one. */
  private readonly allocatedBy = new WeakMap<Allocation, { id: Buffer; response?: Buffer }>();
  private readonly clients = new WeakMap<Allocation, Client>();
  private readonly reservations = new Map<string, { socket: UdpSocket; timer: NodeJS.Timeout }>();
  private allocationCounter = 0;
  port = 0;
  /** 0 when TLS is off. */
  tlsPort = 0;
  refreshCount = 0;

  constructor(private readonly options: TurnServerOptions) {
    this.policy = new PeerAddressPolicy(options.allowedPeerRanges);
  }

  get allocationCount() {
    return this.allocations.size;
  }

  async start(): Promise<void> {
    const { listenIp, port } = this.options;
    for (let attempt = 0; ; attempt++) {
      const udp = createUdpSocket(SERVER_SOCKET_BUFFER_BYTES);
      const bound = await bindUdp(udp, port, listenIp);
      const tcp = createServer((socket) => this.acceptStream(socket, 'tcp'));
      try {
        await listen(tcp, bound, listenIp);
      } catch (error) {
        udp.close();
        if (port !== 0 || attempt >= 10) throw error;
        continue;
      }
      this.udp = udp;
      this.tcp = tcp;
      this.port = bound;
      break;
    }
    const fromUdp = (message: Buffer, address: string, port: number) =>
      this.fromUdp(message, address, port);
    if (this.options.udpRelay !== 'node') {
      this.udpRelay = UdpRelay.start(this.udp, fromUdp);
      if (!this.udpRelay) {
        this.options.logger.warn(
          'TURN: the native UDP relay is not built (npm run build): relaying in JavaScript',
        );
      }
    }
    if (!this.udpRelay)
      this.udp.on('message', (message, rinfo) => fromUdp(message, rinfo.address, rinfo.port));
    this.udp.on('error', (error) => this.options.logger.error({ err: error }, 'TURN UDP error'));
    this.tcp.on('error', (error) => this.options.logger.error({ err: error }, 'TURN TCP error'));
    const { tls } = this.options;
    if (tls) {
      this.tls = createTlsServer({ cert: tls.cert, key: tls.key }, (socket) =>
        this.acceptStream(socket, 'tls'),
      );
      await listen(this.tls, tls.port, listenIp);
      this.tls.on('error', (error) => this.options.logger.error({ err: error }, 'TURN TLS error'));
      this.tlsPort = (this.tls.address() as { port: number }).port;
    }
    const maxConnections = this.options.totalQuota * 2 + 16;
    this.tcp!.maxConnections = maxConnections;
    if (this.tls) this.tls.maxConnections = maxConnections;
  }

  async stop(): Promise<void> {
    for (const allocation of this.allocations) allocation.close();
    for (const socket of this.connections) socket.destroy();
    for (const key of this.reservations.keys()) this.dropReservation(key);
    this.udpRelay?.stop();
    this.udpRelay = undefined;
    this.udp?.close();
    this.udp = undefined; // what still completes afterwards has nowhere to send
    await Promise.all(
      [this.tcp, this.tls].map(
        (server) => server && new Promise((resolve) => server.close(() => resolve(undefined))),
      ),
    );
  }

  private fromUdp(message: Buffer, address: string, port: number) {
    try {
      if (isChannelData(message)) {
        return relayChannelData(message, this.udpAllocations.get(address, port));
      }
      this.handle(message, this.udpClient(address, port));
    } catch (error) {
      this.failed(error, message, this.udpClient(address, port));
    }
  }

  private udpClient(address: string, port: number): Client {
    return {
      kind: 'udp',
      remote: { address, port },
      send: (reply) => this.udp?.send(reply, port, address),
      allocation: () => this.udpAllocations.get(address, port),
      attach: (allocation) => this.udpAllocations.set(address, port, allocation),
      detach: (allocation) => {
        if (this.udpAllocations.get(address, port) === allocation) {
          this.udpAllocations.delete(address, port);
        }
      },
    };
  }

  private acceptStream(socket: Socket, kind: 'tcp' | 'tls') {
    this.connections.add(socket);
    socket.setNoDelay(true);
    const idleMs = this.options.streamIdleMs ?? STREAM_IDLE_MS;
    let allocation: Allocation | undefined;
    const client: Client = {
      kind,
      remote: { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 },
      send: (message) => {
        // A stalled client loses datagrams, as it would over UDP, instead of our memory.
        if (socket.writableLength < STREAM_BUFFER_LIMIT) socket.write(message);
      },
      allocation: () => allocation,
      attach: (created) => (allocation = created),
      detach: (released) => {
        if (allocation !== released) return;
        allocation = undefined;
        if (!socket.destroyed) socket.setTimeout(idleMs);
      },
    };
    let pending: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      for (;;) {
        if (pending.length >= 1 && (pending[0] & 0x80) !== 0) return socket.destroy();
        const length = framedLength(pending);
        if (length === 0) break;
        this.fromStream(pending.subarray(0, length), client);
        pending = pending.subarray(length);
      }
      if (pending.length > 0x10000 + 20) socket.destroy();
    });
    // Connections without an allocation (none yet, or none any more: see detach) do not
    // hold a connection slot for long.
    socket.setTimeout(idleMs);
    socket.on('timeout', () => {
      if (!allocation) socket.destroy();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.connections.delete(socket);
      allocation?.close();
    });
  }

  /** One framed message from a TCP or TLS client. */
  private fromStream(message: Buffer, client: Client) {
    try {
      if (isChannelData(message)) return relayChannelData(message, client.allocation());
      this.handle(message, client);
    } catch (error) {
      this.failed(error, message, client);
    }
  }

  /** A failure while handling a client's message: logged, and a request answered 500. */
  private failed(error: unknown, raw: Buffer, client: Client) {
    this.options.logger.error(
      { err: error, transport: client.kind, client: client.remote.address },
      'TURN message handling failed',
    );
    const header = decodeHeader(raw);
    if (header?.cls === Class.Request) this.error(header, client, 500, 'Server Error');
  }

  private handle(raw: Buffer, client: Client) {
    const message = decode(raw);
    if (!message) {
      // A request with a readable header but unreadable lengths, attributes or FINGERPRINT.
      const header = decodeHeader(raw);
      if (header?.cls === Class.Request) this.error(header, client, 400, 'Bad Request');
      return;
    }
    if (message.cls === Class.Indication) return this.indication(message, client);
    if (message.cls !== Class.Request) return;
    if (message.method === Method.Binding) {
      if (message.unknown.length) return this.replyUnknown(message, client);
      const reply = new StunBuilder(Method.Binding, Class.Success, message.transactionId)
        .addXorAddress(Attr.XorMappedAddress, client.remote)
        .build(undefined, message.hasFingerprint);
      return client.send(reply);
    }
    const credentials = this.authenticate(message, client);
    if (!credentials) return;
    if (message.unknown.length) return this.replyUnknown(message, client, credentials.key);
    switch (message.method) {
      case Method.Allocate:
        return void this.allocate(message, client, credentials).catch((error) =>
          this.failed(error, raw, client),
        );
      case Method.Refresh:
        return this.refresh(message, client, credentials);
      case Method.CreatePermission:
        return this.createPermission(message, client, credentials);
      case Method.ChannelBind:
        return this.channelBind(message, client, credentials);
      default:
        return this.error(message, client, 400, 'Bad Request', credentials.key);
    }
  }

  private indication(message: StunMessage, client: Client) {
    if (message.method !== Method.Send || message.unknown.length) return;
    const data = message.attributes.get(Attr.Data);
    const [peer] = message.peerAddresses;
    if (data && peer && peer.port !== 0) client.allocation()?.toPeer(peer, data);
  }

  // --- authentication (RFC 5389 10.2, TURN REST API passwords) ---

  private authenticate(message: StunMessage, client: Client): Credentials | undefined {
    const { realm } = this.options;
    const challenge = (code: number, reason: string) => {
      const reply = new StunBuilder(message.method, Class.Error, message.transactionId)
        .addError(code, reason)
        .addString(Attr.Realm, realm)
        .addString(Attr.Nonce, this.nonce(client))
        .build(undefined, message.hasFingerprint);
      client.send(reply);
      return undefined;
    };
    if (message.integrityOffset < 0) return challenge(401, 'Unauthorized');
    const username = message.attributes.get(Attr.Username)?.toString('utf8');
    const nonce = message.attributes.get(Attr.Nonce);
    if (!username || !nonce || !message.attributes.has(Attr.Realm)) {
      this.error(message, client, 400, 'Bad Request');
      return undefined;
    }
    if (!this.nonceValid(nonce, client)) return challenge(438, 'Stale Nonce');
    const separator = username.indexOf(':');
    const expiry = Number(username.slice(0, separator));
    if (separator < 1 || !(expiry * 1000 > Date.now())) return challenge(401, 'Unauthorized');
    const key = this.keyFor(username);
    if (!integrityValid(message, key)) return challenge(401, 'Unauthorized');
    return { username, user: username.slice(separator + 1), key };
  }

  private keyFor(username: string): Buffer {
    let key = this.keys.get(username);
    if (!key) {
      const password = createHmac('sha1', this.options.secret).update(username).digest('base64');
      key = longTermKey(username, this.options.realm, password);
      if (this.keys.size >= 10_000) this.keys.clear();
      this.keys.set(username, key);
    }
    return key;
  }

  /** Stateless nonce: its expiry, signed together with the client's address. */
  private nonce(client: Client): string {
    const expiry = (Math.floor(Date.now() / 1000) + this.options.nonceLifetimeSeconds).toString(16);
    return `${expiry}.${this.nonceSignature(expiry, client)}`;
  }

  private nonceSignature(expiry: string, client: Client): string {
    return createHmac('sha256', this.nonceKey)
      .update(`${expiry}|${client.kind}|${client.remote.address}`)
      .digest('hex')
      .slice(0, 24);
  }

  /** Whether `nonce` is, byte for byte, one this server gave this client, and still fresh. */
  private nonceValid(nonce: Buffer, client: Client): boolean {
    const dot = nonce.indexOf('.');
    if (dot < 1) return false;
    const expiry = nonce.toString('latin1', 0, dot);
    const expected = Buffer.from(`${expiry}.${this.nonceSignature(expiry, client)}`, 'latin1');
    if (expected.length !== nonce.length || !timingSafeEqual(expected, nonce)) return false;
    return parseInt(expiry, 16) * 1000 > Date.now();
  }

  // --- TURN methods ---

  private lifetimeOf(message: StunMessage): number {
    const { defaultLifetimeSeconds, maxLifetimeSeconds } = this.options;
    const requested = message.attributes.get(Attr.Lifetime);
    if (!requested || requested.length !== 4) return defaultLifetimeSeconds;
    const seconds = requested.readUInt32BE(0);
    if (seconds === 0) return 0;
    return Math.max(defaultLifetimeSeconds, Math.min(seconds, maxLifetimeSeconds));
  }

  private async allocate(message: StunMessage, client: Client, credentials: Credentials) {
    const existing = client.allocation();
    if (existing && !existing.isClosed) {
      const made = this.allocatedBy.get(existing);
      if (!made?.id.equals(message.transactionId)) {
        return this.error(message, client, 437, 'Allocation Mismatch', credentials.key);
      }
      // A retransmission: the same answer again, or (still binding) the one on its way.
      if (made.response) client.send(made.response);
      return;
    }
    const transport = message.attributes.get(Attr.RequestedTransport);
    if (!transport || transport.length !== 4) {
      return this.error(message, client, 400, 'Bad Request', credentials.key);
    }
    if (transport[0] !== 17) {
      return this.error(message, client, 442, 'Unsupported Transport Protocol', credentials.key);
    }
    const family = message.attributes.get(Attr.RequestedAddressFamily);
    if (family && family[0] !== 0x01) {
      return family[0] === 0x02
        ? this.error(message, client, 440, 'Address Family not Supported', credentials.key)
        : this.error(message, client, 400, 'Bad Request', credentials.key);
    }
    const evenPort = message.attributes.get(Attr.EvenPort);
    const token = message.attributes.get(Attr.ReservationToken);
    if (evenPort && token) return this.error(message, client, 400, 'Bad Request', credentials.key);
    const reserved = token && this.takeReservation(token);
    if (token && !reserved) {
      return this.error(message, client, 508, 'Insufficient Capacity', credentials.key);
    }
    const reserveNext = !!evenPort && (evenPort[0] & 0x80) !== 0;
    const { userQuota, totalQuota } = this.options;
    if ((this.perUser.get(credentials.user) ?? 0) >= userQuota) {
      return this.error(message, client, 486, 'Allocation Quota Reached', credentials.key);
    }
    if (this.allocations.size >= totalQuota) {
      return this.error(message, client, 508, 'Insufficient Capacity', credentials.key);
    }
    const lifetime = this.lifetimeOf(message) || this.options.defaultLifetimeSeconds;

    let allocation: Allocation | undefined;
    let reservation: Buffer | undefined;
    for (let attempt = 0; !allocation; attempt++) {
      const candidate = this.newAllocation(client, credentials.user, reserved || undefined);
      this.allocatedBy.set(candidate, { id: Buffer.from(message.transactionId) });
      try {
        const { relayIp, relayAnnouncedIp } = this.options;
        await candidate.bind(relayIp, relayAnnouncedIp, !!evenPort);
        if (reserveNext) reservation = await this.reserve(candidate.relayedAddress.port + 1);
        allocation = candidate;
      } catch (error) {
        candidate.close();
        const retry = error instanceof OddPortError || isAddressInUse(error);
        if (!retry || reserved || attempt >= 32) {
          return this.error(message, client, 508, 'Insufficient Capacity', credentials.key);
        }
      }
    }
    if (allocation.isClosed) return; // the client went away meanwhile
    if (client.kind === 'udp' && this.udpRelay) {
      const budget = this.options.maxBitsPerSecond / 8;
      allocation.offload(
        this.udpRelay.offload(allocation, allocation.relay, client.remote, budget),
      );
    }
    allocation.setLifetime(lifetime);
    const builder = new StunBuilder(Method.Allocate, Class.Success, message.transactionId)
      .addXorAddress(Attr.XorRelayedAddress, allocation.relayedAddress)
      .addUInt32(Attr.Lifetime, lifetime)
      .addXorAddress(Attr.XorMappedAddress, client.remote);
    if (reservation) builder.add(Attr.ReservationToken, reservation);
    const response = builder.build(credentials.key, message.hasFingerprint);
    this.allocatedBy.get(allocation)!.response = response;
    this.options.logger.debug(
      { user: credentials.user, transport: client.kind, relayPort: allocation.relayedAddress.port },
      'TURN allocation created',
    );
    client.send(response);
  }

  /**
   * EVEN-PORT with the R bit (RFC 5766 6.2): holds the next port for a later Allocate
   * with the returned RESERVATION-TOKEN, for 30 seconds.
   */
  private async reserve(port: number): Promise<Buffer> {
    const socket = createUdpSocket();
    try {
      await bindUdp(socket, port, this.options.relayIp);
    } catch (error) {
      socket.close();
      throw error;
    }
    const token = randomBytes(8);
    const key = token.toString('hex');
    socket.on('error', (error) => {
      this.options.logger.warn({ err: error }, 'TURN reserved port failed');
      this.dropReservation(key);
    });
    const timer = setTimeout(() => this.dropReservation(key), RESERVATION_LIFETIME_MS);
    timer.unref();
    this.reservations.set(key, { socket, timer });
    return token;
  }

  private dropReservation(key: string) {
    const reservation = this.reservations.get(key);
    if (!reservation) return;
    this.reservations.delete(key);
    clearTimeout(reservation.timer);
    reservation.socket.close();
  }

  private takeReservation(token: Buffer): UdpSocket | undefined {
    const key = token.toString('hex');
    const reservation = this.reservations.get(key);
    if (!reservation) return undefined;
    this.reservations.delete(key);
    clearTimeout(reservation.timer);
    reservation.socket.removeAllListeners('error'); // the allocation's own listener takes over
    return reservation.socket;
  }

  /** Registers an allocation at once, so that quotas count it while it binds. */
  private newAllocation(client: Client, user: string, reserved?: UdpSocket): Allocation {
    const allocation = new Allocation(
      String(++this.allocationCounter),
      user,
      (message) => client.send(message),
      client.kind !== 'udp',
      this.options.maxBitsPerSecond / 8,
      (closed, error) => this.forget(closed, error),
      reserved,
    );
    this.allocations.add(allocation);
    this.perUser.set(user, (this.perUser.get(user) ?? 0) + 1);
    client.attach(allocation);
    this.clients.set(allocation, client);
    return allocation;
  }

  /** An allocation ended (once, however it ended): its quota and its client's slot free up. */
  private forget(allocation: Allocation, error?: Error) {
    if (!this.allocations.delete(allocation)) return;
    const left = (this.perUser.get(allocation.user) ?? 1) - 1;
    if (left > 0) this.perUser.set(allocation.user, left);
    else this.perUser.delete(allocation.user);
    this.clients.get(allocation)?.detach(allocation);
    if (error) {
      this.options.logger.warn({ err: error, user: allocation.user }, 'TURN relay socket failed');
    }
    this.options.logger.debug({ user: allocation.user }, 'TURN allocation released');
  }

  /** The client's allocation, or an error answer (437 none, 441 another user's). */
  private ownAllocation(message: StunMessage, client: Client, credentials: Credentials) {
    const allocation = client.allocation();
    if (!allocation || allocation.isClosed) {
      this.error(message, client, 437, 'Allocation Mismatch', credentials.key);
      return undefined;
    }
    if (allocation.user !== credentials.user) {
      this.error(message, client, 441, 'Wrong Credentials', credentials.key);
      return undefined;
    }
    return allocation;
  }

  private refresh(message: StunMessage, client: Client, credentials: Credentials) {
    const allocation = this.ownAllocation(message, client, credentials);
    if (!allocation) return;
    const lifetime = this.lifetimeOf(message);
    if (lifetime === 0) allocation.close();
    else {
      allocation.setLifetime(lifetime);
      this.refreshCount++;
    }
    client.send(
      new StunBuilder(Method.Refresh, Class.Success, message.transactionId)
        .addUInt32(Attr.Lifetime, lifetime)
        .build(credentials.key, message.hasFingerprint),
    );
  }

  /** 403 for a peer the policy refuses, 443 for an IPv6 peer of this IPv4 relay. */
  private peerRefusal(peer: TransportAddress): [number, string] | undefined {
    if (peer.address.includes(':')) return [443, 'Peer Address Family Mismatch'];
    if (!this.policy.permits(peer.address)) return [403, 'Forbidden'];
    return undefined;
  }

  private createPermission(message: StunMessage, client: Client, credentials: Credentials) {
    const allocation = this.ownAllocation(message, client, credentials);
    if (!allocation) return;
    if (!message.peerAddresses.length) {
      return this.error(message, client, 400, 'Bad Request', credentials.key);
    }
    for (const peer of message.peerAddresses) {
      const refusal = this.peerRefusal(peer);
      if (refusal) return this.refusePeer(message, client, credentials, peer, refusal);
    }
    for (const peer of message.peerAddresses) allocation.permit(peer.address);
    this.success(message, client, credentials.key);
  }

  private channelBind(message: StunMessage, client: Client, credentials: Credentials) {
    const allocation = this.ownAllocation(message, client, credentials);
    if (!allocation) return;
    const number = message.attributes.get(Attr.ChannelNumber);
    const [peer] = message.peerAddresses;
    const channel = number?.length === 4 ? number.readUInt16BE(0) : 0;
    if (!peer || peer.port === 0 || channel < 0x4000 || channel > 0x7fff) {
      return this.error(message, client, 400, 'Bad Request', credentials.key);
    }
    const refusal = this.peerRefusal(peer);
    if (refusal) return this.refusePeer(message, client, credentials, peer, refusal);
    if (!allocation.bindChannel(channel, peer)) {
      return this.error(message, client, 400, 'Bad Request', credentials.key);
    }
    this.success(message, client, credentials.key);
  }

  private refusePeer(
    message: StunMessage,
    client: Client,
    credentials: Credentials,
    peer: TransportAddress,
    [code, reason]: [number, string],
  ) {
    this.options.logger.info(
      { user: credentials.user, peer: peer.address, code },
      'TURN peer refused',
    );
    this.error(message, client, code, reason, credentials.key);
  }

  private success(message: StunMessage, client: Client, key: Buffer) {
    client.send(
      new StunBuilder(message.method, Class.Success, message.transactionId).build(
        key,
        message.hasFingerprint,
      ),
    );
  }

  private error(
    request: StunHeader & { hasFingerprint?: boolean },
    client: Client,
    code: number,
    reason: string,
    key?: Buffer,
  ) {
    client.send(
      new StunBuilder(request.method, Class.Error, request.transactionId)
        .addError(code, reason)
        .build(key, request.hasFingerprint),
    );
  }

  private replyUnknown(message: StunMessage, client: Client, key?: Buffer) {
    this.options.logger.debug(
      { method: message.method, attributes: message.unknown },
      'STUN request with unknown comprehension-required attributes',
    );
    const list = Buffer.alloc(message.unknown.length * 2);
    message.unknown.forEach((type, i) => list.writeUInt16BE(type, i * 2));
    client.send(
      new StunBuilder(message.method, Class.Error, message.transactionId)
        .addError(420, 'Unknown Attribute')
        .add(Attr.UnknownAttributes, list)
        .build(key, message.hasFingerprint),
    );
  }
}

/** Relays a client's ChannelData on its channel, unless it claims more than it carries. */
function relayChannelData(message: Buffer, allocation: Allocation | undefined) {
  const length = message.readUInt16BE(2);
  if (length <= message.length - 4) {
    allocation?.channelToPeer(message.readUInt16BE(0), message.subarray(4, 4 + length));
  }
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
