import fc from 'fast-check';
import {
  Attr,
  Class,
  decode,
  decodeHeader,
  framedLength,
  integrityValid,
  isChannelData,
  longTermKey,
  MAGIC_COOKIE,
  Method,
  MessageClass,
  StunBuilder,
} from '../../src/turn/stun-message';
import { PeerAddressPolicy } from '../../src/turn/peer-address-policy';

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');

describe('STUN message codec', () => {
  it('reads the RFC 5769 sample request: integrity (short-term key) and fingerprint', () => {
    const sample = hex(`
      0001 0058 2112a442 b7e7a701 bc34d686 fa87dfae
      8022 0010 5354554e 20746573 7420636c 69656e74
      0024 0004 6e0001ff
      8029 0008 932ff9b1 51263b36
      0006 0009 6576746a 3a683676 59202020
      0008 0014 9aeaa70c bfd8cb56 781ef2b5 b2d3f249 c1b571a2
      8028 0004 e57a3bcf`);
    const message = decode(sample)!;
    expect(message).toMatchObject({
      method: Method.Binding,
      cls: Class.Request,
      hasFingerprint: true,
    });
    expect(message.attributes.get(Attr.Username)!.toString()).toBe('evtj:h6vY');
    expect(message.unknown).toEqual([]);
    expect(integrityValid(message, Buffer.from('VOkJxbRl1RmTxUk/WvJxBt'))).toBe(true);
    expect(integrityValid(message, Buffer.from('wrong'))).toBe(false);

    const corrupted = Buffer.from(sample);
    corrupted[30] ^= 1; // inside SOFTWARE: the fingerprint no longer matches
    expect(decode(corrupted)).toBeUndefined();
  });

  it('builds signed messages that it reads back, addresses included (IPv4 and IPv6)', () => {
    const key = longTermKey('1700000000:alice', 'video-window', 'secret');
    const id = Buffer.alloc(12, 7);
    const built = new StunBuilder(Method.Allocate, Class.Success, id)
      .addXorAddress(Attr.XorRelayedAddress, { address: '192.0.2.1', port: 32853 })
      .addXorAddress(Attr.XorPeerAddress, {
        address: '2001:db8:1234:5678:11:2233:4455:6677',
        port: 443,
      })
      .addUInt32(Attr.Lifetime, 600)
      .add(0x7777, Buffer.from('x'))
      .build(key, true);
    const message = decode(built)!;
    expect(message).toMatchObject({
      method: Method.Allocate,
      cls: Class.Success,
      hasFingerprint: true,
    });
    expect(integrityValid(message, key)).toBe(true);
    expect(message.peerAddresses).toEqual([
      { address: '2001:db8:1234:5678:11:2233:4455:6677', port: 443 },
    ]);
    expect(message.attributes.get(Attr.Lifetime)!.readUInt32BE(0)).toBe(600);
    expect(message.unknown).toEqual([0x7777]);
  });

  it('rejects truncated and malformed input without throwing', () => {
    const good = new StunBuilder(Method.Binding, Class.Request, Buffer.alloc(12)).build();
    for (let length = 0; length < good.length; length++) {
      expect(decode(good.subarray(0, length))).toBeUndefined();
    }
    const lying = Buffer.from(good);
    lying.writeUInt16BE(400, 2);
    expect(decode(lying)).toBeUndefined();
    const attribute = new StunBuilder(Method.Binding, Class.Request, Buffer.alloc(12))
      .add(Attr.Username, Buffer.from('abcd'))
      .build();
    attribute.writeUInt16BE(200, 22); // attribute longer than the message
    expect(decode(attribute)).toBeUndefined();
  });

  it('frames STUN and padded ChannelData on TCP streams', () => {
    const stun = new StunBuilder(Method.Binding, Class.Request, Buffer.alloc(12)).build();
    expect(framedLength(stun)).toBe(20);
    expect(framedLength(stun.subarray(0, 19))).toBe(0);
    const channelData = Buffer.from([0x40, 0x00, 0x00, 0x05, 1, 2, 3, 4, 5, 0, 0, 0]);
    expect(framedLength(channelData)).toBe(12);
    expect(framedLength(channelData.subarray(0, 9))).toBe(0);
  });
});

