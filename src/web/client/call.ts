import { Device, type types as msc } from 'mediasoup-client';
import type {
  BreakoutRequests,
  BreakoutsView,
  ChatMessageView,
  ConsumerParams,
  IceServer,
  JoinResult,
  LobbyEntryView,
  ParticipantView,
  ProducerInfo,
  RaisedHandView,
  Reaction,
  ReceiveRequest,
  RecordingStateView,
  VideoLimits,
  WaitingInLobby,
  WebRtcTransportParams,
} from '../../signaling/socketio/protocol';
import {
  acquireLocalMedia,
  acquireScreen,
  type DeviceKind,
  type LocalMedia,
  openDevice,
  stopLocalMedia,
} from './local-media';
import { connectErrorBody, Signaling, SignalingError } from './signaling';
import { ReceivedVideos, spatialLayersOf, type VideoConsumer } from './visible-tiles';

export type Phase =
  'joining' | 'waiting' | 'joined' | 'reconnecting' | 'left' | 'removed' | 'rejected' | 'failed';

/** One tile's worth of state: a participant and the tracks to show for it. */
export interface Member {
  readonly id: string;
  readonly displayName: string;
  readonly role: ParticipantView['role'];
  readonly isLocal: boolean;
  videoTrack?: MediaStreamTrack;
  /** What the member shares of its screen, while it does. */
  screenTrack?: MediaStreamTrack;
  /** Remote members only: the local microphone is never played back. */
  audioTrack?: MediaStreamTrack;
  audioMuted: boolean;
  videoMuted: boolean;
}

interface RemoteMember extends Member {
  readonly producers: Map<string, ProducerInfo>;
  /** Consumers by the id of the producer they consume. */
  readonly consumers: Map<string, msc.Consumer>;
}

/** What the call tells its view. */
export interface CallListener {
  phase(phase: Phase, detail?: string): void;
  /** Local devices were acquired, switched, turned on or off, or screen sharing changed. */
  devices(): void;
  memberAdded(member: Member): void;
  memberChanged(member: Member): void;
  memberRemoved(memberId: string): void;
  activeSpeaker(memberId: string | undefined): void;
  chat(message: ChatMessageView, own: boolean): void;
  notice(text: string): void;
  /** The room asks for a password (again, when `wrong`): resolves with the one to try. */
  passwordNeeded(wrong: boolean): Promise<string>;
  /** Moderators: who waits in the lobby now. */
  lobby(waiting: LobbyEntryView[]): void;
  /** Whether the room is being recorded; `canControl` for moderators. */
  recording(state: RecordingStateView, canControl: boolean): void;
  /** The room's raised hands, first raised first. */
  hands(hands: RaisedHandView[]): void;
  reaction(memberId: string, emoji: Reaction): void;
  /** What the server lets this participant receive (from the join answer). */
  videoLimits(limits: VideoLimits): void;
  /** The breakout rooms of the meeting changed, or we moved (undefined: there are none). */
  breakouts?(breakouts: BreakoutsView | undefined): void;
}

/** How well media reaches us from a member (or, for ourselves, reaches the server). */
export type ConnectionQuality = 'good' | 'fair' | 'poor' | 'unknown';

/** Loss over the last interval at which a connection stops being good, then fair. */
const FAIR_LOSS = 0.02;
const POOR_LOSS = 0.08;
/** Round trips at which a connection stops being good, then fair. */
const FAIR_RTT_S = 0.3;
const POOR_RTT_S = 0.8;

export interface CallOptions {
  /** The room to join; a move (breakout rooms) changes it. */
  room: string;
  /** Ignored by the server when a token names the participant. */
  displayName?: string;
  token?: string;
  password?: string;
  /** Relay all media through the TURN servers handed out (iceTransportPolicy 'relay'). */
  relayOnly?: boolean;
  /** The microphone and camera to use when they are there (device ids). */
  devices?: Partial<Record<DeviceKind, string>>;
  /** Receive every video at its top layer, shown or not (for comparison only). */
  receiveAllVideo?: boolean;
}

export interface ReceiveStats {
  displayName: string;
  /** Camera video (screen sharing is counted apart). */
  framesDecoded: number;
  frameWidth: number;
  frameHeight: number;
  videoBytesReceived: number;
  audioPacketsReceived: number;
  audioBytesReceived: number;
  screenFramesDecoded: number;
  screenFrameWidth: number;
}

export type Source = 'mic' | 'camera' | 'screen';

/**
 * What each local producer sends, per RTP stream (one per simulcast layer), under
 * 'audio' (microphone), 'video' (camera) and 'screen'.
 */
export type SendStats = Record<string, { rid?: string; bytesSent: number; frameWidth?: number }[]>;

/** Camera simulcast: three VP8 layers at 1/4, 1/2 and full resolution. */
const CAMERA_ENCODINGS: msc.RtpEncodingParameters[] = [
  { scaleResolutionDownBy: 4, maxBitrate: 150_000, scalabilityMode: 'L1T3' },
  { scaleResolutionDownBy: 2, maxBitrate: 500_000, scalabilityMode: 'L1T3' },
  { scaleResolutionDownBy: 1, maxBitrate: 1_500_000, scalabilityMode: 'L1T3' },
];

/** Screen content: one stream, sharp text rather than motion. */
const SCREEN_ENCODINGS: msc.RtpEncodingParameters[] = [{ maxBitrate: 1_500_000 }];

/** The keys of sendStats, by source (the camera's and microphone's predate screen sharing). */
const SEND_STATS_KEY: Record<Source, string> = {
  mic: 'audio',
  camera: 'video',
  screen: 'screen',
};

/** How long a transport may stay ICE-disconnected before the client restarts ICE. */
const ICE_DISCONNECTED_RESTART_MS = 500;

