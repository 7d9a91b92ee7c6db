/**
 * A real participant in Node: socket.io-client for signaling, mediasoup-client over
 * @roamhq/wrtc (libwebrtc) for media. It speaks exactly the web client's protocol.
 */
import * as wrtc from '@roamhq/wrtc';
import os from 'node:os';
import { Device, types as clientTypes } from 'mediasoup-client';
import type { Socket } from 'socket.io-client';
import type {
  ConsumerParams,
  JoinResult,
  Method,
  ProducerInfo,
  Requests,
  WebRtcTransportParams,
} from '../../src/signaling/socketio/protocol';
import { ConnectOptions, connectSocket, request } from './signaling-client';

/**
 * libwebrtc objects in @roamhq/wrtc can crash the process when the garbage collector
 * finalizes them after use, so participants (and through them their peer connections
 * and tracks) and media sources stay reachable until the process exits. Jest gives every
 * test file fresh modules and globals, which would orphan a module-level list when the
 * next file starts; core modules are the one thing all files share, so the list hangs
 * on one of them.
 */
const KEPT_ALIVE = Symbol.for('video-window.wrtc-kept-alive');
const keptAlive: unknown[] = ((os as unknown as Record<symbol, unknown[]>)[KEPT_ALIVE] ??= []);

/** mediasoup-client also makes short-lived peer connections of its own. */
class KeptRTCPeerConnection extends wrtc.RTCPeerConnection {
  constructor(...args: ConstructorParameters<typeof wrtc.RTCPeerConnection>) {
    super(...args);
    keptAlive.push(this);
  }
}

Object.assign(globalThis, {
  RTCPeerConnection: KeptRTCPeerConnection,
  RTCSessionDescription: wrtc.RTCSessionDescription,
  RTCIceCandidate: wrtc.RTCIceCandidate,
  MediaStream: wrtc.MediaStream,
  MediaStreamTrack: wrtc.MediaStreamTrack,
});

/**
 * A moving test pattern: i420 frames at 15 fps into an RTCVideoSource track; a flat
 * brightness that changes, or (`textured`) rings that move, which costs an encoder about
 * what a camera's picture does (a flat frame takes a few bytes).
 */
function fakeCamera({ width, height, textured } = { width: 320, height: 240, textured: false }) {
  const source = new wrtc.nonstandard.RTCVideoSource();
  keptAlive.push(source);
  const data = new Uint8Array(width * height * 1.5);
  const rings = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) rings[y * width + x] = ((x * x + y * y) / 97) & 255;
  }
  let tick = 0;
  const timer = setInterval(() => {
    tick += 7;
    if (textured) for (let i = 0; i < rings.length; i++) data[i] = (rings[i] + tick) & 255;
    else data.fill(tick % 255, 0, width * height);
    source.onFrame({ width, height, data });
  }, 66);
  return { track: source.createTrack(), stop: () => clearInterval(timer) };
}

/** A 440 Hz tone: 10 ms chunks of 48 kHz mono PCM into an RTCAudioSource track. */
function fakeMicrophone() {
  const source = new wrtc.nonstandard.RTCAudioSource();
  keptAlive.push(source);
  const sampleRate = 48000;
  const samples = new Int16Array(sampleRate / 100);
  let n = 0;
  const timer = setInterval(() => {
    for (let i = 0; i < samples.length; i++, n++) {
      samples[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * n) / sampleRate));
    }
    source.onData({ samples, sampleRate, bitsPerSample: 16, channelCount: 1 });
  }, 10);
  return { track: source.createTrack(), stop: () => clearInterval(timer) };
}

const SIMULCAST_CAMERA = { width: 640, height: 360, textured: true };
const SIMULCAST_ENCODINGS: clientTypes.RtpEncodingParameters[] = [
  { scaleResolutionDownBy: 2, maxBitrate: 150_000, scalabilityMode: 'L1T3' },
  { scaleResolutionDownBy: 1, maxBitrate: 600_000, scalabilityMode: 'L1T3' },
];

export class NodeParticipant {
  device = new Device({ handlerName: 'Chrome111' });
  joined!: JoinResult;
  sendTransport?: clientTypes.Transport;
  recvTransport?: clientTypes.Transport;
  readonly producers = new Map<string, clientTypes.Producer>();
  readonly consumers = new Map<string, clientTypes.Consumer>();
  readonly events: { event: string; payload: unknown }[] = [];
  /** Failures of work the participant did on its own (consuming announced producers). */
  readonly errors: Error[] = [];
  /** Whether it consumes the others' producers (a publisher in a load test need not). */
  receivesOthers = true;
  private closed = false;
  private readonly stops: (() => void)[] = [];
  private received!: () => void;
  /** Settles once the receive transport exists. */
  private receiving = new Promise<void>((resolve) => (this.received = resolve));

