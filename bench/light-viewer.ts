/**
 * A viewer without a WebRTC media stack, for measuring the shard rather than the client:
 * socket.io signaling (one join that also sets up receiving, see ReceiveRequest), ICE by
 * hand (mediasoup is ICE-lite, so one nominated binding request completes it), a real DTLS
 * handshake (dtls-client.ts) and the first SRTP packet from the publisher authenticated
 * with the keys it exported. It neither decrypts nor decodes media, so a hundred of them
 * cost the client machine a fraction of what a hundred libwebrtc peers do.
 */
import { createCipheriv, createHmac, randomBytes } from 'node:crypto';
import { createSocket, Socket as UdpSocket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import type { Socket } from 'socket.io-client';
import type { WebRtcTransportParams } from '../src/signaling/socketio/protocol';
import { Attr, Class, decode, Method, StunBuilder } from '../src/turn/stun-message';
import { connectSocket, request } from '../test/support/signaling-client';
import { ClientCertificate, DtlsClient, makeClientCertificate, SrtpKeys } from './dtls-client';

const ICE_CONTROLLING = 0x802a;
const BINDING_RETRY_MS = 100;
/** SRTP_AES128_CM_HMAC_SHA1_80: an 80-bit tag. */
const SRTP_TAG_LENGTH = 10;

/** What the viewer takes: it only authenticates packets, so any payload will do. */
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
  /** The first RTP packet from the publisher was authenticated. */
  firstPacket: number;
}

let certificate: ClientCertificate | undefined;
/** One certificate per process, as a browser keeps one per profile. */
const dtlsCertificate = () => (certificate ??= makeClientCertificate());

/** The SRTP authentication key (RFC 3711 §4.3, key derivation rate 0) for a master key. */
function srtpAuthKey(masterKey: Buffer, masterSalt: Buffer): Buffer {
  const iv = Buffer.alloc(16);
  masterSalt.copy(iv);
  iv[7] ^= 0x01; // the label of the SRTP authentication key
  return createCipheriv('aes-128-ctr', masterKey, iv).update(Buffer.alloc(20));
}

/** Whether a first SRTP packet (rollover counter 0) carries a valid tag for the key. */
function srtpAuthentic(packet: Buffer, authKey: Buffer): boolean {
  const signed = packet.subarray(0, packet.length - SRTP_TAG_LENGTH);
  const tag = createHmac('sha1', authKey).update(signed).update(Buffer.alloc(4)).digest();
  return tag.subarray(0, SRTP_TAG_LENGTH).equals(packet.subarray(signed.length));
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
   * RTP packet is authenticated. Times are from the start of the call.
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
    const { fingerprint } = dtlsCertificate();
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
    const keys = await viewer.connect(transport);
    const connected = since();
    await viewer.firstRtpPacket(ssrcs, keys);
    onPhase('receiving');
    return { viewer, timings: { joined, connected, firstPacket: since() } };
  }

  close() {
    this.dtls?.close();
    this.udp.close();
    this.socket.close();
  }

  /** ICE (one nominated binding request), then DTLS as the client. */
  private async connect(transport: WebRtcTransportParams): Promise<SrtpKeys> {
    const candidate = transport.iceCandidates.find(
      (c: { protocol: string; address?: string; ip?: string }) => c.protocol === 'udp',
    );
    if (!candidate) throw new Error('the transport offers no UDP candidate');
    const server = { address: candidate.address ?? candidate.ip, port: candidate.port };
    await this.iceBinding(server, transport.iceParameters);
    const fingerprint = transport.dtlsParameters.fingerprints.find(
      (f: { algorithm: string }) => f.algorithm === 'sha-256',
    );
    if (!fingerprint) throw new Error('the transport offers no SHA-256 fingerprint');
    const dtls = (this.dtls = new DtlsClient(
      (datagram) => this.udp.send(datagram, server.port, server.address),
      dtlsCertificate(),
      fingerprint.value,
    ));
    this.udp.on('message', (packet) => {
      if (isDtlsPacket(packet)) dtls.receive(packet);
    });
    return dtls.handshake();
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

  /** Resolves when an RTP packet for one of the SSRCs authenticates with the SRTP keys. */
  private firstRtpPacket(ssrcs: Set<number>, keys: SrtpKeys): Promise<void> {
    const authKey = srtpAuthKey(keys.remoteKey, keys.remoteSalt);
    return new Promise((resolve) => {
      const onMessage = (packet: Buffer) => {
        if (!isRtpPacket(packet) || !ssrcs.has(packet.readUInt32BE(8))) return;
        if (!srtpAuthentic(packet, authKey)) return;
        this.udp.off('message', onMessage);
        resolve();
      };
      this.udp.on('message', onMessage);
    });
  }
}
