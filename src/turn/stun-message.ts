/**
 * STUN message codec (RFC 5389/8489) with the TURN attributes of RFC 5766/8656 and
 * ChannelData framing. Decoding never throws on hostile input: it returns undefined.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { isIPv4 } from 'node:net';
import { crc32 } from 'node:zlib';

export const MAGIC_COOKIE = 0x2112a442;
const HEADER = 20;

export const Method = {
  Binding: 0x001,
  Allocate: 0x003,
  Refresh: 0x004,
  Send: 0x006,
  Data: 0x007,
  CreatePermission: 0x008,
  ChannelBind: 0x009,
} as const;

export const Class = { Request: 0x000, Indication: 0x010, Success: 0x100, Error: 0x110 } as const;
export type MessageClass = (typeof Class)[keyof typeof Class];

export const Attr = {
  MappedAddress: 0x0001,
  Username: 0x0006,
  MessageIntegrity: 0x0008,
  ErrorCode: 0x0009,
  UnknownAttributes: 0x000a,
  ChannelNumber: 0x000c,
  Lifetime: 0x000d,
  XorPeerAddress: 0x0012,
  Data: 0x0013,
  Realm: 0x0014,
  Nonce: 0x0015,
  XorRelayedAddress: 0x0016,
  RequestedAddressFamily: 0x0017,
  EvenPort: 0x0018,
  RequestedTransport: 0x0019,
  XorMappedAddress: 0x0020,
  ReservationToken: 0x0022,
  Priority: 0x0024,
  UseCandidate: 0x0025,
  Software: 0x8022,
  Fingerprint: 0x8028,
} as const;

/** Comprehension-required attributes (0x0000-0x7FFF) this server understands. */
const UNDERSTOOD = new Set<number>(Object.values(Attr).filter((type) => type < 0x8000));

export interface TransportAddress {
  address: string;
  port: number;
}

/** What identifies a STUN message, and all it takes to answer one. */
export interface StunHeader {
  method: number;
  cls: MessageClass;
  transactionId: Buffer;
}

export interface StunMessage extends StunHeader {
  /** First occurrence of each attribute (value bytes, unpadded). */
  attributes: Map<number, Buffer>;
  /** Every XOR-PEER-ADDRESS, in order (CreatePermission may carry several). */
  peerAddresses: TransportAddress[];
  /** The raw message, for MESSAGE-INTEGRITY checks. */
  raw: Buffer;
  /** Offset of MESSAGE-INTEGRITY in raw, or -1. */
  integrityOffset: number;
  hasFingerprint: boolean;
  /** Comprehension-required attributes this codec does not know. */
  unknown: number[];
}

/** A STUN message starts with two zero bits and carries the magic cookie. */
export const isStun = (buf: Buffer) =>
  buf.length >= HEADER && (buf[0] & 0xc0) === 0 && buf.readUInt32BE(4) === MAGIC_COOKIE;

/** ChannelData messages start with a channel number in 0x4000-0x7FFF. */
export const isChannelData = (buf: Buffer) => buf.length >= 4 && (buf[0] & 0xc0) === 0x40;

/** Length of the framed message at the start of a TCP stream buffer, or 0 if incomplete. */
export function framedLength(buf: Buffer): number {
  if (buf.length < 4) return 0;
  const bodyLength = buf.readUInt16BE(2);
  const total = isChannelData(buf) ? 4 + ((bodyLength + 3) & ~3) : HEADER + bodyLength;
  return buf.length >= total ? total : 0;
}

/** The header of a STUN message, readable even when the rest of it is not. */
export function decodeHeader(raw: Buffer): StunHeader | undefined {
  if (!isStun(raw)) return undefined;
  const type = raw.readUInt16BE(0);
  return {
    method: (type & 0x000f) | ((type & 0x00e0) >> 1) | ((type & 0x3e00) >> 2),
    cls: (type & 0x0110) as MessageClass,
    transactionId: raw.subarray(8, 20),
  };
}