  private constructor(readonly socket: Socket) {
    keptAlive.push(this);
    socket.onAny((event: string, payload: unknown) => this.events.push({ event, payload }));
    socket.on('newProducer', (producer: ProducerInfo) => {
      if (!this.receivesOthers) return;
      // One announced while the join's answer is being set up waits for the transport.
      this.receiving
        .then(() => this.consume(producer.id))
        .catch((error: Error) => {
          if (!this.closed) this.errors.push(error);
        });
    });
    socket.on('consumerClosed', ({ consumerId }: { consumerId: string }) => {
      this.consumers.get(consumerId)?.close();
      this.consumers.delete(consumerId);
    });
  }

  static async connect(baseUrl: string, options: ConnectOptions = {}) {
    return new NodeParticipant(await connectSocket(baseUrl, options));
  }

  request<M extends Method>(method: M, data: Requests[M][0]) {
    return request(this.socket, method, data);
  }

  /**
   * Joins (waiting for admission when the room has a lobby), sets up both transports
   * and consumes everything already in the room.
   */
  async join(room: string, displayName: string, password?: string): Promise<JoinResult> {
    const answer = await this.request('join', { room, displayName, password });
    return this.enter('lobby' in answer ? await this.waitForEvent<JoinResult>('admitted') : answer);
  }

  /** Sets up media after a join answer or an admission. */
  async enter(joined: JoinResult): Promise<JoinResult> {
    this.joined = joined;
    await this.device.load({ routerRtpCapabilities: this.joined.routerRtpCapabilities });
    this.sendTransport = await this.createTransport('send');
    this.recvTransport = await this.createTransport('recv');
    this.received();
    if (!this.receivesOthers) return this.joined;
    const existing = this.joined.participants.flatMap((p) => p.producers);
    await Promise.all(existing.map((producer) => this.consume(producer.id)));
    return this.joined;
  }

  /**
   * Joins with receiving set up by the join itself (ReceiveRequest, without DTLS
   * parameters, as mediasoup-client makes those only with the transport). The device is
   * loaded first with router capabilities the client knows from an earlier join: all of
   * a shard's routers share them.
   */
  async joinReceiving(room: string, displayName: string, routerRtpCapabilities: unknown) {
    await this.device.load({
      routerRtpCapabilities: routerRtpCapabilities as clientTypes.RtpCapabilities,
    });
    const answer = await this.request('join', {
      room,
      displayName,
      receive: { rtpCapabilities: this.device.rtpCapabilities },
    });
    if ('lobby' in answer) throw new Error('joinReceiving does not wait in lobbies');
    this.joined = answer;
    this.recvTransport = this.transportOf('recv', answer.receive!.transport);
    this.received();
    await Promise.all(answer.receive!.consumers.map((params) => this.receive(params)));
    return answer;
  }

  /**
   * Follows the server's `moveToRoom` to `room` (breakout rooms) as the web client does:
   * drops its media, joins there with the pass on the same connection, sends again.
   */
  async followMove(room: string, displayName: string): Promise<JoinResult> {
    const move = await this.waitForEvent<{ room: string; pass: string }>(
      'moveToRoom',
      (event) => event.room === room,
    );
    this.events.splice(
      this.events.findIndex((e) => e.payload === move),
      1,
    );
    const kinds = [...this.producers.values()].map((producer) => producer.kind);
    for (const producer of this.producers.values()) producer.close();
    this.producers.clear();
    this.consumers.clear();
    this.sendTransport?.close();
    this.recvTransport?.close();
    this.receiving = new Promise<void>((resolve) => (this.received = resolve));
    this.device = new Device({ handlerName: 'Chrome111' });
    const answer = await this.request('join', { room, displayName, pass: move.pass });
    if ('lobby' in answer) throw new Error(`a move to ${room} ended in its lobby`);
    await this.enter(answer);
    if (kinds.length) await this.publish(kinds);
    return answer;
  }

  /**
   * Sends a fake microphone and camera. `simulcast`: the camera in 640x360 as two VP8
   * layers (320x180 and 640x360; libwebrtc sends no more layers at that size), as a web
   * client's camera is received.
   */
  async publish(kinds: ('audio' | 'video')[] = ['audio', 'video'], { simulcast = false } = {}) {
    for (const kind of kinds) {
      const fake =
        kind === 'audio' ? fakeMicrophone() : fakeCamera(simulcast ? SIMULCAST_CAMERA : undefined);
      this.stops.push(fake.stop);
      const producer = await this.sendTransport!.produce({
        track: fake.track as unknown as MediaStreamTrack,
        encodings: kind === 'video' && simulcast ? SIMULCAST_ENCODINGS : undefined,
        appData: { source: kind === 'audio' ? 'mic' : 'camera' },
      });
      this.producers.set(kind, producer);
    }
  }

