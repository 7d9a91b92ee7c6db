/**
 * The client half of a WebRTC DTLS 1.2 handshake, just as much as a bench viewer needs
 * against mediasoup, with every cryptographic step in Node's OpenSSL: one cipher suite
 * (ECDHE-ECDSA-AES128-GCM-SHA256), P-256, use_srtp (SRTP_AES128_CM_HMAC_SHA1_80), a
 * client certificate, and the server's certificate checked against the fingerprint
 * signaled for it. JavaScript DTLS stacks spend ten times the CPU of a browser's native
 * one on a handshake, and the bench's viewers share the shard's two cores.
 *
 * Not a general DTLS client: no other suites or curves, no renegotiation or resumption,
 * no alerts beyond failing, handshake messages reassembled only when fragments arrive in
 * order (as OpenSSL sends them).
 */
import { execFileSync } from 'node:child_process';
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createECDH,
  KeyObject,
  randomBytes,
  sign,
  verify,
  X509Certificate,
} from 'node:crypto';

const VERSION = Buffer.from([0xfe, 0xfd]); // DTLS 1.2
const RECORD_HEADER = 13;
const HANDSHAKE_HEADER = 12;
const RETRANSMIT_MS = 250;
const enum ContentType {
  ChangeCipherSpec = 20,
  Handshake = 22,
}
const enum HandshakeType {
  ClientHello = 1,
  ServerHello = 2,
  HelloVerifyRequest = 3,
  Certificate = 11,
  ServerKeyExchange = 12,
  CertificateRequest = 13,
  ServerHelloDone = 14,
  CertificateVerify = 15,
  ClientKeyExchange = 16,
  Finished = 20,
}
const ECDHE_ECDSA_AES128_GCM_SHA256 = 0xc02b;
/**
 * The one curve, for the key exchange and the certificates. P-256 rather than X25519:
 * Node's ECDH class does it on raw points, twice as fast as X25519 through KeyObjects.
 */
const SECP256R1 = 0x0017;
const ECDSA_SECP256R1_SHA256 = 0x0403;
const SRTP_AES128_CM_HMAC_SHA1_80 = 0x0001;

export interface ClientCertificate {
  der: Buffer;
  key: KeyObject;
  /** SHA-256 fingerprint as signaled in DTLS parameters (AA:BB:…). */
  fingerprint: string;
}

