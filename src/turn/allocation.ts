import { randomBytes } from 'node:crypto';
import { createSocket, Socket } from 'node:dgram';
import { Attr, Class, Method, StunBuilder, TransportAddress } from './stun-message';
import { TransportAddressMap } from './transport-address-map';
import type { OffloadedAllocation, RelayMirror } from './udp-relay';

export const PERMISSION_LIFETIME_MS = 300_000;
export const CHANNEL_LIFETIME_MS = 600_000;

/** Sends a framed message to the allocation's client over its own transport. */
export type ClientSender = (message: Buffer) => void;

/** Told once when an allocation ends, however it ends (with the error when it failed). */
export type ClosedListener = (allocation: Allocation, error?: Error) => void;

interface Channel {
  number: number;
  peer: TransportAddress;
  expiresAt: number;
}

interface Budget {
  take(bytes: number, now: number): boolean;
}

/** Token bucket over relayed bytes, both directions together. */
class ByteBudget implements Budget {
  private tokens: number;
  private last = Date.now();

  constructor(private readonly bytesPerSecond: number) {
    this.tokens = bytesPerSecond; // one second of burst
  }

  take(bytes: number, now: number): boolean {
    if (this.bytesPerSecond <= 0) return true;
    if (now !== this.last) {
      this.tokens = Math.min(
        this.bytesPerSecond,
        this.tokens + ((now - this.last) * this.bytesPerSecond) / 1000,
      );
      this.last = now;
    }
    if (this.tokens < bytes) return false;
    this.tokens -= bytes;
    return true;
  }
}

/**
 * One TURN allocation: a relay socket, its permissions and channel bindings, and its
 * lifetime. Relays peer datagrams to the client as ChannelData or Data indications. It
 * ends when its lifetime runs out, when it is closed, or when its relay socket fails or
 * closes, and then tells its owner once.
 */
export class Allocation implements OffloadedAllocation {
  readonly relay: Socket;
  relayedAddress!: TransportAddress;
  private readonly permissions = new Map<string, number>();
  private readonly channels = new Map<number, Channel>();
  private readonly channelsByPeer = new TransportAddressMap<Channel>();
  private budget: Budget;
  /** The native relay's copy of this allocation, once it relays it (UDP clients). */
  private mirror?: RelayMirror;
  private timer?: NodeJS.Timeout;
  private closed = false;

  constructor(
    readonly id: string,
    readonly user: string,
    private readonly sendToClient: ClientSender,
    private readonly framedForStream: boolean,
    bytesPerSecond: number,
    private readonly onClosed: ClosedListener,
    /** A relay socket already bound (a reserved port), or none to bind one. */
    reserved?: Socket,
  ) {
    this.budget = new ByteBudget(bytesPerSecond);
    this.relay = reserved ?? createUdpSocket();
    this.relay.on('message', (data, rinfo) => this.receive(data, rinfo.address, rinfo.port));
    this.relay.on('error', (error) => this.close(error));
    this.relay.on('close', () => this.close());
  }

  /**
   * Binds the relay socket on `address` (unless it came bound), announced as
   * `advertised`. With `even`, an odd port throws OddPortError: dgram sockets cannot
   * rebind, so the caller retries with a new allocation.
   */
  async bind(address: string, advertised: string, even: boolean): Promise<void> {
    const bound = (() => {
      try {
        return this.relay.address().port;
      } catch {
        return 0;
      }
    })();
    const port = bound || (await bindUdp(this.relay, 0, address));
    if (even && port % 2 !== 0) throw new OddPortError();
    this.relayedAddress = { address: advertised, port };
  }

  /** (Re)starts the lifetime; 0 ends the allocation now. */
  setLifetime(seconds: number) {
    clearTimeout(this.timer);
    if (seconds <= 0) return this.close();
    this.timer = setTimeout(() => this.close(), seconds * 1000);
    this.timer.unref();
  }

  /**
   * From now on the native relay reads the relay socket and relays ChannelData itself,
   * with this allocation's permissions, channels and (one) byte budget.
   */
  offload(mirror: RelayMirror) {
    this.mirror = mirror;
    this.budget = { take: (bytes) => mirror.take(bytes) };
    for (const [address, expiresAt] of this.permissions) mirror.permit(address, expiresAt);
    for (const channel of this.channels.values())
      mirror.bindChannel(channel.number, channel.peer, channel.expiresAt);
  }