export function decode(raw: Buffer): StunMessage | undefined {
  const header = decodeHeader(raw);
  if (!header) return undefined;
  const length = raw.readUInt16BE(2);
  if (length % 4 !== 0 || HEADER + length > raw.length) return undefined;
  const message: StunMessage = {
    ...header,
    attributes: new Map(),
    peerAddresses: [],
    raw: raw.subarray(0, HEADER + length),
    integrityOffset: -1,
    hasFingerprint: false,
    unknown: [],
  };
  let offset = HEADER;
  while (offset + 4 <= HEADER + length) {
    const attrType = raw.readUInt16BE(offset);
    const attrLength = raw.readUInt16BE(offset + 2);
    const start = offset + 4;
    if (start + attrLength > HEADER + length) return undefined;
    const value = raw.subarray(start, start + attrLength);
    if (message.hasFingerprint) return undefined; // nothing may follow FINGERPRINT
    if (attrType === Attr.Fingerprint) {
      if (attrLength !== 4 || value.readUInt32BE(0) !== fingerprintOf(raw, offset))
        return undefined;
      message.hasFingerprint = true;
    } else if (message.integrityOffset < 0) {
      // Attributes after MESSAGE-INTEGRITY (other than FINGERPRINT) are ignored.
      if (attrType === Attr.MessageIntegrity) message.integrityOffset = offset;
      if (attrType === Attr.XorPeerAddress) {
        const peer = decodeXorAddress(value, message.transactionId);
        if (!peer) return undefined;
        message.peerAddresses.push(peer);
      }
      if (!message.attributes.has(attrType)) message.attributes.set(attrType, value);
      if (attrType < 0x8000 && !UNDERSTOOD.has(attrType)) message.unknown.push(attrType);
    }
    offset = start + ((attrLength + 3) & ~3);
  }
  return offset === HEADER + length ? message : undefined;
}

function fingerprintOf(raw: Buffer, fingerprintOffset: number): number {
  const copy = Buffer.from(raw.subarray(0, fingerprintOffset));
  copy.writeUInt16BE(fingerprintOffset + 8 - HEADER, 2);
  return (crc32(copy) ^ 0x5354554e) >>> 0;
}

export function decodeXorAddress(
  value: Buffer,
  transactionId: Buffer,
): TransportAddress | undefined {
  if (value.length < 4) return undefined;
  const family = value[1];
  const port = value.readUInt16BE(2) ^ (MAGIC_COOKIE >>> 16);
  if (family === 0x01 && value.length === 8) {
    const ip = (value.readUInt32BE(4) ^ MAGIC_COOKIE) >>> 0;
    return { address: [ip >>> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255].join('.'), port };
  }
  if (family === 0x02 && value.length === 20) {
    const mask = Buffer.concat([Buffer.from([0x21, 0x12, 0xa4, 0x42]), transactionId]);
    const bytes = value.subarray(4, 20).map((byte, i) => byte ^ mask[i]);
    const groups = [];
    for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] << 8) | bytes[i + 1]).toString(16));
    return { address: groups.join(':'), port };
  }
  return undefined;
}

function encodeXorAddress({ address, port }: TransportAddress, transactionId: Buffer): Buffer {
  const v4 = isIPv4(address) ? address : /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (v4) {
    const value = Buffer.alloc(8);
    value[1] = 0x01;
    value.writeUInt16BE(port ^ (MAGIC_COOKIE >>> 16), 2);
    const ip = v4.split('.').reduce((sum, octet) => sum * 256 + Number(octet), 0);
    value.writeUInt32BE((ip ^ MAGIC_COOKIE) >>> 0, 4);
    return value;
  }
  const value = Buffer.alloc(20);
  value[1] = 0x02;
  value.writeUInt16BE(port ^ (MAGIC_COOKIE >>> 16), 2);
  const mask = Buffer.concat([Buffer.from([0x21, 0x12, 0xa4, 0x42]), transactionId]);
  ipv6Bytes(address).forEach((byte, i) => (value[4 + i] = byte ^ mask[i]));
  return value;
}