const LEAVE_TIMEOUT_MS = 2_000;
/** Redirects to the room's shard a join follows before it gives up (a stale directory). */
const MAX_SHARD_MOVES = 3;
/** Pauses between join attempts after a media restart or a reconnection. */
const RETRY_DELAYS_MS = [500, 1_000, 2_000, 4_000];

/** Why the server removed us, in words (reasons of the `removed` event). */
const REMOVED_BECAUSE: Record<string, string> = {
  kicked: 'A moderator removed you.',
  room_ended: 'The meeting was ended.',
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Failures worth another join attempt: the shard was busy or briefly without media. */
const isTransient = (error: unknown) =>
  error instanceof SignalingError && ['internal', 'unavailable', 'timeout'].includes(error.code);

const isSource = (value: unknown): value is Source =>
  value === 'mic' || value === 'camera' || value === 'screen';

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * The mediasoup objects of one membership in the room. A rejoin or reconnection drops
 * the whole session and starts a new one, so late answers for an old one are ignored.
 */
class Session {
  readonly device = new Device();
  recvTransport?: Promise<msc.Transport>;
  sendTransport?: Promise<msc.Transport>;
  readonly producers = new Map<Source, msc.Producer>();
  /** Sources whose producer is being made (so that it is made once). */
  readonly producing = new Set<Source>();
  iceServers: IceServer[] = [];
  readonly consumers = new Map<string, msc.Consumer>();
  /** Producers consumed or being consumed, so duplicates announcements are ignored. */
  readonly consumedProducers = new Set<string>();
  readonly closedProducers = new Set<string>();
  /** Statistics counters at the previous connectionQuality(), by consumer and counter. */
  readonly lastCounts = new Map<string, number>();
  /** Which of its video consumers the server sends, and at which layer. */
  videos?: ReceivedVideos;
  closed = false;

  close() {
    this.closed = true;
    this.videos?.close();
    // Closing a transport closes its producers and consumers.
    for (const transport of [this.sendTransport, this.recvTransport]) {
      void transport?.then(
        (t) => t.close(),
        () => undefined,
      );
    }
  }
}

/** A participant's membership in one room: signaling, media and the members it sees. */
export class Call {
  phase: Phase = 'joining';
  selfId?: string;
  activeSpeakerId?: string;
  micOn = false;
  cameraOn = false;
  /** The screen being shared, while it is. */
  screen?: MediaStreamTrack;
  readonly members = new Map<string, Member>();
  /** Moderators: who waits in the lobby. */
  waiting: LobbyEntryView[] = [];
  recording: RecordingStateView = { active: false };
  isModerator = false;
  hands: RaisedHandView[] = [];
  role?: ParticipantView['role'];
  /** The meeting's breakout rooms, when it has some (we may be in one). */
  breakouts?: BreakoutsView;

  private readonly signaling: Signaling;
  private password?: string;
  /** The pass of the latest move (breakout rooms): it gets us in without lobby or password. */
  private pass?: string;
  /** Settles when a moderator admits or rejects this participant waiting in the lobby. */
  private admission?: { resolve(result: JoinResult): void; reject(error: Error): void };
  /** The shard's router capabilities, asked for at the start (undefined if it cannot say). */
  private routerCapabilities?: Promise<msc.RtpCapabilities | undefined>;
  private session?: Session;
  private local?: LocalMedia;
  /** Join answers and server events are handled one after the other, in arrival order. */
  private queue: Promise<unknown> = Promise.resolve();
  private connectedOnce = false;
  /** What resumes this participant after a dropped connection (from the join answer). */
  private resumeCredentials?: { participantId: string; resumeToken: string };
  /** What the view shows: member id → tile height in device pixels, in tile order. */
  private shownVideos = new Map<string, number>();

  constructor(
    readonly options: CallOptions,
    private readonly listener: CallListener,
  ) {
    this.signaling = new Signaling(options.room, options.token);
    this.password = options.password;
    this.listenToSocket();
    this.listenToServer();
  }

  get hasMic(): boolean {
    return !!this.local?.mic;
  }

  get hasCamera(): boolean {
    return !!this.local?.camera;
  }

  get sharingScreen(): boolean {
    return !!this.screen;
  }

  /** The devices in use, by kind (the browser's device ids). */
  get deviceIds(): Partial<Record<DeviceKind, string>> {
    return {
      audioinput: this.local?.mic?.getSettings().deviceId,
      videoinput: this.local?.camera?.getSettings().deviceId,
    };
  }

  /** The producer sending a source, if any (its id stays the same across device switches). */
  producerId(source: Source): string | undefined {
    return this.session?.producers.get(source)?.id;
  }

  /**
   * Joins with the devices the pre-join screen opened (and whether to start muted or with
   * the camera off), or opens them now.
   */
  async start(prepared?: { media: LocalMedia; micOn: boolean; cameraOn: boolean }): Promise<void> {
    // Asked while the devices start, so that the join can set up receiving as well.
    this.routerCapabilities = this.signaling.request('getRouterRtpCapabilities', {}).then(
      ({ routerRtpCapabilities }) => routerRtpCapabilities as msc.RtpCapabilities,
      () => undefined,
    );
    this.local = prepared?.media ?? (await acquireLocalMedia(this.options.devices));
    if (this.local.problem) this.listener.notice(this.local.problem);
    this.micOn = this.hasMic && (prepared?.micOn ?? true);
    this.cameraOn = this.hasCamera && (prepared?.cameraOn ?? true);
    if (this.local.mic) this.local.mic.enabled = this.micOn;
    if (this.local.camera) this.local.camera.enabled = this.cameraOn;
    this.listener.devices();
    await this.join();
  }

  async setMic(on: boolean): Promise<void> {
    if (!this.local?.mic) return;
    this.micOn = on;
    this.local.mic.enabled = on;
    this.listener.devices();
    this.updateLocalMember();
    await this.sendOrPause('mic', on);
  }

  async setCamera(on: boolean): Promise<void> {
    if (!this.local?.camera) return;
    this.cameraOn = on;
    this.local.camera.enabled = on;
    this.listener.devices();
    this.updateLocalMember();
    await this.sendOrPause('camera', on);
  }

  /**
   * Switches the microphone or camera in the call: the producer gets the new track
   * (replaceTrack), so others keep their consumer and nothing is negotiated again.
   */
  async switchDevice(kind: DeviceKind, deviceId: string): Promise<void> {
    if (!this.local || this.deviceIds[kind] === deviceId) return;
    const track = await openDevice(kind, deviceId);
    const source: Source = kind === 'audioinput' ? 'mic' : 'camera';
    const old = source === 'mic' ? this.local.mic : this.local.camera;
    track.enabled = old ? old.enabled : true;
    if (source === 'mic') this.local.mic = track;
    else this.local.camera = track;
    if (!old) {
      if (source === 'mic') this.micOn = true;
      else this.cameraOn = true;
    }
    old?.stop();
    this.listener.devices();
    this.updateLocalMember();
    const session = this.session;
    if (!session || session.closed || this.phase !== 'joined') return;
    const producer = session.producers.get(source);
    if (producer && !producer.closed) await producer.replaceTrack({ track });
    else await this.produceSource(session, source);
  }

  /**
   * Shares a screen, window or tab as a second video producer (source 'screen'); it
   * stops when the browser's own "Stop sharing" ends the track, or stopScreenShare.
   */
  async startScreenShare(): Promise<void> {
    if (this.screen || this.phase !== 'joined') return;
    const track = await acquireScreen();
    this.screen = track;
    track.addEventListener('ended', () => void this.stopScreenShare());
    this.listener.devices();
    this.updateLocalMember();
    const session = this.session;
    try {
      if (session && !session.closed) await this.produceSource(session, 'screen');
    } catch (error) {
      await this.stopScreenShare();
      throw error;
    }
  }

  async stopScreenShare(): Promise<void> {
    const track = this.screen;
    if (!track) return;
    this.screen = undefined;
    track.stop();
    this.listener.devices();
    this.updateLocalMember();
    const producer = this.session?.producers.get('screen');
    if (!producer) return;
    this.session?.producers.delete('screen');
    producer.close();
    await this.signaling.request('closeProducer', { producerId: producer.id }).catch(() => {
      // The producer went with its session (left or rejoined): nothing to close.
    });
  }

  async sendChat(text: string): Promise<void> {
    const message = await this.signaling.request('chat', { text });
    this.listener.chat(message, true);
  }

  /** Moderators: starts recording the room, or stops it. */
  async toggleRecording(): Promise<void> {
    await this.signaling.request(this.recording.active ? 'stopRecording' : 'startRecording', {});
  }

  get handRaised(): boolean {
    return this.hands.some((hand) => hand.participantId === this.selfId);
  }

  async raiseHand(): Promise<void> {
    this.setHands((await this.signaling.request('raiseHand', {})).hands);
  }

  /** Lowers our hand, or (moderators) someone else's. */
  async lowerHand(participantId?: string): Promise<void> {
    this.setHands((await this.signaling.request('lowerHand', { participantId })).hands);
  }

  async react(emoji: Reaction): Promise<void> {
    await this.signaling.request('react', { emoji });
  }

  /** Moderators: turn off someone's microphone or camera. */
  async muteParticipant(participantId: string, kind: 'audio' | 'video'): Promise<void> {
    await this.signaling.request('muteParticipant', { participantId, kind });
  }

  /** Moderators: remove someone from the room. */
  async kickParticipant(participantId: string): Promise<void> {
    await this.signaling.request('kickParticipant', { participantId });
  }

  // ---- breakout rooms -----------------------------------------------------------------

  /** Moderators: opens breakout rooms of this room. */
  async createBreakouts(options: BreakoutRequests['createBreakouts'][0]): Promise<void> {
    this.setBreakouts(await this.signaling.request('createBreakouts', options));
  }

  /** Moderators: sends someone into a breakout room, or back to the main room. */
  async moveToBreakout(participantId: string, room: string): Promise<void> {
    await this.signaling.request('moveToBreakout', { participantId, room });
  }

  /** Goes into a breakout room (when participants may choose), or back to the main room. */
  async joinBreakout(room: string): Promise<void> {
    await this.signaling.request('joinBreakout', { room });
  }

  async broadcastToBreakouts(text: string): Promise<void> {
    await this.signaling.request('broadcastToBreakouts', { text });
  }

  /** Moderators: closes the breakout rooms; everyone returns. */
  async closeBreakouts(): Promise<void> {
    await this.signaling.request('closeBreakouts', {});
  }

  async admit(participantId: string): Promise<void> {
    await this.signaling.request('lobbyAdmit', { participantId });
  }

  async reject(participantId: string): Promise<void> {
    await this.signaling.request('lobbyReject', { participantId });
  }

  async leave(): Promise<void> {
    if (this.phase === 'joined' || this.phase === 'waiting') {
      const timeout = new Promise((resolve) => setTimeout(resolve, LEAVE_TIMEOUT_MS));
      await Promise.race([this.signaling.request('leave', {}).catch(() => undefined), timeout]);
    }
    this.end('left');
  }

  /** Per remote participant: what its consumers received, from WebRTC statistics. */
  async receiveStats(): Promise<Record<string, ReceiveStats>> {
    const result: Record<string, ReceiveStats> = {};
    for (const member of this.members.values()) {
      if (!('consumers' in member)) continue;
      const stats: ReceiveStats = {
        displayName: member.displayName,
        framesDecoded: 0,
        frameWidth: 0,
        frameHeight: 0,
        videoBytesReceived: 0,
        audioPacketsReceived: 0,
        audioBytesReceived: 0,
        screenFramesDecoded: 0,
        screenFrameWidth: 0,
      };
      for (const consumer of (member as RemoteMember).consumers.values()) {
        const report = await consumer.getStats();
        report.forEach((entry) => {
          if (entry.type !== 'inbound-rtp') return;
          if (consumer.appData.source === 'screen') {
            stats.screenFramesDecoded += entry.framesDecoded ?? 0;
            stats.screenFrameWidth = Math.max(stats.screenFrameWidth, entry.frameWidth ?? 0);
          } else if (entry.kind === 'video') {
            stats.framesDecoded += entry.framesDecoded ?? 0;
            stats.videoBytesReceived += entry.bytesReceived ?? 0;
            stats.frameWidth = Math.max(stats.frameWidth, entry.frameWidth ?? 0);
            stats.frameHeight = Math.max(stats.frameHeight, entry.frameHeight ?? 0);
          } else {
            stats.audioPacketsReceived += entry.packetsReceived ?? 0;
            stats.audioBytesReceived += entry.bytesReceived ?? 0;
          }
        });
      }
      result[member.id] = stats;
    }
    return result;
  }

  /** What each local producer sends, per RTP stream (one per simulcast layer). */
  async sendStats(): Promise<SendStats> {
    const result: SendStats = {};
    for (const [source, producer] of this.session?.producers ?? []) {
      const streams: { rid?: string; bytesSent: number; frameWidth?: number }[] = [];
      (await producer.getStats()).forEach((entry) => {
        if (entry.type === 'outbound-rtp') {
          streams.push({
            rid: entry.rid,
            bytesSent: entry.bytesSent,
            frameWidth: entry.frameWidth,
          });
        }
      });
      result[SEND_STATS_KEY[source]] = streams;
    }
    return result;
  }

  /**
   * Per member, how well media gets through, from the loss and round trip that WebRTC
   * statistics report since the previous call: what we receive from each remote member,
   * what the server receives from us for ourselves.
   */
  async connectionQuality(): Promise<Record<string, ConnectionQuality>> {
    const result: Record<string, ConnectionQuality> = {};
    const session = this.session;
    if (!session || !this.selfId) return result;
    /** From the share of packets lost and the round trip (seconds), when known. */
    const grade = (loss?: number, rtt?: number): ConnectionQuality => {
      if (loss === undefined && rtt === undefined) return 'unknown';
      if ((loss ?? 0) >= POOR_LOSS || (rtt ?? 0) >= POOR_RTT_S) return 'poor';
      if ((loss ?? 0) >= FAIR_LOSS || (rtt ?? 0) >= FAIR_RTT_S) return 'fair';
      return 'good';
    };
    const since = (key: string, value: number) => {
      const delta = value - (session.lastCounts.get(key) ?? 0);
      session.lastCounts.set(key, value);
      return Math.max(delta, 0);
    };
    for (const member of this.members.values()) {
      if (member.isLocal) continue;
      let lost = 0;
      let received = 0;
      let rtt: number | undefined;
      for (const consumer of (member as RemoteMember).consumers.values()) {
        (await consumer.getStats()).forEach((entry) => {
          if (entry.type === 'inbound-rtp') {
            lost += since(`${consumer.id}:lost`, entry.packetsLost ?? 0);
            received += since(`${consumer.id}:received`, entry.packetsReceived ?? 0);
          } else if (entry.type === 'candidate-pair' && entry.nominated) {
            rtt = entry.currentRoundTripTime ?? rtt;
          }
        });
      }
      result[member.id] = grade(lost + received > 0 ? lost / (lost + received) : undefined, rtt);
    }
    // What the server's receiver reports say of our streams (fractionLost: per report).
    let sentLoss: number | undefined;
    let sentRtt: number | undefined;
    for (const producer of session.producers.values()) {
      (await producer.getStats()).forEach((entry) => {
        if (entry.type !== 'remote-inbound-rtp') return;
        sentLoss = Math.max(sentLoss ?? 0, entry.fractionLost ?? 0);
        sentRtt = Math.max(sentRtt ?? 0, entry.roundTripTime ?? 0);
      });
    }
    result[this.selfId] = grade(sentLoss, sentRtt);
    return result;
  }

  counts() {
    return {
      producers: this.session?.producers.size ?? 0,
      consumers: this.session?.consumers.size ?? 0,
    };
  }

  /**
   * The view shows these members' videos (member id → tile height in device pixels, in
   * tile order): only those, and shared screens, are received.
   */
  showVideos(shown: Map<string, number>): void {
    this.shownVideos = shown;
    this.session?.videos?.show(shown);
  }

  /** The video consumers and whether the server was told to send each. */
  receivedVideos(): { memberId: string; consumerId: string; screen: boolean; resumed: boolean }[] {
    const session = this.session;
    return this.videoConsumers(session).map((c) => ({
      memberId: c.memberId,
      consumerId: c.id,
      screen: c.screen,
      resumed: session?.videos?.isResumed(c.id) ?? false,
    }));
  }

  private videoConsumers(session: Session | undefined): VideoConsumer[] {
    return [...(session?.consumers.values() ?? [])]
      .filter((consumer) => consumer.kind === 'video' && !consumer.closed)
      .map((consumer) => ({
        id: consumer.id,
        memberId: String(consumer.appData.participantId),
        screen: consumer.appData.source === 'screen',
        spatialLayers: Number(consumer.appData.spatialLayers),
      }));
  }

  // ---- joining ------------------------------------------------------------------------

  /**
   * Joins the room and starts sending. After a media restart or a reconnection the
   * shard may need a moment (a replacement media worker), so those joins retry.
   */
  private async join(retries = 0): Promise<void> {
    const session = new Session();
    session.videos = new ReceivedVideos(
      {
        pause: (consumerId) => this.signaling.request('pauseConsumer', { consumerId }),
        resume: (consumerId) => this.signaling.request('resumeConsumer', { consumerId }),
        setLayer: (consumerId, spatialLayer) =>
          this.signaling.request('setPreferredLayers', { consumerId, spatialLayer }),
      },
      () => this.videoConsumers(session),
      undefined,
      this.options.receiveAllVideo,
    );
    session.videos.show(this.shownVideos);
    this.session = session;
    this.setPhase('joining');
    try {
      const joined = await this.serially(() => this.enter(session));
      if (joined) await this.produce(session);
    } catch (error) {
      if (session.closed) return;
      if (retries > 0 && isTransient(error)) {
        this.teardown();
        this.setPhase('reconnecting');
        await this.signaling.request('leave', {}).catch(() => undefined);
        await sleep(RETRY_DELAYS_MS[Math.max(0, RETRY_DELAYS_MS.length - retries)]);
        if (this.phase === 'reconnecting' && !this.session) await this.join(retries - 1);
        return;
      }
      this.end('failed', `Could not join: ${messageOf(error)}`);
    }
  }

  /** Joins the room and sets up the receive side; runs before any queued server event. */
  private async enter(session: Session): Promise<JoinResult | undefined> {
    const knownCapabilities = await this.routerCapabilities;
    if (knownCapabilities) await session.device.load({ routerRtpCapabilities: knownCapabilities });
    const receive = session.device.loaded
      ? { rtpCapabilities: session.device.rtpCapabilities }
      : undefined;
    const answer = await this.knock(receive);
    if (session.closed) return undefined;
    const result = 'lobby' in answer ? await this.waitForAdmission() : answer;
    if (session.closed) return undefined;
    if (!session.device.loaded) {
      // A join without `receive` is answered with the capabilities.
      await session.device.load({ routerRtpCapabilities: result.routerRtpCapabilities! });
    }
    if (session.closed) return undefined;
    this.selfId = result.participantId;
    this.resumeCredentials = result.resumeToken
      ? { participantId: result.participantId, resumeToken: result.resumeToken }
      : undefined;
    session.iceServers = result.iceServers;
    if (result.videoLimits) {
      session.videos?.setMaxVideos(result.videoLimits.maxVideos);
      this.listener.videoLimits(result.videoLimits);
    }
    session.recvTransport = result.receive
      ? Promise.resolve(
          this.transportFrom(session, 'recv', result.receive.transport, result.iceServers),
        )
      : this.createTransport(session, 'recv', result.iceServers);
    session.recvTransport.catch((error: unknown) => {
      if (!session.closed) this.end('failed', `No media connection: ${messageOf(error)}`);
    });
    this.role = result.role;
    this.addMember({
      id: result.participantId,
      displayName: result.displayName,
      role: result.role,
      isLocal: true,
      audioMuted: true,
      videoMuted: true,
    });
    this.updateLocalMember();
    // Consumers the join already made, by producer: set up without asking again.
    const made = new Map(result.receive?.consumers.map((c) => [c.producerId, c]));
    for (const participant of result.participants) this.addRemote(session, participant, made);
    this.setWaiting(result.waiting ?? []);
    this.isModerator = result.role === 'moderator';
    this.setRecording(result.recording ?? { active: false });
    this.setHands(result.hands ?? []);
    if (result.activeSpeakerId) this.setActiveSpeaker(result.activeSpeakerId);
    this.setBreakouts(result.breakouts);
    this.setPhase('joined');
    return result;
  }

  /**
   * Asks to join: on the shard that runs the room (following its redirects), and with
   * the room's password as long as the room wants one.
   */
  private async knock(receive?: ReceiveRequest): Promise<JoinResult | WaitingInLobby> {
    const { room, displayName } = this.options;
    for (let moves = 0; ;) {
      try {
        return await this.signaling.request('join', {
          room,
          displayName,
          password: this.password,
          resumable: true,
          receive,
          pass: this.pass,
        });
      } catch (error) {
        const code = error instanceof SignalingError ? error.code : '';
        if (
          error instanceof SignalingError &&
          error.code === 'wrong_shard' &&
          error.shard &&
          moves++ < MAX_SHARD_MOVES
        ) {
          await this.signaling.moveTo(error.shard);
          continue;
        }
        const wrong = code === 'forbidden' && this.password !== undefined;
        if (code !== 'password_required' && !wrong) throw error;
        this.password = await this.listener.passwordNeeded(wrong);
      }
    }
  }

  private waitForAdmission(): Promise<JoinResult> {
    this.setPhase('waiting');
    return new Promise((resolve, reject) => (this.admission = { resolve, reject }));
  }

  private setRecording(state: RecordingStateView) {
    this.recording = state;
    this.listener.recording(state, this.isModerator);
  }

  private setHands(hands: RaisedHandView[]) {
    this.hands = hands;
    this.listener.hands(hands);
  }

  private setBreakouts(breakouts: BreakoutsView | undefined) {
    this.breakouts = breakouts;
    this.listener.breakouts?.(breakouts);
  }

  private setWaiting(waiting: LobbyEntryView[]) {
    this.waiting = waiting;
    this.listener.lobby(waiting);
  }

  private async createTransport(
    session: Session,
    direction: 'send' | 'recv',
    iceServers: IceServer[],
  ): Promise<msc.Transport> {
    const params = await this.signaling.request('createWebRtcTransport', { direction });
    if (session.closed) throw new Error('left the room');
    return this.transportFrom(session, direction, params, iceServers);
  }

  /** The local side of a transport the server made. */
  private transportFrom(
    session: Session,
    direction: 'send' | 'recv',
    params: WebRtcTransportParams,
    iceServers: IceServer[],
  ): msc.Transport {
    const options: msc.TransportOptions = {
      ...params,
      iceServers,
      iceTransportPolicy: this.options.relayOnly ? 'relay' : 'all',
    };
    const transport =
      direction === 'send'
        ? session.device.createSendTransport(options)
        : session.device.createRecvTransport(options);
    transport.on('connect', ({ dtlsParameters }, callback, errback) => {
      this.signaling
        .request('connectWebRtcTransport', { transportId: transport.id, dtlsParameters })
        .then(() => callback(), errback);
    });
    transport.on('produce', ({ kind, rtpParameters, appData }, callback, errback) => {
      const source = isSource(appData.source) ? appData.source : undefined;
      this.signaling
        .request('produce', { transportId: transport.id, kind, rtpParameters, source })
        .then(({ producerId }) => callback({ id: producerId }), errback);
    });
    transport.on('connectionstatechange', (state) => {
      if (state === 'failed' && !session.closed) void this.restartIce(session, transport);
      // A path that went quiet and stays so: restart ICE rather than wait for 'failed'.
      if (state === 'disconnected') {
        setTimeout(() => {
          if (transport.connectionState === 'disconnected' && !session.closed) {
            void this.restartIce(session, transport);
          }
        }, ICE_DISCONNECTED_RESTART_MS);
      }
    });
    return transport;
  }

  private async restartIce(session: Session, transport: msc.Transport) {
    try {
      const { iceParameters } = await this.signaling.request('restartIce', {
        transportId: transport.id,
      });
      if (!session.closed) await transport.restartIce({ iceParameters });
    } catch (error) {
      console.warn('ICE restart failed', error);
    }
  }

  /** Starts sending whatever the participant has: microphone, camera, a shared screen. */
  private async produce(session: Session) {
    for (const source of ['mic', 'camera', 'screen'] as const) {
      await this.produceSource(session, source);
    }
  }

  /** The send transport, made when the first producer needs it. */
  private sendTransport(session: Session): Promise<msc.Transport> {
    session.sendTransport ??= this.createTransport(session, 'send', session.iceServers);
    return session.sendTransport;
  }

  /** Turning a device on starts its producer if it has none yet, else resumes it. */
  private async sendOrPause(source: 'mic' | 'camera', on: boolean) {
    const session = this.session;
    if (on && session && !session.closed && this.phase === 'joined') {
      await this.produceSource(session, source);
    }
    await this.setProducerPaused(source === 'mic' ? 'audio' : 'video', !on);
  }

  /**
   * Starts sending a source. A microphone or camera that is off sends nothing until it
   * is turned on: no producer, so not a frame of it leaves before then.
   */
  private async produceSource(session: Session, source: Source) {
    const track = { mic: this.local?.mic, camera: this.local?.camera, screen: this.screen }[source];
    const { device } = session;
    const off = (source === 'mic' && !this.micOn) || (source === 'camera' && !this.cameraOn);
    if (!track || off || session.producers.has(source) || session.producing.has(source)) return;
    if (!device.canProduce(track.kind as msc.MediaKind)) return;
    session.producing.add(source);
    try {
      await this.startProducer(session, source, track);
    } finally {
      session.producing.delete(source);
    }
  }

  private async startProducer(session: Session, source: Source, track: MediaStreamTrack) {
    const { device } = session;
    const transport = await this.sendTransport(session);
    if (session.closed) return;
    const vp8 = device.rtpCapabilities.codecs?.find(
      (codec) => codec.mimeType.toLowerCase() === 'video/vp8',
    );
    const options: msc.ProducerOptions =
      source === 'mic'
        ? { codecOptions: { opusStereo: false, opusFec: true, opusDtx: true } }
        : source === 'camera'
          ? // Simulcast is for VP8; another codec gets a single stream.
            { codec: vp8, encodings: vp8 ? CAMERA_ENCODINGS : undefined }
          : { codec: vp8, encodings: SCREEN_ENCODINGS };
    const producer = await transport.produce({
      track,
      stopTracks: false,
      codecOptions: { videoGoogleStartBitrate: 1000 },
      ...options,
      appData: { source },
    });
    if (session.closed) return producer.close();
    session.producers.set(source, producer);
    // Turned off while the producer was being made.
    if (source === 'mic' && !this.micOn) await this.setProducerPaused('audio', true);
    if (source === 'camera' && !this.cameraOn) await this.setProducerPaused('video', true);
  }

  private async setProducerPaused(kind: msc.MediaKind, paused: boolean) {
    const producer = this.session?.producers.get(kind === 'audio' ? 'mic' : 'camera');
    if (!producer || producer.closed) return;
    if (paused) producer.pause();
    else producer.resume();
    await this.signaling.request(paused ? 'pauseProducer' : 'resumeProducer', {
      producerId: producer.id,
    });
  }

  // ---- remote participants ----------------------------------------------------------

  private addRemote(
    session: Session,
    participant: ParticipantView,
    made?: Map<string, ConsumerParams>,
  ) {
    if (participant.id === this.selfId || this.members.has(participant.id)) return;
    const member: RemoteMember = {
      id: participant.id,
      displayName: participant.displayName,
      role: participant.role,
      isLocal: false,
      audioMuted: true,
      videoMuted: true,
      producers: new Map(participant.producers.map((producer) => [producer.id, producer])),
      consumers: new Map(),
    };
    this.addMember(member);
    this.refreshMuted(member);
    for (const producer of participant.producers) {
      void this.consume(session, producer, made?.get(producer.id));
    }
  }

  /** Receives a producer: with the consumer the join made, or one asked for now. */
  private async consume(session: Session, producer: ProducerInfo, made?: ConsumerParams) {
    if (session.consumedProducers.has(producer.id)) return;
    session.consumedProducers.add(producer.id);
    try {
      const transport = await session.recvTransport;
      if (!transport || session.closed) return;
      const params =
        made ??
        (await this.signaling.request('consume', {
          transportId: transport.id,
          producerId: producer.id,
          rtpCapabilities: session.device.rtpCapabilities,
        }));
      if (session.closed) return;
      const consumer = await transport.consume({
        id: params.id,
        producerId: params.producerId,
        kind: params.kind,
        rtpParameters: params.rtpParameters,
        appData: {
          participantId: params.participantId,
          source: producer.source,
          spatialLayers: spatialLayersOf(params.rtpParameters),
        },
      });
      const member = this.remote(params.participantId);
      if (session.closed || !member || session.closedProducers.has(producer.id)) {
        consumer.close();
        return;
      }
      session.consumers.set(consumer.id, consumer);
      member.consumers.set(producer.id, consumer);
      this.showTracks(member);
      // Video only where it is shown (ReceivedVideos); audio always.
      if (consumer.kind === 'video') await session.videos?.sync();
      else await this.signaling.request('resumeConsumer', { consumerId: consumer.id });
    } catch (error) {
      session.consumedProducers.delete(producer.id);
      if (!session.closed) console.warn(`could not consume producer ${producer.id}`, error);
    }
  }

  private dropConsumer(session: Session, member: RemoteMember, producerId: string) {
    const consumer = member.consumers.get(producerId);
    if (!consumer) return;
    consumer.close();
    member.consumers.delete(producerId);
    session.consumers.delete(consumer.id);
    this.showTracks(member);
  }

  /** Points the member at its newest live consumer tracks. */
  private showTracks(member: RemoteMember) {
    const live = [...member.consumers.values()].filter((consumer) => !consumer.closed);
    const isScreen = (consumer: msc.Consumer) => consumer.appData.source === 'screen';
    member.videoTrack = live.filter((c) => c.kind === 'video' && !isScreen(c)).pop()?.track;
    member.screenTrack = live.filter(isScreen).pop()?.track;
    member.audioTrack = live.filter((c) => c.kind === 'audio').pop()?.track;
    this.listener.memberChanged(member);
  }

  private refreshMuted(member: RemoteMember) {
    const producers = [...member.producers.values()];
    member.audioMuted = !producers.some((p) => p.kind === 'audio' && !p.paused);
    member.videoMuted = !producers.some(
      (p) => p.kind === 'video' && p.source !== 'screen' && !p.paused,
    );
    this.listener.memberChanged(member);
  }

  private removeRemote(session: Session, memberId: string) {
    const member = this.remote(memberId);
    if (!member) return;
    for (const producerId of [...member.consumers.keys()]) {
      this.dropConsumer(session, member, producerId);
    }
    this.members.delete(memberId);
    this.listener.memberRemoved(memberId);
    if (this.activeSpeakerId === memberId) this.setActiveSpeaker(undefined);
  }

  // ---- server events ------------------------------------------------------------------

  private listenToServer() {
    /** Runs a handler in order, and only while this socket is a member of the room. */
    const inRoom =
      <T>(handler: (session: Session, event: T) => void) =>
      (event: T) =>
        void this.serially(async () => {
          const session = this.session;
          if (session && !session.closed && this.phase === 'joined') handler(session, event);
        });

    this.signaling.on(
      'participantsJoined',
      inRoom((session, participants) => {
        for (const participant of participants) this.addRemote(session, participant);
      }),
    );
    this.signaling.on(
      'participantLeft',
      inRoom((session, { participantId }) => this.removeRemote(session, participantId)),
    );
    this.signaling.on(
      'newProducer',
      inRoom((session, producer) => {
        const member = this.remote(producer.participantId);
        if (!member) return;
        member.producers.set(producer.id, producer);
        this.refreshMuted(member);
        void this.consume(session, producer);
      }),
    );
    this.signaling.on(
      'producerClosed',
      inRoom((session, producer) => {
        session.closedProducers.add(producer.id);
        const member = this.remote(producer.participantId);
        if (!member) return;
        member.producers.delete(producer.id);
        this.dropConsumer(session, member, producer.id);
        this.refreshMuted(member);
      }),
    );
    const pausedChanged = (session: Session, producer: ProducerInfo) => {
      const member = this.remote(producer.participantId);
      if (!member) return;
      member.producers.set(producer.id, producer);
      this.refreshMuted(member);
    };
    this.signaling.on('producerPaused', inRoom(pausedChanged));
    this.signaling.on('producerResumed', inRoom(pausedChanged));
    this.signaling.on(
      'consumerClosed',
      inRoom((session, { consumerId }) => {
        const consumer = session.consumers.get(consumerId);
        const member = consumer && this.remote(String(consumer.appData.participantId));
        if (consumer && member) this.dropConsumer(session, member, consumer.producerId);
      }),
    );
    // consumerPaused/consumerResumed repeat what producerPaused/producerResumed say.
    this.signaling.on(
      'activeSpeaker',
      inRoom((_session, { participantId }) => this.setActiveSpeaker(participantId)),
    );
    this.signaling.on(
      'chat',
      inRoom((_session, message) => this.listener.chat(message, false)),
    );
    this.signaling.on(
      'hands',
      inRoom((_session, { hands }) => this.setHands(hands)),
    );
    this.signaling.on(
      'reaction',
      inRoom((_session, { participantId, emoji }) => this.listener.reaction(participantId, emoji)),
    );
    this.signaling.on('rejoin', () => {
      if (this.phase !== 'joined' && this.phase !== 'joining') return;
      this.listener.notice('The room restarted its media: joining again…');
      this.teardown();
      void this.join(RETRY_DELAYS_MS.length);
    });
    // Moved to another room of the meeting: a new join on this connection, media and all.
    this.signaling.on('moveToRoom', ({ room, pass }) => {
      if (this.phase !== 'joined' && this.phase !== 'joining') return;
      this.options.room = room;
      this.pass = pass;
      this.teardown();
      void this.join();
    });
    this.signaling.on(
      'breakouts',
      inRoom((_session, { breakouts }) => this.setBreakouts(breakouts)),
    );
    this.signaling.on(
      'breakoutMessage',
      inRoom((_session, { from, text }) =>
        this.listener.notice(`${from.displayName} to every room: ${text}`),
      ),
    );
    this.signaling.on('removed', ({ reason }) =>
      this.end('removed', REMOVED_BECAUSE[reason] ?? reason),
    );
    this.signaling.on('admitted', (result) => {
      this.admission?.resolve(result);
      this.admission = undefined;
    });
    this.signaling.on('rejected', ({ reason }) =>
      this.end('rejected', reason === 'closed' ? 'The meeting ended.' : ''),
    );
    this.signaling.on('lobbyKnock', ({ entry, waiting }) => {
      this.setWaiting(waiting);
      this.listener.notice(`${entry.displayName} is waiting in the lobby`);
    });
    this.signaling.on('lobbyLeft', ({ waiting }) => this.setWaiting(waiting));
    this.signaling.on('recording', (state) => {
      this.setRecording(state);
      this.listener.notice(state.active ? 'This meeting is being recorded' : 'Recording stopped');
    });
    // A moderator paused our producers on the server: show ourselves muted until we unmute.
    this.signaling.on('muted', ({ kind }) => {
      const track = kind === 'audio' ? this.local?.mic : this.local?.camera;
      if (track) track.enabled = false;
      if (kind === 'audio') this.micOn = false;
      else this.cameraOn = false;
      this.listener.devices();
      this.updateLocalMember();
      this.listener.notice(
        `A moderator turned off your ${kind === 'audio' ? 'microphone' : 'camera'}`,
      );
    });
  }

  private listenToSocket() {
    const { socket } = this.signaling;
    socket.on('connect', () => {
      if (this.connectedOnce && this.phase === 'reconnecting') {
        if (this.session && this.resumeCredentials) void this.resume(this.session);
        else void this.join(RETRY_DELAYS_MS.length);
      }
      this.connectedOnce = true;
    });
    socket.on('disconnect', (reason) => {
      if (reason === 'io client disconnect') return;
      // In the room, the server keeps us a while: keep everything and resume.
      if (this.phase === 'joined' && this.resumeCredentials) return this.setPhase('reconnecting');
      if (this.phase === 'joined' || this.phase === 'joining' || this.phase === 'waiting') {
        this.teardown();
        this.setPhase('reconnecting');
      }
    });
    socket.on('connect_error', (error) => {
      // An inactive socket was refused by the server (a bad token) and will not retry.
      if (!socket.active) {
        this.end('failed', connectErrorBody(error)?.message ?? error.message);
      }
    });
  }

  /**
   * Back on a new connection after the old one dropped: the same participant again, its
   * transports, producers and consumers kept. What changed meanwhile is caught up from the
   * answer, and ICE restarts (the network may have changed). When the server no longer
   * has the participant, it joins anew.
   */
  private async resume(session: Session) {
    try {
      await this.serially(async () => {
        const result = await this.signaling.request('resume', this.resumeCredentials!);
        if (session.closed || this.session !== session) return;
        this.catchUp(session, result);
        this.setPhase('joined');
      });
      for (const transport of [session.sendTransport, session.recvTransport]) {
        const ready = await transport?.catch(() => undefined);
        if (ready && !session.closed) await this.restartIce(session, ready);
      }
    } catch (error) {
      if (session.closed || this.session !== session) return;
      console.warn('could not resume; joining again', error);
      this.teardown();
      this.setPhase('reconnecting');
      await this.join(RETRY_DELAYS_MS.length);
    }
  }

  /** Brings the members and their media up to the room as a resume answer shows it. */
  private catchUp(session: Session, result: JoinResult) {
    const present = new Map(result.participants.map((p) => [p.id, p]));
    for (const member of [...this.members.values()]) {
      if (!member.isLocal && !present.has(member.id)) this.removeRemote(session, member.id);
    }
    for (const participant of present.values()) {
      const member = this.remote(participant.id);
      if (!member) {
        this.addRemote(session, participant);
        continue;
      }
      const producers = new Map(participant.producers.map((p) => [p.id, p]));
      for (const producerId of [...member.producers.keys()]) {
        if (producers.has(producerId)) continue;
        session.closedProducers.add(producerId);
        member.producers.delete(producerId);
        this.dropConsumer(session, member, producerId);
      }
      for (const producer of producers.values()) {
        member.producers.set(producer.id, producer);
        void this.consume(session, producer);
      }
      this.refreshMuted(member);
    }
    this.setWaiting(result.waiting ?? []);
    this.setHands(result.hands);
    this.setActiveSpeaker(result.activeSpeakerId);
  }

  // ---- bookkeeping --------------------------------------------------------------------

  private serially<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private remote(memberId: string): RemoteMember | undefined {
    const member = this.members.get(memberId);
    return member && !member.isLocal ? (member as RemoteMember) : undefined;
  }

  private addMember(member: Member) {
    this.members.set(member.id, member);
    this.listener.memberAdded(member);
  }

  private updateLocalMember() {
    const member = this.selfId ? this.members.get(this.selfId) : undefined;
    if (!member) return;
    member.videoTrack = this.local?.camera;
    member.screenTrack = this.screen;
    member.audioMuted = !this.micOn;
    member.videoMuted = !this.cameraOn;
    this.listener.memberChanged(member);
  }

  private setActiveSpeaker(memberId: string | undefined) {
    this.activeSpeakerId = memberId;
    this.listener.activeSpeaker(memberId);
  }

  private setPhase(phase: Phase, detail?: string) {
    this.phase = phase;
    this.listener.phase(phase, detail);
  }

  /** Drops the current session and every member; local devices stay open. */
  private teardown() {
    this.session?.close();
    this.session = undefined;
    this.admission?.reject(new Error('left the lobby'));
    this.admission = undefined;
    this.setWaiting([]);
    this.setHands([]);
    for (const memberId of [...this.members.keys()]) this.listener.memberRemoved(memberId);
    this.members.clear();
    this.selfId = undefined;
    this.resumeCredentials = undefined;
    this.setActiveSpeaker(undefined);
  }

  private end(phase: 'left' | 'removed' | 'rejected' | 'failed', detail?: string) {
    if (['left', 'removed', 'rejected', 'failed'].includes(this.phase)) return;
    this.teardown();
    stopLocalMedia(this.local);
    this.screen?.stop();
    this.screen = undefined;
    this.signaling.close();
    this.setPhase(phase, detail);
  }
}
