/**
 * A raw STUN/TURN client for tests over UDP, TCP or TLS (RFC 5766 framing on streams):
 * it sends any bytes, matches answers to requests by transaction ID, keeps what else
 * arrives (Data indications, ChannelData), and signs requests with TURN REST
 * credentials and a nonce from a real 401 challenge.
 */
import { randomBytes } from 'node:crypto';
import { createSocket, Socket as UdpSocket } from 'node:dgram';
import { connect, Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import {
  Attr,
  Class,
  decode,
  decodeHeader,
  framedLength,
  longTermKey,
  Method,
  StunBuilder,
  StunMessage,
} from '../../src/turn/stun-message';
import { turnRestCredentials } from '../../src/turn/turn-credentials';

export type Transport = 'udp' | 'tcp' | 'tls';

export interface TurnAuth {
  username: string;
  realm: string;
  nonce: Buffer;
  key: Buffer;
}

const OTHER_LIMIT = 1_000;

export class StunClient {
  /** What arrived that answers no pending request, oldest first (the last 1,000). */
  readonly other: Buffer[] = [];
  private readonly waiting = new Map<string, (answer: Buffer) => void>();
  private ended = false;

  private constructor(
    readonly transport: Transport,
    private readonly write: (message: Buffer) => void,
    private readonly end: () => void,
  ) {}

  static async open(transport: Transport, port: number, host = '127.0.0.1'): Promise<StunClient> {
    if (transport === 'udp') {
      const socket: UdpSocket = createSocket('udp4');
      await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
      const client = new StunClient(
        transport,
        (message) => socket.send(message, port, host),
        () => socket.close(),
      );
      socket.on('message', (message) => client.receive(message));
      socket.on('error', () => undefined);
      return client;
    }
    const socket: Socket = await new Promise((resolve, reject) => {
      const connected =
        transport === 'tls'
          ? connectTls({ port, host, rejectUnauthorized: false }, () => resolve(connected))
          : connect(port, host, () => resolve(connected));
      connected.once('error', reject);
    });
    const client = new StunClient(
      transport,
      (message) => socket.write(message),
      () => socket.destroy(),
    );
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      for (let length = framedLength(pending); length > 0; length = framedLength(pending)) {
        client.receive(pending.subarray(0, length));
        pending = pending.subarray(length);
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => (client.ended = true));
    return client;
  }

  /** For streams: whether the server closed the connection. */
  get closed(): boolean {
    return this.ended;
  }

  send(raw: Buffer): void {
    if (!this.ended) this.write(raw);
  }

  /**
   * Sends a request and resolves with the answer that carries its transaction ID, or
   * undefined when none came within `timeoutMs`.
   */
  request(raw: Buffer, timeoutMs = 5_000): Promise<Buffer | undefined> {
    const id = raw.subarray(8, 20).toString('hex');
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        resolve(undefined);
      }, timeoutMs);
      this.waiting.set(id, (answer) => {
        clearTimeout(timer);
        this.waiting.delete(id);
        resolve(answer);
      });
      this.send(raw);
    });
  }

  close(): void {
    this.ended = true;
    this.end();
  }

  private receive(message: Buffer) {
    const header = decodeHeader(message);
    const answers = header && (header.cls === Class.Success || header.cls === Class.Error);
    const waiter = answers ? this.waiting.get(header.transactionId.toString('hex')) : undefined;
    if (waiter) return waiter(message);
    this.other.push(Buffer.from(message));
    if (this.other.length > OTHER_LIMIT) this.other.shift();
  }
}

/** The ERROR-CODE of an answer, or undefined for a success. */
export function errorCode(answer: StunMessage): number | undefined {
  const value = answer.attributes.get(Attr.ErrorCode);
  return value && value.length >= 4 ? (value[2] & 7) * 100 + value[3] : undefined;
}

export const requestTransportUdp = Buffer.from([17, 0, 0, 0]);

/** An unsigned Allocate, for its 401 challenge. */
export const unsignedAllocate = () =>
  new StunBuilder(Method.Allocate, Class.Request, randomBytes(12))
    .add(Attr.RequestedTransport, requestTransportUdp)
    .build();

/**
 * TURN REST credentials for `identity` from the shared secret, with the realm and nonce
 * of the 401 challenge the server answers an unsigned Allocate with.
 */
export async function authenticate(
  client: StunClient,
  secret: string,
  identity: string,
): Promise<TurnAuth> {
  const raw = await client.request(unsignedAllocate());
  const answer = raw && decode(raw);
  const realm = answer?.attributes.get(Attr.Realm)?.toString();
  const nonce = answer?.attributes.get(Attr.Nonce);
  if (!answer || errorCode(answer) !== 401 || !realm || !nonce) {
    throw new Error(`no 401 challenge (${raw?.toString('hex')})`);
  }
  const { username, credential } = turnRestCredentials(secret, identity, 3600);
  return { username, realm, nonce, key: longTermKey(username, realm, credential) };
}

/** Adds USERNAME, REALM and NONCE, then MESSAGE-INTEGRITY (and FINGERPRINT if asked). */
export function signed(builder: StunBuilder, auth: TurnAuth, fingerprint = false): Buffer {
  return builder
    .addString(Attr.Username, auth.username)
    .addString(Attr.Realm, auth.realm)
    .add(Attr.Nonce, auth.nonce)
    .build(auth.key, fingerprint);
}
