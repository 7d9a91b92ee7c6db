/**
 * The UDP relay hot path in native code (native/udp-relay.c, built by `npm run build`):
 * a thread of its own reads the TURN server's client socket and its UDP clients' relay
 * sockets in batches and relays ChannelData both ways, which in JavaScript costs most of
 * a datagram's time in Node's own per-datagram work. The TURN server stays in charge:
 * everything else comes back to it (STUN requests, Send indications, peer datagrams
 * without a channel, send failures), and the native side only mirrors what the server
 * decided for each allocation (permissions, channels, the byte budget).
 */
import { Socket } from 'node:dgram';
import { join } from 'node:path';
import { TransportAddress } from './stun-message';

type NativeRelay = { readonly brand: unique symbol };

interface Addon {
  start(clientFd: number, onPunt: PuntListener): NativeRelay;
  stop(relay: NativeRelay): void;
  add(relay: NativeRelay, relayFd: number, address: string, port: number, bps: number): number;
  remove(relay: NativeRelay, id: number): void;
  permit(relay: NativeRelay, id: number, address: string, expiresAt: number): void;
  bindChannel(
    relay: NativeRelay,
    id: number,
    number: number,
    address: string,
    port: number,
    expiresAt: number,
  ): void;
  take(relay: NativeRelay, id: number, bytes: number): boolean;
}

const enum Punt {
  FromClient = 0,
  FromPeer = 1,
  SendError = 2,
}
type PuntListener = (
  kind: Punt,
  id: number,
  dataOrErrno: Buffer | number,
  address: string,
  port: number,
) => void;

/** Built next to the compiled file (dist/turn) or in its source folder (src/turn/native). */
const ADDON_PATHS = [
  join(__dirname, 'udp_relay.node'),
  join(__dirname, 'native', 'build', 'Release', 'udp_relay.node'),
];

let addon: Addon | null | undefined;
export function loadUdpRelayAddon(): Addon | undefined {
  if (addon === undefined) {
    addon = null;
    for (const path of ADDON_PATHS) {
      try {
        const module = { exports: {} };
        process.dlopen(module, path);
        addon = module.exports as Addon;
        break;
      } catch {
        // not built there
      }
    }
  }
  return addon ?? undefined;
}

/** What the native side keeps of one allocation, kept current by Allocation. */
export interface RelayMirror {
  permit(address: string, expiresAt: number): void;
  bindChannel(number: number, peer: TransportAddress, expiresAt: number): void;
  /** The allocation's byte budget, shared with the datagrams relayed natively. */
  take(bytes: number): boolean;
  /** Before the relay socket closes. */
  close(): void;
}

/** Where the native side hands an allocation's datagrams it does not relay itself. */
export interface OffloadedAllocation {
  receive(data: Buffer, address: string, port: number): void;
  close(error?: Error): void;
}

/** Node keeps a dgram socket's handle behind a symbol: its descriptor, and recvStop. */
function dgramHandle(socket: Socket): { fd: number; recvStop(): number } {
  const state = Object.getOwnPropertySymbols(socket).find((s) => s.description === 'state symbol');
  const handle =
    state && (socket as unknown as Record<symbol, { handle?: unknown }>)[state]?.handle;
  const { fd, recvStop } = (handle ?? {}) as { fd?: unknown; recvStop?: unknown };
  if (typeof fd !== 'number' || fd < 0 || typeof recvStop !== 'function') {
    throw new Error('a bound dgram socket has no readable descriptor');
  }
  return handle as { fd: number; recvStop(): number };
}

export class UdpRelay {
  private readonly relay: NativeRelay;
  private readonly allocations = new Map<number, OffloadedAllocation>();
  private stopped = false;

  /**
   * Takes over reading `clientSocket` (bound); its other datagrams go to `fromClient`.
   * Undefined when the addon is not built.
   */
  static start(
    clientSocket: Socket,
    fromClient: (message: Buffer, address: string, port: number) => void,
  ): UdpRelay | undefined {
    const addon = loadUdpRelayAddon();
    if (!addon) return undefined;
    const handle = dgramHandle(clientSocket);
    const relay = new UdpRelay(addon, handle.fd, fromClient);
    handle.recvStop();
    return relay;
  }

  private constructor(
    private readonly addon: Addon,
    clientFd: number,
    fromClient: (message: Buffer, address: string, port: number) => void,
  ) {
    this.relay = addon.start(clientFd, (kind, id, dataOrErrno, address, port) => {
      if (this.stopped) return;
      if (kind === Punt.FromClient) return fromClient(dataOrErrno as Buffer, address, port);
      const allocation = this.allocations.get(id);
      if (kind === Punt.FromPeer) allocation?.receive(dataOrErrno as Buffer, address, port);
      else allocation?.close(new Error(`relay send failed (errno ${dataOrErrno as number})`));
    });
  }

  /** Relays this allocation's ChannelData natively from now on. */
  offload(
    allocation: OffloadedAllocation,
    relaySocket: Socket,
    client: TransportAddress,
    bytesPerSecond: number,
  ): RelayMirror {
    const { addon, relay } = this;
    const handle = dgramHandle(relaySocket);
    const id = addon.add(relay, handle.fd, client.address, client.port, bytesPerSecond);
    handle.recvStop();
    this.allocations.set(id, allocation);
    return {
      permit: (address, expiresAt) => addon.permit(relay, id, address, expiresAt),
      bindChannel: (number, peer, expiresAt) =>
        addon.bindChannel(relay, id, number, peer.address, peer.port, expiresAt),
      take: (bytes) => addon.take(relay, id, bytes),
      close: () => {
        this.allocations.delete(id);
        addon.remove(relay, id);
      },
    };
  }

  /** Ends the relay's thread; the client socket is the caller's to close afterwards. */
  stop() {
    if (this.stopped) return;
    this.stopped = true;
    this.addon.stop(this.relay);
  }
}