/** A self-signed ECDSA P-256 certificate, made once per process as a browser keeps one. */
export function makeClientCertificate(): ClientCertificate {
  const pems = execFileSync(
    'openssl',
    [
      ...['req', '-x509', '-nodes', '-subj', '/CN=viewer', '-days', '2', '-keyout', '-'],
      ...['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'],
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
  );
  const pem = (label: string) =>
    new RegExp(`-----BEGIN ${label}-----[^-]+-----END ${label}-----`).exec(pems)![0];
  const certificate = new X509Certificate(pem('CERTIFICATE'));
  return {
    der: certificate.raw,
    key: createPrivateKey(pem('PRIVATE KEY')),
    fingerprint: certificate.fingerprint256,
  };
}

export interface SrtpKeys {
  localKey: Buffer;
  localSalt: Buffer;
  remoteKey: Buffer;
  remoteSalt: Buffer;
}

/** TLS 1.2 PRF with SHA-256 (RFC 5246 §5). */
function prf(secret: Buffer, label: string, seed: Buffer, length: number): Buffer {
  const labelSeed = Buffer.concat([Buffer.from(label, 'ascii'), seed]);
  const out: Buffer[] = [];
  let a = labelSeed;
  for (let total = 0; total < length; total += 32) {
    a = createHmac('sha256', secret).update(a).digest();
    out.push(createHmac('sha256', secret).update(a).update(labelSeed).digest());
  }
  return Buffer.concat(out).subarray(0, length);
}

const uint = (value: number, bytes: number) => {
  const b = Buffer.alloc(bytes);
  b.writeUIntBE(value, 0, bytes);
  return b;
};
/** A length-prefixed vector. */
const vector = (bytes: number, ...parts: Buffer[]) => {
  const body = Buffer.concat(parts);
  return Buffer.concat([uint(body.length, bytes), body]);
};
const extension = (type: number, data: Buffer) => Buffer.concat([uint(type, 2), vector(2, data)]);
const recordHeader = (type: ContentType, epochAndSeq: Buffer, length: number) =>
  Buffer.concat([Buffer.from([type]), VERSION, epochAndSeq, uint(length, 2)]);
/** GCM's additional data (RFC 5246 §6.2.3.3): sequence, type, version, length. */
const additionalData = (epochAndSeq: Buffer, type: ContentType, length: number) =>
  Buffer.concat([epochAndSeq, Buffer.from([type]), VERSION, uint(length, 2)]);
const epochAndSeq = (epoch: number, seq: number) => Buffer.concat([uint(epoch, 2), uint(seq, 6)]);
/** A handshake message in one fragment, as sent and as the transcript hash takes it. */
const unfragmented = (type: HandshakeType, seq: number, body: Buffer) =>
  Buffer.concat([
    Buffer.from([type]),
    uint(body.length, 3),
    uint(seq, 2),
    uint(0, 3),
    uint(body.length, 3),
    body,
  ]);

interface Keys {
  master: Buffer;
  clientKey: Buffer;
  serverKey: Buffer;
  clientIv: Buffer;
  serverIv: Buffer;
}

/**
 * Server public keys by certificate fingerprint: a mediasoup worker presents the same
 * certificate on every transport, and parsing it costs more than the rest of a handshake.
 */
const serverPublicKeys = new Map<string, KeyObject>();

export class DtlsClient {
  private readonly clientRandom = randomBytes(32);
  private serverRandom = Buffer.alloc(0);
  private readonly ecdhe = createECDH('prime256v1');
  /** The ephemeral ECDHE public key, an uncompressed point. */
  private readonly ecdhePublic = this.ecdhe.generateKeys();
  /** Handshake messages so far, with unfragmented headers, for the transcript hash. */
  private transcript: Buffer[] = [];
  private sendMessageSeq = 0;
  private nextReceiveSeq = 0;
  private readonly recordSeq = [0, 0];
  private partial?: { seq: number; type: number; length: number; body: Buffer };
  private serverPublicKey?: KeyObject;
  private keys?: Keys;
  private retransmit?: NodeJS.Timeout;
  private settle?: { resolve(keys: SrtpKeys): void; reject(error: Error): void };

  constructor(
    private readonly send: (datagram: Buffer) => void,
    private readonly certificate: ClientCertificate,
    /** The server's SHA-256 fingerprint from its DTLS parameters. */
    private readonly serverFingerprint: string,
  ) {}

  /** Runs the handshake; resolves with the DTLS-SRTP keys. */
  handshake(): Promise<SrtpKeys> {
    return new Promise((resolve, reject) => {
      this.settle = { resolve, reject };
      this.flight([this.record(ContentType.Handshake, this.clientHello(Buffer.alloc(0)))]);
    });
  }

  /** Feeds a datagram that arrived from the server (RFC 7983: first byte 20 to 63). */
  receive(datagram: Buffer) {
    try {
      for (let at = 0; at + RECORD_HEADER <= datagram.length;) {
        const type = datagram[at];
        const epoch = datagram.readUInt16BE(at + 3);
        const length = datagram.readUInt16BE(at + 11);
        const header = datagram.subarray(at, at + RECORD_HEADER);
        const body = datagram.subarray(at + RECORD_HEADER, at + RECORD_HEADER + length);
        at += RECORD_HEADER + length;
        if (type === ContentType.Handshake && epoch === 0) this.handshakeRecord(body);
        else if (type === ContentType.Handshake && epoch === 1) this.finished(header, body);
      }
    } catch (error) {
      this.fail(error as Error);
    }
  }

  close() {
    clearTimeout(this.retransmit);
  }

  private fail(error: Error) {
    this.close();
    this.settle?.reject(error);
    this.settle = undefined;
  }

  /** Sends a flight and repeats it until the server answers. */
  private flight(records: Buffer[]) {
    clearTimeout(this.retransmit);
    const flight = Buffer.concat(records);
    const sendAgain = () => {
      this.send(flight);
      this.retransmit = setTimeout(sendAgain, RETRANSMIT_MS);
    };
    sendAgain();
  }

  /** A plaintext record (epoch 0). */
  private record(type: ContentType, body: Buffer): Buffer {
    return Buffer.concat([
      recordHeader(type, epochAndSeq(0, this.recordSeq[0]++), body.length),
      body,
    ]);
  }

  /** A handshake message of ours; it joins the transcript. */
  private handshakeMessage(type: HandshakeType, body: Buffer): Buffer {
    const message = unfragmented(type, this.sendMessageSeq++, body);
    this.transcript.push(message);
    return message;
  }

  private clientHello(cookie: Buffer): Buffer {
    const body = Buffer.concat([
      VERSION,
      this.clientRandom,
      Buffer.from([0]), // no session id
      vector(1, cookie),
      vector(2, uint(ECDHE_ECDSA_AES128_GCM_SHA256, 2)),
      Buffer.from([1, 0]), // null compression
      vector(
        2,
        extension(0x000a, vector(2, uint(SECP256R1, 2))), // supported groups
        extension(0x000b, vector(1, Buffer.from([0]))), // uncompressed points
        extension(0x000d, vector(2, uint(ECDSA_SECP256R1_SHA256, 2))), // signatures
        extension(
          0x000e,
          Buffer.concat([vector(2, uint(SRTP_AES128_CM_HMAC_SHA1_80, 2)), Buffer.from([0])]),
        ),
        extension(0xff01, Buffer.from([0])), // renegotiation info: a first handshake
      ),
    ]);
    return this.handshakeMessage(HandshakeType.ClientHello, body);
  }

  private handshakeRecord(record: Buffer) {
    for (let at = 0; at + HANDSHAKE_HEADER <= record.length;) {
      const type = record[at];
      const length = record.readUIntBE(at + 1, 3);
      const seq = record.readUInt16BE(at + 4);
      const offset = record.readUIntBE(at + 6, 3);
      const fragmentLength = record.readUIntBE(at + 9, 3);
      const fragment = record.subarray(
        at + HANDSHAKE_HEADER,
        at + HANDSHAKE_HEADER + fragmentLength,
      );
      at += HANDSHAKE_HEADER + fragmentLength;
      if (seq !== this.nextReceiveSeq) continue; // a retransmission, or out of order
      if (offset === 0) this.partial = { seq, type, length, body: fragment };
      else if (this.partial?.seq === seq && offset === this.partial.body.length) {
        this.partial.body = Buffer.concat([this.partial.body, fragment]);
      } else continue;
      const { body } = this.partial!;
      if (body.length < length) continue;
      this.partial = undefined;
      this.nextReceiveSeq += 1;
      this.onMessage(type, seq, body);
    }
  }

  private onMessage(type: HandshakeType, seq: number, body: Buffer) {
    if (type === HandshakeType.HelloVerifyRequest) {
      // The hello with a cookie replaces the first one in the transcript.
      this.transcript = [];
      const cookie = body.subarray(3, 3 + body[2]);
      this.flight([this.record(ContentType.Handshake, this.clientHello(cookie))]);
      return;
    }
    this.transcript.push(unfragmented(type, seq, body));
    if (type === HandshakeType.ServerHello) {
      this.serverRandom = Buffer.from(body.subarray(2, 34));
      const suiteAt = 34 + 1 + body[34];
      if (body.readUInt16BE(suiteAt) !== ECDHE_ECDSA_AES128_GCM_SHA256) {
        throw new Error('the server chose another cipher suite');
      }
    } else if (type === HandshakeType.Certificate) {
      const der = body.subarray(6, 6 + body.readUIntBE(3, 3));
      const fingerprint = createHash('sha256')
        .update(der)
        .digest('hex')
        .replace(/..(?!$)/g, '$&:');
      if (fingerprint.toUpperCase() !== this.serverFingerprint.toUpperCase()) {
        throw new Error('the server certificate does not match the signaled fingerprint');
      }
      this.serverPublicKey = serverPublicKeys.get(fingerprint);
      if (!this.serverPublicKey) {
        this.serverPublicKey = new X509Certificate(der).publicKey;
        serverPublicKeys.set(fingerprint, this.serverPublicKey);
      }
    } else if (type === HandshakeType.ServerKeyExchange) {
      this.serverKeyExchange(body);
    } else if (type === HandshakeType.ServerHelloDone) {
      this.clientFlight();
    }
  }

  /** Checks the server's signature over its ECDHE key and derives the session keys. */
  private serverKeyExchange(body: Buffer) {
    if (body[0] !== 3 || body.readUInt16BE(1) !== SECP256R1) throw new Error('unexpected curve');
    const params = body.subarray(0, 4 + body[3]);
    const serverPublic = params.subarray(4);
    const signature = body.subarray(
      params.length + 4,
      params.length + 4 + body.readUInt16BE(params.length + 2),
    );
    const signed = Buffer.concat([this.clientRandom, this.serverRandom, params]);
    if (!verify('sha256', signed, this.serverPublicKey!, signature)) {
      throw new Error('the server key exchange signature does not verify');
    }
    const preMaster = this.ecdhe.computeSecret(serverPublic);
    const randoms = Buffer.concat([this.clientRandom, this.serverRandom]);
    const master = prf(preMaster, 'master secret', randoms, 48);
    const block = prf(
      master,
      'key expansion',
      Buffer.concat([this.serverRandom, this.clientRandom]),
      40,
    );
    this.keys = {
      master,
      clientKey: block.subarray(0, 16),
      serverKey: block.subarray(16, 32),
      clientIv: block.subarray(32, 36),
      serverIv: block.subarray(36, 40),
    };
  }

  /** Certificate, ClientKeyExchange, CertificateVerify, ChangeCipherSpec and Finished. */
  private clientFlight() {
    const keys = this.keys!;
    const messages = [
      this.handshakeMessage(HandshakeType.Certificate, vector(3, vector(3, this.certificate.der))),
      this.handshakeMessage(HandshakeType.ClientKeyExchange, vector(1, this.ecdhePublic)),
    ];
    const signature = sign('sha256', Buffer.concat(this.transcript), this.certificate.key);
    messages.push(
      this.handshakeMessage(
        HandshakeType.CertificateVerify,
        Buffer.concat([uint(ECDSA_SECP256R1_SHA256, 2), vector(2, signature)]),
      ),
    );
    const verifyData = prf(keys.master, 'client finished', this.transcriptHash(), 12);
    const finished = this.handshakeMessage(HandshakeType.Finished, verifyData);
    this.flight([
      ...messages.map((m) => this.record(ContentType.Handshake, m)),
      this.record(ContentType.ChangeCipherSpec, Buffer.from([1])),
      this.encryptedRecord(ContentType.Handshake, finished),
    ]);
  }

  private transcriptHash(): Buffer {
    return createHash('sha256').update(Buffer.concat(this.transcript)).digest();
  }

  /** AES-128-GCM in epoch 1 (RFC 5288): the explicit nonce is the epoch and sequence. */
  private encryptedRecord(type: ContentType, plaintext: Buffer): Buffer {
    const explicit = epochAndSeq(1, this.recordSeq[1]++);
    const cipher = createCipheriv(
      'aes-128-gcm',
      this.keys!.clientKey,
      Buffer.concat([this.keys!.clientIv, explicit]),
    );
    cipher.setAAD(additionalData(explicit, type, plaintext.length));
    const body = Buffer.concat([
      explicit,
      cipher.update(plaintext),
      cipher.final(),
      cipher.getAuthTag(),
    ]);
    return Buffer.concat([recordHeader(type, explicit, body.length), body]);
  }

  /** The server's encrypted Finished: checked against the transcript, then done. */
  private finished(header: Buffer, body: Buffer) {
    if (!this.keys || !this.settle) return;
    const explicit = body.subarray(0, 8);
    const ciphertext = body.subarray(8, body.length - 16);
    const decipher = createDecipheriv(
      'aes-128-gcm',
      this.keys.serverKey,
      Buffer.concat([this.keys.serverIv, explicit]),
    );
    decipher.setAAD(
      additionalData(header.subarray(3, 11), ContentType.Handshake, ciphertext.length),
    );
    decipher.setAuthTag(body.subarray(body.length - 16));
    const message = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
    const expected = prf(this.keys.master, 'server finished', this.transcriptHash(), 12);
    if (
      message[0] !== HandshakeType.Finished ||
      !message.subarray(HANDSHAKE_HEADER).equals(expected)
    ) {
      throw new Error('the server Finished does not verify');
    }
    this.close();
    const material = prf(
      this.keys.master,
      'EXTRACTOR-dtls_srtp',
      Buffer.concat([this.clientRandom, this.serverRandom]),
      60,
    );
    this.settle.resolve({
      localKey: material.subarray(0, 16),
      remoteKey: material.subarray(16, 32),
      localSalt: material.subarray(32, 46),
      remoteSalt: material.subarray(46, 60),
    });
    this.settle = undefined;
  }
}