  async consume(producerId: string): Promise<clientTypes.Consumer> {
    const params: ConsumerParams = await this.request('consume', {
      transportId: this.recvTransport!.id,
      producerId,
      rtpCapabilities: this.device.rtpCapabilities,
    });
    return this.receive(params);
  }

  /** Sets up the server's consumer on the receive transport and resumes it. */
  private async receive(params: ConsumerParams): Promise<clientTypes.Consumer> {
    const consumer = await this.recvTransport!.consume({
      id: params.id,
      producerId: params.producerId,
      kind: params.kind,
      rtpParameters: params.rtpParameters,
      appData: { participantId: params.participantId },
    });
    this.consumers.set(consumer.id, consumer);
    await this.request('resumeConsumer', { consumerId: consumer.id });
    return consumer;
  }

  /** Inbound RTP per remote participant: packets received and video frames decoded. */
  async receiveStats() {
    type Entry = { audioPackets: number; videoPackets: number; framesDecoded: number };
    const result: Record<string, Entry> = {};
    // wrtc implements getStats on the peer connection only, so reports are matched to
    // consumers by SSRC.
    const bySsrc = new Map<number, clientTypes.Consumer>();
    for (const consumer of this.consumers.values()) {
      const ssrc = consumer.rtpParameters.encodings?.[0]?.ssrc;
      if (ssrc !== undefined && !consumer.closed) bySsrc.set(ssrc, consumer);
    }
    const stats = await this.recvTransport!.getStats();
    stats.forEach(
      (report: { type: string; ssrc?: number } & Partial<Entry> & Record<string, number>) => {
        const consumer = report.type === 'inbound-rtp' && bySsrc.get(report.ssrc!);
        if (!consumer) return;
        const from = (consumer.appData as { participantId: string }).participantId;
        const entry = (result[from] ??= { audioPackets: 0, videoPackets: 0, framesDecoded: 0 });
        if (consumer.kind === 'audio') entry.audioPackets += report.packetsReceived ?? 0;
        else {
          entry.videoPackets += report.packetsReceived ?? 0;
          entry.framesDecoded += report.framesDecoded ?? 0;
        }
      },
    );
    return result;
  }

  waitForEvent<T = unknown>(event: string, predicate: (payload: T) => boolean = () => true) {
    return new Promise<T>((resolve, reject) => {
      const found = this.events.find((e) => e.event === event && predicate(e.payload as T));
      if (found) return resolve(found.payload as T);
      const timer = setTimeout(() => reject(new Error(`no ${event} event`)), 10000);
      const listener = (payload: T) => {
        if (!predicate(payload)) return;
        clearTimeout(timer);
        this.socket.off(event, listener);
        resolve(payload);
      };
      this.socket.on(event, listener);
    });
  }

  close() {
    this.closed = true;
    this.stops.forEach((stop) => stop());
    for (const producer of this.producers.values()) producer.track?.stop();
    this.sendTransport?.close();
    this.recvTransport?.close();
    this.socket.close();
  }

  private async createTransport(direction: 'send' | 'recv') {
    return this.transportOf(direction, await this.request('createWebRtcTransport', { direction }));
  }

  private transportOf(direction: 'send' | 'recv', params: WebRtcTransportParams) {
    const transport =
      direction === 'send'
        ? this.device.createSendTransport({ ...params, iceServers: [] })
        : this.device.createRecvTransport({ ...params, iceServers: [] });
    transport.on('connect', ({ dtlsParameters }, callback, errback) => {
      this.request('connectWebRtcTransport', { transportId: transport.id, dtlsParameters })
        .then(() => callback())
        .catch(errback);
    });
    transport.on('produce', ({ kind, rtpParameters, appData }, callback, errback) => {
      const source = (appData as { source?: 'mic' | 'camera' }).source;
      this.request('produce', { transportId: transport.id, kind, rtpParameters, source })
        .then(({ producerId }) => callback({ id: producerId }))
        .catch(errback);
    });
    return transport;
  }
}

/** Polls until the check passes or the time is up; returns the last value either way. */
export async function eventually<T>(
  read: () => Promise<T> | T,
  passes: (value: T) => boolean,
  timeoutMs = 15000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!passes(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    value = await read();
  }
  return value;
}
