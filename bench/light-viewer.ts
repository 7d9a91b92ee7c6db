/**
 * A viewer without a WebRTC media stack, for measuring the shard rather than the client:
 * socket.io signaling (one join that also sets up receiving, see ReceiveRequest), ICE by hand (mediasoup is
 * ICE-lite, so one nominated binding request completes it), a real DTLS handshake
 * (werift-dtls) and the first SRTP packet from the publisher authenticated and decrypted
 * (werift-rtp). It neither decodes nor keeps a jitter buffer, so a hundred of them cost the
 * client machine a fraction of what a hundred libwebrtc peers do.
 */
import {
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  randomBytes,
  X509Certificate,
} from 'node:crypto';
import { createSocket, Socket as UdpSocket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Socket } from 'socket.io-client';
import {
  CipherContext,
  DtlsClient,
  HashAlgorithm,
  NamedCurveAlgorithm,
  SignatureAlgorithm,
} from 'werift-dtls/lib/dtls/src'; // the package's main entry is missing from its build
import { ProtectionProfileAes128CmHmacSha1_80, SrtpSession } from 'werift-rtp';
import nacl from 'tweetnacl';
import type { WebRtcTransportParams } from '../src/signaling/socketio/protocol';
import { Attr, Class, decode, Method, StunBuilder } from '../src/turn/stun-message';
import { connectSocket, request } from '../test/support/signaling-client';

const ICE_CONTROLLING = 0x802a;
const BINDING_RETRY_MS = 100;
const SRTP_KEY_LENGTH = 16;
const SRTP_SALT_LENGTH = 14;

/** What the viewer takes: it authenticates and decrypts, so any payload will do. */
const VIEWER_CAPABILITIES = {
  codecs: [
    { kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 },
    { kind: 'video', mimeType: 'video/VP8', clockRate: 90000 },
  ],
  headerExtensions: [],
};

export interface LightTimings {
  /** The join answer arrived. */
  joined: number;
  /** ICE and DTLS completed on the receive transport. */
  connected: number;
  /** The first RTP packet from the publisher was authenticated and decrypted. */
  firstPacket: number;
}

/*
 * werift-dtls does its X25519 key exchange with tweetnacl in JavaScript (~5 ms of CPU per
 * handshake, where a browser spends microseconds). The same two tweetnacl functions, done
 * by Node's OpenSSL, keep the client's cost out of the shard's figures.
 */
const X25519_PKCS8 = Buffer.from('302e020100300506032b656e04220420', 'hex');
const X25519_SPKI = Buffer.from('302a300506032b656e032100', 'hex');
const x25519Private = (raw: Uint8Array) =>
  createPrivateKey({ key: Buffer.concat([X25519_PKCS8, raw]), format: 'der', type: 'pkcs8' });
const x25519Public = (raw: Uint8Array) =>
  createPublicKey({ key: Buffer.concat([X25519_SPKI, raw]), format: 'der', type: 'spki' });
nacl.box.keyPair = Object.assign(() => {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  return {
    secretKey: new Uint8Array(privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(16)),
    publicKey: new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }).subarray(12)),
  };
}, nacl.box.keyPair);
nacl.scalarMult = Object.assign(
  (secret: Uint8Array, peer: Uint8Array) =>
    new Uint8Array(
      diffieHellman({ privateKey: x25519Private(secret), publicKey: x25519Public(peer) }),
    ),
  nacl.scalarMult,
);

type Certificate = { certPem: string; keyPem: string; fingerprint: string };
let certificate: Promise<Certificate> | undefined;

/**
 * One ECDSA certificate per process, as a browser keeps one per profile. werift makes it in
 * JavaScript (~50 ms, where a browser takes ~1 ms natively), so the bench makes it before
 * its clock starts.
 */
export function dtlsCertificate(): Promise<Certificate> {
  return (certificate ??= CipherContext.createSelfSignedCertificateWithKey(
    { hash: HashAlgorithm.sha256_4, signature: SignatureAlgorithm.ecdsa_3 },
    NamedCurveAlgorithm.secp256r1_23,
  ).then(({ certPem, keyPem }: { certPem: string; keyPem: string }) => ({
    certPem,
    keyPem,
    fingerprint: new X509Certificate(certPem).fingerprint256,
  })));
}

/** What arrives on the one UDP socket: RFC 7983 demultiplexing by the first byte. */
const isStunPacket = (b: Buffer) => b.length >= 20 && b[0] < 4;
const isDtlsPacket = (b: Buffer) => b.length > 13 && b[0] >= 20 && b[0] <= 63;
const isRtpPacket = (b: Buffer) =>
  b.length >= 12 && b[0] >= 128 && b[0] <= 191 && !(b[1] >= 192 && b[1] <= 223);

export class LightViewer {
  private readonly udp: UdpSocket = createSocket('udp4');
  private dtls?: DtlsClient;

  private constructor(private readonly socket: Socket) {}