describe('STUN message codec, properties', () => {
  const params = { numRuns: 2_000, seed: 20261203 };
  /** A header that passes for STUN, then anything: past the decoder's first check. */
  const stunLike = fc
    .tuple(
      fc.integer({ min: 0, max: 0x3fff }),
      fc.uint8Array({ maxLength: 12 }),
      fc.uint8Array({ maxLength: 300 }),
    )
    .map(([type, id, body]) => {
      const raw = Buffer.alloc(20 + body.length);
      raw.writeUInt16BE(type, 0);
      raw.writeUInt16BE(body.length, 2);
      raw.writeUInt32BE(MAGIC_COOKIE, 4);
      Buffer.from(id).copy(raw, 8);
      Buffer.from(body).copy(raw, 20);
      return raw;
    });
  const anyBytes = fc.oneof(fc.uint8Array({ maxLength: 300 }).map(Buffer.from), stunLike);

  it('never throws while reading arbitrary bytes', () => {
    const key = Buffer.alloc(16, 1);
    fc.assert(
      fc.property(anyBytes, (raw) => {
        decodeHeader(raw);
        framedLength(raw);
        isChannelData(raw);
        const message = decode(raw);
        if (message) integrityValid(message, key);
      }),
      params,
    );
  });

  const attribute = fc.record({
    // Anything but the attributes the builder writes itself or that must parse as addresses.
    type: fc
      .integer({ min: 0, max: 0xffff })
      .filter(
        (type) =>
          ![Attr.MessageIntegrity, Attr.Fingerprint, Attr.XorPeerAddress].includes(type as never),
      ),
    value: fc.uint8Array({ maxLength: 64 }).map(Buffer.from),
  });

  it('reads back what it builds: header, attributes, integrity and fingerprint', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xfff }),
        fc.constantFrom<MessageClass>(Class.Request, Class.Indication, Class.Success, Class.Error),
        fc.uint8Array({ minLength: 12, maxLength: 12 }).map(Buffer.from),
        fc.array(attribute, { maxLength: 12 }),
        fc.option(fc.uint8Array({ minLength: 1, maxLength: 20 }).map(Buffer.from)),
        fc.boolean(),
        (method, cls, transactionId, attributes, key, fingerprint) => {
          const builder = new StunBuilder(method, cls, transactionId);
          for (const { type, value } of attributes) builder.add(type, value);
          const message = decode(builder.build(key ?? undefined, fingerprint));
          expect(message).toMatchObject({
            method,
            cls,
            transactionId,
            hasFingerprint: fingerprint,
          });
          const first = new Map<number, Buffer>();
          for (const { type, value } of attributes) if (!first.has(type)) first.set(type, value);
          expect(new Map([...message!.attributes].filter(([type]) => first.has(type)))).toEqual(
            first,
          );
          expect(message!.attributes.size).toBe(first.size + (key ? 1 : 0));
          if (key) expect(integrityValid(message!, key)).toBe(true);
        },
      ),
      { ...params, numRuns: 500 },
    );
  });
});

describe('peer address policy', () => {
  it('refuses special ranges of both families unless allow-listed', () => {
    const policy = new PeerAddressPolicy();
    for (const address of [
      '127.0.0.1',
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '169.254.1.1',
      '0.0.0.0',
      '224.0.0.1',
      '255.255.255.255',
      '100.64.0.1',
      '::1',
      '::',
      'fe80::1',
      'fc00::1',
      'ff02::1',
      '::ffff:127.0.0.1',
      'not-an-address',
    ]) {
      expect([address, policy.permits(address)]).toEqual([address, false]);
    }
    for (const address of ['8.8.8.8', '203.0.113.9', '2001:4860::8888']) {
      expect([address, policy.permits(address)]).toEqual([address, true]);
    }
    const allowing = new PeerAddressPolicy(['127.0.0.1/32', '10.0.0.0/8']);
    expect(allowing.permits('127.0.0.1')).toBe(true);
    expect(allowing.permits('127.0.0.2')).toBe(false);
    expect(allowing.permits('10.200.0.1')).toBe(true);
  });
});