export function ipv6Bytes(address: string): number[] {
  const [head, tail = ''] = address.split('::');
  const parse = (part: string) => (part ? part.split(':') : []);
  const headGroups = parse(head);
  const tailGroups = address.includes('::') ? parse(tail) : [];
  const groups = [
    ...headGroups,
    ...Array<string>(8 - headGroups.length - tailGroups.length).fill('0'),
    ...tailGroups,
  ];
  return groups.flatMap((group) => {
    const n = parseInt(group, 16) || 0;
    return [n >> 8, n & 255];
  });
}

/** Long-term credential key (RFC 5389 15.4): MD5(username ":" realm ":" password). */
export const longTermKey = (username: string, realm: string, password: string) =>
  createHash('md5').update(`${username}:${realm}:${password}`).digest();

/** Checks MESSAGE-INTEGRITY (HMAC-SHA1 over the message up to it, length adjusted). */
export function integrityValid(message: StunMessage, key: Buffer): boolean {
  const offset = message.integrityOffset;
  const received = message.attributes.get(Attr.MessageIntegrity);
  if (offset < 0 || received?.length !== 20) return false;
  const header = Buffer.from(message.raw.subarray(0, HEADER));
  header.writeUInt16BE(offset + 24 - HEADER, 2);
  const expected = createHmac('sha1', key)
    .update(header)
    .update(message.raw.subarray(HEADER, offset))
    .digest();
  return timingSafeEqual(expected, received);
}

export type AttributeValue = Buffer | string | number | TransportAddress;

/** Builds STUN messages; attributes are encoded as added. */
export class StunBuilder {
  private readonly parts: Buffer[] = [];
  private length = 0;

  constructor(
    private readonly method: number,
    private readonly cls: MessageClass,
    readonly transactionId: Buffer,
  ) {}

  add(type: number, value: Buffer): this {
    const header = Buffer.alloc(4);
    header.writeUInt16BE(type, 0);
    header.writeUInt16BE(value.length, 2);
    const padding = (4 - (value.length % 4)) % 4;
    this.parts.push(header, value, Buffer.alloc(padding));
    this.length += 4 + value.length + padding;
    return this;
  }

  addUInt32(type: number, value: number): this {
    const buf = Buffer.alloc(4);
    buf.writeUInt32BE(value >>> 0, 0);
    return this.add(type, buf);
  }

  addString(type: number, value: string): this {
    return this.add(type, Buffer.from(value, 'utf8'));
  }

  addXorAddress(type: number, address: TransportAddress): this {
    return this.add(type, encodeXorAddress(address, this.transactionId));
  }

  addError(code: number, reason: string): this {
    const head = Buffer.from([0, 0, Math.floor(code / 100), code % 100]);
    return this.add(Attr.ErrorCode, Buffer.concat([head, Buffer.from(reason, 'utf8')]));
  }

  private header(length: number): Buffer {
    const header = Buffer.alloc(HEADER);
    const m = this.method;
    header.writeUInt16BE((m & 0x000f) | ((m & 0x0070) << 1) | ((m & 0x0f80) << 2) | this.cls, 0);
    header.writeUInt16BE(length, 2);
    header.writeUInt32BE(MAGIC_COOKIE, 4);
    this.transactionId.copy(header, 8);
    return header;
  }

  /** Encodes, with MESSAGE-INTEGRITY when a key is given and FINGERPRINT when asked. */
  build(key?: Buffer, fingerprint = false): Buffer {
    let message = Buffer.concat([this.header(this.length + (key ? 24 : 0)), ...this.parts]);
    if (key) {
      const hmac = createHmac('sha1', key).update(message).digest();
      const attr = Buffer.alloc(24);
      attr.writeUInt16BE(Attr.MessageIntegrity, 0);
      attr.writeUInt16BE(20, 2);
      hmac.copy(attr, 4);
      message = Buffer.concat([message, attr]);
    }
    if (fingerprint) {
      message.writeUInt16BE(message.length + 8 - HEADER, 2);
      const attr = Buffer.alloc(8);
      attr.writeUInt16BE(Attr.Fingerprint, 0);
      attr.writeUInt16BE(4, 2);
      attr.writeUInt32BE((crc32(message) ^ 0x5354554e) >>> 0, 4);
      message = Buffer.concat([message, attr]);
    }
    return message;
  }
}