  permit(address: string, now = Date.now()) {
    const expiresAt = now + PERMISSION_LIFETIME_MS;
    this.permissions.set(address, expiresAt);
    this.mirror?.permit(address, expiresAt);
  }

  private permitted(address: string, now: number): boolean {
    const expiresAt = this.permissions.get(address);
    if (expiresAt === undefined) return false;
    if (expiresAt > now) return true;
    this.permissions.delete(address);
    return false;
  }

  /**
   * Binds (or refreshes) channel `number` to `peer`. False when either is already
   * bound to something else (RFC 8656 12.2: 400).
   */
  bindChannel(number: number, peer: TransportAddress, now = Date.now()): boolean {
    const byNumber = this.channels.get(number);
    const byPeer = this.channelsByPeer.get(peer.address, peer.port);
    if (byNumber && byNumber.expiresAt <= now) this.unbind(byNumber);
    if (byPeer && byPeer.expiresAt <= now) this.unbind(byPeer);
    const current = this.channels.get(number);
    if (current !== this.channelsByPeer.get(peer.address, peer.port)) return false;
    const channel = current ?? { number, peer, expiresAt: 0 };
    channel.expiresAt = now + CHANNEL_LIFETIME_MS;
    this.channels.set(number, channel);
    this.channelsByPeer.set(peer.address, peer.port, channel);
    this.mirror?.bindChannel(number, peer, channel.expiresAt);
    this.permit(peer.address, now);
    return true;
  }

  private unbind(channel: Channel) {
    this.channels.delete(channel.number);
    this.channelsByPeer.delete(channel.peer.address, channel.peer.port);
  }

  /** A Send indication's payload, or a ChannelData message's, towards a peer. */
  toPeer(peer: TransportAddress, data: Buffer, now = Date.now()) {
    if (this.closed || !this.permitted(peer.address, now) || !this.budget.take(data.length, now)) {
      return;
    }
    this.relay.send(data, peer.port, peer.address);
  }

  channelToPeer(number: number, data: Buffer) {
    const channel = this.channels.get(number);
    if (!channel) return;
    const now = Date.now();
    if (channel.expiresAt <= now) return this.unbind(channel);
    this.toPeer(channel.peer, data, now);
  }

  /** A peer's datagram. Whatever a peer sends, a failure here ends this allocation, not the process. */
  receive(data: Buffer, address: string, port: number) {
    try {
      this.fromPeer(data, address, port);
    } catch (error) {
      this.close(error as Error);
    }
  }

  private fromPeer(data: Buffer, address: string, port: number) {
    const now = Date.now();
    if (!this.permitted(address, now) || !this.budget.take(data.length, now)) return;
    const channel = this.channelsByPeer.get(address, port);
    if (channel && channel.expiresAt > now) {
      const padded = this.framedForStream ? (data.length + 3) & ~3 : data.length;
      const message = Buffer.allocUnsafe(4 + padded);
      message.writeUInt16BE(channel.number, 0);
      message.writeUInt16BE(data.length, 2);
      data.copy(message, 4);
      message.fill(0, 4 + data.length);
      this.sendToClient(message);
      return;
    }
    const indication = new StunBuilder(Method.Data, Class.Indication, randomBytes(12))
      .addXorAddress(Attr.XorPeerAddress, { address, port })
      .add(Attr.Data, data)
      .build();
    this.sendToClient(indication);
  }

  close(error?: Error) {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    this.mirror?.close(); // before the socket closes: the native relay reads it
    this.relay.removeAllListeners('message');
    try {
      this.relay.close();
    } catch {
      // never bound, or already closed
    }
    this.onClosed(this, error);
  }

  get isClosed() {
    return this.closed;
  }
}

export class OddPortError extends Error {}

/**
 * Addresses here are always IP literals: answering the lookup at once spares every
 * datagram sent a trip through dns.lookup and process.nextTick (a measurable share of
 * the relay's CPU time).
 */
const literalLookup = (address: string, _family: unknown, callback: (...args: unknown[]) => void) =>
  callback(null, address, 4);

export const createUdpSocket = (bufferBytes?: number) =>
  createSocket({
    type: 'udp4',
    lookup: literalLookup as never,
    recvBufferSize: bufferBytes,
    sendBufferSize: bufferBytes,
  });

export function bindUdp(socket: Socket, port: number, address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, address, () => {
      socket.off('error', reject);
      resolve(socket.address().port);
    });
  });
}