  /**
   * Connects, joins `room` and receives `publisherId`'s media; resolves once its first
   * RTP packet is decrypted. Times are from the start of the call.
   */
  static async measure(
    baseUrl: string,
    room: string,
    displayName: string,
    publisherId: string,
    onPhase: (phase: 'joined' | 'receiving') => void = () => undefined,
  ): Promise<{ viewer: LightViewer; timings: LightTimings }> {
    const started = performance.now();
    const since = () => performance.now() - started;
    const { fingerprint } = await dtlsCertificate();
    const viewer = new LightViewer(await connectSocket(baseUrl, { timeoutMs: 30_000 }));
    const bound = new Promise<void>((resolve) => viewer.udp.bind(0, '127.0.0.1', resolve));
    const answer = await request(viewer.socket, 'join', {
      room,
      displayName,
      receive: {
        rtpCapabilities: VIEWER_CAPABILITIES,
        dtlsParameters: {
          role: 'client',
          fingerprints: [{ algorithm: 'sha-256', value: fingerprint }],
        },
      },
    });
    if ('lobby' in answer) throw new Error('the bench room has no lobby');
    const joined = since();
    onPhase('joined');
    const { transport, consumers } = answer.receive!;
    const ssrcs = new Set(
      consumers
        .filter((c) => c.participantId === publisherId)
        .map((c) => c.rtpParameters.encodings[0].ssrc as number),
    );
    if (!ssrcs.size) throw new Error('the join answer has no consumer of the publisher');
    await bound;
    await viewer.connect(transport);
    const connected = since();
    await viewer.firstRtpPacket(ssrcs);
    onPhase('receiving');
    return { viewer, timings: { joined, connected, firstPacket: since() } };
  }

  close() {
    this.dtls?.close();
    this.udp.close();
    this.socket.close();
  }

  /** ICE (one nominated binding request), then DTLS as the client. */
  private async connect(transport: WebRtcTransportParams) {
    const { certPem, keyPem } = await dtlsCertificate();
    const candidate = transport.iceCandidates.find(
      (c: { protocol: string; address?: string; ip?: string }) => c.protocol === 'udp',
    );
    if (!candidate) throw new Error('the transport offers no UDP candidate');
    const server = { address: candidate.address ?? candidate.ip, port: candidate.port };
    await this.iceBinding(server, transport.iceParameters);
    const dtls = (this.dtls = new DtlsClient({
      transport: {
        type: 'udp',
        address: this.udp.address() as AddressInfo,
        closed: false,
        onData: () => undefined,
        send: async (data: Buffer) => void this.udp.send(data, server.port, server.address),
        close: async () => undefined,
      },
      cert: certPem,
      key: keyPem,
      signatureHash: { hash: HashAlgorithm.sha256_4, signature: SignatureAlgorithm.ecdsa_3 },
      certificateRequest: true,
      srtpProfiles: [ProtectionProfileAes128CmHmacSha1_80],
    }));
    this.udp.on('message', (packet, from) => {
      if (isDtlsPacket(packet)) dtls.transport.socket.onData(packet, [from.address, from.port]);
    });
    await new Promise<void>((resolve, reject) => {
      dtls.onConnect.once(() => resolve());
      dtls.onError.once(reject);
      void dtls.connect();
    });
  }

  /** Sends a nominating binding request until the ICE-lite server answers it. */
  private iceBinding(
    server: { address: string; port: number },
    ice: { usernameFragment: string; password: string },
  ): Promise<void> {
    const transactionId = randomBytes(12);
    const request = new StunBuilder(Method.Binding, Class.Request, transactionId)
      .addString(Attr.Username, `${ice.usernameFragment}:${randomBytes(4).toString('hex')}`)
      .addUInt32(Attr.Priority, 0x7e7fffff)
      .add(ICE_CONTROLLING, randomBytes(8))
      .add(Attr.UseCandidate, Buffer.alloc(0))
      .build(Buffer.from(ice.password, 'utf8'), true);
    return new Promise((resolve) => {
      const send = () => this.udp.send(request, server.port, server.address);
      const retry = setInterval(send, BINDING_RETRY_MS);
      const onMessage = (packet: Buffer) => {
        if (!isStunPacket(packet)) return;
        const answer = decode(packet);
        if (answer?.cls !== Class.Success || !answer.transactionId.equals(transactionId)) return;
        clearInterval(retry);
        this.udp.off('message', onMessage);
        resolve();
      };
      this.udp.on('message', onMessage);
      send();
    });
  }

  /** Resolves when an RTP packet for one of the SSRCs decrypts with the DTLS-SRTP keys. */
  private firstRtpPacket(ssrcs: Set<number>): Promise<void> {
    const keys = this.dtls!.extractSessionKeys(SRTP_KEY_LENGTH, SRTP_SALT_LENGTH);
    const srtp = new SrtpSession({
      keys: {
        localMasterKey: keys.localKey,
        localMasterSalt: keys.localSalt,
        remoteMasterKey: keys.remoteKey,
        remoteMasterSalt: keys.remoteSalt,
      },
      profile: ProtectionProfileAes128CmHmacSha1_80,
    });
    return new Promise((resolve) => {
      const onMessage = (packet: Buffer) => {
        if (!isRtpPacket(packet) || !ssrcs.has(packet.readUInt32BE(8))) return;
        try {
          srtp.decrypt(packet);
        } catch {
          return;
        }
        this.udp.off('message', onMessage);
        resolve();
      };
      this.udp.on('message', onMessage);
    });
  }
}
